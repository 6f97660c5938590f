//! Writing events: in the caller's transaction, so an event exists exactly when its change does.

use chrono::Utc;
use entities::outbox_events;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use super::events::BusEvent;

/// Adds `event` to the outbox on `conn` (a transaction, normally); returns the event id.
pub async fn enqueue<E: BusEvent>(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    event: &E,
) -> Result<Uuid, DbErr> {
    let event_id = Uuid::now_v7();
    let now = Utc::now();
    let payload =
        serde_json::to_value(event).map_err(|e| DbErr::Custom(format!("event payload: {e}")))?;
    let row = outbox_events::ActiveModel {
        seq: sea_orm::ActiveValue::NotSet,
        event_id: Set(event_id),
        tenant_id: Set(tenant_id),
        aggregate_type: Set(E::AGGREGATE.to_string()),
        aggregate_id: Set(event.aggregate_id()),
        event_type: Set(E::TYPE.to_string()),
        payload: Set(payload),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        delivered_at: Set(None),
        created_at: Set(now),
    };
    outbox_events::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(event_id)
}

/// When the oldest undelivered event was written, and how many are undelivered (for metrics).
/// Both statements walk the `(delivered_at, seq)` index.
pub async fn backlog(
    conn: &impl ConnectionTrait,
) -> Result<(Option<chrono::DateTime<Utc>>, u64), DbErr> {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder};
    let undelivered =
        outbox_events::Entity::find().filter(outbox_events::Column::DeliveredAt.is_null());
    let oldest = undelivered
        .clone()
        .order_by_asc(outbox_events::Column::Seq)
        .one(conn)
        .await?
        .map(|event| event.created_at);
    let count = match oldest {
        Some(_) => undelivered.count(conn).await?,
        None => 0,
    };
    Ok((oldest, count))
}
