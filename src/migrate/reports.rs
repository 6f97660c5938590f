//! What agents report about their jobs: the list of their work, start, progress, completion
//! (`job.completed`) and failure (`job.failed`). A job not assigned to the calling agent, or of
//! another tenant, is `NOT_FOUND`.

use chrono::Utc;
use entities::enums::{JobKind, JobStatus};
use entities::{jobs, projects};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::jobs::{JobService, record, save, transition};
use super::notifications;
use super::rules::required;
use super::status;
use crate::auth::Agent;
use crate::integrations::bus::{
    self,
    events::{JobCompleted, JobFailed},
};
use crate::kernel::errors::{ApiError, ApiResult, Code};

/// Bytes per reported gigabyte (decimal, as billed).
const BYTES_PER_GB: f64 = 1_000_000_000.0;
/// The most jobs one agent is handed at a time.
const AGENT_JOBS_MAX: u64 = 500;

/// The error a RockRMS import gets when The One Mission refused its integration key.
pub const MISSION_KEY_REJECTED: &str = "The One Mission answered 403 Forbidden: the integration \
    key was rotated or revoked. Regenerate the key in Mission → Settings → Integrations and \
    update the job configuration.";

/// `POST /api/agent/jobs/{id}/progress`.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub items_done: i64,
    pub items_total: Option<i64>,
    pub bytes_done: i64,
    pub bytes_total: Option<i64>,
}

/// `POST /api/agent/jobs/{id}/complete`.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    pub gb_transferred: Option<f64>,
    pub mailbox_count: Option<i64>,
}

/// `POST /api/agent/jobs/{id}/fail`.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub error: String,
    /// The HTTP status The One Mission answered (RockRMS imports).
    pub mission_status: Option<u16>,
}

impl Progress {
    /// Non-negative, and within the totals (given now or known before).
    fn check(&self, job: &jobs::Model) -> ApiResult<()> {
        let counts = [
            ("itemsDone", Some(self.items_done)),
            ("itemsTotal", self.items_total),
            ("bytesDone", Some(self.bytes_done)),
            ("bytesTotal", self.bytes_total),
        ];
        for (field, value) in counts {
            if value.is_some_and(|v| v < 0) {
                return Err(ApiError::bad_input(format!("{field} must not be negative")));
            }
        }
        let within = |done: i64, total: Option<i64>, what: &str| match total {
            Some(total) if done > total => Err(ApiError::bad_input(format!(
                "{what}Done ({done}) exceeds {what}Total ({total})"
            ))),
            _ => Ok(()),
        };
        within(
            self.items_done,
            self.items_total.or(job.items_total),
            "items",
        )?;
        within(
            self.bytes_done,
            self.bytes_total.or(job.bytes_total),
            "bytes",
        )?;
        Ok(())
    }

    /// Progress never goes back.
    fn check_monotonic(&self, job: &jobs::Model) -> ApiResult<()> {
        if self.items_done < job.items_done || self.bytes_done < job.bytes_done {
            return Err(ApiError::bad_input(format!(
                "progress never goes back: already {} items and {} bytes done",
                job.items_done, job.bytes_done
            )));
        }
        Ok(())
    }
}

/// A job assigned to `agent` in its tenant, or `NOT_FOUND`.
async fn agent_job(conn: &impl ConnectionTrait, agent: &Agent, id: Uuid) -> ApiResult<jobs::Model> {
    jobs::Entity::find_by_id(id)
        .filter(jobs::Column::TenantId.eq(agent.tenant_id))
        .filter(jobs::Column::AgentId.eq(agent.agent_id))
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))
}

impl JobService {
    /// The agent's queued, running and paused jobs, oldest first, with their projects.
    pub async fn agent_jobs(
        &self,
        agent: &Agent,
    ) -> ApiResult<Vec<(jobs::Model, Option<projects::Model>)>> {
        Ok(jobs::Entity::find()
            .filter(jobs::Column::TenantId.eq(agent.tenant_id))
            .filter(jobs::Column::AgentId.eq(agent.agent_id))
            .filter(jobs::Column::Status.is_in([
                JobStatus::Queued,
                JobStatus::Running,
                JobStatus::Paused,
            ]))
            .find_also_related(projects::Entity)
            .order_by_asc(jobs::Column::Id)
            .limit(AGENT_JOBS_MAX)
            .all(&self.db)
            .await?)
    }

    /// The agent starts a queued job.
    pub async fn start(&self, agent: &Agent, id: Uuid) -> ApiResult<jobs::Model> {
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let job = agent_job(&txn, agent, id).await?;
        let saved = save(&txn, &job, transition(&job, JobStatus::Running)?).await?;
        record(&txn, &saved, "status", "started by the agent", json!({})).await?;
        txn.commit().await?;
        self.live.job_changed(&saved).await;
        Ok(saved)
    }

    /// The agent reports progress on a running (or just paused) job.
    pub async fn progress(
        &self,
        agent: &Agent,
        id: Uuid,
        report: Progress,
    ) -> ApiResult<jobs::Model> {
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let job = agent_job(&txn, agent, id).await?;
        report.check(&job)?;
        if !matches!(job.status, JobStatus::Running | JobStatus::Paused) {
            return Err(ApiError::new(
                Code::Conflict,
                format!(
                    "the job is {}; progress is accepted only while it runs",
                    status::name(job.status)
                ),
            ));
        }
        report.check_monotonic(&job)?;
        let row = jobs::ActiveModel {
            items_done: Set(report.items_done),
            items_total: Set(report.items_total.or(job.items_total)),
            bytes_done: Set(report.bytes_done),
            bytes_total: Set(report.bytes_total.or(job.bytes_total)),
            gb_transferred: Set(report.bytes_done as f64 / BYTES_PER_GB),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        // The counters guard against an older report overtaking a newer one.
        let saved = jobs::Entity::update_many()
            .set(row)
            .filter(jobs::Column::Id.eq(job.id))
            .filter(jobs::Column::Status.eq(job.status))
            .filter(jobs::Column::ItemsDone.lte(report.items_done))
            .filter(jobs::Column::BytesDone.lte(report.bytes_done))
            .exec_with_returning(&txn)
            .await?
            .pop()
            .ok_or_else(|| ApiError::new(Code::Conflict, "the job changed meanwhile; retry"))?;
        let message = match saved.items_total {
            Some(total) => format!("{} of {total} items", saved.items_done),
            None => format!("{} items", saved.items_done),
        };
        let data = json!({
            "itemsDone": saved.items_done, "itemsTotal": saved.items_total,
            "bytesDone": saved.bytes_done, "bytesTotal": saved.bytes_total,
        });
        record(&txn, &saved, "progress", &message, data).await?;
        txn.commit().await?;
        self.live.job_changed(&saved).await;
        Ok(saved)
    }

    /// The agent finished a running job: `job.completed`.
    pub async fn complete(
        &self,
        agent: &Agent,
        id: Uuid,
        done: Completion,
    ) -> ApiResult<jobs::Model> {
        if done
            .gb_transferred
            .is_some_and(|gb| !gb.is_finite() || gb < 0.0)
        {
            return Err(ApiError::bad_input(
                "gbTransferred must be a number of at least 0",
            ));
        }
        let mailboxes = done
            .mailbox_count
            .map(|n| i32::try_from(n).ok().filter(|n| *n >= 0))
            .map(|n| n.ok_or_else(|| ApiError::bad_input("mailboxCount must be 0 or more")))
            .transpose()?;
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let job = agent_job(&txn, agent, id).await?;
        let mut row = transition(&job, JobStatus::Completed)?;
        let gb = done
            .gb_transferred
            .unwrap_or(job.bytes_done as f64 / BYTES_PER_GB);
        row.gb_transferred = Set(gb);
        row.mailbox_count = Set(mailboxes.unwrap_or(job.mailbox_count));
        let saved = save(&txn, &job, row).await?;
        let event = JobCompleted {
            job_id: saved.id,
            project_id: saved.project_id,
            gb_transferred: saved.gb_transferred,
            mailbox_count: saved.mailbox_count.into(),
            psa_ticket_id: saved.psa_ticket_id.clone(),
            psa_project_id: saved.psa_project_id.clone(),
        };
        bus::enqueue(&txn, agent.tenant_id, &event).await?;
        let data =
            json!({ "gbTransferred": saved.gb_transferred, "mailboxCount": saved.mailbox_count });
        record(&txn, &saved, "status", "completed", data).await?;
        let mail = notifications::for_job(&txn, &saved).await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        self.live.job_changed(&saved).await;
        notifications::wake(&self.queue, mail).await;
        Ok(saved)
    }

    /// The agent gave up on a running job: `job.failed`, with Mission's 403 spelled out.
    pub async fn fail(&self, agent: &Agent, id: Uuid, failure: Failure) -> ApiResult<jobs::Model> {
        let reported = required("error", &failure.error, 4000)?;
        if failure
            .mission_status
            .is_some_and(|s| !(100..=599).contains(&s))
        {
            return Err(ApiError::bad_input(
                "missionStatus must be an HTTP status (100–599)",
            ));
        }
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let job = agent_job(&txn, agent, id).await?;
        if failure.mission_status.is_some() && job.kind != JobKind::RockrmsImport {
            return Err(ApiError::bad_input(
                "missionStatus applies only to RockRMS import jobs",
            ));
        }
        let error = match failure.mission_status {
            Some(403) => MISSION_KEY_REJECTED.to_string(),
            Some(status) => format!("The One Mission answered {status}: {reported}"),
            None => reported.clone(),
        };
        let mut row = transition(&job, JobStatus::Failed)?;
        row.error = Set(Some(error.clone()));
        let saved = save(&txn, &job, row).await?;
        let event = JobFailed {
            job_id: saved.id,
            project_id: saved.project_id,
            error: error.clone(),
            psa_ticket_id: saved.psa_ticket_id.clone(),
            psa_project_id: saved.psa_project_id.clone(),
        };
        bus::enqueue(&txn, agent.tenant_id, &event).await?;
        let data = json!({ "agentError": reported, "missionStatus": failure.mission_status });
        record(&txn, &saved, "error", &error, data).await?;
        let mail = notifications::for_job(&txn, &saved).await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        self.live.job_changed(&saved).await;
        notifications::wake(&self.queue, mail).await;
        Ok(saved)
    }
}
