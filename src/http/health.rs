//! Liveness and readiness.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::ConnectionTrait;

use crate::http::state::AppState;

/// How long a readiness check waits for each database.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `/healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `/readyz`: the data database and the queue's (its own pool) each answer a `SELECT 1` within
/// two seconds. 200 when both do; 503 naming the ones that did not in `failed`.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let (database, queue) = tokio::join!(
        tokio::time::timeout(
            CHECK_TIMEOUT,
            state.services.db.execute_unprepared("SELECT 1")
        ),
        tokio::time::timeout(CHECK_TIMEOUT, state.services.queue.ping()),
    );
    let database = matches!(database, Ok(Ok(_)));
    let queue = matches!(queue, Ok(true));
    let failed: Vec<&str> = [("database", database), ("queue", queue)]
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| name)
        .collect();
    let status = if failed.is_empty() {
        StatusCode::OK
    } else {
        tracing::warn!(?failed, "not ready");
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({ "database": database, "queue": queue, "failed": failed })),
    )
}
