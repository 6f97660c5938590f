//! Azure Storage credentials of Migrate projects: connecting a project's storage account by OAuth
//! (the refresh token is sealed at rest, never returned, never logged) and vending short-lived,
//! write-only SAS tokens to the agents that upload a job's data. The flow and its decisions:
//! docs/credentials.md.

pub mod types;
mod vend;

use chrono::{DateTime, TimeDelta, Utc};
use entities::projects;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use uuid::Uuid;

use super::rules::{storage_account, storage_container};
use crate::auth::User;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::paging::{expect_id, global_id};
use crate::secrets::SecretBox;
use crate::upstream::azure_storage::{self, Grant};
use crate::upstream::client::UpstreamClient;
use crate::upstream::integration::Integration;
use crate::upstream::microsoft::{self, SignIn};
use crate::upstream::oauth_state::{ConnectState, Flow};
use serde::{Deserialize, Serialize};
use types::ConnectProjectStorageInput;

pub use vend::Vended;

/// Azure Storage's connect flow (its states are sealed for this purpose only).
pub const FLOW: Flow = Flow {
    purpose: "azure-connect-state:v1:",
    product: "Azure",
    sign_in: "Azure",
    mutation: "connectProjectStorage",
};

/// Who connects which storage to which project: what the sealed state carries.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct StorageConnection {
    pub tenant: Uuid,
    pub project: Uuid,
    pub user: Uuid,
    pub account: String,
    pub container: String,
    pub azure_tenant: String,
}

/// Where Microsoft sends the browser back.
pub fn redirect_uri(public_url: &str) -> String {
    format!("{}/auth/azure/callback", public_url.trim_end_matches('/'))
}

/// How long a refresh token lives when the token answer does not say (Microsoft's default).
pub const REFRESH_TOKEN_DAYS: i64 = 90;

#[derive(Clone)]
pub struct CredentialService {
    db: DatabaseConnection,
    upstream: UpstreamClient,
    secrets: SecretBox,
    /// The gateway's own URL (Microsoft sends the browser back to it).
    public_url: String,
    /// `FRONTEND_URL`: where the browser goes once connected.
    frontend_url: String,
}

/// A sign-in link to send the user to.
pub struct Authorization {
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub project: projects::Model,
}

impl CredentialService {
    pub fn new(
        db: DatabaseConnection,
        upstream: UpstreamClient,
        secrets: SecretBox,
        public_url: String,
        frontend_url: String,
    ) -> Self {
        CredentialService {
            db,
            upstream,
            secrets,
            public_url,
            frontend_url,
        }
    }

    /// The Microsoft sign-in link that connects `input`'s storage account to the project. Nothing
    /// is written until the callback comes back with a code.
    pub async fn connect(
        &self,
        user: &User,
        input: ConnectProjectStorageInput,
    ) -> ApiResult<Authorization> {
        let project_id = expect_id(&input.project_id, "Project")?;
        let account = storage_account(Some(&input.storage_account))?
            .ok_or_else(|| ApiError::bad_input("storageAccount must not be empty"))?;
        let container = storage_container(Some(&input.container))?
            .ok_or_else(|| ApiError::bad_input("container must not be empty"))?;
        let azure_tenant = microsoft::azure_tenant(input.azure_tenant.as_deref())?;
        let project = self.project(user.tenant_id, project_id).await?;
        self.upstream.require(Integration::Azure)?;
        let state = ConnectState::new(StorageConnection {
            tenant: user.tenant_id,
            project: project.id,
            user: user.user_id,
            account,
            container,
            azure_tenant,
        });
        let config = self.upstream.config();
        let url = microsoft::authorize_url(SignIn {
            login_url: &config.azure_login_url,
            azure_tenant: &state.azure_tenant,
            client_id: config.azure_client_id.as_deref().unwrap_or_default(),
            redirect_uri: &redirect_uri(&self.public_url),
            state: &state.seal(&FLOW, &self.secrets),
            challenge: &state.challenge(),
        })?;
        Ok(Authorization {
            url: url.into(),
            expires_at: state.expires_at,
            project,
        })
    }

    /// The OAuth callback: redeems the code and stores the sealed refresh token with the storage
    /// names the state carries. Returns where to send the browser.
    pub async fn callback(
        &self,
        code: Option<&str>,
        state: Option<&str>,
        error: Option<&str>,
    ) -> ApiResult<String> {
        let (state, code) =
            FLOW.callback::<StorageConnection>(&self.secrets, code, state, error)?;
        let project = self.project(state.tenant, state.project).await?;
        let tokens = azure_storage::redeem(
            &self.upstream,
            &state.azure_tenant,
            &redirect_uri(&self.public_url),
            Grant::Code {
                code,
                verifier: &state.verifier,
            },
        )
        .await?;
        let refresh = tokens.refresh_token.as_deref().ok_or_else(|| {
            ApiError::new(
                Code::UpstreamRejected,
                "Azure issued no refresh token: the offline_access permission was not granted",
            )
        })?;
        let now = Utc::now();
        let mut row = project.into_active_model();
        row.storage_account = Set(Some(state.account.clone()));
        row.storage_container = Set(Some(state.container.clone()));
        row.azure_tenant = Set(Some(state.azure_tenant.clone()));
        row.refresh_token_encrypted = Set(Some(self.secrets.seal(refresh)));
        row.credentials_connected_at = Set(Some(now));
        // A new sign-in ends the previous authorization's error on the Integrations page.
        row.storage_error = Set(None);
        row.storage_error_at = Set(None);
        row.credentials_expires_at =
            Set(Some(refresh_expiry(now, tokens.refresh_token_expires_in)));
        row.updated_at = Set(now);
        let saved = row.update(&self.db).await?;
        tracing::info!(project = %saved.id, tenant = %saved.tenant_id, "Azure Storage connected");
        Ok(format!(
            "{}/?storage=connected&project={}",
            self.frontend_url.trim_end_matches('/'),
            global_id("Project", saved.id)
        ))
    }

    /// Forgets the project's stored authorization (the storage names stay).
    pub async fn disconnect(&self, user: &User, project: Uuid) -> ApiResult<projects::Model> {
        let mut row = self
            .project(user.tenant_id, project)
            .await?
            .into_active_model();
        row.azure_tenant = Set(None);
        row.refresh_token_encrypted = Set(None);
        row.credentials_connected_at = Set(None);
        row.credentials_expires_at = Set(None);
        row.storage_error = Set(None);
        row.storage_error_at = Set(None);
        row.updated_at = Set(Utc::now());
        Ok(row.update(&self.db).await?)
    }

    async fn project(&self, tenant: Uuid, id: Uuid) -> ApiResult<projects::Model> {
        projects::Entity::find_by_id(id)
            .filter(projects::Column::TenantId.eq(tenant))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("project"))
    }
}

/// When a refresh token issued at `now` expires: what the answer says, else 90 days.
fn refresh_expiry(now: DateTime<Utc>, expires_in: Option<i64>) -> DateTime<Utc> {
    match expires_in.filter(|s| *s > 0) {
        Some(seconds) => now + TimeDelta::seconds(seconds),
        None => now + TimeDelta::days(REFRESH_TOKEN_DAYS),
    }
}
