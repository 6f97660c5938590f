//! The queue tasks the domains own, registered with the runner at start-up.

use chrono::{DateTime, Utc};
use jobs::{BoxDynError, QueueTask, Runner};
use serde::{Deserialize, Serialize};

use crate::services::Services;

/// Deletes expired sessions and used sign-in tokens (timer `session-cleanup`).
#[derive(Serialize, Deserialize)]
pub struct SessionCleanup {
    pub tick: DateTime<Utc>,
}

impl QueueTask for SessionCleanup {
    const NAME: &'static str = "session-cleanup";
    const MAX_ATTEMPTS: usize = 3;
}

/// Refreshes the PSA status of open Code-created tickets not checked in the minutes before
/// `tick` (timer `psa-status-refresh`; idempotent: a second run finds them fresh).
#[derive(Serialize, Deserialize)]
pub struct PsaStatusRefresh {
    pub tick: DateTime<Utc>,
}

impl QueueTask for PsaStatusRefresh {
    const NAME: &'static str = "psa-status-refresh";
    const MAX_ATTEMPTS: usize = 3;
}

/// Fails the backups whose runner has not reported within `BACKUP_REPORT_TIMEOUT_MS`, measured
/// when the task runs (timer `backup-timeout`; idempotent: a second run finds nothing silent).
#[derive(Serialize, Deserialize)]
pub struct BackupTimeout {
    pub tick: DateTime<Utc>,
}

impl QueueTask for BackupTimeout {
    const NAME: &'static str = "backup-timeout";
    const MAX_ATTEMPTS: usize = 3;
}

fn register_backups(runner: Runner, services: &Services) -> anyhow::Result<Runner> {
    let backups = services.backups.clone();
    runner
        .task(move |_: BackupTimeout| {
            let backups = backups.clone();
            async move {
                let failed = backups
                    .expire_silent()
                    .await
                    .map_err(|e| BoxDynError::from(e.into_anyhow()))?;
                if failed > 0 {
                    tracing::info!(failed, "silent backups failed");
                }
                Ok(())
            }
        })
        .cron("backup-timeout", |tick| BackupTimeout { tick })
}

fn register_psa(runner: Runner, services: &Services) -> anyhow::Result<Runner> {
    let psa = services.psa.clone();
    runner
        .task(move |task: PsaStatusRefresh| {
            let psa = psa.clone();
            async move {
                let done = psa
                    .refresh_open_tickets(task.tick)
                    .await
                    .map_err(|e| BoxDynError::from(e.into_anyhow()))?;
                tracing::info!(checked = done.checked, changed = done.changed, failed = done.failed, stopped = ?done.stopped, "PSA ticket statuses refreshed");
                Ok(())
            }
        })
        .cron("psa-status-refresh", |tick| PsaStatusRefresh { tick })
}

/// Registers every task handler and timer.
pub fn register(runner: Runner, services: &Services) -> anyhow::Result<Runner> {
    let runner = register_psa(runner, services)?;
    let runner = register_backups(runner, services)?;
    let runner = crate::code::cmdb::register(runner, &services.cmdb)?;
    let runner = crate::code::ai::register(runner, &services.ai)?;
    let runner = crate::code::providers::register(runner, &services.providers)?;
    let runner = crate::integrations::billing::register(runner, &services.billing)?;
    let runner = crate::integrations::probe::register(runner, &services.upstream)?;
    let runner = crate::migrate::offline::register(runner, &services.agents)?;
    let runner = crate::migrate::notifications::register(runner, &services.notifications)?;
    let auth = services.auth.clone();
    runner
        .task(move |_: SessionCleanup| {
            let auth = auth.clone();
            async move {
                let (sessions, tokens) = auth
                    .clean_up()
                    .await
                    .map_err(|e| BoxDynError::from(e.into_anyhow()))?;
                tracing::info!(
                    sessions,
                    tokens,
                    "expired sessions and sign-in tokens removed"
                );
                Ok(())
            }
        })
        .cron("session-cleanup", |tick| SessionCleanup { tick })
}
