//! Connect Organization: source-control providers, discovery of their repositories, and the
//! access audit. GitHub (the GitHub App: discovery and audit), GitLab (OAuth: discovery and
//! audit) and Azure DevOps (Microsoft OAuth: discovery, guests' orphaned access) are
//! implemented, each as a wire client
//! (`github.rs`, `gitlab.rs`, `azure_devops.rs`, sharing `wire.rs`: the error with the
//! provider's retry time, sends, decoding) and, for the OAuth providers, a flow (`*_flow.rs`:
//! sealed state, connect, callback, token refresh). Flows, mappings and failure
//! handling: docs/providers.md.

pub mod audit;
pub mod azure_devops_audit;
pub mod azure_devops_flow;
pub mod credentials;
pub mod discovery;
pub mod github_flow;
pub mod gitlab_audit;
pub mod gitlab_flow;
pub mod graphql;
pub mod queued;
pub mod task;

use chrono::{DateTime, TimeDelta, Utc};
use entities::enums::{OrgStatus, Product, Provider};
use entities::organizations;
use jobs::QueueTask;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::auth::{Access, User};
use crate::integrations::bus::{self, events::OrgDisconnected};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::secrets::SecretBox;
use crate::upstream::azure_devops::AzureDevops;
use crate::upstream::client::UpstreamClient;
use crate::upstream::github::{Github, OrgInfo, Repo};
use crate::upstream::gitlab::Gitlab;
use crate::upstream::provider_wire::ProviderError;
use credentials::Credentials;
use serde::{Deserialize, Serialize};

/// Who connects which group or organization (`target`; empty for GitHub until its setup URL
/// names the installation): what a provider connect flow's sealed state carries.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ConnectTarget {
    pub tenant: Uuid,
    pub user: Uuid,
    pub target: String,
}

pub use task::{GitlabRevocation, OrganizationDiscovery, register};

/// Tries of a disconnected GitLab group's revocation while GitLab is unavailable (with the
/// default first wait of a minute, the last is ≈ 2 hours after the disconnect).
pub const REVOCATION_ATTEMPTS: u32 = 8;

/// A connected organization is discovered again when its last discovery is this old.
pub const REDISCOVER_AFTER_HOURS: i64 = 6;
/// Retry delay after a failure GitHub gave no time for (5xx, unreachable).
pub const RETRY_UNAVAILABLE_MINUTES: i64 = 15;
/// Retry delay after the installation or the app was refused (an admin must act; we still look).
pub const RETRY_AUTH_FAILED_HOURS: i64 = 6;

/// A queued discovery not finished after this long is taken for lost: it may be queued again.
pub const QUEUED_STALE_MINUTES: i64 = 60;

/// What one discovery (and audit) run found.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunOutcome {
    pub repositories: usize,
    pub new: usize,
    pub missing: usize,
    pub audit: audit::Tally,
}

impl RunOutcome {
    /// As `organizations.last_discovery` keeps it.
    pub fn to_json(self, finished_at: DateTime<Utc>) -> serde_json::Value {
        serde_json::json!({
            "repositories": self.repositories,
            "new": self.new,
            "missing": self.missing,
            "open": self.audit.open,
            "resolved": self.audit.resolved,
            "finished_at": finished_at,
        })
    }
}

#[derive(Clone)]
pub struct ProviderService {
    db: DatabaseConnection,
    github: Github,
    gitlab: Gitlab,
    azure_devops: AzureDevops,
    secrets: SecretBox,
    bus_wake: std::sync::Arc<tokio::sync::Notify>,
    /// The gateway's own URL (OAuth callbacks come back to it).
    public_url: String,
    /// `FRONTEND_URL`: where the browser goes back to after a connect flow.
    frontend_url: String,
    /// Where a disconnected GitLab group's revocation waits out a GitLab outage.
    queue: jobs::Queue,
    revocation_retry_base: std::time::Duration,
}

fn admin_of_code(user: &User) -> ApiResult<()> {
    user.may(
        Product::Code,
        Access::Administer,
        "connect and manage organizations",
    )?;
    Ok(())
}

impl ProviderService {
    pub fn new(
        db: DatabaseConnection,
        upstream: UpstreamClient,
        secrets: SecretBox,
        bus_wake: std::sync::Arc<tokio::sync::Notify>,
        public_url: String,
        frontend_url: String,
        queue: jobs::Queue,
    ) -> Self {
        let revocation_retry_base =
            std::time::Duration::from_millis(upstream.config().gitlab_revocation_retry_base_ms);
        ProviderService {
            db,
            github: Github::new(upstream.clone()),
            gitlab: Gitlab::new(upstream.clone()),
            azure_devops: AzureDevops::new(upstream),
            secrets,
            bus_wake,
            public_url,
            frontend_url,
            queue,
            revocation_retry_base,
        }
    }

    /// `disconnectOrganization`: forgets the credentials and stops discovery; repositories and
    /// findings stay. A second disconnect changes nothing and emits nothing.
    pub async fn disconnect(&self, user: &User, id: Uuid) -> ApiResult<organizations::Model> {
        admin_of_code(user)?;
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let org = organizations::Entity::find_by_id(id)
            .filter(organizations::Column::TenantId.eq(user.tenant_id))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        if org.status == OrgStatus::Disconnected {
            return Ok(org);
        }
        let sealed = org.credentials_encrypted.clone();
        let row = organizations::ActiveModel {
            id: Set(org.id),
            status: Set(OrgStatus::Disconnected),
            status_error: Set(None),
            status_error_code: Set(None),
            credentials_encrypted: Set(None),
            next_retry_at: Set(None),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        let org = organizations::Entity::update(row).exec(&txn).await?;
        let event = OrgDisconnected {
            org_id: org.id,
            provider: provider_name(org.provider).into(),
            org_login: org.login.clone(),
        };
        bus::enqueue(&txn, org.tenant_id, &event).await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        // Off the request path (a GitLab that hangs must not hold the disconnect), and on the
        // queue, so a GitLab outage or a restart does not leave the grant alive.
        if let Some(sealed) = sealed
            && org.provider == Provider::Gitlab
        {
            let task = GitlabRevocation {
                id: Uuid::now_v7(),
                org_id: org.id,
                sealed,
                attempt: 1,
            };
            if let Err(error) = self.queue.push(task, None).await {
                tracing::error!(org = %org.id, error = ?error, "GitLab token revocation could not be queued; the tokens are forgotten locally");
            }
        }
        Ok(org)
    }

    /// Ends a disconnected GitLab group's OAuth grant at GitLab. The tokens are already
    /// forgotten here, so a failure is logged (and recorded on the Integrations page by the
    /// client), never returned; while GitLab is unavailable (5xx, unreachable, rate limited) the
    /// task is queued again, waiting twice as long each time, `REVOCATION_ATTEMPTS` in all.
    /// GitLab keeps an access token and its refresh token as one grant (revoking either ends
    /// both); both are sent so a grant whose access token was already dropped ends too, and
    /// sending an already revoked one again is answered 200 (RFC 7009 §2.2). (GitHub
    /// installation tokens expire within the hour; Microsoft has no revocation endpoint for one
    /// grant.)
    pub async fn revoke_gitlab(&self, task: GitlabRevocation) -> anyhow::Result<()> {
        let Ok(creds) = Credentials::open(&self.secrets, &task.sealed) else {
            tracing::error!(org = %task.org_id, "GitLab token revocation: the sealed tokens do not open with the current key");
            return Ok(());
        };
        let tokens = [
            (creds.token.as_deref(), "access_token"),
            (creds.refresh_token.as_deref(), "refresh_token"),
        ];
        let mut unavailable = false;
        for (token, hint) in tokens {
            let Some(token) = token else { continue };
            if let Err(e) = self.gitlab.revoke(token, hint).await {
                let code = e.error.code();
                unavailable |= matches!(code, Code::UpstreamUnavailable | Code::RateLimited);
                tracing::warn!(org = %task.org_id, hint, attempt = task.attempt, code = code.as_str(), message = e.error.message(), "GitLab token revocation failed");
            }
        }
        if !unavailable {
            return Ok(());
        }
        if task.attempt >= REVOCATION_ATTEMPTS {
            tracing::error!(org = %task.org_id, attempts = task.attempt, "GitLab token revocation given up: revoke the application's access in GitLab");
            return Ok(());
        }
        let doubling = 2u32.saturating_pow(task.attempt.saturating_sub(1));
        let wait = self
            .revocation_retry_base
            .saturating_mul(doubling)
            .min(std::time::Duration::from_secs(6 * 3600));
        let again = GitlabRevocation {
            attempt: task.attempt + 1,
            ..task
        };
        // Keyed by try: a re-run of this task (a replica died after the push) queues no second.
        let key = format!("{}:{}#{}", GitlabRevocation::NAME, again.id, again.attempt);
        self.queue.push_after(again, Some(&key), wait).await
    }

    /// The timer: every organization that is due (connected and not discovered for
    /// `REDISCOVER_AFTER_HOURS`, or in error with its retry time passed). Returns how many ran
    /// and how many failed; failures are recorded on the organizations.
    pub async fn tick(&self, now: DateTime<Utc>) -> ApiResult<(usize, usize)> {
        use organizations::Column as C;
        let stale = now - TimeDelta::hours(REDISCOVER_AFTER_HOURS);
        let queued_stale = now - TimeDelta::minutes(QUEUED_STALE_MINUTES);
        let due = organizations::Entity::find()
            .filter(C::Provider.is_in([Provider::Github, Provider::Gitlab, Provider::AzureDevops]))
            .filter(C::CredentialsEncrypted.is_not_null())
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(C::Status.eq(OrgStatus::Connected))
                            .add(
                                Condition::any()
                                    .add(C::LastDiscoveredAt.is_null())
                                    .add(C::LastDiscoveredAt.lte(stale)),
                            ),
                    )
                    .add(
                        // A first discovery whose task was lost.
                        Condition::all()
                            .add(C::Status.eq(OrgStatus::Connecting))
                            .add(
                                Condition::any().add(C::DiscoveryQueuedAt.is_null()).add(
                                    C::DiscoveryQueuedAt
                                        .lte(now - TimeDelta::minutes(QUEUED_STALE_MINUTES)),
                                ),
                            ),
                    )
                    .add(
                        Condition::all().add(C::Status.eq(OrgStatus::Error)).add(
                            Condition::any()
                                .add(C::NextRetryAt.is_null())
                                .add(C::NextRetryAt.lte(now)),
                        ),
                    ),
            )
            .all(&self.db)
            .await?;
        let mut failed = 0;
        for org in &due {
            let outcome = match self.run(org).await {
                Ok((_, outcome)) => Some(outcome),
                Err(error) => {
                    failed += 1;
                    tracing::warn!(org = %org.id, code = error.code().as_str(), message = error.message(), "rediscovery failed");
                    None
                }
            };
            // A lost task's mark goes with it; a live one is left to its task.
            let lost = org.discovery_queued_at.is_some_and(|at| at <= queued_stale);
            self.record_run(org.id, outcome, lost).await?;
        }
        Ok((due.len(), failed))
    }

    /// One run on a known organization: token (reused until close to expiry), discovery in one
    /// transaction, then the audit.
    async fn run(
        &self,
        org: &organizations::Model,
    ) -> ApiResult<(organizations::Model, RunOutcome)> {
        if org.status == OrgStatus::Disconnected || org.credentials_encrypted.is_none() {
            return Err(ApiError::new(
                Code::Conflict,
                "the organization is disconnected: connect it again",
            ));
        }
        let run = match org.provider {
            Provider::Github => self.discover(org).await,
            Provider::Gitlab => self.discover_gitlab(org).await,
            Provider::AzureDevops => self.discover_azure_devops(org).await,
        };
        match run {
            Ok(done) => Ok(done),
            Err(error) => {
                self.record_failure(org, &error).await?;
                Err(error.error)
            }
        }
    }

    async fn discover(
        &self,
        org: &organizations::Model,
    ) -> Result<(organizations::Model, RunOutcome), ProviderError> {
        let token = self.token(org).await?;
        // A personal account's installation has no organization (GitHub answers 404).
        let info = match self.github.org(&token, &org.login).await {
            Ok(info) => Some(info),
            Err(e) if e.error.code() == Code::UpstreamRejected => None,
            Err(e) => return Err(e),
        };
        let mut repos = self.github.repositories(&token).await?;
        let github = &self.github;
        let token_ref = token.as_str();
        discovery::read_commits(&mut repos, |repo| async move {
            github
                .recent_commits(
                    token_ref,
                    &repo.full_name,
                    crate::code::profile_rules::COMMITS_READ,
                )
                .await
        })
        .await;
        discovery::read_root_files(&mut repos, |repo| async move {
            github.root_files(token_ref, &repo.full_name).await
        })
        .await;
        let (current, found) = self.store_discovery(org, info, &repos).await?;
        let audit = self.audit(&current, &token).await?;
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

    /// Writes a successful listing in one transaction (any provider): the organization
    /// refreshed, repositories applied, events queued.
    async fn store_discovery(
        &self,
        org: &organizations::Model,
        info: Option<OrgInfo>,
        repos: &[Repo],
    ) -> Result<(organizations::Model, discovery::Applied), ProviderError> {
        let now = Utc::now();
        let txn = crate::kernel::db::begin_write(&self.db)
            .await
            .map_err(ApiError::from)?;
        let Some(current) = discovery::refresh_org(&txn, org, info, repos.len(), now).await? else {
            return Err(ApiError::new(
                Code::Conflict,
                "the organization was disconnected while it was being discovered",
            )
            .into());
        };
        if org.last_discovered_at.is_none() {
            // The first listing of a (re)connected organization announces it, before its
            // repositories.
            discovery::announce(&txn, &current).await?;
        }
        let found = discovery::apply(&txn, &current, repos, now).await?;
        txn.commit().await.map_err(ApiError::from)?;
        self.bus_wake.notify_one();
        Ok((current, found))
    }

    /// Stores credentials sealed, unless the organization was disconnected meanwhile.
    async fn store_credentials(
        &self,
        org: &organizations::Model,
        creds: &Credentials,
    ) -> ApiResult<()> {
        organizations::Entity::update_many()
            .col_expr(
                organizations::Column::CredentialsEncrypted,
                sea_orm::sea_query::Expr::value(creds.seal(&self.secrets)),
            )
            .filter(organizations::Column::Id.eq(org.id))
            .filter(organizations::Column::Status.ne(OrgStatus::Disconnected))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The installation token: the stored one while it has more than five minutes left, else
    /// a new one, stored sealed (never in plain text, never logged).
    async fn token(&self, org: &organizations::Model) -> Result<String, ProviderError> {
        let sealed = org.credentials_encrypted.as_deref().unwrap_or_default();
        let mut creds = Credentials::open(&self.secrets, sealed)?;
        if let Some(token) = creds.fresh_token(Utc::now()) {
            return Ok(token.to_string());
        }
        let minted = self.github.mint_token(creds.installation_id).await?;
        creds.token = Some(minted.token.clone());
        creds.expires_at = Some(minted.expires_at);
        self.store_credentials(org, &creds).await?;
        Ok(minted.token)
    }

    async fn audit(
        &self,
        org: &organizations::Model,
        token: &str,
    ) -> Result<audit::Tally, ProviderError> {
        let repos = discovery::auditable(&self.db, org).await?;
        let (desired, unjudged) = audit::collect(&self.github, token, org, &repos).await?;
        Ok(audit::apply_judged(&self.db, audit::TOOL, org, &repos, desired, &unjudged).await?)
    }

    /// The organization goes to `error` with the reason and the retry time (GitHub's reset time
    /// when it gave one, else a backoff). A refused token is forgotten so the next run mints one.
    async fn record_failure(
        &self,
        org: &organizations::Model,
        failure: &ProviderError,
    ) -> ApiResult<organizations::Model> {
        let now = Utc::now();
        let error = &failure.error;
        let retry_at = failure.retry_at.unwrap_or_else(|| match error.code() {
            Code::UpstreamAuthFailed => now + TimeDelta::hours(RETRY_AUTH_FAILED_HOURS),
            _ => now + TimeDelta::minutes(RETRY_UNAVAILABLE_MINUTES),
        });
        if error.code() == Code::Conflict {
            return Ok(org.clone());
        }
        let mut row = organizations::ActiveModel {
            status: Set(OrgStatus::Error),
            status_error: Set(Some(error.message().to_string())),
            status_error_code: Set(Some(error.code().as_str().to_string())),
            next_retry_at: Set(Some(retry_at)),
            updated_at: Set(now),
            ..Default::default()
        };
        // The stored credentials, not the run's copy of the row: the run may have refreshed
        // and stored a rotated refresh token that must not be overwritten with the old one.
        let current = if error.code() == Code::UpstreamAuthFailed {
            organizations::Entity::find_by_id(org.id)
                .one(&self.db)
                .await?
                .and_then(|o| o.credentials_encrypted)
        } else {
            None
        };
        if let Some(sealed) = current.as_deref()
            && let Ok(mut creds) = Credentials::open(&self.secrets, sealed)
        {
            creds.token = None;
            creds.expires_at = None;
            row.credentials_encrypted = Set(Some(creds.seal(&self.secrets)));
        }
        organizations::Entity::update_many()
            .set(row)
            .filter(organizations::Column::Id.eq(org.id))
            .filter(organizations::Column::Status.ne(OrgStatus::Disconnected))
            .exec(&self.db)
            .await?;
        Ok(organizations::Entity::find_by_id(org.id)
            .one(&self.db)
            .await?
            .unwrap_or_else(|| org.clone()))
    }
}

/// The provider as the events name it.
pub fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Github => "github",
        Provider::Gitlab => "gitlab",
        Provider::AzureDevops => "azure_devops",
    }
}
