//! The deliverer: one per deployment at a time, sending due events in outbox order and keeping
//! each aggregate's order (an event waits while an earlier one of its aggregate is undelivered).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entities::{outbox_events, tenants};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::{Notify, watch};

use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

/// Any stable number: the advisory lock that makes one replica the deliverer.
const DELIVERER_LOCK: i64 = 0x0053_544b_4742_5553; // "STKGBUS"
const BATCH: u64 = 50;

/// Runs until `stop` flips: wakes on `wake` or every second, and delivers what is due.
pub async fn run(
    db: DatabaseConnection,
    upstream: UpstreamClient,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    // On PostgreSQL the lock lives on a connection held for as long as this replica delivers.
    let mut leader: Option<sqlx::pool::PoolConnection<sqlx::Postgres>> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let may_deliver = match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                if leader.is_none() {
                    leader = try_lead(&db).await;
                }
                leader.is_some()
            }
            _ => true,
        };
        if may_deliver && upstream.require(Integration::Bus).is_ok() {
            match deliver_due(&db, &upstream).await {
                Ok(sent) if sent as u64 == BATCH => continue,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "outbox delivery failed; will retry");
                    leader = None;
                }
            }
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn try_lead(db: &DatabaseConnection) -> Option<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    let mut conn = db.get_postgres_connection_pool().acquire().await.ok()?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(DELIVERER_LOCK)
        .fetch_one(&mut *conn)
        .await
        .ok()?;
    locked.then_some(conn)
}

/// Sends the due events once; returns how many were attempted.
pub async fn deliver_due(
    db: &DatabaseConnection,
    upstream: &UpstreamClient,
) -> anyhow::Result<usize> {
    let now = Utc::now();
    let due = outbox_events::Entity::find()
        .filter(outbox_events::Column::DeliveredAt.is_null())
        .filter(outbox_events::Column::NextAttemptAt.lte(now))
        .filter(Expr::cust(
            "NOT EXISTS (SELECT 1 FROM outbox_events AS earlier WHERE earlier.aggregate_id = outbox_events.aggregate_id \
             AND earlier.delivered_at IS NULL AND earlier.seq < outbox_events.seq)",
        ))
        .order_by_asc(outbox_events::Column::Seq)
        .limit(BATCH)
        .find_also_related(tenants::Entity)
        .all(db)
        .await?;
    let mut blocked = std::collections::HashSet::new();
    let attempted = due.len();
    for (event, tenant) in due {
        if blocked.contains(&event.aggregate_id) {
            continue;
        }
        let body = cloud_event(&event, tenant.as_ref());
        let outcome = upstream
            .send(Integration::Bus, Retry::Never, |http| {
                let config = upstream.config();
                let url = format!(
                    "{}/events",
                    config
                        .bus_api_url
                        .as_deref()
                        .unwrap_or_default()
                        .trim_end_matches('/')
                );
                http.post(url)
                    .header(
                        "X-Integration-Key",
                        config.bus_integration_key.as_deref().unwrap_or_default(),
                    )
                    .header("Content-Type", "application/cloudevents+json")
                    .body(body.to_string())
            })
            .await;
        let attempts = event.attempts + 1;
        let mut row: outbox_events::ActiveModel = event.clone().into();
        row.attempts = Set(attempts);
        match outcome {
            Ok(_) => {
                row.delivered_at = Set(Some(Utc::now()));
                row.last_error = Set(None);
            }
            Err(error) => {
                blocked.insert(event.aggregate_id);
                row.last_error = Set(Some(error.message().to_string()));
                row.next_attempt_at = Set(Utc::now() + backoff(attempts));
            }
        }
        row.update(db).await?;
    }
    Ok(attempted)
}

/// 1 s, 2 s, 4 s … capped at five minutes, with jitter.
fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 2f64.powi(attempts.clamp(0, 9) - 1).min(300.0);
    let jitter = rand::rng().random_range(0.8..1.2);
    chrono::Duration::milliseconds((secs * jitter * 1000.0) as i64)
}

/// The CloudEvents 1.0 structured-mode JSON of an outbox row.
pub fn cloud_event(
    event: &outbox_events::Model,
    tenant: Option<&tenants::Model>,
) -> serde_json::Value {
    let product = match event.event_type.split('.').next() {
        Some("code") => "code",
        Some("agent" | "job") => "migrate",
        _ => "gateway",
    };
    serde_json::json!({
        "specversion": "1.0",
        "id": event.event_id.to_string(),
        "source": format!("/stack-gateway/{product}"),
        "type": event.event_type,
        "subject": event.aggregate_id.to_string(),
        "time": event.created_at.to_rfc3339(),
        "datacontenttype": "application/json",
        "tenantid": tenant.map(|t| t.hub_tenant_id.clone()),
        "data": event.payload,
    })
}
