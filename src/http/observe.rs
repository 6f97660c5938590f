//! Per-request observability: the tracing span every log line of a request is written in (with
//! the request id), and the request metrics (HTTP, and GraphQL by operation and outcome).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;

use super::REQUEST_ID;
use crate::telemetry::metrics::{GraphqlOutcome, Metrics};

/// The route label of a request no route matched (keeps unknown paths out of the labels).
const UNMATCHED: &str = "(unmatched)";

/// The `request` span: the request id (set by `SetRequestIdLayer`, which runs first), method and
/// path; the GraphQL handler adds `operation`. Every event of the request is written inside it,
/// so the log formatter prints these fields with every line.
pub fn request_span(request: &Request) -> Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        path = request.uri().path(),
        operation = tracing::field::Empty,
    )
}

/// Times every request and counts it by method, route and status; a GraphQL request is also
/// counted by operation and outcome (from the `GraphqlOutcome` its handler leaves).
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED.to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    metrics.http_request(method, &route, response.status().as_u16(), elapsed);
    if let Some(outcome) = response.extensions().get::<GraphqlOutcome>() {
        metrics.graphql_request(outcome, elapsed);
    }
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
