//! `/metrics` in the Prometheus text format. Counters and histograms are recorded as things
//! happen; the gauges below are read at scrape time (pool sizes, the live hub, and three cheap
//! indexed statements: queue depth, the outbox's oldest undelivered event and its backlog).

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::Utc;

use crate::http::state::AppState;
use crate::telemetry::metrics::Metrics;

/// The longest a scrape waits for each database read; a slow one is skipped (and logged).
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    refresh(&state).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.services.metrics.render(),
    )
}

async fn refresh(state: &AppState) {
    let metrics = &state.services.metrics;
    metrics.set_counter(
        "gateway_db_statements_total",
        state.services.statements.get(),
    );
    metrics.set_gauge(
        "gateway_live_listeners",
        &[],
        state.services.live.listeners() as f64,
    );
    if let Some(data) = data_pool(state) {
        pool(metrics, "data", data);
    }
    pool(metrics, "queue", state.services.queue.pool_stats());
    match tokio::time::timeout(READ_TIMEOUT, state.services.queue.depth()).await {
        Ok(Ok(rows)) => {
            let rows = rows
                .into_iter()
                .map(|(queue, status, n)| (vec![queue, status], n as f64))
                .collect();
            metrics.set_family("gateway_queue_depth", &["queue", "status"], rows);
        }
        Ok(Err(error)) => tracing::warn!(%error, "metrics: queue depth not read"),
        Err(_) => tracing::warn!("metrics: queue depth not read in time"),
    }
    let backlog = crate::kernel::db::uncounted(crate::integrations::bus::outbox::backlog(
        &state.services.db,
    ));
    match tokio::time::timeout(READ_TIMEOUT, backlog).await {
        Ok(Ok((oldest, count))) => {
            let lag = oldest.map_or(0.0, |at| {
                (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics.set_gauge("gateway_outbox_lag_seconds", &[], lag);
            metrics.set_gauge("gateway_outbox_undelivered", &[], count as f64);
        }
        Ok(Err(error)) => tracing::warn!(%error, "metrics: outbox backlog not read"),
        Err(_) => tracing::warn!("metrics: outbox backlog not read in time"),
    }
}

fn data_pool(state: &AppState) -> Option<jobs::PoolStats> {
    match state.services.db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => Some(jobs::PoolStats::of(
            state.services.db.get_sqlite_connection_pool(),
        )),
        sea_orm::DatabaseBackend::Postgres => Some(jobs::PoolStats::of(
            state.services.db.get_postgres_connection_pool(),
        )),
        _ => None,
    }
}

fn pool(metrics: &Metrics, name: &str, stats: jobs::PoolStats) {
    let name = ("pool", name);
    let name_and = |state| [name, ("state", state)];
    metrics.set_gauge(
        "gateway_db_pool_connections",
        &name_and("open"),
        stats.size as f64,
    );
    metrics.set_gauge(
        "gateway_db_pool_connections",
        &name_and("idle"),
        stats.idle as f64,
    );
    metrics.set_gauge(
        "gateway_db_pool_connections",
        &name_and("max"),
        stats.max as f64,
    );
}
