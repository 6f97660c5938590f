//! `notifications`: the tenant's e-mail notifications, for admins.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{enums, notifications};

use crate::graphql::relay::{connection, global_id};
use crate::graphql::{principal, service};
use crate::integrations::types::DeliveryStatus;
use crate::kernel::paging::{expect_id, window};
use crate::migrate::notifications::NotificationService;

/// What an e-mail notification is about.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::NotificationKind")]
pub enum NotificationKind {
    /// A migration job completed.
    JobCompleted,
    /// A migration job failed.
    JobFailed,
    /// A project's Azure credentials expire within a week.
    CredentialsExpiring,
}

/// An e-mail sent (or to be sent) through AWS SES.
pub struct Notification(pub notifications::Model);

/// An e-mail sent (or to be sent) through AWS SES.
#[Object]
impl Notification {
    /// Global ID.
    async fn id(&self) -> ID {
        global_id("Notification", self.0.id)
    }
    /// What it is about.
    async fn kind(&self) -> NotificationKind {
        self.0.kind.into()
    }
    /// Global ID of the job (job e-mails) or project (credentials e-mails) it is about.
    async fn subject_id(&self) -> ID {
        let type_name = match self.0.kind {
            enums::NotificationKind::CredentialsExpiring => "Project",
            _ => "Job",
        };
        global_id(type_name, self.0.subject_id)
    }
    /// The address it goes to.
    async fn recipient(&self) -> &str {
        &self.0.recipient
    }
    /// Delivery state: pending (not sent yet or being retried), sent, or failed (given up).
    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }
    /// Attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Why the last attempt failed (or why it waits), if it did.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When SES accepted it.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

connection!(
    NotificationConnection,
    NotificationEdge,
    Notification,
    "A page of e-mail notifications."
);

#[derive(Default)]
pub struct NotificationsQuery;

#[Object]
impl NotificationsQuery {
    /// The tenant's e-mail notifications, oldest first (admins only).
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<NotificationConnection> {
        let user = principal(ctx).admin()?;
        let listed = service::<NotificationService>(ctx)
            .list(user.tenant_id, window(first, after, last, before)?)
            .await?;
        Ok(NotificationConnection::build(listed, |row, _| {
            Notification(row)
        }))
    }
}

/// Input of `resendNotification`.
#[derive(InputObject)]
pub struct ResendNotificationInput {
    /// The notification to send again.
    pub id: ID,
}

/// Result of `resendNotification`.
#[derive(SimpleObject)]
pub struct ResendNotificationPayload {
    /// The notification after the attempt (`SENT`, or `FAILED` / `PENDING` with the reason).
    pub notification: Notification,
    /// True when this call sent it again; false when it was not failed (already sent, or on
    /// its way), so nothing was sent twice.
    pub resent: bool,
}

/// Input of `resendFailedNotifications`.
#[derive(InputObject)]
pub struct ResendFailedNotificationsInput {
    /// Notifications that failed at or after this time (not in the future).
    pub since: DateTime<Utc>,
}

/// Result of `resendFailedNotifications`.
#[derive(SimpleObject)]
pub struct ResendFailedNotificationsPayload {
    /// How many failed notifications were queued to be sent again (at most 1000 a call; call
    /// again for more).
    pub queued: i32,
}

#[derive(Default)]
pub struct NotificationsMutation;

#[Object]
impl NotificationsMutation {
    /// Sends a failed e-mail notification again, now (Migrate admins): after fixing what made
    /// it fail (sender not verified, missing `ses:SendEmail` permission, wrong keys). A
    /// notification that is not failed is left as it is.
    async fn resend_notification(
        &self,
        ctx: &Context<'_>,
        input: ResendNotificationInput,
    ) -> Result<ResendNotificationPayload> {
        let user = principal(ctx).user()?;
        let id = expect_id(&input.id, "Notification")?;
        let done = service::<NotificationService>(ctx).resend(user, id).await?;
        Ok(ResendNotificationPayload {
            notification: Notification(done.notification),
            resent: done.resent,
        })
    }

    /// Queues every e-mail notification of the tenant that failed since a time to be sent
    /// again (Migrate admins).
    async fn resend_failed_notifications(
        &self,
        ctx: &Context<'_>,
        input: ResendFailedNotificationsInput,
    ) -> Result<ResendFailedNotificationsPayload> {
        let user = principal(ctx).user()?;
        let queued = service::<NotificationService>(ctx)
            .resend_failed_since(user, input.since)
            .await?;
        Ok(ResendFailedNotificationsPayload {
            queued: queued as i32,
        })
    }
}
