//! Sending notifications: claim a pending row, send it through SES, record the outcome.
//!
//! Claiming: `UPDATE … SET attempts = n + 1 WHERE status = 'pending' AND attempts = n` — of two
//! workers that read the same row, one wins the attempt and the other skips it. A claimed row is
//! not due again before the HTTP timeout has passed (the lease) nor before its backoff, so a
//! send in flight is never doubled. What remains is at-least-once: a worker that dies (or loses
//! its database) after SES accepted the e-mail but before recording it leaves the row pending,
//! and the retry sends it again. docs/notifications.md.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use entities::enums::{DeliveryStatus, NotificationKind};
use entities::{notifications, projects};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::compose::letter;
use super::enqueue::{enqueue, wake};
use super::tasks::NotificationDelivery;
use crate::kernel::errors::{ApiResult, Code};
use crate::kernel::lists::list_page;
use crate::kernel::paging::{Listed, Window};
use crate::upstream::client::UpstreamClient;
use crate::upstream::integration::Integration;
use crate::upstream::ses::{self, Email};

/// How far ahead the daily check looks for expiring credentials.
pub const EXPIRING_WITHIN_DAYS: i64 = 7;
/// The most rows one retry tick looks at.
const RETRY_BATCH: u64 = 500;
/// The longest wait between two attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct NotificationService {
    pub(super) db: DatabaseConnection,
    pub(super) upstream: UpstreamClient,
    pub(super) queue: jobs::Queue,
    pub(super) public_url: String,
}

impl NotificationService {
    pub fn new(
        db: DatabaseConnection,
        upstream: UpstreamClient,
        queue: jobs::Queue,
        public_url: String,
    ) -> Self {
        NotificationService {
            db,
            upstream,
            queue,
            public_url,
        }
    }

    /// The tenant's notifications, oldest first (admins' page).
    pub async fn list(
        &self,
        tenant: Uuid,
        window: Window,
    ) -> ApiResult<Listed<notifications::Model>> {
        let select =
            notifications::Entity::find().filter(notifications::Column::TenantId.eq(tenant));
        list_page(&self.db, select, notifications::Column::Id, window).await
    }

    /// Sends the pending notifications of one subject (task `notification-delivery`).
    pub async fn deliver(&self, task: &NotificationDelivery) -> ApiResult<usize> {
        let rows = notifications::Entity::find()
            .filter(notifications::Column::Kind.eq(task.kind))
            .filter(notifications::Column::SubjectId.eq(task.subject_id))
            .filter(notifications::Column::Status.eq(DeliveryStatus::Pending))
            .filter(notifications::Column::Attempts.eq(0))
            .all(&self.db)
            .await?;
        self.send_all(rows).await
    }

    /// Sends pending notifications whose backoff has passed and gives up those out of attempts
    /// (timer `notification-retry`).
    pub async fn retry_due(&self, now: DateTime<Utc>) -> ApiResult<usize> {
        let rows = notifications::Entity::find()
            .filter(notifications::Column::Status.eq(DeliveryStatus::Pending))
            .order_by_asc(notifications::Column::Id)
            .limit(RETRY_BATCH)
            .all(&self.db)
            .await?;
        let max = self.max_attempts();
        let mut due = Vec::new();
        for row in rows {
            if !self.due(&row, now) {
                continue;
            }
            if row.attempts >= max {
                let message = format!(
                    "given up after {} attempts: {}",
                    row.attempts,
                    row.last_error.as_deref().unwrap_or("no answer recorded")
                );
                self.settle(&row, row.attempts, DeliveryStatus::Failed, Some(message))
                    .await?;
            } else {
                due.push(row);
            }
        }
        self.send_all(due).await
    }

    /// The daily check: one `credentials_expiring` e-mail per recipient per project per expiry
    /// date, for credentials that expire within the week (not those already expired). Returns
    /// the number of projects concerned.
    pub async fn check_expiring(&self, now: DateTime<Utc>) -> ApiResult<usize> {
        let until = now + TimeDelta::days(EXPIRING_WITHIN_DAYS);
        let expiring = projects::Entity::find()
            .filter(projects::Column::CredentialsExpiresAt.gt(now))
            .filter(projects::Column::CredentialsExpiresAt.lte(until))
            .all(&self.db)
            .await?;
        for project in &expiring {
            let Some(expires) = project.credentials_expires_at else {
                continue;
            };
            let key = format!(
                "credentials_expiring:{}:{}",
                project.id,
                expires.format("%Y-%m-%d")
            );
            let pending = enqueue(
                &self.db,
                project.tenant_id,
                NotificationKind::CredentialsExpiring,
                project.id,
                key,
            )
            .await?;
            wake(&self.queue, pending).await;
        }
        Ok(expiring.len())
    }

    fn max_attempts(&self) -> i32 {
        self.upstream.config().ses_max_attempts.max(1)
    }

    /// A row never tried is due at once; a tried one after its backoff and after the lease (the
    /// HTTP timeout: a send still in flight has ended by then).
    fn due(&self, row: &notifications::Model, now: DateTime<Utc>) -> bool {
        if row.attempts == 0 {
            return true;
        }
        let config = self.upstream.config();
        let base = Duration::from_millis(config.ses_retry_base_ms);
        let backoff = base
            .saturating_mul(2u32.saturating_pow((row.attempts - 1).clamp(0, 20) as u32))
            .min(BACKOFF_MAX);
        let lease = Duration::from_millis(config.timeout_ms) + Duration::from_secs(1);
        let wait = TimeDelta::from_std(backoff.max(lease)).unwrap_or(TimeDelta::MAX);
        row.updated_at + wait <= now
    }

    pub(super) async fn send_all(&self, rows: Vec<notifications::Model>) -> ApiResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        if let Err(error) = self.upstream.require(Integration::Ses) {
            // Nothing is sent and no attempt is used: the rows wait for SES to be configured.
            let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
            notifications::Entity::update_many()
                .col_expr(
                    notifications::Column::LastError,
                    Expr::value(error.message().to_string()),
                )
                .filter(notifications::Column::Id.is_in(ids))
                .filter(notifications::Column::Status.eq(DeliveryStatus::Pending))
                .exec(&self.db)
                .await?;
            tracing::info!(
                pending = rows.len(),
                "AWS SES is not configured: e-mails wait"
            );
            return Ok(0);
        }
        let mut sent = 0;
        for row in rows {
            if self.attempt(row).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// One attempt at one row: claim, send, record. True when SES accepted it.
    async fn attempt(&self, row: notifications::Model) -> ApiResult<bool> {
        let Some(letter) = letter(&self.db, &row, &self.public_url).await? else {
            let message = "not sent: its job or project no longer exists".to_string();
            self.settle(&row, row.attempts, DeliveryStatus::Failed, Some(message))
                .await?;
            return Ok(false);
        };
        let attempts = row.attempts + 1;
        let claimed = notifications::Entity::update_many()
            .col_expr(notifications::Column::Attempts, Expr::value(attempts))
            .col_expr(notifications::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(notifications::Column::Id.eq(row.id))
            .filter(notifications::Column::Status.eq(DeliveryStatus::Pending))
            .filter(notifications::Column::Attempts.eq(row.attempts))
            .exec(&self.db)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            return Ok(false);
        }
        self.send_claimed(&row, attempts, letter).await
    }

    /// Sends attempt `attempts` of a row this worker claimed, and records the outcome.
    pub(super) async fn send_claimed(
        &self,
        row: &notifications::Model,
        attempts: i32,
        letter: super::compose::Letter,
    ) -> ApiResult<bool> {
        let email = Email {
            to: row.recipient.clone(),
            subject: letter.subject,
            text: letter.text,
        };
        match ses::send(&self.upstream, &email).await {
            Ok(message_id) => {
                tracing::info!(key = %row.dedupe_key, %message_id, "e-mail sent");
                self.settle(row, attempts, DeliveryStatus::Sent, None)
                    .await?;
                Ok(true)
            }
            Err(error) => {
                let message = error.message().to_string();
                let last = attempts >= self.max_attempts()
                    || matches!(
                        error.code(),
                        Code::UpstreamRejected | Code::IntegrationNotConfigured
                    );
                let status = if last {
                    tracing::error!(key = %row.dedupe_key, attempts, %message, "e-mail given up");
                    DeliveryStatus::Failed
                } else {
                    tracing::warn!(key = %row.dedupe_key, attempts, %message, "e-mail will be retried");
                    DeliveryStatus::Pending
                };
                self.settle(row, attempts, status, Some(message)).await?;
                Ok(false)
            }
        }
    }

    /// Records the outcome of attempt `attempts` of a row still pending.
    pub(super) async fn settle(
        &self,
        row: &notifications::Model,
        attempts: i32,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> ApiResult<()> {
        let now = Utc::now();
        let mut update = notifications::Entity::update_many()
            .col_expr(notifications::Column::Status, Expr::value(status))
            .col_expr(notifications::Column::LastError, Expr::value(error))
            .col_expr(notifications::Column::UpdatedAt, Expr::value(now));
        if status == DeliveryStatus::Sent {
            update = update.col_expr(notifications::Column::SentAt, Expr::value(now));
        }
        update
            .filter(notifications::Column::Id.eq(row.id))
            .filter(notifications::Column::Status.eq(DeliveryStatus::Pending))
            .filter(notifications::Column::Attempts.eq(attempts))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
