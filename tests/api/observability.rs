//! Observability: request ids in log lines and error bodies, Prometheus series with their labels,
//! readiness naming the failed dependency, and traces exported over OTLP.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use chrono::Utc;
use entities::outbox_events;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use stack_gateway::upstream::client::Retry;
use stack_gateway::upstream::integration::Integration;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app, spawn_app_with};
use crate::ws_client;

/// Request ids the tests choose start with this; only log lines holding it are kept.
const MARK: &str = "obs-test-";

/// Log lines (JSON, the production format) of requests whose id starts with `MARK`, captured by a
/// process-wide subscriber installed once (servers log from their runtime's worker threads).
fn captured() -> &'static Mutex<Vec<String>> {
    static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let lines = LINES.get_or_init(Mutex::default);
    INSTALLED.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("info"))
            .with(stack_gateway::telemetry::log_layer(true, || Capture));
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    lines
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter writes each line with one call.
        let text = String::from_utf8_lossy(buf);
        if text.contains(MARK) {
            let mut lines = captured().lock().unwrap();
            lines.extend(text.lines().map(str::to_string));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured lines of request `id`, parsed.
fn lines_of(id: &str) -> Vec<Value> {
    captured()
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(id))
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect()
}

fn new_id() -> String {
    format!("{MARK}{}", Uuid::new_v4())
}

/// Waits until a log line of `id` says `message` (the closing line comes after the response).
async fn wait_for_line(id: &str, message: &str) -> Vec<Value> {
    for _ in 0..50 {
        let lines = lines_of(id);
        if lines.iter().any(|l| l["fields"]["message"] == message) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no log line {message:?} for {id}: {:?}", lines_of(id));
}

both!(logs_and_errors_carry_the_request_id, |backend| async move {
    captured();
    let app = spawn_app(backend).await;
    let id = new_id();
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", &id)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "query Who { viewer { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], id.as_str());
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());

    let lines = wait_for_line(&id, "finished processing request").await;
    for line in &lines {
        let span = &line["span"];
        assert_eq!(span["name"], "request", "{line}");
        assert_eq!(span["request_id"], id.as_str(), "{line}");
        assert_eq!(span["method"], "POST", "{line}");
        assert_eq!(span["path"], "/graphql", "{line}");
        assert_eq!(span["operation"], "Who", "{line}");
    }

    // A generated id is the same in the header and in every error of the body.
    let (status, body) = app
        .gql(
            &app.token(&Who::ADMIN_A),
            "{ node(id: \"bm9wZQ\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let errors = body["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{body}");
    for error in errors {
        let rid = error["extensions"]["requestId"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(rid.len(), 36, "a generated UUID in every error: {body}");
    }
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(r#"{"query":"{ viewer { "}"#)
        .send()
        .await
        .unwrap();
    let header = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        header.as_str()
    );
    // REST-shaped errors too.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", &id)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());
});

both!(
    readiness_names_the_queue_when_it_is_down,
    |backend| async move {
        captured();
        let app = spawn_app(backend).await;
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(
            body,
            json!({ "database": true, "queue": true, "failed": [] })
        );

        // The queue's own pool goes away; the data database stays up.
        app.services.queue.close().await;
        let id = new_id();
        let ready = app
            .client
            .get(app.url("/readyz"))
            .header("x-request-id", &id)
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 503);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(
            body,
            json!({ "database": true, "queue": false, "failed": ["queue"] })
        );
        // The handler's own log line is written inside the request's span.
        let lines = wait_for_line(&id, "not ready").await;
        let line = lines
            .iter()
            .find(|l| l["fields"]["message"] == "not ready")
            .unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["span"]["request_id"], id.as_str());
        assert_eq!(line["span"]["path"], "/readyz");
    }
);

/// One sample: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_metrics(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap();
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            Sample {
                name: name.to_string(),
                labels,
                value: value.parse().unwrap(),
            }
        })
        .collect()
}

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    parse_metrics(&response.text().await.unwrap())
}

/// The value of the series `name` with exactly `labels`, if present.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == wanted)
        .map(|s| s.value)
}

both!(
    metrics_count_requests_by_operation_and_outcome,
    |backend| async move {
        let app = spawn_app_with(backend, crate::helpers::timers_off).await;
        let token = app.token(&Who::ADMIN_A);
        for _ in 0..2 {
            let (status, body) = app
                .gql(&token, "query Viewer { viewer { id } }", json!({}))
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let (_, body) = app
            .gql("not-a-token", "query Viewer { viewer { id } }", json!({}))
            .await;
        assert_eq!(code(&body), "UNAUTHENTICATED");
        let (status, _) = app.gql(&token, "{ viewer { ", json!({})).await;
        assert_eq!(status, 400);
        let (_, body) = app
            .gql(
                &token,
                "{ repositories(first: 0) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT");

        let samples = scrape(&app).await;
        let requests = "gateway_graphql_requests_total";
        assert_eq!(
            value(
                &samples,
                requests,
                &[("operation", "Viewer"), ("outcome", "ok")]
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                &samples,
                requests,
                &[("operation", "Viewer"), ("outcome", "UNAUTHENTICATED")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                requests,
                &[
                    ("operation", "(unknown)"),
                    ("outcome", "GRAPHQL_PARSE_FAILED")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                requests,
                &[("operation", "(anonymous)"), ("outcome", "BAD_USER_INPUT")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "gateway_graphql_request_duration_seconds_count",
                &[("operation", "Viewer")]
            ),
            Some(3.0)
        );
        assert!(
            value(
                &samples,
                "gateway_graphql_request_duration_seconds_bucket",
                &[("operation", "Viewer"), ("le", "+Inf")]
            ) == Some(3.0)
        );
        let posts = value(
            &samples,
            "gateway_http_requests_total",
            &[("method", "POST"), ("route", "/graphql"), ("status", "200")],
        )
        .unwrap();
        assert!(posts >= 3.0, "{posts}");
        assert_eq!(
            value(
                &samples,
                "gateway_http_requests_total",
                &[("method", "POST"), ("route", "/graphql"), ("status", "400")]
            ),
            Some(1.0)
        );
        assert!(value(&samples, "gateway_db_statements_total", &[]).unwrap() > 0.0);
        // A scrape reads the outbox backlog, but does not count its own statements: with
        // nothing else running, scrapes report the same total.
        app.settle().await;
        let before = app.statements();
        let first = value(&scrape(&app).await, "gateway_db_statements_total", &[]);
        let second = value(&scrape(&app).await, "gateway_db_statements_total", &[]);
        assert_eq!(first, Some(before as f64));
        assert_eq!(second, first);
        let (data_max, queue_max) = match app.services.config.database_url {
            None => (8.0, 4.0),
            Some(_) => (20.0, 6.0),
        };
        let pool = "gateway_db_pool_connections";
        assert_eq!(
            value(&samples, pool, &[("pool", "data"), ("state", "max")]),
            Some(data_max)
        );
        assert_eq!(
            value(&samples, pool, &[("pool", "queue"), ("state", "max")]),
            Some(queue_max)
        );
        assert!(value(&samples, pool, &[("pool", "data"), ("state", "open")]).unwrap() >= 1.0);
        assert!(value(&samples, pool, &[("pool", "queue"), ("state", "idle")]).is_some());
        assert_eq!(
            value(&samples, "gateway_outbox_lag_seconds", &[]),
            Some(0.0)
        );
        assert_eq!(
            value(&samples, "gateway_outbox_undelivered", &[]),
            Some(0.0)
        );
        assert_eq!(value(&samples, "gateway_ws_connections", &[]), None);
    }
);

both!(
    metrics_read_outbox_lag_upstream_calls_tasks_and_sockets,
    |backend| async move {
        let psa = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/tickets/1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "1" })))
            .mount(&psa)
            .await;
        Mock::given(method("GET"))
            .and(path("/tickets/2"))
            .respond_with(ResponseTemplate::new(401))
            .mount(&psa)
            .await;
        let uri = psa.uri();
        let app = spawn_app_with(backend, |c| {
            c.integrations.psa_api_url = Some(uri.clone());
            c.integrations.psa_service_key = Some("psa-key".into());
        })
        .await;

        // Outbox lag: an event written a minute ago, not delivered (the Bus is not configured).
        let tenant = app.tenant("tenant-a").await;
        let created = Utc::now() - chrono::Duration::seconds(60);
        outbox_events::Entity::insert(outbox_events::ActiveModel {
            seq: sea_orm::ActiveValue::NotSet,
            event_id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            aggregate_type: Set("job".into()),
            aggregate_id: Set(Uuid::now_v7()),
            event_type: Set("job.completed".into()),
            payload: Set(json!({})),
            attempts: Set(0),
            last_error: Set(None),
            next_attempt_at: Set(created),
            delivered_at: Set(None),
            created_at: Set(created),
        })
        .exec_without_returning(&app.services.db)
        .await
        .unwrap();

        // Upstream calls through the one client: one answered, one refused.
        let upstream = &app.services.upstream;
        let ok = upstream
            .send(Integration::Psa, Retry::Never, |c| {
                c.get(format!("{uri}/tickets/1"))
            })
            .await;
        assert!(ok.is_ok());
        let refused = upstream
            .send(Integration::Psa, Retry::Never, |c| {
                c.get(format!("{uri}/tickets/2"))
            })
            .await;
        assert!(refused.is_err());

        // A queue task run (session clean-up, pushed now; start-up may have pushed one too).
        app.services
            .queue
            .push(
                stack_gateway::tasks::SessionCleanup { tick: Utc::now() },
                None,
            )
            .await
            .unwrap();

        // A subscription on a graphql-transport-ws connection.
        let mut ws = ws_client::connect(&app, &[]).await.unwrap();
        ws.init(json!({ "token": app.token(&Who::ADMIN_A) })).await;
        ws.subscribe(
            "a",
            "subscription { agentStatus { name status } }",
            json!({}),
        )
        .await;
        ws.barrier().await;

        let runs = "gateway_queue_task_runs_total";
        let task = [("task", "session-cleanup"), ("outcome", "ok")];
        let mut samples = scrape(&app).await;
        for _ in 0..100 {
            if value(&samples, runs, &task).is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            samples = scrape(&app).await;
        }
        assert!(value(&samples, runs, &task).unwrap() >= 1.0);
        assert!(
            value(
                &samples,
                "gateway_queue_task_duration_seconds_count",
                &[("task", "session-cleanup")]
            )
            .unwrap()
                >= 1.0
        );
        let lag = value(&samples, "gateway_outbox_lag_seconds", &[]).unwrap();
        assert!((60.0..120.0).contains(&lag), "{lag}");
        assert_eq!(
            value(&samples, "gateway_outbox_undelivered", &[]),
            Some(1.0)
        );
        let calls = "gateway_upstream_calls_total";
        assert_eq!(
            value(
                &samples,
                calls,
                &[("integration", "psa"), ("outcome", "ok")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                calls,
                &[("integration", "psa"), ("outcome", "UPSTREAM_AUTH_FAILED")]
            ),
            Some(1.0)
        );
        assert_eq!(value(&samples, "gateway_ws_connections", &[]), Some(1.0));
        assert_eq!(value(&samples, "gateway_subscriptions", &[]), Some(1.0));

        // Closing the socket takes both back out.
        drop(ws);
        for _ in 0..50 {
            samples = scrape(&app).await;
            if value(&samples, "gateway_ws_connections", &[]) == Some(0.0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(value(&samples, "gateway_ws_connections", &[]), Some(0.0));
        assert_eq!(value(&samples, "gateway_subscriptions", &[]), Some(0.0));
    }
);

/// Spans reach an OTLP/HTTP collector as protobuf (a wiremock collector here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_exported_over_otlp() {
    use tracing_subscriber::layer::SubscriberExt;
    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&collector)
        .await;
    let url = format!("{}/v1/traces", collector.uri());
    let traces = tokio::task::spawn_blocking(move || {
        let traces = stack_gateway::telemetry::otel::Traces::to_url(&url).unwrap();
        let subscriber = tracing_subscriber::registry().with(traces.layer());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "otel-test");
            let _entered = span.enter();
            tracing::info!("inside the request");
        });
        traces.flush().unwrap();
        traces
    })
    .await
    .unwrap();
    let received = collector.received_requests().await.unwrap();
    assert!(!received.is_empty(), "no export reached the collector");
    let export = &received[0];
    assert_eq!(export.headers["content-type"], "application/x-protobuf");
    let body = String::from_utf8_lossy(&export.body);
    assert!(body.contains("request"), "the span's name is in the export");
    assert!(
        body.contains("otel-test"),
        "the span's fields are in the export"
    );
    tokio::task::spawn_blocking(move || traces.shutdown())
        .await
        .unwrap();
}

both!(
    a_mission_key_handed_to_an_agent_is_not_logged,
    |backend| async move {
        captured();
        let app = spawn_app_with(backend, |c| {
            c.integrations.mission_api_url = Some("https://mission.example".into());
        })
        .await;
        let admin = app.token(&Who::ADMIN_A);
        let (agent, key) = crate::agents::register_agent(&app, &admin, "mig-01").await;
        let m = "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }";
        let (_, body) = app
            .gql(&admin, m, json!({ "i": { "name": "Church" } }))
            .await;
        let project = body["data"]["createProject"]["project"]["id"].clone();
        let secret = format!("mission-secret-{}", Uuid::new_v4().simple());
        let m = "mutation($i: CreateJobInput!) { createJob(input: $i) { job { id } } }";
        let input = json!({ "projectId": project, "kind": "ROCKRMS_IMPORT", "name": "Import", "agentId": agent, "config": {}, "missionIntegrationKey": secret });
        let (_, body) = app.gql(&admin, m, json!({ "i": input })).await;
        let job = crate::agents::uuid_of(&body["data"]["createJob"]["job"]["id"]);
        let id = new_id();
        let response = app
            .client
            .get(app.url(&format!("/api/agent/jobs/{job}/mission")))
            .bearer_auth(&key)
            .header("x-request-id", &id)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["integrationKey"], secret.as_str());
        let lines = wait_for_line(&id, "finished processing request").await;
        for line in &lines {
            assert!(!line.to_string().contains(&secret), "{line}");
        }
    }
);
