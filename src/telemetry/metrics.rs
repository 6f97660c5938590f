//! Prometheus metrics through the `metrics` facade and `metrics-exporter-prometheus`.
//!
//! One recorder per server, held by `AppState` and never installed as the global recorder: the
//! binary runs one server per process (so one recorder per process), while the tests run many
//! servers in one process and each must see only its own counts. Everything is recorded through
//! this type (`metrics::with_local_recorder` around the facade's macros); a `metrics::counter!`
//! outside it would go to the (absent) global recorder and be dropped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{
    Gauge, Label, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge,
    histogram,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Seconds: 1 ms to 30 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Distinct operation names kept as label values; later ones count as `(other)` (the names come
/// from clients: a bound keeps the series count bounded).
const MAX_OPERATIONS: usize = 500;

/// The label of an operation whose document did not parse or names no operation we found.
pub const UNKNOWN_OPERATION: &str = "(unknown)";
/// The label of an operation without a name.
pub const ANONYMOUS_OPERATION: &str = "(anonymous)";
const OTHER_OPERATION: &str = "(other)";

/// What a GraphQL request came to, left in the response's extensions by the GraphQL handler for
/// the HTTP middleware, which times the whole request.
#[derive(Clone, Debug)]
pub struct GraphqlOutcome {
    /// The operation's name, `(anonymous)` or `(unknown)`.
    pub operation: String,
    /// `ok`, or the first error's code.
    pub outcome: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    operations: Mutex<HashSet<String>>,
    /// Label sets each scrape-time gauge family had at the last scrape (to zero the vanished).
    families: Mutex<HashMap<&'static str, HashSet<LabelSet>>>,
}

/// A series' labels as (name, value) pairs.
type LabelSet = Vec<(String, String)>;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("static, non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics {
            inner: Arc::new(Inner {
                recorder,
                handle,
                operations: Mutex::default(),
                families: Mutex::default(),
            }),
        };
        metrics.record(describe);
        metrics
    }

    fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.inner.recorder, f)
    }

    /// The Prometheus text exposition of everything recorded.
    pub fn render(&self) -> String {
        self.inner.handle.render()
    }

    /// Drains histogram samples into their buckets; run periodically so an unscraped server does
    /// not grow them without bound.
    pub fn upkeep(&self) {
        self.inner.handle.run_upkeep();
    }

    /// One HTTP request answered.
    pub fn http_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let (method, route) = (method.to_string(), route.to_string());
        self.record(|| {
            counter!("gateway_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
                .increment(1);
            histogram!("gateway_http_request_duration_seconds", "method" => method, "route" => route)
                .record(elapsed.as_secs_f64());
        });
    }

    /// One GraphQL request over HTTP answered.
    pub fn graphql_request(&self, outcome: &GraphqlOutcome, elapsed: Duration) {
        let operation = self.operation_label(&outcome.operation);
        self.record(|| {
            counter!("gateway_graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome.outcome)
                .increment(1);
            histogram!("gateway_graphql_request_duration_seconds", "operation" => operation)
                .record(elapsed.as_secs_f64());
        });
    }

    fn operation_label(&self, name: &str) -> String {
        let mut known = self.inner.operations.lock().expect("operation names");
        if known.contains(name) {
            return name.to_string();
        }
        if known.len() >= MAX_OPERATIONS {
            return OTHER_OPERATION.to_string();
        }
        known.insert(name.to_string());
        name.to_string()
    }

    /// One upstream call finished (after its retries): `ok` or the error's code.
    pub fn upstream_call(&self, integration: &'static str, outcome: &'static str) {
        self.record(|| {
            counter!("gateway_upstream_calls_total", "integration" => integration, "outcome" => outcome)
                .increment(1);
        });
    }

    /// One run of a queue task finished.
    pub fn task_run(&self, task: &'static str, ok: bool, elapsed: Duration) {
        let outcome = if ok { "ok" } else { "error" };
        self.record(|| {
            counter!("gateway_queue_task_runs_total", "task" => task, "outcome" => outcome)
                .increment(1);
            histogram!("gateway_queue_task_duration_seconds", "task" => task)
                .record(elapsed.as_secs_f64());
        });
    }

    /// A live gauge for open `/graphql/ws` connections or their subscriptions.
    pub fn live_gauge(&self, name: &'static str) -> Gauge {
        self.record(|| gauge!(name))
    }

    /// Sets a gauge read at scrape time.
    pub fn set_gauge(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(*k, v.to_string()))
            .collect();
        self.record(|| gauge!(name, labels).set(value));
    }

    /// Sets a counter read at scrape time to its absolute value.
    pub fn set_counter(&self, name: &'static str, value: u64) {
        self.record(|| counter!(name).absolute(value));
    }

    /// Sets a whole gauge family read at scrape time: label sets present last time and missing
    /// now go to zero (a drained queue shows 0, not its last depth).
    pub fn set_family(
        &self,
        name: &'static str,
        keys: &[&'static str],
        rows: Vec<(Vec<String>, f64)>,
    ) {
        let mut families = self.inner.families.lock().expect("gauge families");
        let seen = families.entry(name).or_default();
        let now: HashSet<LabelSet> = rows
            .iter()
            .map(|(values, _)| labels_of(keys, values))
            .collect();
        for gone in seen.difference(&now) {
            let labels: Vec<Label> = gone
                .iter()
                .map(|(k, v)| Label::new(k.clone(), v.clone()))
                .collect();
            self.record(|| gauge!(name, labels).set(0.0));
        }
        for (values, value) in rows {
            let labels: Vec<Label> = labels_of(keys, &values)
                .into_iter()
                .map(|(k, v)| Label::new(k, v))
                .collect();
            self.record(|| gauge!(name, labels).set(value));
        }
        seen.extend(now);
    }
}

fn labels_of(keys: &[&'static str], values: &[String]) -> LabelSet {
    keys.iter()
        .zip(values)
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// HELP and TYPE lines (and units) for every series we record.
fn describe() {
    describe_counter!(
        "gateway_http_requests_total",
        "HTTP requests answered, by method, route (the matched path) and status."
    );
    describe_histogram!(
        "gateway_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request (to the upgrade for WebSockets), by method and route."
    );
    describe_counter!(
        "gateway_graphql_requests_total",
        "GraphQL requests over HTTP, by operation name and outcome (ok, or the first error's code)."
    );
    describe_histogram!(
        "gateway_graphql_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a GraphQL request over HTTP, by operation name."
    );
    describe_counter!(
        "gateway_upstream_calls_total",
        "Calls to upstream integrations (after retries), by integration and outcome (ok or code)."
    );
    describe_counter!(
        "gateway_queue_task_runs_total",
        "Queue task runs (each attempt), by task and outcome (ok or error)."
    );
    describe_histogram!(
        "gateway_queue_task_duration_seconds",
        Unit::Seconds,
        "Time a queue task run took, by task."
    );
    describe_gauge!(
        "gateway_queue_depth",
        "Unfinished queue tasks by queue and status (Pending, Queued, Running)."
    );
    describe_counter!(
        "gateway_db_statements_total",
        "SQL statements run on the data connection."
    );
    describe_gauge!(
        "gateway_db_pool_connections",
        "Database pool connections by pool (data, queue) and state (open, idle, max)."
    );
    describe_gauge!(
        "gateway_outbox_lag_seconds",
        Unit::Seconds,
        "Age of the oldest Bus event not yet delivered (0 when none waits)."
    );
    describe_gauge!(
        "gateway_outbox_undelivered",
        "Bus events not yet delivered."
    );
    describe_gauge!(
        "gateway_ws_connections",
        "Open graphql-transport-ws connections on /graphql/ws."
    );
    describe_gauge!(
        "gateway_subscriptions",
        "Active subscriptions on /graphql/ws connections."
    );
    describe_gauge!(
        "gateway_live_listeners",
        "Shared subscription executions listening to live-update topics in this process."
    );
}

/// Keeps a gauge at a count that changes, and takes the count back out when dropped (a
/// connection's subscriptions when it closes).
pub struct GaugeShare {
    gauge: Gauge,
    held: f64,
}

impl GaugeShare {
    pub fn new(gauge: Gauge) -> Self {
        GaugeShare { gauge, held: 0.0 }
    }

    pub fn set(&mut self, count: usize) {
        let count = count as f64;
        if count != self.held {
            self.gauge.increment(count - self.held);
            self.held = count;
        }
    }
}

impl Drop for GaugeShare {
    fn drop(&mut self) {
        self.gauge.decrement(self.held);
    }
}

/// Runs `Metrics::upkeep` every ten seconds until `stop` flips.
pub async fn upkeep(metrics: Metrics, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(10)) => metrics.upkeep(),
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}
