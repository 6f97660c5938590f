//! The queued discovery of one organization (a connect, `rediscoverOrganization`), and timer
//! `repository-rediscovery`: every tick discovers (and audits) the organizations that are due — connected ones not discovered for `REDISCOVER_AFTER_HOURS`, failed ones whose retry
//! time has passed. Idempotent per tick: a second run of the same tick finds nothing due.

use chrono::{DateTime, Utc};
use jobs::QueueTask;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ProviderService;

#[derive(Serialize, Deserialize)]
pub struct RepositoryRediscovery {
    pub tick: DateTime<Utc>,
}

impl QueueTask for RepositoryRediscovery {
    const NAME: &'static str = "repository-rediscovery";
    const MAX_ATTEMPTS: usize = 3;
}

/// A disconnected GitLab group's grant to end at GitLab. `sealed` is the organization's
/// credentials as they were stored (encrypted, DESIGN.md §8): the row no longer holds them.
#[derive(Serialize, Deserialize)]
pub struct GitlabRevocation {
    /// This revocation's own id, the same on every try.
    pub id: Uuid,
    pub org_id: Uuid,
    pub sealed: String,
    /// 1 for the first try; the task queues itself again with the next number.
    pub attempt: u32,
}

impl QueueTask for GitlabRevocation {
    const NAME: &'static str = "gitlab-token-revocation";
    const MAX_ATTEMPTS: usize = 3;
}

/// One organization's discovery and audit, queued by a connect or `rediscoverOrganization`.
#[derive(Serialize, Deserialize)]
pub struct OrganizationDiscovery {
    pub org_id: Uuid,
}

impl QueueTask for OrganizationDiscovery {
    const NAME: &'static str = "organization-discovery";
    const MAX_ATTEMPTS: usize = 3;
}

pub fn register(runner: jobs::Runner, providers: &ProviderService) -> anyhow::Result<jobs::Runner> {
    let for_revocation = providers.clone();
    let for_discovery = providers.clone();
    let providers = providers.clone();
    runner
        .task(move |task: OrganizationDiscovery| {
            let providers = for_discovery.clone();
            async move {
                providers
                    .discover_queued(task)
                    .await
                    .map_err(|e| jobs::BoxDynError::from(e.into_anyhow()))
            }
        })
        .task(move |task: GitlabRevocation| {
            let providers = for_revocation.clone();
            async move {
                providers
                    .revoke_gitlab(task)
                    .await
                    .map_err(jobs::BoxDynError::from)
            }
        })
        .task(move |_: RepositoryRediscovery| {
            let providers = providers.clone();
            async move {
                let (ran, failed) = providers
                    .tick(Utc::now())
                    .await
                    .map_err(|e| jobs::BoxDynError::from(e.into_anyhow()))?;
                tracing::info!(ran, failed, "repository rediscovery finished");
                Ok(())
            }
        })
        .cron(RepositoryRediscovery::NAME, |tick| RepositoryRediscovery {
            tick,
        })
}
