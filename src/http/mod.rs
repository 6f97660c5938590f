//! The HTTP surface: router, GraphQL handlers, SSO endpoints, health and the playground.

mod activity;
pub mod agent_api;
pub mod auth;
pub mod backups;
mod cors;
pub mod credentials;
pub mod github;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod observe;
pub mod playground;
pub mod scans;
pub mod serve;
pub mod state;
pub mod ws;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::http::state::AppState;
use crate::kernel::errors::{ApiError, Code};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    // What a front-end on its own origin calls from the browser.
    let mut browser = Router::new()
        .route("/graphql", post(graphql::post).get(graphql::get))
        .route("/auth/logout", post(auth::logout));
    if let Some(cors) = cors::layer(&state.services.config.frontend.cors_origins) {
        browser = browser
            .layer(cors)
            .layer(axum::middleware::map_response(cors::only_for_allowed));
    }
    Router::new()
        .merge(browser)
        .route("/", get(playground::index))
        .route("/playground/{*path}", get(playground::asset))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/auth/sso", get(auth::sso_get).post(auth::sso_post))
        .route("/auth/azure/callback", get(credentials::azure_callback))
        .route("/auth/github/setup", get(github::setup))
        .route("/auth/github/callback", get(github::callback))
        .route("/auth/gitlab/callback", get(credentials::gitlab_callback))
        .route(
            "/auth/azure-devops/callback",
            get(credentials::azure_devops_callback),
        )
        .route("/api/agent/register", post(agent_api::register))
        .route("/api/agent/heartbeat", post(agent_api::heartbeat))
        .route("/api/agent/commands/{id}/ack", post(agent_api::ack))
        .route("/api/agent/jobs", get(agent_api::jobs))
        .route("/api/agent/jobs/{id}/start", post(agent_api::start))
        .route("/api/agent/jobs/{id}/progress", post(agent_api::progress))
        .route("/api/agent/jobs/{id}/complete", post(agent_api::complete))
        .route("/api/agent/jobs/{id}/fail", post(agent_api::fail))
        .route("/api/agent/jobs/{id}/mission", get(agent_api::mission))
        .route(
            "/api/jobs/{id}/credentials",
            get(credentials::job_credentials),
        )
        .route(
            "/api/agent/jobs/{id}/credentials",
            get(credentials::job_credentials),
        )
        .route("/api/code/repositories/{id}/scans", post(scans::upload))
        .route("/api/code/backup-runner/backups", get(backups::list))
        .route(
            "/api/code/backup-runner/backups/{id}/report",
            post(backups::report),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .with_state(state.clone())
        // A handler bug answers 500 `INTERNAL` instead of dropping the connection.
        .layer(CatchPanicLayer::custom(panicked))
        // The last layer added runs first: the request id is set, then the span that carries it
        // is entered, then the request is timed and counted.
        .layer(axum::middleware::from_fn_with_state(
            state.services.metrics.clone(),
            observe::track,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(observe::request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// The answer to a request whose handler panicked (the panic hook logs where, not what).
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::http::Response<String> {
    let body = error_body(Code::Internal, "internal error", None).to_string();
    let mut response = axum::http::Response::new(body);
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// HTTP status for a coded error outside GraphQL execution.
pub fn status_of(code: Code) -> StatusCode {
    match code {
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Forbidden => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Conflict => StatusCode::CONFLICT,
        Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Code::DbUnavailable | Code::IntegrationNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
        Code::UpstreamUnavailable | Code::UpstreamRejected | Code::UpstreamAuthFailed => {
            StatusCode::BAD_GATEWAY
        }
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A GraphQL-shaped error body (`{"errors":[…]}`) for failures outside execution.
pub fn error_body(code: Code, message: &str, request_id: Option<&str>) -> serde_json::Value {
    let mut extensions = serde_json::json!({ "code": code.as_str() });
    if let Some(id) = request_id {
        extensions["requestId"] = id.into();
    }
    serde_json::json!({ "errors": [{ "message": message, "extensions": extensions }] })
}

/// An error response for a REST endpoint or a request that never reached execution.
pub fn error_response(error: &ApiError, request_id: Option<&str>) -> Response {
    let code = error.code();
    let message = error.message();
    if let ApiError::Internal(inner) = error {
        tracing::error!(error = ?inner, request_id, "internal error");
    }
    let body = error_body(code, message, request_id);
    let mut response = (status_of(code), body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
