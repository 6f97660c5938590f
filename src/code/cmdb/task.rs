//! The CMDB queue tasks: the timer's tick and one tenant's run.

use chrono::{DateTime, Utc};
use jobs::QueueTask;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::CmdbService;
use crate::kernel::errors::ApiError;

/// Timer `code-cmdb-sync-timer`: starts one sync per tenant that has repositories.
#[derive(Serialize, Deserialize)]
pub struct CmdbSyncTick {
    pub tick: DateTime<Utc>,
}

impl QueueTask for CmdbSyncTick {
    const NAME: &'static str = "code-cmdb-sync-timer";
    const MAX_ATTEMPTS: usize = 3;
}

/// One tenant's sync run. The run id travels in the task, so a re-run of the task (a replica
/// died mid-run) continues the same run record.
#[derive(Serialize, Deserialize)]
pub struct CmdbSync {
    pub tenant_id: Uuid,
    pub run_id: Uuid,
    /// `timer` or `manual`.
    pub trigger: String,
}

impl QueueTask for CmdbSync {
    const NAME: &'static str = "cmdb-sync";
    const MAX_ATTEMPTS: usize = 3;
}

/// Registers the sync task and the `code-cmdb-sync-timer` timer.
pub fn register(runner: jobs::Runner, cmdb: &CmdbService) -> anyhow::Result<jobs::Runner> {
    let (for_tick, for_run) = (cmdb.clone(), cmdb.clone());
    runner
        .task(move |task: CmdbSyncTick| {
            let cmdb = for_tick.clone();
            async move {
                let runs = cmdb.tick(task.tick).await.map_err(task_error)?;
                tracing::info!(runs, "CMDB syncs queued");
                Ok(())
            }
        })
        .task(move |task: CmdbSync| {
            let cmdb = for_run.clone();
            async move {
                let run = cmdb.run(&task).await.map_err(task_error)?;
                tracing::info!(run = %run.id, synced = run.synced, failed = run.failed, skipped = run.skipped, error = ?run.error, "CMDB sync finished");
                Ok(())
            }
        })
        .cron(CmdbSyncTick::NAME, |tick| CmdbSyncTick { tick })
}

fn task_error(error: ApiError) -> jobs::BoxDynError {
    jobs::BoxDynError::from(error.into_anyhow())
}
