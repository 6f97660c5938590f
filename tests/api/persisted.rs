//! Persisted operations: automatic persisted queries (hash first, document on
//! PERSISTED_QUERY_NOT_FOUND), the production allow-list filled by `stack-gateway operations`,
//! and the switch that turns hashes off; bad hashes are refused.

use serde_json::{Value, json};
use stack_gateway::graphql::persisted::{Mode, hash_of};

use crate::both;
use crate::helpers::{Backend, TestApp, Who, code, spawn_app, spawn_app_with};

const VIEWER: &str = "query Viewer { viewer { email } }";

/// POSTs `body` with a Bearer token; returns status and JSON.
async fn post(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

both!(
    automatic_persisted_queries_register_on_the_retry,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let hash = hash_of(VIEWER);
        // The hash alone: unknown yet, with the code clients retry on.
        let (status, body) = post(&app, &token, json!({ "extensions": persisted(&hash) })).await;
        assert_eq!(status, 400);
        assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
        assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
        // The retry with the document runs it and registers it.
        let (status, body) = post(
            &app,
            &token,
            json!({ "query": VIEWER, "extensions": persisted(&hash) }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["viewer"]["email"], "alice@example.com");
        // From now on the hash is enough, by POST and by GET.
        let (status, by_hash) = post(&app, &token, json!({ "extensions": persisted(&hash) })).await;
        assert_eq!(status, 200);
        assert_eq!(by_hash, body);
        let response = app
            .client
            .get(app.url("/graphql"))
            .bearer_auth(&token)
            .query(&[("extensions", persisted(&hash).to_string())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.json::<Value>().await.unwrap(), body);
        // A hash that is not the document's, a malformed hash, another version: refused.
        let other = hash_of("query { viewer { name } }");
        for extensions in [
            persisted(&other),
            persisted("not-a-hash"),
            json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }),
        ] {
            let (status, body) = post(
                &app,
                &token,
                json!({ "query": VIEWER, "extensions": extensions }),
            )
            .await;
            assert_eq!(status, 400, "{extensions}: {body}");
            assert_eq!(code(&body), "BAD_USER_INPUT");
            assert!(body.get("data").is_none());
        }
        // Neither a document nor a hash.
        let (status, body) = post(&app, &token, json!({ "variables": {} })).await;
        assert_eq!(status, 400);
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
);

/// Runs `stack-gateway operations <paths>` against `app`'s database.
fn register_with_the_cli(app: &TestApp, backend: Backend, paths: &[&std::path::Path]) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stack-gateway"));
    command
        .arg("operations")
        .args(paths)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", &app.services.config.data_dir)
        .env("RUST_LOG", "warn");
    if backend == Backend::Postgres {
        command.env(
            "DATABASE_URL",
            app.services.config.database_url.as_deref().unwrap(),
        );
    }
    let output = command.output().expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

both!(
    the_allow_list_runs_only_registered_operations,
    |backend| async move {
        let app = spawn_app_with(backend, |c| c.persisted_operations = Mode::AllowList).await;
        let token = app.token(&Who::ADMIN_A);
        let front_end = tempfile::tempdir().unwrap();
        std::fs::write(front_end.path().join("viewer.graphql"), VIEWER).unwrap();
        let jobs = "query Jobs { jobs(first: 5) { totalCount } }";
        let manifest = json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [ { "id": hash_of(jobs), "name": "Jobs", "type": "query", "body": jobs } ] });
        std::fs::write(front_end.path().join("manifest.json"), manifest.to_string()).unwrap();
        let printed = register_with_the_cli(&app, backend, &[front_end.path()]);
        assert!(printed.contains(&hash_of(VIEWER)), "{printed}");
        assert!(printed.contains("2 operations registered"), "{printed}");
        // Registered: by hash, or as the very same document.
        let (status, body) = post(
            &app,
            &token,
            json!({ "extensions": persisted(&hash_of(VIEWER)) }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["viewer"]["email"], "alice@example.com");
        let (status, body) = post(&app, &token, json!({ "query": jobs })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["jobs"]["totalCount"], 0);
        // Anything else is refused, and an APQ registration does not sneak it in.
        let other = "query { viewer { name } }";
        for body in [
            json!({ "query": other }),
            json!({ "query": other, "extensions": persisted(&hash_of(other)) }),
            json!({ "extensions": persisted(&hash_of(other)) }),
        ] {
            let (status, answer) = post(&app, &token, body.clone()).await;
            assert_eq!(status, 403, "{body}: {answer}");
            assert_eq!(code(&answer), "FORBIDDEN");
            assert!(answer.get("data").is_none());
        }
        // Registering twice is harmless.
        let again = register_with_the_cli(&app, backend, &[front_end.path()]);
        assert!(again.contains("2 operations registered"), "{again}");
    }
);

both!(hashes_can_be_switched_off, |backend| async move {
    let app = spawn_app_with(backend, |c| c.persisted_operations = Mode::Off).await;
    let token = app.token(&Who::ADMIN_A);
    let (status, body) = post(
        &app,
        &token,
        json!({ "query": VIEWER, "extensions": persisted(&hash_of(VIEWER)) }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_SUPPORTED");
    let (status, body) = post(&app, &token, json!({ "query": VIEWER })).await;
    assert_eq!(status, 200, "{body}");
});
