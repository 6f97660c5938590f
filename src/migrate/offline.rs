//! Timer `agent-offline-detection`: online agents whose heartbeats stopped are marked offline.

use chrono::{DateTime, Utc};
use jobs::QueueTask;
use serde::{Deserialize, Serialize};

use super::agents::AgentService;
use crate::kernel::errors::ApiResult;

/// One tick of the timer.
#[derive(Serialize, Deserialize)]
pub struct AgentOfflineDetection {
    pub tick: DateTime<Utc>,
}

impl QueueTask for AgentOfflineDetection {
    const NAME: &'static str = "agent-offline-detection";
    const MAX_ATTEMPTS: usize = 3;
}

/// The task's handler. It measures silence from the time it runs, not from the tick, so a
/// late or caught-up tick never marks a live agent offline; running it twice changes nothing.
pub async fn handle(agents: &AgentService, _task: AgentOfflineDetection) -> ApiResult<u64> {
    let marked = agents.detect_offline(Utc::now()).await?;
    if marked > 0 {
        tracing::info!(marked, "silent agents marked offline");
    }
    Ok(marked)
}

/// Registers the task and its timer.
pub fn register(runner: jobs::Runner, agents: &AgentService) -> anyhow::Result<jobs::Runner> {
    let agents = agents.clone();
    runner
        .task(move |task: AgentOfflineDetection| {
            let agents = agents.clone();
            async move {
                handle(&agents, task)
                    .await
                    .map(|_| ())
                    .map_err(|e| jobs::BoxDynError::from(e.into_anyhow()))
            }
        })
        .cron(AgentOfflineDetection::NAME, |tick| AgentOfflineDetection {
            tick,
        })
}
