//! Timer `repository-rediscovery`: every tick discovers (and audits) the organizations that are
//! due — connected ones not discovered for `REDISCOVER_AFTER_HOURS`, failed ones whose retry
//! time has passed. Idempotent per tick: a second run of the same tick finds nothing due.

use chrono::{DateTime, Utc};
use jobs::QueueTask;
use serde::{Deserialize, Serialize};

use super::ProviderService;

#[derive(Serialize, Deserialize)]
pub struct RepositoryRediscovery {
    pub tick: DateTime<Utc>,
}

impl QueueTask for RepositoryRediscovery {
    const NAME: &'static str = "repository-rediscovery";
    const MAX_ATTEMPTS: usize = 3;
}

pub fn register(runner: jobs::Runner, providers: &ProviderService) -> anyhow::Result<jobs::Runner> {
    let providers = providers.clone();
    runner
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
