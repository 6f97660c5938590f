//! Hub billing usage reports end to end, with Hub billing faked by wiremock: the quantities per
//! tenant and product, one report per tenant/product/metric/day however many ticks and replicas,
//! the same `Idempotency-Key` on every attempt, and the failure modes (5xx, 429 with
//! `Retry-After`, a malformed answer, a rejection, no configuration).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use entities::billing_reports;
use entities::enums::{DeliveryStatus, JobKind, Lifecycle, OrgStatus};
use entities::{jobs as job_rows, organizations, repositories};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use stack_gateway::config::Config;
use stack_gateway::integrations::billing::BillingTick;
use uuid::Uuid;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::both;
use crate::helpers::{Backend, TestApp, Who, spawn_app_with, spawn_replica};

/// Wires `c` to the fake Hub with quick retries; the timer is off unless a test turns it on.
fn configure(c: &mut Config, uri: &str) {
    c.integrations.hub_billing_api_url = Some(uri.to_string());
    c.integrations.hub_billing_service_key = Some("hub-key".into());
    c.integrations.hub_billing_retry_base_ms = 1_000;
    c.integrations.hub_billing_retry_max_ms = 2_000;
    c.schedules.insert("hub-billing".into(), "off".into());
    // Probes would record their own outcomes on the status page.
    c.schedules
        .insert("integration-probes".into(), "off".into());
}

fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(202).set_body_json(json!({ "id": "usage-1", "status": "accepted" }))
}

/// 01:15 UTC today: its period is yesterday.
fn todays_tick() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(1, 15, 0)
        .unwrap()
        .and_utc()
}

fn yesterday() -> NaiveDate {
    Utc::now().date_naive() - TimeDelta::days(1)
}

async fn push_tick(app: &TestApp, tick: DateTime<Utc>) {
    app.services
        .queue
        .push(
            BillingTick { tick },
            Some(&jobs::tick_key("hub-billing", tick)),
        )
        .await
        .unwrap();
}

async fn reports(app: &TestApp) -> Vec<billing_reports::Model> {
    billing_reports::Entity::find()
        .all(&app.services.db)
        .await
        .unwrap()
}

/// Waits until there are `n` reports and `done` holds for each.
async fn wait_reports(
    app: &TestApp,
    n: usize,
    done: impl Fn(&billing_reports::Model) -> bool,
) -> Vec<billing_reports::Model> {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let rows = reports(app).await;
        if rows.len() == n && rows.iter().all(&done) {
            return rows;
        }
        assert!(Instant::now() < deadline, "reports: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn settled(r: &billing_reports::Model) -> bool {
    r.status != DeliveryStatus::Pending
}

async fn usage_requests(hub: &MockServer) -> Vec<Request> {
    hub.received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/usage")
        .collect()
}

fn key_of(request: &Request) -> String {
    request.headers["idempotency-key"]
        .to_str()
        .unwrap()
        .to_string()
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

/// One tenant with Code (one organization, two active repositories): one report a day.
async fn one_code_tenant(app: &TestApp) -> Uuid {
    let tenant = app.tenant("tenant-a").await;
    app.seed_code(tenant, "a", 1, 2, 0).await;
    tenant
}

async fn set_job(
    app: &TestApp,
    id: Uuid,
    kind: JobKind,
    finished: DateTime<Utc>,
    gb: f64,
    mailboxes: i32,
) {
    job_rows::Entity::update(job_rows::ActiveModel {
        id: Set(id),
        kind: Set(kind),
        finished_at: Set(Some(finished)),
        gb_transferred: Set(gb),
        mailbox_count: Set(mailboxes),
        ..Default::default()
    })
    .exec(&app.services.db)
    .await
    .unwrap();
}

both!(
    billing_reports_each_tenants_usage_once,
    |backend| async move {
        let hub = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/usage"))
            .and(header("authorization", "Bearer hub-key"))
            .and(header("content-type", "application/json"))
            .respond_with(accepted())
            .mount(&hub)
            .await;
        let uri = hub.uri();
        let app = spawn_app_with(backend, |c| configure(c, &uri)).await;

        // Tenant A: 10 repositories, 2 of them sunset (seed: every fifth), 1 missing → 7 protected.
        let tenant_a = app.tenant("tenant-a").await;
        let repos = app.seed_code(tenant_a, "a", 2, 5, 0).await;
        repositories::Entity::update(repositories::ActiveModel {
            id: Set(repos[0]),
            missing_since: Set(Some(Utc::now())),
            ..Default::default()
        })
        .exec(&app.services.db)
        .await
        .unwrap();
        // Tenant A's Migrate jobs (statuses cycle queued, running, paused, completed, failed,
        // cancelled): only jobs finished yesterday count.
        let jobs = app.seed_migrate(tenant_a, "a", 1, 12, 0).await;
        let day = yesterday().and_hms_opt(0, 0, 0).unwrap().and_utc();
        set_job(
            &app,
            jobs[3],
            JobKind::Mailbox,
            day + TimeDelta::hours(12),
            2.5,
            4,
        )
        .await;
        set_job(&app, jobs[9], JobKind::FileShare, day, 0.75, 9).await; // completed, not mailboxes
        set_job(
            &app,
            jobs[4],
            JobKind::Mailbox,
            day + TimeDelta::seconds(86_399),
            1.25,
            7,
        )
        .await; // failed
        set_job(
            &app,
            jobs[10],
            JobKind::Mailbox,
            day - TimeDelta::days(1),
            50.0,
            50,
        )
        .await; // the day before
        set_job(
            &app,
            jobs[5],
            JobKind::Mailbox,
            day + TimeDelta::days(1),
            100.0,
            100,
        )
        .await; // today
        // Tenant B: Code only, 3 repositories. Tenant C uses neither product: no report.
        let tenant_b = app.tenant("tenant-b").await;
        app.seed_code(tenant_b, "b", 1, 3, 0).await;
        app.tenant("tenant-c").await;

        push_tick(&app, todays_tick()).await;
        let rows = wait_reports(&app, 4, settled).await;
        assert!(
            rows.iter().all(|r| r.status == DeliveryStatus::Sent),
            "{rows:#?}"
        );

        let period = yesterday().to_string();
        let requests = usage_requests(&hub).await;
        assert_eq!(requests.len(), 4);
        let mut seen: HashMap<(String, String, String), Value> = HashMap::new();
        for request in &requests {
            let body = body_of(request);
            assert_eq!(body["period"], period);
            assert_eq!(body.as_object().unwrap().len(), 5, "{body}");
            let tenant = if body["tenant"] == "tenant-a" {
                tenant_a
            } else {
                tenant_b
            };
            assert_eq!(
                key_of(request),
                format!(
                    "hub-billing:{tenant}:{}:{}:{period}",
                    body["product"].as_str().unwrap(),
                    body["metric"].as_str().unwrap()
                )
            );
            let id = |f: &str| body[f].as_str().unwrap().to_string();
            seen.insert(
                (id("tenant"), id("product"), id("metric")),
                body["quantity"].clone(),
            );
        }
        let q = |t: &str, p: &str, m: &str| {
            seen[&(t.to_string(), p.to_string(), m.to_string())].clone()
        };
        assert_eq!(q("tenant-a", "code", "repos_protected"), json!(7));
        assert_eq!(q("tenant-b", "code", "repos_protected"), json!(3));
        assert_eq!(q("tenant-a", "migrate", "gb_transferred"), json!(4.5));
        assert_eq!(q("tenant-a", "migrate", "mailboxes"), json!(4));

        let token = app.token(&Who::ADMIN_A);
        let (_, body) = app
        .gql(
            &token,
            "{ billingReports(first: 10) { totalCount nodes { id product metric quantity period status attempts lastError reportedAt } } }",
            json!({}),
        )
        .await;
        let page = &body["data"]["billingReports"];
        assert_eq!(page["totalCount"], 3, "{body}");
        for node in page["nodes"].as_array().unwrap() {
            assert_eq!(node["status"], "SENT");
            assert_eq!(node["attempts"], 1);
            assert_eq!(node["period"], period);
            assert!(node["lastError"].is_null());
            assert!(!node["reportedAt"].is_null());
        }
        let stranger = app.token(&Who::ADMIN_B);
        crate::helpers::assert_node_only_for(
            &app,
            &page["nodes"][0]["id"],
            "BillingReport",
            &token,
            &stranger,
        )
        .await;

        // The same tick again, and a later tick of the same day: nothing new is reported.
        push_tick(&app, todays_tick()).await;
        push_tick(&app, todays_tick() + TimeDelta::minutes(1)).await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(reports(&app).await.len(), 4);
        assert_eq!(usage_requests(&hub).await.len(), 4);
    }
);

both!(
    billing_counts_protected_repositories_and_reports_every_missed_day_once,
    |backend| async move {
        let hub = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/usage"))
            .respond_with(accepted())
            .mount(&hub)
            .await;
        let uri = hub.uri();
        let app = spawn_app_with(backend, |c| configure(c, &uri)).await;
        let db = &app.services.db;
        let tenant = app.tenant("tenant-a").await;
        // Two organizations of 5 repositories, all active to begin with.
        let repos = app.seed_code(tenant, "a", 2, 5, 0).await;
        repositories::Entity::update_many()
            .col_expr(
                repositories::Column::Lifecycle,
                sea_orm::sea_query::Expr::value(Lifecycle::Active),
            )
            .filter(repositories::Column::TenantId.eq(tenant))
            .exec(db)
            .await
            .unwrap();
        let rows = repositories::Entity::find()
            .filter(repositories::Column::TenantId.eq(tenant))
            .all(db)
            .await
            .unwrap();
        assert_eq!(rows.len(), repos.len());
        // The first organization is disconnected: none of its repositories count.
        let gone = rows[0].organization_id;
        organizations::Entity::update(organizations::ActiveModel {
            id: Set(gone),
            status: Set(OrgStatus::Disconnected),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
        let kept: Vec<_> = rows.iter().filter(|r| r.organization_id != gone).collect();
        assert_eq!(kept.len(), 5);
        // Of the other's five: one archived, one sunset, one missing → two protected.
        let change = |id: Uuid, m: repositories::ActiveModel| async move {
            repositories::Entity::update(repositories::ActiveModel { id: Set(id), ..m })
                .exec(db)
                .await
                .unwrap();
        };
        change(
            kept[0].id,
            repositories::ActiveModel {
                archived: Set(true),
                ..Default::default()
            },
        )
        .await;
        change(
            kept[1].id,
            repositories::ActiveModel {
                lifecycle: Set(Lifecycle::Sunset),
                ..Default::default()
            },
        )
        .await;
        change(
            kept[2].id,
            repositories::ActiveModel {
                missing_since: Set(Some(Utc::now())),
                ..Default::default()
            },
        )
        .await;
        // Migrate: a completed mailbox job that finished two days ago.
        let jobs = app.seed_migrate(tenant, "a", 1, 4, 0).await;
        let day = |n: i64| Utc::now().date_naive() - TimeDelta::days(n);
        let noon = day(2).and_hms_opt(12, 0, 0).unwrap().and_utc();
        set_job(&app, jobs[3], JobKind::Mailbox, noon, 2.5, 4).await;

        // A tick four days ago was the last that ran (it reported day 4)...
        push_tick(&app, todays_tick() - TimeDelta::days(3)).await;
        wait_reports(&app, 3, settled).await;
        // ... then no replica ran until today: days 3, 2 and 1 are reported now, once each.
        push_tick(&app, todays_tick()).await;
        let rows = wait_reports(&app, 12, settled).await;
        assert!(
            rows.iter().all(|r| r.status == DeliveryStatus::Sent),
            "{rows:#?}"
        );
        let requests = usage_requests(&hub).await;
        assert_eq!(requests.len(), 12);
        let mut by_key: HashMap<String, Value> = HashMap::new();
        for request in &requests {
            let body = body_of(request);
            let key = key_of(request);
            assert_eq!(
                key,
                format!(
                    "hub-billing:{tenant}:{}:{}:{}",
                    body["product"].as_str().unwrap(),
                    body["metric"].as_str().unwrap(),
                    body["period"].as_str().unwrap()
                )
            );
            assert!(
                by_key.insert(key, body).is_none(),
                "a report was sent twice"
            );
        }
        let quantity = |metric: &str, product: &str, n: i64| {
            by_key[&format!("hub-billing:{tenant}:{product}:{metric}:{}", day(n))]["quantity"]
                .clone()
        };
        for n in 1..=4 {
            assert_eq!(quantity("repos_protected", "code", n), json!(2), "day -{n}");
            let (gb, mailboxes) = if n == 2 {
                (json!(2.5), json!(4))
            } else {
                (json!(0.0), json!(0))
            };
            assert_eq!(quantity("gb_transferred", "migrate", n), gb, "day -{n}");
            assert_eq!(quantity("mailboxes", "migrate", n), mailboxes, "day -{n}");
        }
        // Ticking again changes nothing.
        push_tick(&app, todays_tick() + TimeDelta::minutes(5)).await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(reports(&app).await.len(), 12);
        assert_eq!(usage_requests(&hub).await.len(), 12);
    }
);

both!(
    billing_not_configured_records_and_sends_nothing,
    |backend| async move {
        let app = spawn_app_with(backend, |c| {
            c.schedules.insert("hub-billing".into(), "off".into());
        })
        .await;
        one_code_tenant(&app).await;
        push_tick(&app, todays_tick()).await;
        let key = jobs::tick_key("hub-billing", todays_tick());
        let deadline = Instant::now() + Duration::from_secs(20);
        while app.services.queue.pending::<BillingTick>().await.unwrap() > 0 {
            assert!(Instant::now() < deadline, "the tick did not run");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            app.services
                .queue
                .count_with_key::<BillingTick>(&key)
                .await
                .unwrap(),
            1
        );
        assert!(reports(&app).await.is_empty());
    }
);

both!(
    billing_retries_5xx_with_one_key_then_gives_up,
    |backend| async move {
        let hub = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503).set_body_string("down for maintenance"))
            .mount(&hub)
            .await;
        let uri = hub.uri();
        let app = spawn_app_with(backend, |c| {
            configure(c, &uri);
            c.integrations.hub_billing_max_attempts = 3;
        })
        .await;
        one_code_tenant(&app).await;
        push_tick(&app, todays_tick()).await;
        let rows = wait_reports(&app, 1, settled).await;
        let row = &rows[0];
        assert_eq!(row.status, DeliveryStatus::Failed);
        assert_eq!(row.attempts, 3);
        assert_eq!(
            row.last_error.as_deref(),
            Some("Hub billing is unavailable (503)")
        );
        assert!(row.reported_at.is_none());
        let requests = usage_requests(&hub).await;
        assert_eq!(requests.len(), 9, "3 attempts × 3 tries of the client");
        let keys: Vec<String> = requests.iter().map(key_of).collect();
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        assert!(requests.iter().all(|r| r.body == requests[0].body));
    }
);

both!(billing_waits_out_a_429_retry_after, |backend| async move {
    let hub = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&hub)
        .await;
    Mock::given(method("POST"))
        .respond_with(accepted())
        .mount(&hub)
        .await;
    let uri = hub.uri();
    let app = spawn_app_with(backend, |c| configure(c, &uri)).await;
    one_code_tenant(&app).await;
    let started = Instant::now();
    push_tick(&app, todays_tick()).await;
    let rows = wait_reports(&app, 1, settled).await;
    assert_eq!(rows[0].status, DeliveryStatus::Sent);
    assert_eq!(
        rows[0].attempts, 1,
        "the client waited and tried again within the attempt"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    let requests = usage_requests(&hub).await;
    assert_eq!(requests.len(), 2);
    assert_eq!(key_of(&requests[0]), key_of(&requests[1]));
});

both!(
    billing_retries_a_long_429_and_a_malformed_answer_later,
    |backend| async move {
        let hub = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&hub)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>ok</html>"))
            .up_to_n_times(1)
            .with_priority(2)
            .mount(&hub)
            .await;
        Mock::given(method("POST"))
            .respond_with(accepted())
            .mount(&hub)
            .await;
        let uri = hub.uri();
        let app = spawn_app_with(backend, |c| {
            configure(c, &uri);
            // Long enough between attempts to see the first one's outcome.
            c.integrations.hub_billing_retry_base_ms = 2_000;
        })
        .await;
        one_code_tenant(&app).await;
        push_tick(&app, todays_tick()).await;
        let pending = wait_reports(&app, 1, |r| r.attempts >= 1).await;
        assert_eq!(pending[0].status, DeliveryStatus::Pending, "{pending:?}");
        assert!(
            pending[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("rate limiting"),
            "{pending:?}"
        );
        let rows = wait_reports(&app, 1, settled).await;
        assert_eq!(rows[0].status, DeliveryStatus::Sent, "{rows:?}");
        assert_eq!(rows[0].attempts, 3, "429, malformed answer, accepted");
        let requests = usage_requests(&hub).await;
        assert_eq!(requests.len(), 3);
        assert!(requests.iter().all(|r| key_of(r) == key_of(&requests[0])));
    }
);

both!(billing_rejection_is_final, |backend| async move {
    let hub = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(422).set_body_json(json!({ "error": "unknown metric" })),
        )
        .mount(&hub)
        .await;
    let uri = hub.uri();
    let app = spawn_app_with(backend, |c| configure(c, &uri)).await;
    one_code_tenant(&app).await;
    push_tick(&app, todays_tick()).await;
    let rows = wait_reports(&app, 1, settled).await;
    assert_eq!(rows[0].status, DeliveryStatus::Failed);
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(
        rows[0].last_error.as_deref(),
        Some("Hub billing rejected the request (422)")
    );
    assert_eq!(usage_requests(&hub).await.len(), 1);
    let (_, body) = app
        .gql(
            &app.token(&Who::ADMIN_A),
            "{ integrations { name status lastError } }",
            json!({}),
        )
        .await;
    let hub_status = body["data"]["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "HUB")
        .unwrap()
        .clone();
    assert_eq!(hub_status["status"], "ERROR");
});

/// Hub billing that is down (503) until told otherwise, and remembers what it accepted.
#[derive(Clone, Default)]
struct FlakyHub {
    down: Arc<AtomicBool>,
    accepted: Arc<Mutex<Vec<String>>>,
}

impl Respond for FlakyHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if self.down.load(Ordering::SeqCst) {
            return ResponseTemplate::new(503);
        }
        self.accepted.lock().unwrap().push(key_of(request));
        accepted()
    }
}

/// Two servers on one PostgreSQL database, both firing `hub-billing` every two seconds.
async fn two_replicas(uri: &str) -> (TestApp, TestApp) {
    let adjust = |c: &mut Config| {
        configure(c, uri);
        c.schedules
            .insert("hub-billing".into(), "*/2 * * * * *".into());
    };
    let first = spawn_app_with(Backend::Postgres, adjust).await;
    let second = spawn_replica(&first, adjust).await;
    (first, second)
}

/// Seeds two Code tenants and a Migrate one on `app`: 4 reports a day.
async fn seed_tenants(app: &TestApp) {
    let a = app.tenant("tenant-a").await;
    app.seed_code(a, "a", 1, 3, 0).await;
    let b = app.tenant("tenant-b").await;
    app.seed_code(b, "b", 1, 2, 0).await;
    let c = app.tenant("tenant-c").await;
    app.seed_migrate(c, "c", 1, 2, 0).await;
}

/// Every request carries one of the reports' keys, and every key always the same body.
fn by_key(requests: &[Request]) -> HashMap<String, Vec<Value>> {
    let mut grouped: HashMap<String, Vec<Value>> = HashMap::new();
    for request in requests {
        grouped
            .entry(key_of(request))
            .or_default()
            .push(body_of(request));
    }
    for (key, bodies) in &grouped {
        assert!(bodies.iter().all(|b| *b == bodies[0]), "{key}: {bodies:?}");
    }
    grouped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn billing_two_replicas_report_once_per_tenant_and_metric() {
    let hub = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/usage"))
        .respond_with(accepted())
        .mount(&hub)
        .await;
    let (first, second) = two_replicas(&hub.uri()).await;
    seed_tenants(&first).await;
    wait_reports(&second, 4, |r| r.status == DeliveryStatus::Sent).await;
    // A few more ticks on both replicas: the day is reported already.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let requests = usage_requests(&hub).await;
    let grouped = by_key(&requests);
    assert_eq!(grouped.len(), 4, "{grouped:#?}");
    assert!(grouped.values().all(|b| b.len() == 1), "{grouped:#?}");
    let mut metrics: Vec<(String, String)> = grouped
        .values()
        .map(|b| (b[0]["tenant"].to_string(), b[0]["metric"].to_string()))
        .collect();
    metrics.sort();
    metrics.dedup();
    assert_eq!(metrics.len(), 4);
    assert_eq!(reports(&first).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn billing_two_replicas_ride_out_an_outage() {
    let hub = MockServer::start().await;
    let flaky = FlakyHub::default();
    flaky.down.store(true, Ordering::SeqCst);
    Mock::given(method("POST"))
        .and(path("/usage"))
        .respond_with(flaky.clone())
        .mount(&hub)
        .await;
    let (first, second) = two_replicas(&hub.uri()).await;
    seed_tenants(&first).await;
    // Down: every report is attempted (more than once), none is sent.
    let pending = wait_reports(&first, 4, |r| r.attempts >= 2).await;
    for row in &pending {
        assert_eq!(row.status, DeliveryStatus::Pending);
        assert_eq!(
            row.last_error.as_deref(),
            Some("Hub billing is unavailable (503)")
        );
    }
    flaky.down.store(false, Ordering::SeqCst);
    let sent = wait_reports(&second, 4, |r| r.status == DeliveryStatus::Sent).await;
    assert!(sent.iter().all(|r| r.attempts >= 3), "{sent:#?}");
    tokio::time::sleep(Duration::from_secs(4)).await;

    let mut accepted = flaky.accepted.lock().unwrap().clone();
    accepted.sort();
    let before = accepted.len();
    accepted.dedup();
    assert_eq!(
        (before, accepted.len()),
        (4, 4),
        "one accepted report each: {accepted:?}"
    );
    let grouped = by_key(&usage_requests(&hub).await);
    assert_eq!(
        grouped.len(),
        4,
        "one key per report on every attempt: {grouped:#?}"
    );
    assert!(
        grouped.values().all(|b| b.len() >= 7),
        "2 failed attempts × 3 tries, then 1"
    );
    assert_eq!(reports(&first).await.len(), 4);
}
