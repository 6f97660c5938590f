//! The Mission import target of RockRMS imports: the assigned agent, and only it, fetches the
//! Mission API URL and its job's integration key (`GET /api/agent/jobs/{id}/mission`). The key
//! is opened from its sealed column for this answer only: it is never returned through GraphQL
//! and never logged. A key rotated with `updateJobMissionKey` is what the next fetch returns.

use entities::enums::JobKind;
use entities::jobs;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use uuid::Uuid;

use super::jobs::JobService;
use super::status;
use crate::auth::Agent;
use crate::kernel::errors::{ApiError, ApiResult, Code};

/// The import endpoints of The One Mission, in the order an import posts to them (seed 004).
pub const IMPORT_ENDPOINTS: [&str; 6] = [
    "/api/import/people",
    "/api/import/families",
    "/api/import/groups",
    "/api/import/contributions",
    "/api/import/attendance",
    "/api/import/prayer-requests",
];

/// The header the integration key travels in.
pub const KEY_HEADER: &str = "X-Integration-Key";

/// What the agent of a RockRMS import needs to post to The One Mission.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissionAccess {
    pub job_id: Uuid,
    /// `MISSION_API_URL`, without a trailing `/`.
    pub api_url: String,
    /// The header to send the key in (`X-Integration-Key`).
    pub key_header: &'static str,
    pub integration_key: String,
    /// The import endpoints' paths, in order.
    pub endpoints: [&'static str; 6],
}

impl JobService {
    /// The Mission API URL and integration key of a RockRMS import assigned to `agent`.
    /// Another agent's or another tenant's job is `NOT_FOUND`; another kind of job is
    /// `BAD_USER_INPUT`; a finished job or one without a key is `CONFLICT`; no
    /// `MISSION_API_URL` is `INTEGRATION_NOT_CONFIGURED`.
    pub async fn mission_access(&self, agent: &Agent, id: Uuid) -> ApiResult<MissionAccess> {
        let job = jobs::Entity::find_by_id(id)
            .filter(jobs::Column::TenantId.eq(agent.tenant_id))
            .filter(jobs::Column::AgentId.eq(agent.agent_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("job"))?;
        if job.kind != JobKind::RockrmsImport {
            return Err(ApiError::bad_input(
                "only RockRMS import jobs post to The One Mission",
            ));
        }
        if status::is_terminal(job.status) {
            return Err(ApiError::new(
                Code::Conflict,
                format!(
                    "the job is {} and will not run again",
                    status::name(job.status)
                ),
            ));
        }
        let Some(sealed) = job.secret_encrypted.as_deref() else {
            return Err(ApiError::new(
                Code::Conflict,
                "the job has no Mission integration key yet: a technician sets it with \
                 updateJobMissionKey",
            ));
        };
        let Some(api_url) = self.mission_api_url.clone() else {
            return Err(ApiError::new(
                Code::IntegrationNotConfigured,
                "The One Mission is not configured: set MISSION_API_URL",
            ));
        };
        let integration_key = self
            .secrets
            .open(sealed)
            .map_err(|_| anyhow::anyhow!("the Mission key of job {} does not open", job.id))?;
        Ok(MissionAccess {
            job_id: job.id,
            api_url,
            key_header: KEY_HEADER,
            integration_key,
            endpoints: IMPORT_ENDPOINTS,
        })
    }
}
