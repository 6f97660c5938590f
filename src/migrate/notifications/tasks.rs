//! The queue tasks of notifications: delivery after a change, the retry timer and the daily
//! credentials check.

use chrono::{DateTime, Utc};
use entities::enums::NotificationKind;
use jobs::{BoxDynError, QueueTask, Runner};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::service::NotificationService;
use crate::kernel::errors::ApiError;

/// Sends the pending, never-tried notifications of one subject (a job or a project).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct NotificationDelivery {
    pub kind: NotificationKind,
    pub subject_id: Uuid,
}

impl QueueTask for NotificationDelivery {
    const NAME: &'static str = "notification-delivery";
    /// Upstream failures are recorded on the row, not retried by the queue: these attempts
    /// cover our own failures (the database).
    const MAX_ATTEMPTS: usize = 3;
}

/// Timer `notification-retry`: sends what is due again, gives up what is out of attempts.
#[derive(Serialize, Deserialize)]
pub struct NotificationRetry {
    pub tick: DateTime<Utc>,
}

impl QueueTask for NotificationRetry {
    const NAME: &'static str = "notification-retry";
    const MAX_ATTEMPTS: usize = 1;
}

/// Timer `credentials-expiring-check` (08:00 UTC daily): Azure credentials expiring within the
/// week get their e-mail, once per project and expiry date.
#[derive(Serialize, Deserialize)]
pub struct CredentialsExpiringCheck {
    pub tick: DateTime<Utc>,
}

impl QueueTask for CredentialsExpiringCheck {
    const NAME: &'static str = "credentials-expiring-check";
    const MAX_ATTEMPTS: usize = 3;
}

fn task_error(error: ApiError) -> BoxDynError {
    BoxDynError::from(error.into_anyhow())
}

/// Registers the three tasks and the two timers.
pub fn register(runner: Runner, service: &NotificationService) -> anyhow::Result<Runner> {
    let (deliver, retry, check) = (service.clone(), service.clone(), service.clone());
    runner
        .task(move |task: NotificationDelivery| {
            let service = deliver.clone();
            async move {
                service.deliver(&task).await.map_err(task_error)?;
                Ok(())
            }
        })
        .task(move |_: NotificationRetry| {
            let service = retry.clone();
            async move {
                let sent = service.retry_due(Utc::now()).await.map_err(task_error)?;
                if sent > 0 {
                    tracing::info!(sent, "retried e-mails sent");
                }
                Ok(())
            }
        })
        .task(move |_: CredentialsExpiringCheck| {
            let service = check.clone();
            async move {
                let projects = service
                    .check_expiring(Utc::now())
                    .await
                    .map_err(task_error)?;
                tracing::info!(projects, "expiring Azure credentials checked");
                Ok(())
            }
        })
        .cron(NotificationRetry::NAME, |tick| NotificationRetry { tick })?
        .cron(CredentialsExpiringCheck::NAME, |tick| {
            CredentialsExpiringCheck { tick }
        })
}
