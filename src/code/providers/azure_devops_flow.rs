//! Connecting an Azure DevOps organization by Microsoft OAuth (identity platform v2,
//! authorization code + PKCE, docs/providers.md): the sealed `state`, the authorize URL, the
//! callback that redeems the code and connects the organization, and the access token a later
//! run uses (refreshed before it expires; Microsoft rotates the refresh token, so the new one is
//! stored sealed before anything else happens).

use chrono::{DateTime, Utc};
use entities::enums::{OrgStatus, Provider};
use entities::organizations;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use uuid::Uuid;

use super::ConnectTarget;
use super::credentials::Credentials;
use super::{ProviderService, RunOutcome, admin_of_code, audit, azure_devops_audit, discovery};
use crate::auth::User;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::paging::global_id;
use crate::upstream::azure_devops::{self, AzureDevops, Grant};
use crate::upstream::oauth_state::{ConnectState, Flow};
use crate::upstream::provider_wire::ProviderResult;

pub const FLOW: Flow = Flow {
    purpose: "azure-devops-connect-state:v1:",
    product: "Azure DevOps",
    sign_in: "Microsoft",
    mutation: "connectAzureDevopsOrganization",
};

/// An Azure DevOps organization name as in `dev.azure.com/{name}` (the URL itself is accepted):
/// letters, digits and hyphens, 1–50, neither starting nor ending with a hyphen.
pub fn organization_name(value: &str) -> ApiResult<String> {
    let value = value.trim();
    let value = [
        "https://dev.azure.com/",
        "http://dev.azure.com/",
        "dev.azure.com/",
    ]
    .iter()
    .find_map(|prefix| value.strip_prefix(prefix))
    .unwrap_or(value)
    .trim_end_matches('/');
    let valid = (1..=50).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !valid {
        return Err(ApiError::bad_input(
            "organization must be an Azure DevOps organization name as in \
             dev.azure.com/{organization} (letters, digits and hyphens)",
        ));
    }
    Ok(value.to_string())
}

/// A sign-in link to send the admin to.
pub struct AzureDevopsAuthorization {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl ProviderService {
    fn azure_devops_redirect_uri(&self) -> String {
        format!(
            "{}/auth/azure-devops/callback",
            self.public_url.trim_end_matches('/')
        )
    }

    /// `connectAzureDevopsOrganization`: the Microsoft authorize URL; nothing is written until
    /// the callback.
    pub async fn connect_azure_devops(
        &self,
        user: &User,
        organization: &str,
    ) -> ApiResult<AzureDevopsAuthorization> {
        admin_of_code(user)?;
        let organization = organization_name(organization)?;
        self.azure_devops.require()?;
        let state = ConnectState::new(ConnectTarget {
            tenant: user.tenant_id,
            user: user.user_id,
            target: organization,
        });
        let mut url = self.azure_devops.endpoint("authorize")?;
        url.query_pairs_mut()
            .append_pair("client_id", self.azure_devops.client_id())
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &self.azure_devops_redirect_uri())
            .append_pair("response_mode", "query")
            .append_pair("scope", azure_devops::SCOPE)
            .append_pair("state", &state.seal(&FLOW, &self.secrets))
            .append_pair("code_challenge", &state.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(AzureDevopsAuthorization {
            url: url.into(),
            expires_at: state.expires_at,
        })
    }

    /// `GET /auth/azure-devops/callback`: redeems the code, reads the organization and every
    /// repository, and writes the organization, its repositories and the events in one
    /// transaction. Returns where to send the browser.
    pub async fn azure_devops_callback(
        &self,
        code: Option<&str>,
        state: Option<&str>,
        error: Option<&str>,
    ) -> ApiResult<String> {
        let (state, code) = FLOW.callback::<ConnectTarget>(&self.secrets, code, state, error)?;
        let grant = Grant::Code {
            code,
            verifier: &state.verifier,
        };
        let now = Utc::now();
        let tokens = self
            .azure_devops
            .redeem(&self.azure_devops_redirect_uri(), grant)
            .await
            .map_err(|e| e.error)?;
        if tokens.refresh_token.is_none() {
            return Err(ApiError::new(
                Code::UpstreamRejected,
                "Microsoft issued no refresh token (offline_access was not granted)",
            ));
        }
        let name = &state.target;
        let found = self
            .azure_devops
            .connection(&tokens.access_token, name)
            .await
            .map_err(|e| e.error)?;
        let existing = organizations::Entity::find()
            .filter(organizations::Column::TenantId.eq(state.tenant))
            .filter(organizations::Column::Provider.eq(Provider::AzureDevops))
            .filter(
                Condition::any()
                    .add(organizations::Column::ExternalId.eq(found.instance_id.as_str()))
                    .add(organizations::Column::Login.eq(name.as_str())),
            )
            .one(&self.db)
            .await?;
        if existing
            .as_ref()
            .is_some_and(|o| o.status == OrgStatus::Connected)
        {
            return Err(ApiError::new(
                Code::Conflict,
                format!("the Azure DevOps organization {name} is already connected"),
            ));
        }
        let repos = self
            .azure_devops
            .repositories(&tokens.access_token, name)
            .await
            .map_err(|e| e.error)?;
        let sealed = Credentials::azure_devops(&tokens, now).seal(&self.secrets);
        let org = organizations::Model {
            id: existing.as_ref().map_or_else(Uuid::now_v7, |o| o.id),
            tenant_id: state.tenant,
            client_id: existing.as_ref().and_then(|o| o.client_id),
            provider: Provider::AzureDevops,
            name: name.clone(),
            login: name.clone(),
            external_id: Some(found.instance_id.clone()),
            status: OrgStatus::Connected,
            status_error: None,
            status_error_code: None,
            base_permission: None,
            credentials_encrypted: Some(sealed),
            repo_count: repos.len() as i32,
            connected_at: Some(now),
            last_discovered_at: Some(now),
            next_retry_at: None,
            discovery_queued_at: None,
            last_discovery: None,
            created_at: existing.as_ref().map_or(now, |o| o.created_at),
            updated_at: now,
        };
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let org = discovery::connect(&txn, org, existing.is_some()).await?;
        discovery::apply(&txn, &org, &repos, now).await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        tracing::info!(org = %org.id, tenant = %org.tenant_id, user = %state.user, "Azure DevOps organization connected");
        // The connection stands even when the audit fails: the organization shows the error.
        if let Err(error) = self.azure_devops_audit(&org, &tokens.access_token).await {
            self.record_failure(&org, &error).await?;
        }
        Ok(format!(
            "{}/?organization=connected&id={}",
            self.frontend_url.trim_end_matches('/'),
            global_id("Organization", org.id)
        ))
    }

    /// An Azure DevOps run: a fresh access token, the organization, every repository.
    pub(super) async fn discover_azure_devops(
        &self,
        org: &organizations::Model,
    ) -> ProviderResult<(organizations::Model, RunOutcome)> {
        let token = self.azure_devops_token(org).await?;
        self.azure_devops.connection(&token, &org.login).await?;
        let repos = self.azure_devops.repositories(&token, &org.login).await?;
        let (current, found) = self
            .store_discovery(org, Some(AzureDevops::org_info(&org.login)), &repos)
            .await?;
        let audit = self.azure_devops_audit(&current, &token).await?;
        Ok((
            current,
            RunOutcome {
                repositories: repos.len(),
                new: found.new,
                missing: found.missing,
                audit,
            },
        ))
    }

    /// Guests' entitlements against the repositories listed at the last discovery; a user not
    /// allowed to read the entitlements leaves the findings as they are.
    async fn azure_devops_audit(
        &self,
        org: &organizations::Model,
        token: &str,
    ) -> ProviderResult<audit::Tally> {
        let Some(entitlements) = self.azure_devops.entitlements(token, &org.login).await? else {
            tracing::info!(org = %org.id, "Azure DevOps entitlements not readable: audit skipped");
            return Ok(audit::Tally::default());
        };
        let repos = discovery::auditable(&self.db, org).await?;
        let issues = azure_devops_audit::collect(&entitlements, &repos, Utc::now());
        Ok(audit::apply(&self.db, azure_devops_audit::TOOL, org, &repos, issues).await?)
    }

    /// The stored access token while it has more than the margin left, else a refresh whose
    /// answer (new access token, rotated refresh token) is stored sealed at once.
    async fn azure_devops_token(&self, org: &organizations::Model) -> ProviderResult<String> {
        let sealed = org.credentials_encrypted.as_deref().unwrap_or_default();
        let mut creds = Credentials::open(&self.secrets, sealed)?;
        if let Some(token) = creds.fresh_token(Utc::now()) {
            return Ok(token.to_string());
        }
        let refresh = creds.refresh_token.clone().ok_or_else(|| {
            ApiError::new(
                Code::UpstreamAuthFailed,
                "the Azure DevOps authorization has no refresh token: connect the organization \
                 again",
            )
        })?;
        let now = Utc::now();
        let tokens = self
            .azure_devops
            .redeem(&self.azure_devops_redirect_uri(), Grant::Refresh(&refresh))
            .await?;
        let fresh = Credentials::azure_devops(&tokens, now);
        creds.token = fresh.token;
        creds.expires_at = fresh.expires_at;
        if let Some(rotated) = fresh.refresh_token {
            creds.refresh_token = Some(rotated);
        }
        self.store_credentials(org, &creds).await?;
        Ok(tokens.access_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_names() {
        assert_eq!(organization_name(" acme-corp ").unwrap(), "acme-corp");
        assert_eq!(
            organization_name("https://dev.azure.com/Fabrikam/").unwrap(),
            "Fabrikam"
        );
        assert!(organization_name("-acme").is_err());
        assert!(organization_name("acme/project").is_err());
        assert!(organization_name("a b").is_err());
        assert!(organization_name("").is_err());
        assert!(organization_name(&"a".repeat(51)).is_err());
    }
}
