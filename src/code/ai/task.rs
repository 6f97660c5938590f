//! The `ai-run` queue task: one AI run, executed outside any HTTP request.

use jobs::QueueTask;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AiService;

/// Executes AI run `run_id`. A re-delivered task finds the run finished and does nothing; the
/// AI client already retried transient upstream failures, so a failed run is not retried.
#[derive(Serialize, Deserialize)]
pub struct AiRun {
    pub tenant_id: Uuid,
    pub run_id: Uuid,
}

impl QueueTask for AiRun {
    const NAME: &'static str = "ai-run";
    const MAX_ATTEMPTS: usize = 2;
}

pub fn register(runner: jobs::Runner, ai: &AiService) -> anyhow::Result<jobs::Runner> {
    let ai = ai.clone();
    Ok(runner.task(move |task: AiRun| {
        let ai = ai.clone();
        async move {
            let run = ai
                .execute(task.tenant_id, task.run_id)
                .await
                .map_err(|e| jobs::BoxDynError::from(e.into_anyhow()))?;
            tracing::info!(run = %run.id, kind = %run.kind, status = %run.status, error = ?run.error_code, "AI run finished");
            Ok(())
        }
    }))
}
