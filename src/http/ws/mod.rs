//! `GET /graphql/ws`: subscriptions over the `graphql-transport-ws` protocol. Our own handler
//! (async-graphql's has no init timeout, Origin check or subscription cap, and closes with codes
//! the protocol does not define): a browser Origin must be the server's own, `PUBLIC_URL`'s or
//! one of `WS_ALLOWED_ORIGINS`; each socket reads and writes through 4 KiB buffers.

mod connection;
pub mod protocol;
pub mod shared;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::{REQUEST_ID, error_response};
use crate::http::state::AppState;
use crate::kernel::errors::{ApiError, Code};

/// Per-socket buffers: the default 128 KiB read buffer would cost 1.3 GB for 10,000 sockets.
const SOCKET_BUFFER: usize = 4 * 1024;
/// Largest message a client may send (a subscribe with its document and variables).
const MAX_MESSAGE: usize = 64 * 1024;

pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !origin_allowed(&state, &headers) {
        let error = ApiError::new(Code::Forbidden, "this origin may not open subscriptions");
        return error_response(&error, Some(&request_id));
    }
    let upgrade = upgrade
        .protocols([protocol::SUBPROTOCOL])
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE);
    if upgrade.selected_protocol().is_none() {
        let error = ApiError::bad_input(format!(
            "request the {} WebSocket subprotocol",
            protocol::SUBPROTOCOL
        ));
        let mut response = error_response(&error, Some(&request_id));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    }
    // The connection outlives the upgrade request: it keeps the request's span (and id) for
    // its log lines.
    let span = tracing::Span::current();
    let credentials = sign_in_headers(&headers);
    drop(headers);
    upgrade.on_upgrade(move |socket| {
        tracing::Instrument::instrument(
            connection::run(state, credentials, request_id, socket),
            span,
        )
    })
}

/// The upgrade request's headers sign-in may read (cookie, authorization), copied. The request's
/// own header values are slices of hyper's read buffer (≈ 16 KiB per connection), and a socket
/// that kept them would keep that buffer for its whole life.
fn sign_in_headers(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in [header::COOKIE, header::AUTHORIZATION] {
        for value in headers.get_all(&name) {
            if let Ok(copy) = header::HeaderValue::from_bytes(value.as_bytes()) {
                kept.append(name.clone(), copy);
            }
        }
    }
    kept
}

/// Browsers always send Origin on a WebSocket upgrade; other clients may not (and carry no
/// ambient cookie risk). A present Origin must be this server's, `PUBLIC_URL`'s or allowed.
fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let origin = origin.trim_end_matches('/');
    let config = &state.services.config;
    let allowed = &config.subscriptions.allowed_origins;
    if allowed
        .iter()
        .chain(&config.frontend.cors_origins)
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let public = url::Url::parse(&state.services.config.public_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    if public.eq_ignore_ascii_case(origin) {
        return true;
    }
    // Same origin: the Origin's host (and port) is the Host the request was sent to.
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}
