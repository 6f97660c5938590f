//! Sending failed e-mails again (admins), once an operator fixed what made them fail: the
//! sender verified in SES, the `ses:SendEmail` permission granted, the keys replaced.
//!
//! Only a `failed` row is flipped back to `pending` (attempts counted afresh), by a conditional
//! `UPDATE … WHERE status = 'failed'`: of two admins (or a single and a bulk re-send) racing,
//! one flips it and the other finds it pending. A single re-send flips it already claimed
//! (`attempts = 1`, leased like any claim) and sends it itself; a bulk one flips rows to
//! `attempts = 0` and queues their delivery, which claims them as usual (`0 → 1`), so each is
//! sent once whoever picks it up first (the delivery task or the retry timer).

use chrono::{DateTime, Utc};
use entities::enums::{DeliveryStatus, NotificationKind, Product};
use entities::notifications;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::compose::letter;
use super::service::NotificationService;
use super::tasks::NotificationDelivery;
use crate::auth::{Access, User};
use crate::kernel::errors::{ApiError, ApiResult};
use crate::upstream::integration::Integration;

/// The most rows one bulk re-send flips (call again for more: flipped rows are no longer
/// failed).
pub const RESEND_MAX: u64 = 1000;

/// What a single re-send did.
pub struct Resent {
    pub notification: notifications::Model,
    /// True when this call sent it again; false when it was not failed (already sent, or
    /// pending: on its way).
    pub resent: bool,
}

impl NotificationService {
    /// Flips failed rows of the tenant among `ids` back to pending with `attempts` (1: claimed
    /// by the caller); returns those it flipped.
    async fn flip(
        &self,
        tenant: Uuid,
        ids: Vec<Uuid>,
        attempts: i32,
    ) -> ApiResult<Vec<notifications::Model>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(notifications::Entity::update_many()
            .col_expr(
                notifications::Column::Status,
                Expr::value(DeliveryStatus::Pending),
            )
            .col_expr(notifications::Column::Attempts, Expr::value(attempts))
            .col_expr(
                notifications::Column::LastError,
                Expr::value(Some("re-sent by an admin".to_string())),
            )
            .col_expr(notifications::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(notifications::Column::TenantId.eq(tenant))
            .filter(notifications::Column::Id.is_in(ids))
            .filter(notifications::Column::Status.eq(DeliveryStatus::Failed))
            .exec_with_returning(&self.db)
            .await?)
    }

    /// Sends one failed notification again, now; answers it as it stands afterwards.
    pub async fn resend(&self, user: &User, id: Uuid) -> ApiResult<Resent> {
        user.may(Product::Migrate, Access::Administer, "re-send e-mails")?;
        let found = notifications::Entity::find_by_id(id)
            .filter(notifications::Column::TenantId.eq(user.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("notification"))?;
        // Not configured: say so, and change nothing (the row would only wait again).
        self.upstream.require(Integration::Ses)?;
        let flipped = self.flip(user.tenant_id, vec![found.id], 1).await?;
        let resent = !flipped.is_empty();
        if let Some(row) = flipped.into_iter().next() {
            match letter(&self.db, &row, &self.public_url).await? {
                Some(letter) => {
                    self.send_claimed(&row, 1, letter).await?;
                }
                None => {
                    let message = "not sent: its job or project no longer exists".to_string();
                    self.settle(&row, 1, DeliveryStatus::Failed, Some(message))
                        .await?;
                }
            }
        }
        let notification = notifications::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .unwrap_or(found);
        Ok(Resent {
            notification,
            resent,
        })
    }

    /// Queues every notification of the tenant that failed at or after `since` to be sent
    /// again (at most `RESEND_MAX`); returns how many.
    pub async fn resend_failed_since(&self, user: &User, since: DateTime<Utc>) -> ApiResult<u64> {
        user.may(Product::Migrate, Access::Administer, "re-send e-mails")?;
        if since > Utc::now() {
            return Err(ApiError::bad_input("since must not be in the future"));
        }
        let ids: Vec<Uuid> = notifications::Entity::find()
            .select_only()
            .column(notifications::Column::Id)
            .filter(notifications::Column::TenantId.eq(user.tenant_id))
            .filter(notifications::Column::Status.eq(DeliveryStatus::Failed))
            .filter(notifications::Column::UpdatedAt.gte(since))
            .order_by_asc(notifications::Column::Id)
            .limit(RESEND_MAX)
            .into_tuple()
            .all(&self.db)
            .await?;
        let flipped = self.flip(user.tenant_id, ids, 0).await?;
        let mut subjects: Vec<(NotificationKind, Uuid)> =
            flipped.iter().map(|r| (r.kind, r.subject_id)).collect();
        subjects.sort_by_key(|(_, s)| *s);
        subjects.dedup();
        let at = Utc::now().timestamp_micros();
        for (kind, subject_id) in subjects {
            // A key of its own: the first delivery's `notify:…` key is spent.
            let key = format!("resend:{subject_id}:{at}");
            let task = NotificationDelivery { kind, subject_id };
            if let Err(error) = self.queue.push(task, Some(&key)).await {
                tracing::warn!(%error, %key, "could not queue a re-send; the retry timer will send it");
            }
        }
        Ok(flipped.len() as u64)
    }
}
