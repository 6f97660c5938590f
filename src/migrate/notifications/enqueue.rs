//! Who receives Migrate e-mail, and the pending rows written with the change that causes it.

use chrono::Utc;
use entities::enums::{DeliveryStatus, JobStatus, NotificationKind, Product};
use entities::{jobs, notifications, users};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::tasks::NotificationDelivery;
use crate::auth::access::{self, Access};
use crate::kernel::errors::ApiResult;

/// Notifications written for one subject, to be handed to the queue after the commit.
#[derive(Clone, Debug)]
pub struct Pending {
    pub delivery: NotificationDelivery,
    /// The dedupe key without the recipient; also the queue task's idempotency key.
    pub key: String,
}

/// Whether a user receives Migrate e-mail: those who may operate Migrate (the `migrate` product
/// and the `admin` or `technician` role), as granted at the user's last sign-in (stored on the
/// user; a value this build does not know is skipped, not fatal).
fn receives(user: &users::Model) -> bool {
    fn known<T: serde::de::DeserializeOwned>(list: &serde_json::Value) -> Vec<T> {
        let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
        items
            .iter()
            .filter_map(|v| serde_json::from_value(v.clone()).ok())
            .collect()
    }
    access::allows(
        &known(&user.roles),
        &known(&user.products),
        Product::Migrate,
        Access::Operate,
    )
}

/// The tenant's recipients' addresses, lower-cased, sorted, each once.
pub async fn recipients(conn: &impl ConnectionTrait, tenant: Uuid) -> ApiResult<Vec<String>> {
    let users = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant))
        .all(conn)
        .await?;
    let mut emails: Vec<String> = users
        .iter()
        .filter(|u| receives(u))
        .map(|u| u.email.trim().to_lowercase())
        .filter(|e| e.contains('@'))
        .collect();
    emails.sort();
    emails.dedup();
    Ok(emails)
}

/// Writes one pending notification per recipient with dedupe key `{key}:{email}`; a key that
/// exists already is left as it is. `None` when the tenant has no recipient.
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    tenant: Uuid,
    kind: NotificationKind,
    subject_id: Uuid,
    key: String,
) -> ApiResult<Option<Pending>> {
    let to = recipients(conn, tenant).await?;
    if to.is_empty() {
        tracing::info!(%key, "no one to notify: the tenant has no Migrate admin or technician");
        return Ok(None);
    }
    let now = Utc::now();
    let rows = to.iter().map(|email| notifications::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        kind: Set(kind),
        subject_id: Set(subject_id),
        recipient: Set(email.clone()),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        last_error: Set(None),
        sent_at: Set(None),
        dedupe_key: Set(format!("{key}:{email}")),
        created_at: Set(now),
        updated_at: Set(now),
    });
    notifications::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([notifications::Column::DedupeKey])
        .exec_without_returning(conn)
        .await?;
    Ok(Some(Pending {
        delivery: NotificationDelivery { kind, subject_id },
        key,
    }))
}

/// The e-mails a job that just completed or failed sends (call inside its transaction).
pub async fn for_job(conn: &impl ConnectionTrait, job: &jobs::Model) -> ApiResult<Option<Pending>> {
    let (kind, name) = match job.status {
        JobStatus::Completed => (NotificationKind::JobCompleted, "job_completed"),
        JobStatus::Failed => (NotificationKind::JobFailed, "job_failed"),
        _ => return Ok(None),
    };
    enqueue(
        conn,
        job.tenant_id,
        kind,
        job.id,
        format!("{name}:{}", job.id),
    )
    .await
}

/// Hands committed notifications to the queue. A failure here loses nothing: the rows are
/// pending and the `notification-retry` timer sends them.
pub async fn wake(queue: &::jobs::Queue, pending: Option<Pending>) {
    let Some(pending) = pending else { return };
    let key = format!("notify:{}", pending.key);
    if let Err(error) = queue.push(pending.delivery, Some(&key)).await {
        tracing::warn!(%error, %key, "could not queue e-mail delivery; the retry timer will send it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(roles: serde_json::Value, products: serde_json::Value) -> users::Model {
        let now = Utc::now();
        users::Model {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            hub_user_id: "u".into(),
            email: "u@example.com".into(),
            name: "U".into(),
            roles,
            products,
            last_login_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn migrate_admins_and_technicians_receive() {
        assert!(receives(&user(json!(["admin"]), json!(["migrate"]))));
        assert!(receives(&user(
            json!(["viewer", "technician"]),
            json!(["code", "migrate"])
        )));
        assert!(!receives(&user(json!(["viewer"]), json!(["migrate"]))));
        assert!(!receives(&user(json!(["admin"]), json!(["code"]))));
        assert!(!receives(&user(json!(null), json!(["migrate"]))));
    }
}
