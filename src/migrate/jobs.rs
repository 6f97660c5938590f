//! Migration jobs, the user side: creation (`job.created`), assignment and the Mission key; and
//! the helpers every job change shares (the status machine, conditional saves, job events).
//! Agent reports live in `reports.rs`, commands in `commands.rs`.

use std::sync::Arc;

use chrono::Utc;
use entities::enums::{AgentStatus, JobKind, JobStatus};
use entities::{agents, job_events, jobs, projects};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use tokio::sync::Notify;
use uuid::Uuid;

use super::rules::{optional, required};
use super::status;
use crate::auth::User;
use crate::integrations::bus::{self, events::JobCreated};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::live::LiveHub;
use crate::secrets::SecretBox;

/// Largest `config` document, serialized.
const CONFIG_MAX_BYTES: usize = 64 * 1024;
/// Key names that mean a secret: those belong in `missionIntegrationKey`, not in `config`.
const SECRET_WORDS: &[&str] = &["password", "secret", "token", "apikey", "integrationkey"];

#[derive(Clone)]
pub struct JobService {
    pub(super) db: DatabaseConnection,
    pub(super) secrets: SecretBox,
    pub(super) bus_wake: Arc<Notify>,
    /// Subscribers of job progress hear of each committed change.
    pub(super) live: LiveHub,
    /// Where e-mail deliveries are queued after a commit.
    pub(super) queue: ::jobs::Queue,
    /// `MISSION_API_URL`, for the agents of RockRMS imports.
    pub(super) mission_api_url: Option<String>,
}

/// A job to create.
pub struct NewJob {
    pub project: Uuid,
    pub kind: JobKind,
    pub name: String,
    pub agent: Option<Uuid>,
    pub psa_ticket_id: Option<String>,
    pub psa_project_id: Option<String>,
    /// Non-secret settings for the agent (a JSON object).
    pub config: serde_json::Value,
    pub mission_integration_key: Option<String>,
}

/// The stored (and Bus) name of a kind.
pub fn kind_name(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Mailbox => "mailbox",
        JobKind::FileShare => "file_share",
        JobKind::RockrmsImport => "rockrms_import",
        JobKind::Sharepoint => "sharepoint",
        JobKind::Onedrive => "onedrive",
    }
}

/// `config` must be a JSON object of non-secret settings.
fn check_config(config: &serde_json::Value) -> ApiResult<()> {
    if !config.is_object() {
        return Err(ApiError::bad_input("config must be a JSON object"));
    }
    if config.to_string().len() > CONFIG_MAX_BYTES {
        return Err(ApiError::bad_input(format!(
            "config must be at most {CONFIG_MAX_BYTES} bytes"
        )));
    }
    fn secret_key(value: &serde_json::Value) -> Option<String> {
        match value {
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let plain: String = k
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if SECRET_WORDS.iter().any(|w| plain.contains(w)) {
                    Some(k.clone())
                } else {
                    secret_key(v)
                }
            }),
            serde_json::Value::Array(items) => items.iter().find_map(secret_key),
            _ => None,
        }
    }
    if let Some(key) = secret_key(config) {
        return Err(ApiError::bad_input(format!(
            "config holds non-secret settings only; {key:?} looks like a secret (a Mission \
             integration key goes in missionIntegrationKey)"
        )));
    }
    Ok(())
}

fn mission_key(kind: JobKind, key: &str) -> ApiResult<String> {
    if kind != JobKind::RockrmsImport {
        return Err(ApiError::bad_input(
            "a Mission integration key applies only to RockRMS import jobs",
        ));
    }
    required("missionIntegrationKey", key, 512)
}

impl JobService {
    pub fn new(
        db: DatabaseConnection,
        secrets: SecretBox,
        bus_wake: Arc<Notify>,
        live: LiveHub,
        queue: ::jobs::Queue,
        mission_api_url: Option<String>,
    ) -> Self {
        JobService {
            db,
            secrets,
            bus_wake,
            live,
            queue,
            mission_api_url: mission_api_url.map(|u| u.trim_end_matches('/').to_string()),
        }
    }

    /// Creates a queued job and emits `job.created`.
    pub async fn create(&self, user: &User, input: NewJob) -> ApiResult<jobs::Model> {
        let kind = input.kind;
        let name = required("name", &input.name, 200)?;
        let ticket = optional("psaTicketId", input.psa_ticket_id.as_deref(), 100)?;
        let psa_project = optional("psaProjectId", input.psa_project_id.as_deref(), 100)?;
        check_config(&input.config)?;
        let secret = input
            .mission_integration_key
            .as_deref()
            .map(|key| mission_key(kind, key).map(|k| self.secrets.seal(&k)))
            .transpose()?;
        let (project_id, agent_id) = (input.project, input.agent);
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        projects::Entity::find_by_id(project_id)
            .filter(projects::Column::TenantId.eq(user.tenant_id))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("project"))?;
        if let Some(agent) = agent_id {
            usable_agent(&txn, user.tenant_id, agent).await?;
        }
        let now = Utc::now();
        let row = jobs::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(user.tenant_id),
            project_id: Set(project_id),
            agent_id: Set(agent_id),
            kind: Set(kind),
            name: Set(name),
            status: Set(JobStatus::Queued),
            psa_ticket_id: Set(ticket),
            psa_project_id: Set(psa_project),
            items_total: Set(None),
            items_done: Set(0),
            bytes_total: Set(None),
            bytes_done: Set(0),
            gb_transferred: Set(0.0),
            mailbox_count: Set(0),
            error: Set(None),
            config: Set(input.config),
            secret_encrypted: Set(secret),
            started_at: Set(None),
            finished_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let job = jobs::Entity::insert(row).exec_with_returning(&txn).await?;
        let event = JobCreated {
            job_id: job.id,
            project_id: job.project_id,
            kind: kind_name(job.kind).into(),
            name: job.name.clone(),
            psa_ticket_id: job.psa_ticket_id.clone(),
            psa_project_id: job.psa_project_id.clone(),
        };
        bus::enqueue(&txn, user.tenant_id, &event).await?;
        record(
            &txn,
            &job,
            "status",
            "created (queued)",
            serde_json::json!({}),
        )
        .await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        self.live.job_changed(&job).await;
        Ok(job)
    }

    /// Assigns a queued job to an agent of the tenant (or another one).
    pub async fn assign(
        &self,
        user: &User,
        job_id: Uuid,
        agent_id: Uuid,
    ) -> ApiResult<jobs::Model> {
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let job = user_job(&txn, user.tenant_id, job_id).await?;
        let agent = usable_agent(&txn, user.tenant_id, agent_id).await?;
        if job.status != JobStatus::Queued {
            return Err(ApiError::new(
                Code::Conflict,
                format!(
                    "only a queued job can be assigned; this one is {}",
                    status::name(job.status)
                ),
            ));
        }
        let mut row = job.clone().into_active_model();
        row.agent_id = Set(Some(agent.id));
        row.updated_at = Set(Utc::now());
        let saved = save(&txn, &job, row).await?;
        let data = serde_json::json!({ "agentId": agent.id });
        let message = format!("assigned to agent {}", agent.name);
        record(&txn, &saved, "assignment", &message, data).await?;
        txn.commit().await?;
        self.live.job_changed(&saved).await;
        Ok(saved)
    }

    /// Stores a new Mission integration key for a RockRMS import that has not finished.
    pub async fn update_mission_key(
        &self,
        user: &User,
        job_id: Uuid,
        key: &str,
    ) -> ApiResult<jobs::Model> {
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let job = user_job(&txn, user.tenant_id, job_id).await?;
        let sealed = self.secrets.seal(&mission_key(job.kind, key)?);
        if status::is_terminal(job.status) {
            return Err(ApiError::new(
                Code::Conflict,
                format!(
                    "the job is {} and will not run again; create a new job with the new key",
                    status::name(job.status)
                ),
            ));
        }
        let mut row = job.clone().into_active_model();
        row.secret_encrypted = Set(Some(sealed));
        row.updated_at = Set(Utc::now());
        let saved = save(&txn, &job, row).await?;
        let message = "Mission integration key updated";
        record(
            &txn,
            &saved,
            "configuration",
            message,
            serde_json::json!({}),
        )
        .await?;
        txn.commit().await?;
        Ok(saved)
    }
}

/// A job of the tenant, or `NOT_FOUND`.
pub(super) async fn user_job(
    conn: &impl ConnectionTrait,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<jobs::Model> {
    jobs::Entity::find_by_id(id)
        .filter(jobs::Column::TenantId.eq(tenant))
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))
}

/// An agent of the tenant that is not revoked (`NOT_FOUND` / `CONFLICT`).
async fn usable_agent(
    conn: &impl ConnectionTrait,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<agents::Model> {
    let agent = agents::Entity::find_by_id(id)
        .filter(agents::Column::TenantId.eq(tenant))
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    if agent.status == AgentStatus::Revoked {
        return Err(ApiError::new(
            Code::Conflict,
            "the agent is revoked and cannot take jobs",
        ));
    }
    Ok(agent)
}

/// The job moved to `to` (checked against the status machine), with its timestamps.
pub(super) fn transition(job: &jobs::Model, to: JobStatus) -> ApiResult<jobs::ActiveModel> {
    status::check(job.status, to)?;
    let now = Utc::now();
    let mut row = job.clone().into_active_model();
    row.status = Set(to);
    row.updated_at = Set(now);
    if to == JobStatus::Running && job.started_at.is_none() {
        row.started_at = Set(Some(now));
    }
    if status::is_terminal(to) {
        row.finished_at = Set(Some(now));
    }
    Ok(row)
}

/// Writes `row` if the job still has the status it was read with; a concurrent change is
/// `CONFLICT` (the transaction then rolls back).
pub(super) async fn save(
    conn: &impl ConnectionTrait,
    before: &jobs::Model,
    row: jobs::ActiveModel,
) -> ApiResult<jobs::Model> {
    jobs::Entity::update_many()
        .set(row)
        .filter(jobs::Column::Id.eq(before.id))
        .filter(jobs::Column::TenantId.eq(before.tenant_id))
        .filter(jobs::Column::Status.eq(before.status))
        .exec_with_returning(conn)
        .await?
        .pop()
        .ok_or_else(|| {
            ApiError::new(
                Code::Conflict,
                "the job changed meanwhile; read it again and retry",
            )
        })
}

/// Appends a job event (what happened, for the job's history).
pub(super) async fn record(
    conn: &impl ConnectionTrait,
    job: &jobs::Model,
    kind: &str,
    message: &str,
    data: serde_json::Value,
) -> ApiResult<()> {
    let row = job_events::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(job.tenant_id),
        job_id: Set(job.id),
        kind: Set(kind.into()),
        message: Set(message.into()),
        data: Set(data),
        created_at: Set(Utc::now()),
    };
    job_events::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_is_an_object_without_secrets() {
        assert!(check_config(&json!({ "mailboxes": ["a@b.c"], "batchSize": 50 })).is_ok());
        assert!(check_config(&json!([1, 2])).is_err());
        assert!(check_config(&json!("text")).is_err());
        assert!(check_config(&json!({ "mission": { "integration_key": "x" } })).is_err());
        assert!(check_config(&json!({ "smtpPassword": "x" })).is_err());
        let big = "x".repeat(CONFIG_MAX_BYTES);
        assert!(check_config(&json!({ "notes": big })).is_err());
    }

    #[test]
    fn mission_keys_only_for_rockrms() {
        assert!(mission_key(JobKind::RockrmsImport, "k-123").is_ok());
        assert!(mission_key(JobKind::Mailbox, "k-123").is_err());
        assert!(mission_key(JobKind::RockrmsImport, "  ").is_err());
    }
}
