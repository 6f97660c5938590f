//! Repository backups end to end: a backup runner with its own token takes requested backups and
//! reports `running` / `succeeded` / `failed`; a silent backup turns `FAILED` after
//! `BACKUP_REPORT_TIMEOUT_MS`; a new request is refused only while one is really in flight.
//! Every bad credential and body is refused with nothing written.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use stack_gateway::graphql::relay::global_id;

use crate::agents::{agent_call, register_agent, uuid_of};
use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app, spawn_app_with};

const TECH_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "tom",
    roles: &["technician"],
    products: &["code"],
};
const VIEWER_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "val",
    roles: &["viewer"],
    products: &["code"],
};

const REQUEST: &str =
    "mutation($r: ID!) { requestBackup(input: { repositoryId: $r }) { backup { id status } } }";
const BACKUPS: &str = "query($r: ID) { backups(first: 20, repositoryId: $r) { nodes {
    id status message error lastReportAt startedAt finishedAt runnerId } } }";
const CREATE_RUNNER: &str = "mutation($n: String!) { createBackupRunner(input: { name: $n }) {
    token runner { id name tokenPrefix revokedAt } } }";
const REVOKE_RUNNER: &str =
    "mutation($id: ID!) { revokeBackupRunner(input: { id: $id }) { runner { id revokedAt } } }";

/// A tenant-A repository (seeded) and its global ID.
async fn repository(app: &TestApp, label: &str) -> String {
    let tenant = app.tenant("tenant-a").await;
    let repos = app.seed_code(tenant, label, 1, 1, 0).await;
    global_id("Repository", repos[0]).0
}

/// Creates a backup runner as `token`; returns (global ID, runner token).
async fn create_runner(app: &TestApp, token: &str, name: &str) -> (Value, String) {
    let (_, body) = app.gql(token, CREATE_RUNNER, json!({ "n": name })).await;
    let payload = &body["data"]["createBackupRunner"];
    let secret = payload["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(secret.starts_with("sgbr_"), "{body}");
    assert_eq!(
        payload["runner"]["tokenPrefix"].as_str().unwrap(),
        &secret[..12]
    );
    (payload["runner"]["id"].clone(), secret.to_string())
}

async fn request(app: &TestApp, token: &str, repo: &str) -> Value {
    app.gql(token, REQUEST, json!({ "r": repo })).await.1
}

async fn backups(app: &TestApp, token: &str, repo: &str) -> Vec<Value> {
    let (_, body) = app.gql(token, BACKUPS, json!({ "r": repo })).await;
    body["data"]["backups"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

async fn runner_list(app: &TestApp, token: &str) -> (u16, Value) {
    agent_call(
        app,
        token,
        Method::GET,
        "/api/code/backup-runner/backups",
        None,
    )
    .await
}

async fn report(app: &TestApp, token: &str, backup: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/code/backup-runner/backups/{backup}/report");
    agent_call(app, token, Method::POST, &path, Some(body)).await
}

both!(a_runner_takes_and_reports_backups, |backend| async move {
    let app = spawn_app(backend).await;
    let admin = app.token(&Who::ADMIN_A);
    let tech = app.token(&TECH_A);
    let repo = repository(&app, "alpha").await;
    let (runner_id, runner) = create_runner(&app, &admin, "nightly backups").await;

    let body = request(&app, &tech, &repo).await;
    let backup = body["data"]["requestBackup"]["backup"]["id"].clone();
    assert_eq!(
        body["data"]["requestBackup"]["backup"]["status"],
        "REQUESTED"
    );
    let id = uuid_of(&backup).to_string();

    // The runner sees it, with the repository to back up.
    let (status, listed) = runner_list(&app, &runner).await;
    assert_eq!(status, 200, "{listed}");
    let item = &listed["backups"][0];
    assert_eq!(item["id"], id);
    assert_eq!(item["status"], "requested");
    assert_eq!(item["repository"]["fullName"], "alpha-org-0/alpha-repo-0-0");
    assert_eq!(item["repository"]["provider"], "github");
    assert_eq!(item["repository"]["organization"], "alpha-org-0");

    let (status, answer) = report(
        &app,
        &runner,
        &id,
        json!({ "status": "RUNNING", "message": "cloning" }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["backup"]["status"], "running");
    let seen = &backups(&app, &tech, &repo).await[0];
    assert_eq!(seen["status"], "RUNNING");
    assert_eq!(seen["message"], "cloning");
    assert_eq!(seen["runnerId"], runner_id);
    assert!(seen["startedAt"].is_string() && seen["lastReportAt"].is_string());

    // While it runs, a second request is refused.
    let body = request(&app, &tech, &repo).await;
    assert_eq!(code(&body), "CONFLICT", "{body}");

    let (status, answer) = report(
        &app,
        &runner,
        backup.as_str().unwrap(),
        json!({ "status": "succeeded", "message": "stored as alpha-2026-12-05.bundle" }),
    )
    .await;
    assert_eq!(status, 200, "a global ID works in the path too: {answer}");
    assert_eq!(answer["backup"]["status"], "succeeded");
    // The same final report again (a lost answer) is a no-op; another one is refused.
    let (status, _) = report(&app, &runner, &id, json!({ "status": "succeeded" })).await;
    assert_eq!(status, 200);
    let (status, answer) = report(
        &app,
        &runner,
        &id,
        json!({ "status": "failed", "message": "x" }),
    )
    .await;
    assert_eq!((status, code(&answer)), (409, "CONFLICT"), "{answer}");
    let seen = &backups(&app, &tech, &repo).await[0];
    assert_eq!(seen["status"], "COMPLETED");
    assert_eq!(seen["message"], "stored as alpha-2026-12-05.bundle");
    assert!(seen["finishedAt"].is_string() && seen["error"].is_null());

    // Finished: a new request is accepted, and its failure carries the runner's reason.
    let body = request(&app, &tech, &repo).await;
    let second = uuid_of(&body["data"]["requestBackup"]["backup"]["id"]).to_string();
    let (_, listed) = runner_list(&app, &runner).await;
    assert_eq!(listed["backups"].as_array().unwrap().len(), 1, "{listed}");
    let (status, _) = report(
        &app,
        &runner,
        &second,
        json!({ "status": "failed", "message": "the repository is 40 GB, over the quota" }),
    )
    .await;
    assert_eq!(status, 200);
    let seen = &backups(&app, &tech, &repo).await[1];
    assert_eq!(seen["status"], "FAILED");
    assert_eq!(seen["error"], "the repository is 40 GB, over the quota");
    let body = request(&app, &tech, &repo).await;
    assert_eq!(
        body["data"]["requestBackup"]["backup"]["status"], "REQUESTED",
        "{body}"
    );

    // The runner's list is its tenant's only.
    let (_, runner_b) = create_runner(&app, &app.token(&Who::ADMIN_B), "b").await;
    let (status, listed) = runner_list(&app, &runner_b).await;
    assert_eq!(status, 200);
    assert_eq!(listed["backups"], json!([]));
    let (_, runners) = app
        .gql(
            &admin,
            "{ backupRunners(first: 10) { totalCount nodes { name lastSeenAt } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        runners["data"]["backupRunners"]["totalCount"], 1,
        "{runners}"
    );
    assert!(runners["data"]["backupRunners"]["nodes"][0]["lastSeenAt"].is_string());
});

both!(
    bad_runner_calls_are_refused_and_write_nothing,
    |backend| async move {
        let app = spawn_app(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let repo = repository(&app, "beta").await;
        let (runner_id, runner) = create_runner(&app, &admin, "r1").await;
        let (_, other) = create_runner(&app, &admin, "r2").await;
        let (_, runner_b) = create_runner(&app, &app.token(&Who::ADMIN_B), "b").await;
        let body = request(&app, &admin, &repo).await;
        let id = uuid_of(&body["data"]["requestBackup"]["backup"]["id"]).to_string();
        let before = backups(&app, &admin, &repo).await;

        // Credentials: none, a Hub token, an agent key, unknown or malformed runner tokens.
        let path = format!("/api/code/backup-runner/backups/{id}/report");
        let running = json!({ "status": "running" });
        let none = app
            .client
            .post(app.url(&path))
            .json(&running)
            .send()
            .await
            .unwrap();
        assert_eq!(none.status().as_u16(), 401);
        let (status, body) = report(&app, &admin, &id, running.clone()).await;
        assert_eq!((status, code(&body)), (403, "FORBIDDEN"), "{body}");
        let (_, agent_key) = register_agent(&app, &admin, "mig-01").await;
        let (status, _) = report(&app, &agent_key, &id, running.clone()).await;
        assert_eq!(status, 403);
        let forged = format!("sgbr_{}", "A".repeat(43));
        for token in [forged.as_str(), "sgbr_short", "sgbr_"] {
            let (status, body) = report(&app, token, &id, running.clone()).await;
            assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{token}");
        }
        let (status, _) = runner_list(&app, "sgbr_nope").await;
        assert_eq!(status, 401);
        // A runner token is no key elsewhere: GraphQL and the agent API refuse it.
        let (status, body) = app.gql(&runner, "{ viewer { id } }", json!({})).await;
        assert_eq!((status, code(&body)), (403, "FORBIDDEN"), "{body}");
        let (status, _) = agent_call(&app, &runner, Method::GET, "/api/agent/jobs", None).await;
        assert_eq!(status, 403);

        // Bodies and paths.
        for (body, why) in [
            (json!({ "status": "done" }), "unknown status"),
            (json!({ "status": "Running" }), "lower or upper case only"),
            (
                json!({ "status": "COMPLETED" }),
                "the report says SUCCEEDED",
            ),
            (json!({}), "no status"),
            (json!({ "status": "failed" }), "a failure needs a message"),
            (
                json!({ "status": "failed", "message": "  " }),
                "blank message",
            ),
            (
                json!({ "status": "running", "message": "x".repeat(4001) }),
                "message too long",
            ),
            (json!({ "status": "running", "message": "a\u{0}b" }), "NUL"),
            (json!({ "status": "running", "extra": 1 }), "unknown field"),
            (json!([1]), "not an object"),
        ] {
            let (status, answer) = report(&app, &runner, &id, body).await;
            assert_eq!(
                (status, code(&answer)),
                (400, "BAD_USER_INPUT"),
                "{why}: {answer}"
            );
        }
        let (status, _) = report(&app, &runner, "not-an-id", running.clone()).await;
        assert_eq!(status, 400);
        let (status, _) = report(
            &app,
            &runner,
            &uuid::Uuid::now_v7().to_string(),
            running.clone(),
        )
        .await;
        assert_eq!(status, 404);
        // Another tenant's runner cannot see or touch it: as missing.
        let (status, body) = report(&app, &runner_b, &id, running.clone()).await;
        assert_eq!((status, code(&body)), (404, "NOT_FOUND"), "{body}");
        assert_eq!(
            backups(&app, &admin, &repo).await,
            before,
            "nothing written"
        );

        // Taken by one runner, the other is refused.
        assert_eq!(report(&app, &runner, &id, running.clone()).await.0, 200);
        let (status, body) = report(&app, &other, &id, running.clone()).await;
        assert_eq!((status, code(&body)), (409, "CONFLICT"), "{body}");
        let (_, listed) = runner_list(&app, &other).await;
        assert_eq!(
            listed["backups"],
            json!([]),
            "another runner's backup is not offered"
        );

        // Revoked: the token stops working at once; revoking twice is a no-op.
        let (_, body) = app
            .gql(&admin, REVOKE_RUNNER, json!({ "id": runner_id }))
            .await;
        assert!(
            body["data"]["revokeBackupRunner"]["runner"]["revokedAt"].is_string(),
            "{body}"
        );
        let (_, again) = app
            .gql(&admin, REVOKE_RUNNER, json!({ "id": runner_id }))
            .await;
        assert_eq!(
            again["data"]["revokeBackupRunner"]["runner"]["revokedAt"],
            body["data"]["revokeBackupRunner"]["runner"]["revokedAt"]
        );
        let (status, _) = report(&app, &runner, &id, running.clone()).await;
        assert_eq!(status, 401);

        // Managing runners: Code admins of the tenant only; names 1–100 characters.
        for who in [&TECH_A, &VIEWER_A] {
            let (_, body) = app
                .gql(&app.token(who), CREATE_RUNNER, json!({ "n": "x" }))
                .await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
            let q = "{ backupRunners(first: 5) { totalCount } }";
            let (_, body) = app.gql(&app.token(who), q, json!({})).await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
        }
        let migrate_admin = Who {
            tenant: "tenant-a",
            sub: "mia",
            roles: &["admin"],
            products: &["migrate"],
        };
        let (_, body) = app
            .gql(
                &app.token(&migrate_admin),
                CREATE_RUNNER,
                json!({ "n": "x" }),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        for name in ["", "   ", &"n".repeat(101)] {
            let (_, body) = app.gql(&admin, CREATE_RUNNER, json!({ "n": name })).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{name:?}: {body}");
        }
        let (_, body) = app
            .gql(
                &app.token(&Who::ADMIN_B),
                REVOKE_RUNNER,
                json!({ "id": runner_id }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let (_, body) = app.gql(&admin, REVOKE_RUNNER, json!({ "id": repo })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        let q = "{ backupRunners(first: 10) { totalCount } }";
        let (_, body) = app.gql(&admin, q, json!({})).await;
        assert_eq!(body["data"]["backupRunners"]["totalCount"], 2, "{body}");
    }
);

/// Polls the repository's backups until `done` holds for them.
async fn wait_backups(
    app: &TestApp,
    token: &str,
    repo: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = backups(app, token, repo).await;
        if done(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "{list:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

both!(
    a_silent_backup_fails_after_the_timeout,
    |backend| async move {
        let app = spawn_app_with(backend, |c| {
            c.integrations.backup_report_timeout_ms = 3_000;
            c.schedules
                .insert("backup-timeout".into(), "*/1 * * * * *".into());
        })
        .await;
        let admin = app.token(&Who::ADMIN_A);
        let repo = repository(&app, "gamma").await;
        let (_, runner) = create_runner(&app, &admin, "r").await;

        // Never taken: failed by the timer with the reason.
        request(&app, &admin, &repo).await;
        let list = wait_backups(&app, &admin, &repo, |l| l[0]["status"] == "FAILED").await;
        assert_eq!(
            list[0]["error"],
            "no report from the backup runner within 3 seconds (BACKUP_REPORT_TIMEOUT_MS)"
        );
        assert!(list[0]["finishedAt"].is_string());

        // A runner that keeps reporting keeps it alive; once it goes silent, it fails too.
        let body = request(&app, &admin, &repo).await;
        let id = uuid_of(&body["data"]["requestBackup"]["backup"]["id"]).to_string();
        for step in 0..8 {
            let message = format!("step {step}");
            let (status, answer) = report(
                &app,
                &runner,
                &id,
                json!({ "status": "running", "message": message }),
            )
            .await;
            assert_eq!(status, 200, "{answer}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(backups(&app, &admin, &repo).await[1]["status"], "RUNNING");
        let list = wait_backups(&app, &admin, &repo, |l| l[1]["status"] == "FAILED").await;
        assert!(
            list[1]["error"]
                .as_str()
                .unwrap()
                .starts_with("no report from the backup runner")
        );
        assert_eq!(list[1]["message"], "step 7");
        // The late runner hears why.
        let (status, answer) = report(&app, &runner, &id, json!({ "status": "succeeded" })).await;
        assert_eq!(status, 409);
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("no report from the backup runner"),
            "{answer}"
        );
    }
);

both!(
    a_request_after_the_timeout_is_accepted_without_the_timer,
    |backend| async move {
        let app = spawn_app_with(backend, |c| {
            c.integrations.backup_report_timeout_ms = 2_000;
            c.schedules.insert("backup-timeout".into(), "off".into());
        })
        .await;
        let admin = app.token(&Who::ADMIN_A);
        let repo = repository(&app, "delta").await;
        request(&app, &admin, &repo).await;
        let body = request(&app, &admin, &repo).await;
        assert_eq!(code(&body), "CONFLICT", "in flight: {body}");
        tokio::time::sleep(Duration::from_millis(2_300)).await;
        let body = request(&app, &admin, &repo).await;
        assert_eq!(
            body["data"]["requestBackup"]["backup"]["status"], "REQUESTED",
            "{body}"
        );
        let list = backups(&app, &admin, &repo).await;
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["status"], "FAILED");
        // Concurrent requests: exactly one is accepted.
        tokio::time::sleep(Duration::from_millis(2_300)).await;
        let (a, b) = tokio::join!(request(&app, &admin, &repo), request(&app, &admin, &repo));
        let accepted = [&a, &b]
            .iter()
            .filter(|b| b["data"]["requestBackup"]["backup"]["status"] == "REQUESTED")
            .count();
        assert_eq!(accepted, 1, "{a} {b}");
        let list = backups(&app, &admin, &repo).await;
        let in_flight = list.iter().filter(|b| b["status"] == "REQUESTED").count();
        assert_eq!(in_flight, 1, "{list:#?}");
    }
);
