//! The REST API of Migrate's desktop agents under `/api/agent/…`: JSON in and out, the agent's
//! key as `Authorization: Bearer sgak_…`, errors in the GraphQL shape
//! (`{"errors":[{message, extensions:{code}}]}`) with the status of `status_of`. Ids in paths
//! and bodies are plain UUIDs (a GraphQL global ID is accepted in a path too).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entities::enums::{AgentCommand, AgentStatus, CommandStatus, JobKind, JobStatus};
use entities::{agent_commands, agents, jobs, projects};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::{REQUEST_ID, error_response};
use crate::auth::{Agent, Principal};
use crate::http::state::AppState;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::paging::decode_global_id;
use crate::migrate::agents::AgentHello;
use crate::migrate::reports::{Completion, Failure, Progress};

/// An agent as the agent sees itself.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    id: Uuid,
    name: String,
    hostname: Option<String>,
    version: Option<String>,
    status: AgentStatus,
    api_key_prefix: String,
    registered_at: DateTime<Utc>,
    last_heartbeat_at: Option<DateTime<Utc>>,
}

impl From<agents::Model> for AgentView {
    fn from(a: agents::Model) -> Self {
        AgentView {
            id: a.id,
            name: a.name,
            hostname: a.hostname,
            version: a.version,
            status: a.status,
            api_key_prefix: a.api_key_prefix,
            registered_at: a.registered_at,
            last_heartbeat_at: a.last_heartbeat_at,
        }
    }
}

/// A command for the agent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandView {
    id: Uuid,
    command: AgentCommand,
    job_id: Option<Uuid>,
    status: CommandStatus,
    created_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
}

impl From<agent_commands::Model> for CommandView {
    fn from(c: agent_commands::Model) -> Self {
        CommandView {
            id: c.id,
            command: c.command,
            job_id: c.job_id,
            status: c.status,
            created_at: c.created_at,
            acknowledged_at: c.acknowledged_at,
        }
    }
}

/// Where a job's data goes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    id: Uuid,
    name: String,
    storage_account: Option<String>,
    storage_container: Option<String>,
}

/// A job as its agent sees it (the Mission key is never included).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    id: Uuid,
    project_id: Uuid,
    kind: JobKind,
    name: String,
    status: JobStatus,
    config: serde_json::Value,
    mission_key_set: bool,
    items_done: i64,
    items_total: Option<i64>,
    bytes_done: i64,
    bytes_total: Option<i64>,
    gb_transferred: f64,
    mailbox_count: i32,
    error: Option<String>,
    psa_ticket_id: Option<String>,
    psa_project_id: Option<String>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<ProjectView>,
}

impl JobView {
    fn new(j: jobs::Model, project: Option<projects::Model>) -> Self {
        JobView {
            id: j.id,
            project_id: j.project_id,
            kind: j.kind,
            name: j.name,
            status: j.status,
            config: j.config,
            mission_key_set: j.secret_encrypted.is_some(),
            items_done: j.items_done,
            items_total: j.items_total,
            bytes_done: j.bytes_done,
            bytes_total: j.bytes_total,
            gb_transferred: j.gb_transferred,
            mailbox_count: j.mailbox_count,
            error: j.error,
            psa_ticket_id: j.psa_ticket_id,
            psa_project_id: j.psa_project_id,
            started_at: j.started_at,
            finished_at: j.finished_at,
            project: project.map(|p| ProjectView {
                id: p.id,
                name: p.name,
                storage_account: p.storage_account,
                storage_container: p.storage_container,
            }),
        }
    }
}

fn job_body(job: jobs::Model) -> serde_json::Value {
    serde_json::json!({ "job": JobView::new(job, None) })
}

/// The calling agent: users are `FORBIDDEN` here, no key is `UNAUTHENTICATED`.
pub(super) async fn caller(state: &AppState, headers: &HeaderMap) -> ApiResult<Agent> {
    match crate::http::auth::principal(state, headers).await? {
        Principal::Agent(agent) => Ok(agent),
        Principal::User(_) => Err(ApiError::forbidden(
            "the agent API takes an agent key; users work through /graphql",
        )),
        Principal::Anonymous => Err(ApiError::new(
            Code::Unauthenticated,
            "send the agent key as Authorization: Bearer sgak_…",
        )),
    }
}

/// A JSON body; an empty body reads as `{}` where every field is optional.
pub(super) fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    crate::kernel::hygiene::check_json(bytes, "the body")?;
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_input(format!("the body is not valid for this call: {e}")))
}

/// A path id: a UUID, or a GraphQL global ID of `type_name`.
pub(super) fn path_id(raw: &str, type_name: &str) -> ApiResult<Uuid> {
    if let Ok(id) = Uuid::parse_str(raw) {
        return Ok(id);
    }
    match decode_global_id(raw) {
        Ok((t, id)) if t == type_name => Ok(id),
        _ => Err(ApiError::bad_input(format!(
            "{raw:?} is not a {type_name} id"
        ))),
    }
}

pub(super) fn reply(headers: &HeaderMap, result: ApiResult<serde_json::Value>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => {
            let rid = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok());
            error_response(&error, rid)
        }
    }
}

/// `POST /api/agent/register` `{hostname?, version?}` → `{agent}`; emits `agent.registered`.
pub async fn register(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        let row = state
            .services
            .agents
            .reregister(&agent, body::<AgentHello>(&bytes)?)
            .await?;
        Ok(serde_json::json!({ "agent": AgentView::from(row) }))
    };
    reply(&headers, result.await)
}

/// `POST /api/agent/heartbeat` → `{agent, commands}`: the commands not yet acknowledged.
pub async fn heartbeat(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        let (row, commands) = state.services.agents.heartbeat(&agent).await?;
        let commands: Vec<CommandView> = commands.into_iter().map(Into::into).collect();
        Ok(serde_json::json!({ "agent": AgentView::from(row), "commands": commands }))
    };
    reply(&headers, result.await)
}

/// `POST /api/agent/commands/{id}/ack` → `{command, job}`.
pub async fn ack(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        let (command, job) = state
            .services
            .jobs
            .acknowledge(&agent, path_id(&id, "AgentCommand")?)
            .await?;
        let job = job.map(|j| JobView::new(j, None));
        Ok(serde_json::json!({ "command": CommandView::from(command), "job": job }))
    };
    reply(&headers, result.await)
}

/// `GET /api/agent/jobs` → `{jobs}`: queued, running and paused jobs assigned to the agent.
pub async fn jobs(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        let rows = state.services.jobs.agent_jobs(&agent).await?;
        let jobs: Vec<JobView> = rows.into_iter().map(|(j, p)| JobView::new(j, p)).collect();
        Ok(serde_json::json!({ "jobs": jobs }))
    };
    reply(&headers, result.await)
}

/// `POST /api/agent/jobs/{id}/start` → `{job}`.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        Ok(job_body(
            state
                .services
                .jobs
                .start(&agent, path_id(&id, "Job")?)
                .await?,
        ))
    };
    reply(&headers, result.await)
}

/// `POST /api/agent/jobs/{id}/progress` `{itemsDone, itemsTotal?, bytesDone, bytesTotal?}`.
pub async fn progress(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        let report = body::<Progress>(&bytes)?;
        Ok(job_body(
            state
                .services
                .jobs
                .progress(&agent, path_id(&id, "Job")?, report)
                .await?,
        ))
    };
    reply(&headers, result.await)
}

/// `POST /api/agent/jobs/{id}/complete` `{gbTransferred?, mailboxCount?}`; emits `job.completed`.
pub async fn complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        let done = body::<Completion>(&bytes)?;
        Ok(job_body(
            state
                .services
                .jobs
                .complete(&agent, path_id(&id, "Job")?, done)
                .await?,
        ))
    };
    reply(&headers, result.await)
}

/// `POST /api/agent/jobs/{id}/fail` `{error, missionStatus?}`; emits `job.failed`.
pub async fn fail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        let failure = body::<Failure>(&bytes)?;
        Ok(job_body(
            state
                .services
                .jobs
                .fail(&agent, path_id(&id, "Job")?, failure)
                .await?,
        ))
    };
    reply(&headers, result.await)
}

/// `GET /api/agent/jobs/{id}/mission` → `{jobId, apiUrl, keyHeader, integrationKey, endpoints}`:
/// where a RockRMS import posts and with which key (its assigned agent only; not cached).
pub async fn mission(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        let access = state
            .services
            .jobs
            .mission_access(&agent, path_id(&id, "Job")?)
            .await?;
        serde_json::to_value(access).map_err(|e| anyhow::Error::from(e).into())
    };
    super::credentials::private(reply(&headers, result.await))
}
