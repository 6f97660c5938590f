//! The backup runner's REST API under `/api/code/backup-runner/…`: its token as
//! `Authorization: Bearer sgbr_…`, JSON in and out, errors in the GraphQL shape (as the agent
//! API). Users and agents are `FORBIDDEN` here; docs/backups.md.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entities::enums::{BackupStatus, Provider};
use serde::Serialize;
use uuid::Uuid;

use super::agent_api::{body, path_id, reply};
use crate::code::backup_runners::{Runner, TOKEN_PREFIX};
use crate::code::backups_report::{Report, RunnerBackup};
use crate::http::state::AppState;
use crate::kernel::errors::{ApiError, ApiResult, Code};

/// The repository a backup is of.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryView {
    id: Uuid,
    name: String,
    full_name: String,
    url: String,
    default_branch: Option<String>,
    provider: Option<Provider>,
    organization: Option<String>,
}

/// A backup as its runner sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupView {
    id: Uuid,
    repository_id: Uuid,
    status: &'static str,
    message: Option<String>,
    error: Option<String>,
    requested_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    last_report_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<RepositoryView>,
}

/// The status as the runner reports it (`succeeded` for a completed backup).
fn status_name(status: BackupStatus) -> &'static str {
    match status {
        BackupStatus::Requested => "requested",
        BackupStatus::Running => "running",
        BackupStatus::Completed => "succeeded",
        BackupStatus::Failed => "failed",
    }
}

fn view(b: entities::backups::Model, repository: Option<RepositoryView>) -> BackupView {
    BackupView {
        id: b.id,
        repository_id: b.repository_id,
        status: status_name(b.status),
        message: b.message,
        error: b.error,
        requested_at: b.created_at,
        started_at: b.started_at,
        finished_at: b.finished_at,
        last_report_at: b.last_report_at,
        repository,
    }
}

/// The calling runner: no token is `UNAUTHENTICATED`, any other credential `FORBIDDEN`.
async fn runner(state: &AppState, headers: &HeaderMap) -> ApiResult<Runner> {
    match crate::http::auth::bearer_token(headers) {
        Some(token) if token.starts_with(TOKEN_PREFIX) => {
            state.services.backup_runners.authenticate(&token).await
        }
        Some(_) => Err(ApiError::forbidden(
            "the backup runner API takes a backup runner token (sgbr_…)",
        )),
        None if crate::http::auth::session_token(headers).is_some() => Err(ApiError::forbidden(
            "the backup runner API takes a backup runner token (sgbr_…)",
        )),
        None => Err(ApiError::new(
            Code::Unauthenticated,
            "send the backup runner token as Authorization: Bearer sgbr_…",
        )),
    }
}

/// `GET /api/code/backup-runner/backups` → `{backups}`: requested backups nobody took yet and
/// those this runner runs, oldest first, with their repositories.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let result = async {
        let runner = runner(&state, &headers).await?;
        let rows = state.services.backups.for_runner(&runner).await?;
        let backups: Vec<BackupView> = rows
            .into_iter()
            .map(
                |RunnerBackup {
                     backup,
                     repository,
                     organization,
                 }| {
                    let repository = repository.map(|r| RepositoryView {
                        id: r.id,
                        name: r.name,
                        full_name: r.full_name,
                        url: r.url,
                        default_branch: r.default_branch,
                        provider: organization.as_ref().map(|o| o.provider),
                        organization: organization.map(|o| o.login),
                    });
                    view(backup, repository)
                },
            )
            .collect();
        Ok(serde_json::json!({ "backups": backups }))
    };
    reply(&headers, result.await)
}

/// `POST /api/code/backup-runner/backups/{id}/report` `{status, message?}` → `{backup}`.
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let runner = runner(&state, &headers).await?;
        let report = body::<Report>(&bytes)?;
        let saved = state
            .services
            .backups
            .report(&runner, path_id(&id, "Backup")?, report)
            .await?;
        Ok(serde_json::json!({ "backup": view(saved, None) }))
    };
    reply(&headers, result.await)
}
