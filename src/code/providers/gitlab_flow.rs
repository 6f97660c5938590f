//! Connecting a GitLab group by OAuth (authorization code + PKCE, docs/providers.md): the
//! sealed `state`, the authorize URL, the callback that redeems the code and connects the group,
//! and the access token a later run uses (refreshed before it expires; GitLab rotates the
//! refresh token, so the new one is stored sealed before anything else happens).

use chrono::{DateTime, TimeDelta, Utc};
use entities::enums::{OrgStatus, Provider};
use entities::organizations;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use uuid::Uuid;

use super::ConnectTarget;
use super::credentials::Credentials;
use super::{ProviderService, RunOutcome, admin_of_code, audit, discovery, gitlab_audit};
use crate::auth::User;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::paging::global_id;
use crate::upstream::gitlab::{self, Gitlab, Grant};
use crate::upstream::oauth_state::{ConnectState, Flow};
use crate::upstream::provider_wire::ProviderResult;

pub const FLOW: Flow = Flow {
    purpose: "gitlab-connect-state:v1:",
    product: "GitLab",
    sign_in: "GitLab",
    mutation: "connectGitlabGroup",
};

/// A GitLab group path: `group` or `group/subgroup`, GitLab's path characters only.
fn group_path(value: &str) -> ApiResult<String> {
    let value = value.trim().trim_matches('/');
    let valid = !value.is_empty()
        && value.len() <= 255
        && value.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if !valid {
        return Err(ApiError::bad_input(
            "group must be a GitLab group path such as `acme` or `acme/platform`",
        ));
    }
    Ok(value.to_string())
}

/// A sign-in link to send the admin to.
pub struct GitlabAuthorization {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl ProviderService {
    fn gitlab_redirect_uri(&self) -> String {
        format!(
            "{}/auth/gitlab/callback",
            self.public_url.trim_end_matches('/')
        )
    }

    /// `connectGitlabGroup`: the GitLab authorize URL; nothing is written until the callback.
    pub async fn connect_gitlab(&self, user: &User, group: &str) -> ApiResult<GitlabAuthorization> {
        admin_of_code(user)?;
        let group = group_path(group)?;
        self.gitlab.require()?;
        let state = ConnectState::new(ConnectTarget {
            tenant: user.tenant_id,
            user: user.user_id,
            target: group,
        });
        let mut url =
            url::Url::parse(&format!("{}/oauth/authorize", self.gitlab.base())).map_err(|_| {
                ApiError::new(Code::IntegrationNotConfigured, "GITLAB_URL is not a URL")
            })?;
        url.query_pairs_mut()
            .append_pair("client_id", self.gitlab.client_id())
            .append_pair("redirect_uri", &self.gitlab_redirect_uri())
            .append_pair("response_type", "code")
            .append_pair("scope", gitlab::SCOPE)
            .append_pair("state", &state.seal(&FLOW, &self.secrets))
            .append_pair("code_challenge", &state.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(GitlabAuthorization {
            url: url.into(),
            expires_at: state.expires_at,
        })
    }

    /// `GET /auth/gitlab/callback`: redeems the code, reads the group and every project, and
    /// writes the organization, its repositories and the events in one transaction. Returns
    /// where to send the browser.
    pub async fn gitlab_callback(
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
            .gitlab
            .redeem(&self.gitlab_redirect_uri(), grant)
            .await
            .map_err(|e| e.error)?;
        if tokens.refresh_token.is_none() {
            return Err(ApiError::new(
                Code::UpstreamRejected,
                "GitLab issued no refresh token",
            ));
        }
        let group = self
            .gitlab
            .group(&tokens.access_token, &state.target)
            .await
            .map_err(|e| e.error)?;
        let existing = organizations::Entity::find()
            .filter(organizations::Column::TenantId.eq(state.tenant))
            .filter(organizations::Column::Provider.eq(Provider::Gitlab))
            .filter(organizations::Column::ExternalId.eq(group.id.to_string()))
            .one(&self.db)
            .await?;
        if existing
            .as_ref()
            .is_some_and(|o| o.status == OrgStatus::Connected)
        {
            return Err(ApiError::new(
                Code::Conflict,
                format!("the GitLab group {} is already connected", group.full_path),
            ));
        }
        let mut repos = self
            .gitlab
            .repositories(&tokens.access_token, group.id)
            .await
            .map_err(|e| e.error)?;
        let gitlab = &self.gitlab;
        let token_ref = tokens.access_token.as_str();
        discovery::read_commits(&mut repos, |repo| async move {
            gitlab
                .recent_commits(
                    token_ref,
                    &repo.id,
                    crate::code::profile_rules::COMMITS_READ,
                )
                .await
        })
        .await;
        let sealed = Credentials::gitlab(&tokens, now).seal(&self.secrets);
        let org = organizations::Model {
            id: existing.as_ref().map_or_else(Uuid::now_v7, |o| o.id),
            tenant_id: state.tenant,
            client_id: existing.as_ref().and_then(|o| o.client_id),
            provider: Provider::Gitlab,
            name: group.name.clone(),
            login: group.full_path.clone(),
            external_id: Some(group.id.to_string()),
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
        tracing::info!(org = %org.id, tenant = %org.tenant_id, user = %state.user, "GitLab group connected");
        // The connection stands even when the audit fails: the organization shows the error.
        if let Err(error) = self.gitlab_audit(&org, &tokens.access_token).await {
            self.record_failure(&org, &error).await?;
        }
        Ok(format!(
            "{}/?organization=connected&id={}",
            self.frontend_url.trim_end_matches('/'),
            global_id("Organization", org.id)
        ))
    }

    /// A GitLab run: a fresh access token, the group, every project.
    pub(super) async fn discover_gitlab(
        &self,
        org: &organizations::Model,
    ) -> ProviderResult<(organizations::Model, RunOutcome)> {
        let token = self.gitlab_token(org).await?;
        let group_id: i64 = org
            .external_id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("GitLab group without its id")))?;
        let group = self.gitlab.group(&token, &group_id.to_string()).await?;
        let mut repos = self.gitlab.repositories(&token, group.id).await?;
        let gitlab = &self.gitlab;
        let token_ref = token.as_str();
        discovery::read_commits(&mut repos, |repo| async move {
            gitlab
                .recent_commits(
                    token_ref,
                    &repo.id,
                    crate::code::profile_rules::COMMITS_READ,
                )
                .await
        })
        .await;
        let (current, found) = self
            .store_discovery(org, Some(Gitlab::org_info(&group)), &repos)
            .await?;
        let audit = self.gitlab_audit(&current, &token).await?;
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

    /// Members against the projects listed at the last discovery; what GitLab would not show
    /// leaves those findings as they are.
    async fn gitlab_audit(
        &self,
        org: &organizations::Model,
        token: &str,
    ) -> ProviderResult<audit::Tally> {
        let repos = discovery::auditable(&self.db, org).await?;
        let seen = gitlab_audit::fetch(&self.gitlab, token, &repos).await?;
        let (issues, unjudged) = gitlab_audit::collect(&seen, &repos, Utc::now());
        if !unjudged.rules.is_empty() {
            tracing::info!(org = %org.id, rules = unjudged.rules.len(), "GitLab audit: some rules not judged (not shown to the connecting user)");
        }
        Ok(
            audit::apply_judged(&self.db, gitlab_audit::TOOL, org, &repos, issues, &unjudged)
                .await?,
        )
    }

    /// The stored access token while it has more than the margin left, else a refresh whose
    /// answer (new access token, rotated refresh token) is stored sealed at once.
    async fn gitlab_token(&self, org: &organizations::Model) -> ProviderResult<String> {
        let sealed = org.credentials_encrypted.as_deref().unwrap_or_default();
        let mut creds = Credentials::open(&self.secrets, sealed)?;
        if let Some(token) = creds.fresh_token(Utc::now()) {
            return Ok(token.to_string());
        }
        let refresh = creds.refresh_token.clone().ok_or_else(|| {
            ApiError::new(
                Code::UpstreamAuthFailed,
                "the GitLab authorization has no refresh token: connect the group again",
            )
        })?;
        let now = Utc::now();
        let tokens = self
            .gitlab
            .redeem(&self.gitlab_redirect_uri(), Grant::Refresh(&refresh))
            .await?;
        creds.token = Some(tokens.access_token.clone());
        creds.expires_at = Some(now + TimeDelta::seconds(tokens.expires_in.unwrap_or(7200)));
        if let Some(rotated) = tokens.refresh_token {
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
    fn group_paths() {
        assert_eq!(group_path(" acme/platform/ ").unwrap(), "acme/platform");
        assert!(group_path("acme//x").is_err());
        assert!(group_path("a b").is_err());
        assert!(group_path("").is_err());
    }
}
