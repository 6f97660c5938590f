//! CMDB asset sync end to end, with the CMDB faked by wiremock: `syncCmdbNow` and the timer, the
//! asset body field by field, unchanged profiles skipped, one failing asset not stopping the run,
//! rejected credentials stopping it (and the status page showing it), who may start a run, runs
//! abandoned by their task closed as failed.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entities::{clients, cmdb_assets, cmdb_sync_runs, repositories};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, PrimaryKeyTrait, QueryFilter,
};
use serde_json::{Value, json};
use stack_gateway::code::cmdb::CmdbSyncTick;
use uuid::Uuid;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::both;
use crate::helpers::{Backend, TestApp, Who, code, spawn_app_with};

const SYNC: &str = "mutation { syncCmdbNow { run { id trigger status startedAt finishedAt synced failed skipped error } } }";
const RUNS: &str = "{ cmdbSyncRuns(last: 20) { totalCount nodes { id trigger status startedAt finishedAt synced failed skipped error } } }";

/// A server wired to a fake CMDB (the timer off: runs start only when a test says so), with
/// tenant A's three repositories, the first linked to client Acme.
struct Setup {
    app: TestApp,
    cmdb: MockServer,
    tenant: Uuid,
    repos: Vec<Uuid>,
    client: clients::Model,
    admin: String,
}

async fn setup(backend: Backend) -> Setup {
    let cmdb = MockServer::start().await;
    let uri = cmdb.uri();
    let app = spawn_app_with(backend, |c| {
        c.integrations.cmdb_api_url = Some(format!("{uri}/"));
        c.integrations.cmdb_service_key = Some("cmdb-key".into());
        c.schedules
            .insert("code-cmdb-sync-timer".into(), "off".into());
        // Probes would record their own outcomes on the status page.
        c.schedules
            .insert("integration-probes".into(), "off".into());
    })
    .await;
    let tenant = app.tenant("tenant-a").await;
    let repos = app.seed_code(tenant, "a", 1, 3, 0).await;
    let now = Utc::now();
    let client = clients::Model {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        name: "Acme".into(),
        psa_client_id: Some("PSA-17".into()),
        crm_account_id: Some("CRM-42".into()),
        created_at: now,
        updated_at: now,
    };
    clients::Entity::insert(clients::ActiveModel {
        id: Set(client.id),
        tenant_id: Set(tenant),
        name: Set(client.name.clone()),
        psa_client_id: Set(client.psa_client_id.clone()),
        crm_account_id: Set(client.crm_account_id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&app.services.db)
    .await
    .unwrap();
    repositories::Entity::update(repositories::ActiveModel {
        id: Set(repos[0]),
        client_id: Set(Some(client.id)),
        ..Default::default()
    })
    .exec(&app.services.db)
    .await
    .unwrap();
    let admin = app.token(&Who::ADMIN_A);
    Setup {
        app,
        cmdb,
        tenant,
        repos,
        client,
        admin,
    }
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "ok": true }))
}

/// Starts a run through the mutation; returns it as the mutation answered.
async fn sync_now(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.gql(token, SYNC, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["syncCmdbNow"]["run"].clone()
}

/// Polls `cmdbSyncRuns` until run `id` has finished.
async fn finished(app: &TestApp, token: &str, id: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = app.gql(token, RUNS, json!({})).await;
        let runs = body["data"]["cmdbSyncRuns"]["nodes"].as_array().unwrap();
        if let Some(run) = runs.iter().find(|r| &r["id"] == id)
            && !run["finishedAt"].is_null()
        {
            return run.clone();
        }
        assert!(Instant::now() < deadline, "run {id} did not finish: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sync(s: &Setup) -> Value {
    let run = sync_now(&s.app, &s.admin).await;
    finished(&s.app, &s.admin, &run["id"]).await
}

async fn puts(cmdb: &MockServer) -> Vec<Request> {
    cmdb.received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect()
}

/// Row `id` of entity `E`, which must exist.
async fn row<E>(app: &TestApp, id: Uuid) -> E::Model
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    E::find_by_id(id)
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap()
}

both!(
    cmdb_sync_sends_every_profile_then_only_changes,
    |backend| async move {
        let s = setup(backend).await;
        Mock::given(method("PUT"))
            .and(path_regex("^/assets/code-[0-9a-f-]{36}$"))
            .and(header("authorization", "Bearer cmdb-key"))
            .respond_with(ok())
            .mount(&s.cmdb)
            .await;

        let run = sync_now(&s.app, &s.admin).await;
        assert_eq!(run["status"], "RUNNING", "{run}");
        assert_eq!(run["trigger"], "manual");
        assert!(run["finishedAt"].is_null());
        let done = finished(&s.app, &s.admin, &run["id"]).await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        assert_eq!(
            (&done["synced"], &done["failed"], &done["skipped"]),
            (&json!(3), &json!(0), &json!(0))
        );
        assert!(done["error"].is_null());

        let sent = puts(&s.cmdb).await;
        assert_eq!(sent.len(), 3);
        let body_of = |id: Uuid| -> Value {
            let path = format!("/assets/code-{id}");
            let request = sent.iter().find(|r| r.url.path() == path).unwrap();
            assert_eq!(request.headers["content-type"], "application/json");
            serde_json::from_slice(&request.body).unwrap()
        };
        let row = row::<repositories::Entity>(&s.app, s.repos[0]).await;
        let body = body_of(row.id);
        assert_eq!(body["external_id"], format!("code-{}", row.id));
        assert_eq!(body["asset_type"], "software_application");
        assert_eq!(body["source"], "the-one-code");
        assert_eq!(
            body["tenant"],
            json!({ "id": "tenant-a", "name": "Tenant tenant-a" })
        );
        assert_eq!(
            body["client"],
            json!({ "id": s.client.id, "name": "Acme", "psa_client_id": "PSA-17", "crm_account_id": "CRM-42" })
        );
        assert_eq!(body["name"], row.name);
        assert_eq!(body["full_name"], row.full_name);
        assert_eq!(body["url"], row.url);
        assert_eq!(body["app_type"], "web");
        assert_eq!(body["tech_stack"], json!(["rust", "postgresql"]));
        assert_eq!(body["health_score"], 80);
        assert_eq!(body["debt_score"], 20);
        let last_commit: DateTime<Utc> = body["last_commit_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(Some(last_commit), row.last_commit_at);
        assert_eq!(body["commit_frequency"], 4.5);
        assert_eq!(body["hosting_platform"], "azure");
        assert_eq!(body["data_classification"], "internal");
        assert_eq!(body["lifecycle"], "active");
        assert_eq!(
            body.as_object().unwrap().len(),
            17,
            "no field unaccounted for: {body}"
        );
        // A repository without a client is sent with `client: null`.
        assert_eq!(body_of(s.repos[1])["client"], Value::Null);
        let remembered = cmdb_assets::Entity::find()
            .filter(cmdb_assets::Column::TenantId.eq(s.tenant))
            .count(&s.app.services.db)
            .await
            .unwrap();
        assert_eq!(remembered, 3);

        // Unchanged: nothing is sent, everything skipped.
        let again = sync(&s).await;
        assert_eq!(again["status"], "SUCCEEDED");
        assert_eq!(
            (&again["synced"], &again["failed"], &again["skipped"]),
            (&json!(0), &json!(0), &json!(3))
        );
        assert_eq!(puts(&s.cmdb).await.len(), 3);

        // One profile changes (its client is renamed): only it is sent again.
        clients::Entity::update(clients::ActiveModel {
            id: Set(s.client.id),
            name: Set("Acme Corp".into()),
            ..Default::default()
        })
        .exec(&s.app.services.db)
        .await
        .unwrap();
        let third = sync(&s).await;
        assert_eq!(
            (&third["synced"], &third["skipped"]),
            (&json!(1), &json!(2))
        );
        let sent = puts(&s.cmdb).await;
        assert_eq!(sent.len(), 4);
        let last: Value = serde_json::from_slice(&sent[3].body).unwrap();
        assert_eq!(last["external_id"], format!("code-{}", s.repos[0]));
        assert_eq!(last["client"]["name"], "Acme Corp");

        let (_, body) = s.app.gql(&s.admin, RUNS, json!({})).await;
        assert_eq!(body["data"]["cmdbSyncRuns"]["totalCount"], 3);
        let run = &body["data"]["cmdbSyncRuns"]["nodes"][0]["id"];
        let stranger = s.app.token(&crate::helpers::Who::ADMIN_B);
        crate::helpers::assert_node_only_for(&s.app, run, "CmdbSyncRun", &s.admin, &stranger).await;
    }
);

both!(
    cmdb_one_failing_asset_does_not_stop_the_run,
    |backend| async move {
        let s = setup(backend).await;
        let broken = format!("/assets/code-{}", s.repos[1]);
        let guard = Mock::given(method("PUT"))
            .and(path(broken.as_str()))
            .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
            .with_priority(1)
            .mount_as_scoped(&s.cmdb)
            .await;
        Mock::given(method("PUT"))
            .respond_with(ok())
            .mount(&s.cmdb)
            .await;

        let run = sync(&s).await;
        assert_eq!(run["status"], "FAILED", "{run}");
        assert_eq!(
            (&run["synced"], &run["failed"], &run["skipped"]),
            (&json!(2), &json!(1), &json!(0))
        );
        assert_eq!(run["error"], "CMDB is unavailable (500)");
        assert!(!run["error"].as_str().unwrap().contains("boom"));
        let sent = puts(&s.cmdb).await;
        assert!(
            sent.iter().filter(|r| r.url.path() == broken).count() > 1,
            "a 500 is retried"
        );
        assert_eq!(
            sent.iter().filter(|r| r.url.path() != broken).count(),
            2,
            "the other assets went through"
        );

        // Next run: the failed asset is sent again (nothing was remembered for it).
        drop(guard);
        let next = sync(&s).await;
        assert_eq!(next["status"], "SUCCEEDED");
        assert_eq!((&next["synced"], &next["skipped"]), (&json!(1), &json!(2)));
    }
);

both!(
    cmdb_rejected_credentials_stop_the_run_and_show_on_the_status_page,
    |backend| async move {
        let s = setup(backend).await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(401).set_body_string("bad key"))
            .mount(&s.cmdb)
            .await;
        let run = sync(&s).await;
        assert_eq!(run["status"], "FAILED", "{run}");
        assert_eq!((&run["synced"], &run["failed"]), (&json!(0), &json!(1)));
        let error = run["error"].as_str().unwrap();
        assert!(error.contains("refused our credentials (401)"), "{error}");
        assert_eq!(
            puts(&s.cmdb).await.len(),
            1,
            "not retried, and the run stops"
        );
        let (_, body) = s
            .app
            .gql(
                &s.admin,
                "{ integrations { name status lastError } }",
                json!({}),
            )
            .await;
        let cmdb = body["data"]["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "CMDB")
            .unwrap()
            .clone();
        assert_eq!(cmdb["status"], "ERROR");
        assert_eq!(cmdb["lastError"], error);
    }
);

both!(
    cmdb_sync_now_is_for_code_admins_when_configured,
    |backend| async move {
        let s = setup(backend).await;
        Mock::given(method("PUT"))
            .respond_with(ok().set_delay(Duration::from_millis(400)))
            .mount(&s.cmdb)
            .await;
        let technician = s.app.token(&Who {
            tenant: "tenant-a",
            sub: "tess",
            roles: &["technician"],
            products: &["code"],
        });
        let migrate_admin = s.app.token(&Who {
            tenant: "tenant-a",
            sub: "mia",
            roles: &["admin"],
            products: &["migrate"],
        });
        for token in [&technician, &migrate_admin] {
            let (_, body) = s.app.gql(token, SYNC, json!({})).await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
        }

        // A second click while the run is under way answers with the same run.
        let first = sync_now(&s.app, &s.admin).await;
        let second = sync_now(&s.app, &s.admin).await;
        assert_eq!(first["id"], second["id"]);
        finished(&s.app, &s.admin, &first["id"]).await;
        let runs = cmdb_sync_runs::Entity::find()
            .count(&s.app.services.db)
            .await
            .unwrap();
        assert_eq!(runs, 1);

        let bare = spawn_app_with(backend, |_| {}).await;
        let token = bare.token(&Who::ADMIN_A);
        let (_, body) = bare.gql(&token, SYNC, json!({})).await;
        assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("CMDB_API_URL")
        );
    }
);

both!(
    cmdb_timer_syncs_every_tenant_with_repositories,
    |backend| async move {
        let s = setup(backend).await;
        Mock::given(method("PUT"))
            .respond_with(ok())
            .mount(&s.cmdb)
            .await;
        let tenant_b = s.app.tenant("tenant-b").await;
        s.app.seed_code(tenant_b, "b", 1, 2, 0).await;
        s.app.tenant("tenant-c").await; // no repositories: no run
        let tick = Utc::now();
        // Twice, as two replicas would: one run per tenant all the same.
        push_tick(&s.app, tick).await;
        push_tick(&s.app, tick).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        let runs = loop {
            let runs = cmdb_sync_runs::Entity::find()
                .all(&s.app.services.db)
                .await
                .unwrap();
            if runs.len() == 2 && runs.iter().all(|r| r.finished_at.is_some()) {
                break runs;
            }
            assert!(Instant::now() < deadline, "timer runs: {runs:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        for run in &runs {
            assert_eq!(run.trigger, "timer");
            assert_eq!(run.failed, 0);
        }
        let synced: Vec<(Uuid, i32)> = runs.iter().map(|r| (r.tenant_id, r.synced)).collect();
        assert!(synced.contains(&(s.tenant, 3)), "{synced:?}");
        assert!(synced.contains(&(tenant_b, 2)), "{synced:?}");
        let sent = puts(&s.cmdb).await;
        assert_eq!(sent.len(), 5);
        let tenants: Vec<String> = sent
            .iter()
            .map(|r| {
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                body["tenant"]["id"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(tenants.iter().filter(|t| *t == "tenant-b").count(), 2);
        // Tenant B's admin sees only tenant B's run.
        let (_, body) = s
            .app
            .gql(&s.app.token(&Who::ADMIN_B), RUNS, json!({}))
            .await;
        assert_eq!(body["data"]["cmdbSyncRuns"]["totalCount"], 1);
        assert_eq!(body["data"]["cmdbSyncRuns"]["nodes"][0]["synced"], 2);
    }
);

/// Fires `code-cmdb-sync-timer` for `tick` the way the cron does (the tick's idempotency key).
async fn push_tick(app: &TestApp, tick: DateTime<Utc>) {
    let key = jobs::tick_key("code-cmdb-sync-timer", tick);
    app.services
        .queue
        .push(CmdbSyncTick { tick }, Some(&key))
        .await
        .unwrap();
}

/// An unfinished run of `tenant` started `minutes` ago, as a task that died would leave it.
async fn unfinished_run(app: &TestApp, tenant: Uuid, minutes: i64) -> Uuid {
    let started = Utc::now() - chrono::Duration::minutes(minutes);
    let id = Uuid::now_v7();
    cmdb_sync_runs::Entity::insert(cmdb_sync_runs::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        trigger: Set("timer".into()),
        started_at: Set(started),
        finished_at: Set(None),
        synced: Set(4),
        failed: Set(0),
        skipped: Set(0),
        error: Set(None),
        created_at: Set(started),
        updated_at: Set(started),
    })
    .exec_without_returning(&app.services.db)
    .await
    .unwrap();
    id
}

both!(
    cmdb_runs_abandoned_by_their_task_are_closed_as_failed,
    |backend| async move {
        let s = setup(backend).await;
        Mock::given(method("PUT"))
            .respond_with(ok())
            .mount(&s.cmdb)
            .await;
        let tenant_b = s.app.tenant("tenant-b").await;
        let stale_a = unfinished_run(&s.app, s.tenant, 120).await;
        let stale_b = unfinished_run(&s.app, tenant_b, 120).await;
        let recent_b = unfinished_run(&s.app, tenant_b, 10).await;

        // Tenant A's admin starts a run: A's dead run is closed, and a new one starts.
        let run = sync_now(&s.app, &s.admin).await;
        assert_ne!(run["id"], json!(null));
        let finished = finished(&s.app, &s.admin, &run["id"]).await;
        assert_eq!(finished["status"], "SUCCEEDED", "{finished}");
        let (_, body) = s.app.gql(&s.admin, RUNS, json!({})).await;
        let runs = body["data"]["cmdbSyncRuns"]["nodes"].as_array().unwrap();
        assert_eq!(runs.len(), 2, "{body}");
        let dead = runs.iter().find(|r| r["id"] != run["id"]).unwrap();
        assert_eq!(dead["status"], "FAILED", "{dead}");
        assert!(!dead["finishedAt"].is_null(), "{dead}");
        assert_eq!(dead["synced"], 4, "its counters are kept: {dead}");
        assert!(
            dead["error"]
                .as_str()
                .unwrap()
                .contains("did not finish within 60 minutes"),
            "{dead}"
        );
        assert!(
            row::<cmdb_sync_runs::Entity>(&s.app, stale_a)
                .await
                .finished_at
                .is_some()
        );
        // Nothing of tenant B was touched by tenant A's click.
        assert!(
            row::<cmdb_sync_runs::Entity>(&s.app, stale_b)
                .await
                .finished_at
                .is_none()
        );
        assert!(
            row::<cmdb_sync_runs::Entity>(&s.app, recent_b)
                .await
                .finished_at
                .is_none()
        );

        // The timer closes every tenant's dead runs, and only dead ones.
        push_tick(&s.app, Utc::now()).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        let closed = loop {
            let row = row::<cmdb_sync_runs::Entity>(&s.app, stale_b).await;
            if row.finished_at.is_some() {
                break row;
            }
            assert!(Instant::now() < deadline, "tenant B's dead run stayed open");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(
            closed
                .error
                .unwrap()
                .contains("did not finish within 60 minutes")
        );
        let recent = row::<cmdb_sync_runs::Entity>(&s.app, recent_b).await;
        assert!(recent.finished_at.is_none(), "{recent:?}");
        assert!(recent.error.is_none());
    }
);
