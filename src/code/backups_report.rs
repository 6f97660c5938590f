//! The backup runner's side: the backups waiting for it, and its reports (`RUNNING`,
//! `SUCCEEDED`, `FAILED` with a message). The first report takes a requested backup for the
//! reporting runner; another runner's backup is `CONFLICT`, another tenant's `NOT_FOUND`.

use chrono::Utc;
use entities::enums::BackupStatus;
use entities::{backup_runners, backups, organizations, repositories};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;
use uuid::Uuid;

use super::backup_runners::Runner;
use super::backups::{BackupService, IN_FLIGHT};
use crate::kernel::errors::{ApiError, ApiResult, Code};

/// The most backups one listing hands over.
const LIST_MAX: u64 = 100;
/// Longest message of a report.
const MESSAGE_MAX: usize = 4000;

/// What a runner says about a backup: lower case as the agent API's enums, or upper case as
/// GraphQL's.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Reported {
    #[serde(alias = "RUNNING")]
    Running,
    #[serde(alias = "SUCCEEDED")]
    Succeeded,
    #[serde(alias = "FAILED")]
    Failed,
}

/// `POST /api/code/backup-runner/backups/{id}/report`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub status: Reported,
    /// Required with `failed` (the reason); optional otherwise (progress, where it went).
    pub message: Option<String>,
}

/// A backup for its runner, with the repository to back up.
pub struct RunnerBackup {
    pub backup: backups::Model,
    pub repository: Option<repositories::Model>,
    pub organization: Option<organizations::Model>,
}

impl Report {
    fn message(&self) -> ApiResult<Option<String>> {
        let message = self
            .message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        if message.is_some_and(|m| m.chars().count() > MESSAGE_MAX) {
            return Err(ApiError::bad_input(format!(
                "message must be at most {MESSAGE_MAX} characters"
            )));
        }
        if self.status == Reported::Failed && message.is_none() {
            return Err(ApiError::bad_input(
                "a failed backup needs a message saying why",
            ));
        }
        Ok(message.map(str::to_string))
    }
}

fn stored(status: Reported) -> BackupStatus {
    match status {
        Reported::Running => BackupStatus::Running,
        Reported::Succeeded => BackupStatus::Completed,
        Reported::Failed => BackupStatus::Failed,
    }
}

impl BackupService {
    /// The tenant's requested backups nobody took yet, and those the runner is running, oldest
    /// first, with their repositories.
    pub async fn for_runner(&self, runner: &Runner) -> ApiResult<Vec<RunnerBackup>> {
        self.expire(&self.db, Some(runner.tenant_id), None, Utc::now())
            .await?;
        let mine_or_free = Condition::any()
            .add(backups::Column::RunnerId.is_null())
            .add(backups::Column::RunnerId.eq(runner.runner_id));
        let rows = backups::Entity::find()
            .filter(backups::Column::TenantId.eq(runner.tenant_id))
            .filter(backups::Column::Status.is_in(IN_FLIGHT))
            .filter(mine_or_free)
            .find_also_related(repositories::Entity)
            .order_by_asc(backups::Column::Id)
            .limit(LIST_MAX)
            .all(&self.db)
            .await?;
        let org_ids: Vec<Uuid> = rows
            .iter()
            .filter_map(|(_, r)| r.as_ref().map(|r| r.organization_id))
            .collect();
        let orgs = organizations::Entity::find()
            .filter(organizations::Column::Id.is_in(org_ids))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(backup, repository)| {
                let organization = repository
                    .as_ref()
                    .and_then(|r| orgs.iter().find(|o| o.id == r.organization_id).cloned());
                RunnerBackup {
                    backup,
                    repository,
                    organization,
                }
            })
            .collect())
    }

    /// Records a runner's report. Repeating the final report a backup already has is a no-op
    /// (a runner that lost our answer may send it again); anything else on a finished backup
    /// is `CONFLICT`.
    pub async fn report(
        &self,
        runner: &Runner,
        id: Uuid,
        report: Report,
    ) -> ApiResult<backups::Model> {
        let message = report.message()?;
        let to = stored(report.status);
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let now = Utc::now();
        // A silent backup is failed before the report is weighed: a late runner hears why.
        self.expire(&txn, Some(runner.tenant_id), None, now).await?;
        let backup = backups::Entity::find_by_id(id)
            .filter(backups::Column::TenantId.eq(runner.tenant_id))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("backup"))?;
        if backup.runner_id.is_some_and(|r| r != runner.runner_id) {
            return Err(ApiError::new(
                Code::Conflict,
                "another backup runner took this backup",
            ));
        }
        if !IN_FLIGHT.contains(&backup.status) {
            if backup.status == to && backup.runner_id == Some(runner.runner_id) {
                return Ok(backup);
            }
            let why = match (&backup.status, &backup.error) {
                (BackupStatus::Failed, Some(error)) => format!("the backup has failed ({error})"),
                (BackupStatus::Failed, None) => "the backup has failed".to_string(),
                _ => "the backup has succeeded".to_string(),
            };
            return Err(ApiError::new(
                Code::Conflict,
                format!("{why}; a new request starts a new backup"),
            ));
        }
        let mut update = backups::Entity::update_many()
            .col_expr(backups::Column::Status, Expr::value(to))
            .col_expr(backups::Column::RunnerId, Expr::value(runner.runner_id))
            .col_expr(backups::Column::Message, Expr::value(message.clone()))
            .col_expr(backups::Column::LastReportAt, Expr::value(now))
            .col_expr(backups::Column::UpdatedAt, Expr::value(now));
        if backup.started_at.is_none() {
            update = update.col_expr(backups::Column::StartedAt, Expr::value(now));
        }
        if to != BackupStatus::Running {
            update = update.col_expr(backups::Column::FinishedAt, Expr::value(now));
        }
        if to == BackupStatus::Failed {
            update = update.col_expr(backups::Column::Error, Expr::value(message));
        }
        let saved = update
            .filter(backups::Column::Id.eq(backup.id))
            .filter(backups::Column::Status.eq(backup.status))
            .exec_with_returning(&txn)
            .await?
            .pop()
            .ok_or_else(|| {
                ApiError::new(
                    Code::Conflict,
                    "the backup changed meanwhile; read it again",
                )
            })?;
        let seen = backup_runners::ActiveModel {
            id: Set(runner.runner_id),
            last_seen_at: Set(Some(now)),
            ..Default::default()
        };
        backup_runners::Entity::update(seen).exec(&txn).await?;
        txn.commit().await?;
        Ok(saved)
    }
}
