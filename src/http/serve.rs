//! The accept loop (instead of `axum::serve`, which has no timeouts and no cap): HTTP/1.1 through
//! hyper, a request head must arrive within `HTTP_HEADER_TIMEOUT_MS`, a connection idle between
//! requests for `HTTP_IDLE_TIMEOUT_MS` is closed, and at most `HTTP_MAX_CONNECTIONS` are served.
//! Past the cap a small reserve of slots answers only `/healthz` and `/readyz` (everything else
//! 503), so an orchestrator can still tell a busy server from a dead one.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use super::activity::{Activity, Tracked};
use crate::kernel::errors::Code;

/// Slots past the cap, for health probes only: one request each, a short head timeout.
pub const PROBE_RESERVE: usize = 16;
const PROBE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Connection limits (`HTTP_*`).
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// `HTTP_MAX_CONNECTIONS`: connections served at once, WebSockets included.
    pub max_connections: usize,
    /// `HTTP_HEADER_TIMEOUT_MS`: from a request's first byte to its complete head.
    pub header_timeout: Duration,
    /// `HTTP_IDLE_TIMEOUT_MS`: a connection with no request under way and nothing received.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Which kind of slot a connection holds.
enum Slot {
    Served(#[allow(dead_code)] OwnedSemaphorePermit),
    Probe(#[allow(dead_code)] OwnedSemaphorePermit),
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open requests to end.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let served = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let reserve = Arc::new(Semaphore::new(PROBE_RESERVE));
    let notice = CapNotice::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let slot = match served.clone().try_acquire_owned() {
            Ok(permit) => Slot::Served(permit),
            Err(_) => {
                notice.reached(limits.max_connections);
                match reserve.clone().try_acquire_owned() {
                    Ok(permit) => Slot::Probe(permit),
                    // Closed at once: the backlog keeps moving, so a probe gets its turn.
                    Err(_) => continue,
                }
            }
        };
        if served.available_permits() > limits.max_connections / 10 {
            notice.rearm();
        }
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            slot,
            app.clone(),
            limits.clone(),
            stop_rx.clone(),
        ));
    }
    // No more connections: the ones waiting in the backlog are refused, not left hanging.
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    stop_tx.closed().await;
}

async fn connection(
    stream: TcpStream,
    slot: Slot,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let probe_only = matches!(slot, Slot::Probe(_));
    // A reserve slot is for a probe that asks at once: silence or a slow head loses it soon.
    let (header_timeout, idle_timeout) = match probe_only {
        true => (
            PROBE_HEADER_TIMEOUT.min(limits.header_timeout),
            PROBE_HEADER_TIMEOUT.min(limits.idle_timeout),
        ),
        false => (limits.header_timeout, limits.idle_timeout),
    };
    let activity = Activity::new();
    // The slot lives in the stream: an upgraded WebSocket keeps it until it closes.
    let io = TokioIo::new(Tracked::new(stream, activity.clone(), slot));
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let app = app.clone();
        let request_done = requests.begin();
        async move {
            let response = if probe_only && !is_probe(request.uri().path()) {
                at_capacity()
            } else {
                app.oneshot(request.map(Body::new)).await.into_response()
            };
            drop(request_done);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper counts from when it starts waiting for a head (idle time included): a backstop only.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(idle_timeout + header_timeout)
        .keep_alive(!probe_only);
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let mut watchdog = tokio::time::interval(tick(header_timeout, idle_timeout));
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = watchdog.tick() => {
                if activity.expired(header_timeout, idle_timeout) {
                    // Dropping the connection closes the socket (an upgrade has ended the loop).
                    break;
                }
            }
        }
    }
}

/// How often a connection's clocks are looked at: a tenth of the shorter timeout, 50 ms–1 s.
fn tick(header: Duration, idle: Duration) -> Duration {
    (header.min(idle) / 10).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

fn at_capacity() -> Response {
    let body = super::error_body(
        Code::RateLimited,
        "the server is at its connection limit; try again shortly",
        None,
    );
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// One log line when the cap is reached, again only after the server had room meanwhile (and
/// at most once a minute).
#[derive(Default)]
struct CapNotice {
    logged: AtomicBool,
    last: AtomicU64,
}

impl CapNotice {
    fn reached(&self, max: usize) {
        let now = chrono::Utc::now().timestamp() as u64;
        if self.logged.swap(true, Ordering::Relaxed) || now < self.last.load(Ordering::Relaxed) + 60
        {
            return;
        }
        self.last.store(now, Ordering::Relaxed);
        tracing::warn!(
            max_connections = max,
            "HTTP_MAX_CONNECTIONS reached: new connections get 503 (health probes are still answered) until some close"
        );
    }

    fn rearm(&self) {
        self.logged.store(false, Ordering::Relaxed);
    }
}
