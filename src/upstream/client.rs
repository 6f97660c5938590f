//! The one HTTP client every upstream call goes through: connect and total timeouts, retries with
//! exponential backoff and jitter for idempotent (or idempotency-keyed) calls, `Retry-After`
//! honoured, errors mapped to the gateway's codes, and every outcome recorded for the status page.
//! Upstream bodies are logged, never returned to clients.

use std::time::Duration;

use rand::Rng;
use reqwest::{RequestBuilder, Response, StatusCode};
use sea_orm::DatabaseConnection;
use serde::de::DeserializeOwned;

use super::health;
use crate::config::IntegrationsConfig;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::telemetry::metrics::Metrics;
use crate::upstream::integration::Integration;

/// Whether a call may be sent again after a failure that might have reached the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// GET, PUT upserts, and creates that carry an `Idempotency-Key`.
    Safe,
    /// Anything else: sent once.
    Never,
}

#[derive(Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    db: DatabaseConnection,
    config: IntegrationsConfig,
    /// First backoff step; doubles per attempt (with jitter).
    base_delay: Duration,
    /// Attempts for a `Retry::Safe` call.
    attempts: u32,
    /// The longest `Retry-After` honoured inline; longer waits fail the call as rate limited.
    max_wait: Duration,
    /// Counts outcomes by integration (`gateway_upstream_calls_total`) when set.
    metrics: Option<Metrics>,
}

impl UpstreamClient {
    pub fn new(db: DatabaseConnection, config: IntegrationsConfig) -> Self {
        let total = Duration::from_millis(config.timeout_ms);
        let http = reqwest::Client::builder()
            .connect_timeout(total.min(Duration::from_secs(5)))
            .timeout(total)
            .user_agent(concat!("stack-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        UpstreamClient {
            http,
            db,
            config,
            base_delay: Duration::from_millis(200),
            attempts: 3,
            max_wait: Duration::from_secs(10),
            metrics: None,
        }
    }

    /// Counts every call's outcome in `metrics` too.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Records a finished call (after its retries) for the status page and the metrics.
    pub async fn record(&self, integration: Integration, outcome: Result<(), &ApiError>) {
        if let Some(metrics) = &self.metrics {
            let label = outcome.map_or_else(|e| e.code().as_str(), |()| "ok");
            metrics.upstream_call(integration.key(), label);
        }
        health::record(&self.db, integration, outcome.map_err(|e| e.message())).await;
    }

    pub fn config(&self) -> &IntegrationsConfig {
        &self.config
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Where outcomes are recorded (for calls made with `http()` directly, like SES).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// `INTEGRATION_NOT_CONFIGURED` naming the missing variables, if any.
    pub fn require(&self, integration: Integration) -> ApiResult<()> {
        let missing = integration.missing(&self.config);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::new(
                Code::IntegrationNotConfigured,
                format!(
                    "{} is not configured: set {}",
                    integration.label(),
                    missing.join(", ")
                ),
            ))
        }
    }

    /// Sends the request `build` makes (called again for each attempt) and returns a 2xx
    /// response; anything else becomes a coded error and is recorded.
    pub async fn send(
        &self,
        integration: Integration,
        retry: Retry,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> ApiResult<Response> {
        self.send_explained(integration, retry, build, |_, _| None)
            .await
    }

    /// `send`, where `explain` may turn an error answer (status, body) into the caller's own
    /// error when it knows the upstream's error vocabulary (such an error is final, not retried);
    /// `None` keeps the generic mapping. The body stays in the log, never in the error.
    pub async fn send_explained(
        &self,
        integration: Integration,
        retry: Retry,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
        explain: impl Fn(StatusCode, &str) -> Option<ApiError>,
    ) -> ApiResult<Response> {
        self.send_inspected(integration, retry, build, |status, _, body| {
            explain(status, body)
        })
        .await
    }

    /// `send_explained`, where `explain` also sees the answer's headers (rate-limit headers
    /// such as GitHub's `x-ratelimit-remaining` / `x-ratelimit-reset`).
    pub async fn send_inspected(
        &self,
        integration: Integration,
        retry: Retry,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
        explain: impl Fn(StatusCode, &reqwest::header::HeaderMap, &str) -> Option<ApiError>,
    ) -> ApiResult<Response> {
        self.require(integration)?;
        let attempts = if retry == Retry::Safe {
            self.attempts
        } else {
            1
        };
        let label = integration.label();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= attempts;
            let failure = match build(&self.http).send().await {
                Ok(response) if response.status().is_success() => {
                    self.record(integration, Ok(())).await;
                    return Ok(response);
                }
                Ok(response) => {
                    let status = response.status();
                    let wait = retry_after(&response);
                    let headers = response.headers().clone();
                    let body = response.text().await.unwrap_or_default();
                    tracing::warn!(integration = label, %status, body = %truncate(&body), "upstream answered with an error");
                    match explain(status, &headers, &body) {
                        Some(error) => Failure::Final(error),
                        None => classify(label, status, wait),
                    }
                }
                Err(error) => {
                    tracing::warn!(integration = label, %error, "upstream call failed");
                    let what = if error.is_timeout() {
                        "did not answer in time"
                    } else {
                        "could not be reached"
                    };
                    Failure::Transient(
                        ApiError::new(Code::UpstreamUnavailable, format!("{label} {what}")),
                        None,
                    )
                }
            };
            match failure {
                Failure::Transient(error, wait) if !last => {
                    let wait = wait.unwrap_or_else(|| self.backoff(attempt));
                    if wait > self.max_wait {
                        return Err(self.fail(integration, error).await);
                    }
                    tokio::time::sleep(wait).await;
                }
                Failure::Transient(error, _) | Failure::Final(error) => {
                    return Err(self.fail(integration, error).await);
                }
            }
        }
    }

    /// Sends and decodes a JSON answer; an answer that is not the expected JSON is an upstream
    /// failure, never half-used.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        integration: Integration,
        retry: Retry,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> ApiResult<T> {
        let response = self.send(integration, retry, build).await?;
        let bytes = response.bytes().await.map_err(|_| {
            ApiError::new(
                Code::UpstreamUnavailable,
                format!("{} broke off its answer", integration.label()),
            )
        })?;
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(value),
            Err(error) => {
                tracing::warn!(integration = integration.label(), %error, body = %truncate(&String::from_utf8_lossy(&bytes)), "unexpected upstream body");
                let error = ApiError::new(
                    Code::UpstreamUnavailable,
                    format!(
                        "{} answered with a body that is not the expected JSON",
                        integration.label()
                    ),
                );
                Err(self.fail(integration, error).await)
            }
        }
    }

    /// Records a failure found after a 2xx answer (a body that does not parse) and returns it.
    pub async fn fail(&self, integration: Integration, error: ApiError) -> ApiError {
        self.record(integration, Err(&error)).await;
        error
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay * 2u32.saturating_pow(attempt.saturating_sub(1));
        let jitter = rand::rng().random_range(0.5..1.5);
        exp.mul_f64(jitter)
    }
}

enum Failure {
    /// Worth another attempt (after the upstream's `Retry-After`, if it gave one).
    Transient(ApiError, Option<Duration>),
    Final(ApiError),
}

fn classify(label: &str, status: StatusCode, wait: Option<Duration>) -> Failure {
    let code = status.as_u16();
    match code {
        401 | 403 => Failure::Final(ApiError::new(
            Code::UpstreamAuthFailed,
            format!("{label} refused our credentials ({code}): check the service key"),
        )),
        429 => Failure::Transient(
            ApiError::new(
                Code::RateLimited,
                format!("{label} is rate limiting requests; try again later"),
            ),
            wait,
        ),
        408 | 500..=599 => Failure::Transient(
            ApiError::new(
                Code::UpstreamUnavailable,
                format!("{label} is unavailable ({code})"),
            ),
            wait,
        ),
        _ => Failure::Final(ApiError::new(
            Code::UpstreamRejected,
            format!("{label} rejected the request ({code})"),
        )),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare upstream; treated as absent).
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn truncate(body: &str) -> String {
    body.chars().take(500).collect()
}
