//! Mutations that start upstream syncs (Integrations → CMDB → Sync Now).

use async_graphql::{Context, Object, Result, SimpleObject};

use crate::code::cmdb::CmdbService;
use crate::graphql::{principal, service};
use crate::integrations::types::CmdbSyncRun;

/// Result of `syncCmdbNow`.
#[derive(SimpleObject)]
pub struct SyncCmdbNowPayload {
    /// The run, as queued (`status` RUNNING): follow it through `cmdbSyncRuns`.
    pub run: CmdbSyncRun,
}

#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Syncs every repository's application profile to the CMDB now (tenant admins with Code
    /// access). The run happens in the background; a run already under way is returned instead
    /// of starting a second one.
    async fn sync_cmdb_now(&self, ctx: &Context<'_>) -> Result<SyncCmdbNowPayload> {
        let user = principal(ctx).user()?;
        let run = service::<CmdbService>(ctx).sync_now(user).await?;
        Ok(SyncCmdbNowPayload {
            run: CmdbSyncRun(run),
        })
    }
}
