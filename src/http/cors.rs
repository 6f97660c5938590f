//! CORS for front-ends on their own origin: the configured origins (`CORS_ALLOWED_ORIGINS`,
//! `FRONTEND_URL`'s) may call `/graphql` and `/auth/logout` with credentials; a preflight is
//! cached for an hour; any other origin gets no CORS header at all, so the browser refuses.

use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::REQUEST_ID;

/// How long a browser may reuse a preflight answer.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3600);

/// The layer, or none when no origin is configured (the gateway serves its own pages).
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::ACCEPT,
                REQUEST_ID,
            ])
            .expose_headers([REQUEST_ID])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

/// Another origin's answer carries no CORS header at all (tower-http still adds the credentials
/// and `Vary` parts without an allowed origin): it is the same answer as without CORS.
pub async fn only_for_allowed(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        for name in [
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::ACCESS_CONTROL_MAX_AGE,
        ] {
            headers.remove(name);
        }
    }
    response
}
