//! Connecting a GitHub organization through the GitHub App, as GitHub documents it for Apps
//! (docs/providers.md): the admin starts from the App's install page with a sealed `state`;
//! GitHub's setup URL brings back `installation_id`; the gateway then has the admin sign in to
//! GitHub through the App's OAuth (code + PKCE) and connects the installation only when the
//! signed-in user can access it (`GET /user/installations`). The installation is then
//! connected in this tenant only, and discovery runs as a queue task.

use chrono::{DateTime, Utc};
use entities::enums::{OrgStatus, Provider};
use entities::{organizations, used_tokens};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, SqlErr};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::ConnectTarget;
use super::credentials::Credentials;
use super::{ProviderService, admin_of_code, discovery};
use crate::auth::User;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::paging::global_id;
use crate::upstream::github::Installation;
use crate::upstream::oauth_state::{ConnectState, Flow};

pub const FLOW: Flow = Flow {
    purpose: "github-connect-state:v1:",
    product: "GitHub",
    sign_in: "GitHub",
    mutation: "connectGithubOrganization",
};

/// The same answer whoever holds the installation elsewhere: nothing about the other tenant.
const HELD_ELSEWHERE: &str = "this GitHub installation is already connected to another account \
    of The One Stack; disconnect it there first";

/// Where to send the admin to install the App (or pick an existing installation).
pub struct GithubInstallLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// The unique index refused the row (a race with another tenant's callback).
fn unique_violation(error: &ApiError) -> bool {
    matches!(error, ApiError::Internal(inner) if inner
        .downcast_ref::<sea_orm::DbErr>()
        .and_then(|e| e.sql_err())
        .is_some_and(|e| matches!(e, SqlErr::UniqueConstraintViolation(_))))
}

fn installation_id(value: Option<&str>) -> ApiResult<i64> {
    value
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::bad_input("installation_id must be the GitHub App installation's id")
        })
}

impl ProviderService {
    fn github_callback_uri(&self) -> String {
        format!(
            "{}/auth/github/callback",
            self.public_url.trim_end_matches('/')
        )
    }

    /// `connectGithubOrganization`: the App's install page with a sealed state; nothing is
    /// written until the admin comes back through the setup URL and signs in to GitHub.
    pub async fn connect_github(&self, user: &User) -> ApiResult<GithubInstallLink> {
        admin_of_code(user)?;
        let (slug, _) = self.github.connect_settings()?;
        let state = ConnectState::new(ConnectTarget {
            tenant: user.tenant_id,
            user: user.user_id,
            target: String::new(),
        });
        let base = self.github.web_base();
        let mut url =
            url::Url::parse(&format!("{base}/apps/{slug}/installations/new")).map_err(|_| {
                ApiError::new(Code::IntegrationNotConfigured, "GITHUB_URL is not a URL")
            })?;
        url.query_pairs_mut()
            .append_pair("state", &state.seal(&FLOW, &self.secrets));
        Ok(GithubInstallLink {
            url: url.into(),
            expires_at: state.expires_at,
        })
    }

    /// `GET /auth/github/setup`: GitHub's setup URL after an installation. The id it carries
    /// can be spoofed, so it only goes into a new sealed state, and the admin is sent to sign
    /// in to GitHub. Returns where to send the browser.
    pub async fn github_setup(
        &self,
        installation: Option<&str>,
        setup_action: Option<&str>,
        state: Option<&str>,
    ) -> ApiResult<String> {
        let state = FLOW.open(
            &self.secrets,
            state.ok_or_else(|| ApiError::bad_input("the state parameter is required"))?,
        )?;
        if setup_action == Some("request") {
            // A member asked an owner to install the App: nothing to connect yet.
            return Ok(format!(
                "{}/?organization=requested",
                self.frontend_url.trim_end_matches('/')
            ));
        }
        let id = installation_id(installation)?;
        let (_, client) = self.github.connect_settings()?;
        let next = ConnectState {
            subject: ConnectTarget {
                target: id.to_string(),
                ..state.subject
            },
            ..state
        };
        let mut url = url::Url::parse(&format!("{}/login/oauth/authorize", self.github.web_base()))
            .map_err(|_| {
                ApiError::new(Code::IntegrationNotConfigured, "GITHUB_URL is not a URL")
            })?;
        url.query_pairs_mut()
            .append_pair("client_id", client.id)
            .append_pair("redirect_uri", &self.github_callback_uri())
            .append_pair("state", &next.seal(&FLOW, &self.secrets))
            .append_pair("code_challenge", &next.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// `GET /auth/github/callback`: the state is spent, the code redeemed for the user's token,
    /// and the installation connected only if that user can access it. (With "request user
    /// authorization during installation" GitHub comes here directly with `installation_id`.)
    pub async fn github_callback(
        &self,
        code: Option<&str>,
        state: Option<&str>,
        error: Option<&str>,
        installation: Option<&str>,
    ) -> ApiResult<String> {
        let (state, code) = FLOW.callback::<ConnectTarget>(&self.secrets, code, state, error)?;
        let id = match state.target.as_str() {
            "" => installation_id(installation)?,
            target => installation_id(Some(target))?,
        };
        self.spend_state(&state).await?;
        let user_token = self
            .github
            .redeem_user_code(&self.github_callback_uri(), code, &state.verifier)
            .await
            .map_err(|e| e.error)?;
        let reachable = self
            .github
            .user_installations(&user_token)
            .await
            .map_err(|e| e.error)?;
        if !reachable.iter().any(|i| i.id == id) {
            return Err(ApiError::forbidden(
                "the GitHub user who signed in cannot access this installation of the App: sign \
                 in to GitHub as an owner of the organization and start again with \
                 connectGithubOrganization",
            ));
        }
        // Read with the App's own credentials: the installation is the App's, and not suspended.
        let found = self.github.installation(id).await.map_err(|e| e.error)?;
        let org = self.stage_github(&state, id, &found).await?;
        tracing::info!(org = %org.id, tenant = %org.tenant_id, user = %state.user, "GitHub installation connected; discovery queued");
        Ok(format!(
            "{}/?organization=connecting&id={}",
            self.frontend_url.trim_end_matches('/'),
            global_id("Organization", org.id)
        ))
    }

    /// A state is good for one callback: a replayed one is refused before any GitHub call.
    async fn spend_state(&self, state: &ConnectState<ConnectTarget>) -> ApiResult<()> {
        let digest = Sha256::digest(state.verifier.as_bytes());
        let used = used_tokens::ActiveModel {
            jti: Set(format!("github-connect:{}", hex::encode(digest))),
            expires_at: Set(state.expires_at),
            created_at: Set(Utc::now()),
        };
        match used_tokens::Entity::insert(used).exec(&self.db).await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(ApiError::bad_input(
                    "this GitHub sign-in was already used: start again with connectGithubOrganization",
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the organization as `CONNECTING` with the installation sealed, and queues its
    /// first discovery. One installation, one tenant: checked here, and by a unique index.
    async fn stage_github(
        &self,
        state: &ConnectState<ConnectTarget>,
        id: i64,
        found: &Installation,
    ) -> ApiResult<organizations::Model> {
        let account = &found.account;
        if account.kind == "Enterprise" {
            return Err(ApiError::bad_input(format!(
                "the installation is on the GitHub enterprise account {}: an enterprise \
                 installation lists no repositories; install the App on each organization of \
                 the enterprise and connect those",
                account.login
            )));
        }
        let external_id = account.id.to_string();
        // The account's rows in every tenant, and this tenant's row of the same login (logins
        // are unique per tenant and provider).
        let holders = organizations::Entity::find()
            .filter(organizations::Column::Provider.eq(Provider::Github))
            .filter(
                Condition::any()
                    .add(organizations::Column::ExternalId.eq(&external_id))
                    .add(
                        Condition::all()
                            .add(organizations::Column::TenantId.eq(state.tenant))
                            .add(organizations::Column::Login.eq(&account.login)),
                    ),
            )
            .all(&self.db)
            .await?;
        let live = |o: &&organizations::Model| o.status != OrgStatus::Disconnected;
        if holders
            .iter()
            .filter(live)
            .any(|o| o.tenant_id != state.tenant && o.external_id.as_deref() == Some(&external_id))
        {
            return Err(ApiError::new(Code::Conflict, HELD_ELSEWHERE));
        }
        let existing = holders
            .iter()
            .filter(|o| o.tenant_id == state.tenant)
            .max_by_key(|o| o.external_id.as_deref() == Some(&external_id));
        // One in error may be connected again (a reinstalled App, say): that mends it.
        if existing
            .is_some_and(|o| matches!(o.status, OrgStatus::Connected | OrgStatus::Connecting))
        {
            return Err(ApiError::new(
                Code::Conflict,
                format!("the GitHub account {} is already connected", account.login),
            ));
        }
        let creds = Credentials {
            installation_id: id,
            token: None,
            expires_at: None,
            refresh_token: None,
        };
        let now = Utc::now();
        let org = organizations::Model {
            id: existing.map_or_else(Uuid::now_v7, |o| o.id),
            tenant_id: state.tenant,
            client_id: existing.and_then(|o| o.client_id),
            provider: Provider::Github,
            name: existing.map_or_else(|| account.login.clone(), |o| o.name.clone()),
            login: account.login.clone(),
            external_id: Some(external_id),
            status: OrgStatus::Connecting,
            status_error: None,
            status_error_code: None,
            base_permission: existing.and_then(|o| o.base_permission.clone()),
            credentials_encrypted: Some(creds.seal(&self.secrets)),
            repo_count: existing.map_or(0, |o| o.repo_count),
            connected_at: Some(now),
            last_discovered_at: None,
            next_retry_at: None,
            discovery_queued_at: Some(now),
            last_discovery: None,
            created_at: existing.map_or(now, |o| o.created_at),
            updated_at: now,
        };
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let staged = discovery::connect(&txn, org, existing.is_some()).await;
        let org = match staged {
            Err(e) if unique_violation(&e) => {
                return Err(ApiError::new(Code::Conflict, HELD_ELSEWHERE));
            }
            other => other?,
        };
        txn.commit().await?;
        self.push_discovery(&org).await?;
        Ok(org)
    }
}
