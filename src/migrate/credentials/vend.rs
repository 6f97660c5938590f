//! Vending: the job's project's refresh token → a storage access token (storing the rotated
//! refresh token) → a user delegation key → a one-hour create/write SAS on the container. Any
//! failure is an error: never a longer-lived or broader credential instead.

use chrono::Utc;
use entities::enums::JobStatus;
use entities::{jobs, projects};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use uuid::Uuid;

use super::{CredentialService, refresh_expiry};
use crate::auth::{Agent, User};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::upstream::azure_sas::{self as sas, PERMISSIONS};
use crate::upstream::azure_storage::{self, Grant};
use crate::upstream::integration::Integration;

/// What an agent uploads with (the REST answer, camelCase).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Vended {
    pub sas_token: String,
    pub container_url: String,
    pub expires_at: chrono::DateTime<Utc>,
    pub permissions: &'static str,
}

impl CredentialService {
    /// For an agent: only a job assigned to it in its tenant (anything else is `NOT_FOUND`).
    pub async fn for_agent(&self, agent: &Agent, job: Uuid) -> ApiResult<Vended> {
        let job = jobs::Entity::find_by_id(job)
            .filter(jobs::Column::TenantId.eq(agent.tenant_id))
            .filter(jobs::Column::AgentId.eq(agent.agent_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("job"))?;
        self.vend(job).await
    }

    /// For a Migrate operator: any job of the tenant.
    pub async fn for_user(&self, user: &User, job: Uuid) -> ApiResult<Vended> {
        let job = jobs::Entity::find_by_id(job)
            .filter(jobs::Column::TenantId.eq(user.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("job"))?;
        self.vend(job).await
    }

    async fn vend(&self, job: jobs::Model) -> ApiResult<Vended> {
        if matches!(
            job.status,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        ) {
            let status = serde_json::to_value(job.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            return Err(ApiError::new(
                Code::Conflict,
                format!("the job is {status}: no upload credentials are issued for a finished job"),
            ));
        }
        let project = projects::Entity::find_by_id(job.project_id)
            .filter(projects::Column::TenantId.eq(job.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("project"))?;
        let (account, container, sealed) = connected(&project)?;
        self.upstream.require(Integration::Azure)?;
        let issued = self.issue(&project, account, container, sealed).await;
        self.remember_outcome(&project, issued.as_ref().err())
            .await?;
        let signed = issued?;
        tracing::info!(job = %job.id, project = %project.id, expires_at = %signed.expires_at, "upload SAS issued");
        Ok(signed)
    }

    /// Keeps the project's last storage error for its tenant's Integrations page (cleared by a
    /// success).
    async fn remember_outcome(
        &self,
        project: &projects::Model,
        error: Option<&ApiError>,
    ) -> ApiResult<()> {
        let message = error.map(|e| e.message().to_string());
        if message.is_none() && project.storage_error.is_none() {
            return Ok(());
        }
        projects::Entity::update_many()
            .filter(projects::Column::Id.eq(project.id))
            .filter(projects::Column::TenantId.eq(project.tenant_id))
            .set(projects::ActiveModel {
                storage_error_at: Set(message.as_ref().map(|_| Utc::now())),
                storage_error: Set(message),
                ..Default::default()
            })
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// A fresh user-delegation SAS for the project's container.
    async fn issue(
        &self,
        project: &projects::Model,
        account: &str,
        container: &str,
        sealed: &str,
    ) -> ApiResult<Vended> {
        let refresh = self.secrets.open(sealed).map_err(|_| {
            ApiError::new(
                Code::IntegrationNotConfigured,
                "the project's stored Azure authorization cannot be opened with the current \
                 GATEWAY_ENCRYPTION_KEY: reconnect the project's storage account",
            )
        })?;
        let azure_tenant = project.azure_tenant.as_deref().unwrap_or("organizations");
        let tokens = azure_storage::redeem(
            &self.upstream,
            azure_tenant,
            &super::redirect_uri(&self.public_url),
            Grant::Refresh(&refresh),
        )
        .await?;
        if let Some(rotated) = tokens.refresh_token.as_deref().filter(|r| *r != refresh) {
            self.store_rotated(project, rotated, tokens.refresh_token_expires_in)
                .await?;
        }
        let (start, expiry) = sas::window(Utc::now());
        let key = azure_storage::user_delegation_key(
            &self.upstream,
            account,
            &tokens.access_token,
            start,
            expiry,
        )
        .await?;
        let signed = sas::sign(account, container, &key, start, expiry)?;
        Ok(Vended {
            sas_token: signed.token,
            container_url: format!(
                "{}/{container}",
                azure_storage::blob_base(self.upstream.config(), account)
            ),
            expires_at: signed.expires_at,
            permissions: PERMISSIONS,
        })
    }

    /// Microsoft rotated the refresh token: keep the new one (sealed), with its new lifetime.
    async fn store_rotated(
        &self,
        project: &projects::Model,
        token: &str,
        expires_in: Option<i64>,
    ) -> ApiResult<()> {
        let now = Utc::now();
        projects::Entity::update_many()
            .filter(projects::Column::Id.eq(project.id))
            .filter(projects::Column::TenantId.eq(project.tenant_id))
            .set(projects::ActiveModel {
                refresh_token_encrypted: Set(Some(self.secrets.seal(token))),
                credentials_expires_at: Set(Some(refresh_expiry(now, expires_in))),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// The project's account, container and sealed token, or what is missing.
fn connected(project: &projects::Model) -> ApiResult<(&str, &str, &str)> {
    let missing = |what: &str| {
        ApiError::new(
            Code::IntegrationNotConfigured,
            format!(
                "the job's project has no {what}: an admin or technician connects the project's \
                 Azure Storage account with connectProjectStorage"
            ),
        )
    };
    let account = project
        .storage_account
        .as_deref()
        .ok_or_else(|| missing("storage account"))?;
    let container = project
        .storage_container
        .as_deref()
        .ok_or_else(|| missing("storage container"))?;
    let sealed = project
        .refresh_token_encrypted
        .as_deref()
        .ok_or_else(|| missing("connected Azure Storage account"))?;
    Ok((account, container, sealed))
}
