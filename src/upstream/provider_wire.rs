//! What the provider clients (`github.rs`, `gitlab.rs`, `azure_devops.rs`) share: the error that
//! carries the provider's "come back at" time, a send through the shared `UpstreamClient` whose
//! explanation may set that time, and the decoding of answers (a body that is not the expected
//! JSON is an upstream failure, recorded; token answers are never logged).

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::kernel::errors::{ApiError, Code};
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

/// What a failed provider call knows beyond its code: when the provider said to come back.
#[derive(Debug)]
pub struct ProviderError {
    pub error: ApiError,
    pub retry_at: Option<DateTime<Utc>>,
}

impl From<ApiError> for ProviderError {
    fn from(error: ApiError) -> Self {
        ProviderError {
            error,
            retry_at: None,
        }
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// Where an explanation leaves the provider's retry time.
pub type RetryAt = Mutex<Option<DateTime<Utc>>>;

/// Sends the request `build` makes; `explain` turns an error answer (status, headers, body)
/// into the provider's own error and may record when to come back.
pub async fn send(
    upstream: &UpstreamClient,
    integration: Integration,
    retry: Retry,
    build: impl Fn(&reqwest::Client) -> RequestBuilder,
    explain: impl Fn(StatusCode, &HeaderMap, &str, &RetryAt) -> Option<ApiError>,
) -> ProviderResult<Response> {
    let retry_at = Mutex::new(None);
    upstream
        .send_inspected(integration, retry, build, |status, headers, body| {
            explain(status, headers, body, &retry_at)
        })
        .await
        .map_err(|error| ProviderError {
            error,
            retry_at: *retry_at.lock().unwrap(),
        })
}

/// A 2xx answer's JSON and headers; an unexpected body is logged (without itself) and recorded.
pub async fn decode<T: DeserializeOwned>(
    upstream: &UpstreamClient,
    integration: Integration,
    url: &str,
    response: Response,
) -> ProviderResult<(T, HeaderMap)> {
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(|_| broke_off(integration))?;
    match serde_json::from_slice(&bytes) {
        Ok(value) => Ok((value, headers)),
        Err(error) => {
            let label = integration.label();
            tracing::warn!(%error, url, integration = label, "unexpected provider body");
            Err(upstream
                .fail(integration, unexpected(integration))
                .await
                .into())
        }
    }
}

/// A token answer: the body holds secrets, so it is never logged, not even when it does not
/// parse.
pub async fn decode_secret<T: DeserializeOwned>(
    upstream: &UpstreamClient,
    integration: Integration,
    response: Response,
) -> ProviderResult<T> {
    let bytes = response.bytes().await.map_err(|_| broke_off(integration))?;
    match serde_json::from_slice(&bytes) {
        Ok(value) => Ok(value),
        Err(_) => Err(upstream
            .fail(integration, unexpected(integration))
            .await
            .into()),
    }
}

/// 429: `RATE_LIMITED` until `reset_header` (Unix seconds), else now + `Retry-After` (seconds).
pub fn rate_limited(
    integration: Integration,
    status: StatusCode,
    headers: &HeaderMap,
    reset_header: &str,
    retry_at: &RetryAt,
) -> Option<ApiError> {
    if status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let reset = header(reset_header)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|s| DateTime::from_timestamp(s, 0));
    let after = header("retry-after")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| Utc::now() + TimeDelta::seconds(s));
    let at = reset.or(after);
    *retry_at.lock().unwrap() = at;
    let when = at
        .map(|t| format!(" until {}", t.to_rfc3339()))
        .unwrap_or_default();
    Some(ApiError::new(
        Code::RateLimited,
        format!("{} rate limit reached{when}", integration.label()),
    ))
}

fn broke_off(integration: Integration) -> ApiError {
    ApiError::new(
        Code::UpstreamUnavailable,
        format!("{} broke off its answer", integration.label()),
    )
}

fn unexpected(integration: Integration) -> ApiError {
    ApiError::new(
        Code::UpstreamUnavailable,
        format!(
            "{} answered with a body that is not the expected JSON",
            integration.label()
        ),
    )
}
