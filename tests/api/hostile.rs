//! Hostile input (issue #15): a token that slices badly in a WebSocket init, open redirects out
//! of the SSO hand-off.

use serde_json::json;

use crate::both;
use crate::helpers::{TestApp, Who, spawn_app};
use crate::ws_client::{Got, connect};

/// What the server answers `connection_init` carrying `payload`.
async fn init_with(app: &TestApp, payload: serde_json::Value) -> Got {
    let mut ws = connect(app, &[]).await.expect("upgrade");
    ws.send(json!({ "type": "connection_init", "payload": payload }))
        .await;
    ws.next_within(std::time::Duration::from_secs(5)).await
}

both!(
    a_multi_byte_init_token_is_refused_and_the_server_goes_on,
    |backend| async move {
        let app = spawn_app(backend).await;
        // Byte 7 falls inside `€`: slicing there panicked the connection.
        for payload in [
            json!({ "authorization": "Beare€ x" }),
            json!({ "Authorization": "€€€€€€€€" }),
            json!({ "token": "abcdef€" }),
            json!({ "authorization": "Bearer \u{0}\n" }),
        ] {
            match init_with(&app, payload.clone()).await {
                Got::Closed(4403, _) => {}
                other => panic!("{payload}: expected 4403, got {other:?}"),
            }
        }
        let token = app.token(&Who::ADMIN_A);
        let mut ws = connect(&app, &[]).await.expect("upgrade");
        ws.init(json!({ "authorization": format!("Bearer {token}") }))
            .await;
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
    }
);

both!(
    the_sso_redirect_refuses_every_way_off_this_origin,
    |backend| async move {
        let app = spawn_app(backend).await;
        let cases = [
            ("/\t/evil.example", "/"),
            ("/\n/evil.example", "/"),
            ("/\r\n/evil.example", "/"),
            ("/ /evil.example", "/"),
            ("/\\evil.example", "/"),
            ("\\\\evil.example", "/"),
            ("/%2F%2Fevil.example", "/"),
            ("/%252F%252Fevil.example", "/"),
            ("/%5Cevil.example", "/"),
            ("/%09/evil.example", "/"),
            ("https://evil.example", "/"),
            ("//evil.example", "/"),
            ("///evil.example", "/"),
            ("/.//evil.example", "/"),
            ("javascript:alert(1)", "/"),
            ("/\u{3000}/evil.example", "/"),
            ("/projects?x=1", "/projects?x=1"),
            ("/playground/x#top", "/playground/x#top"),
        ];
        for (target, expected) in cases {
            let token = app.token(&Who::ADMIN_A);
            let response = app
                .client
                .get(app.url("/auth/sso"))
                .query(&[("token", token.as_str()), ("redirect", target)])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 303, "{target:?}");
            assert_eq!(response.headers()["location"], expected, "{target:?}");
        }
        let missing = app.client.get(app.url("/auth/sso")).send().await.unwrap();
        assert_eq!(missing.status(), 400);
    }
);

/// `serve` with its output piped (as under a service manager) prints how to get a sign-in link,
/// not a live admin token.
#[tokio::test]
async fn serve_prints_no_sign_in_token_into_a_pipe() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stack-gateway"))
        .arg("serve")
        .env("DATA_DIR", dir.path())
        .env("BIND_ADDR", "127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .env_remove("PORTAL_SSO_SECRET")
        .env_remove("GATEWAY_ENV")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains("sign in");
            seen.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    child.kill().await.ok();
    assert_eq!(found, Ok(true), "{seen:?}");
    assert!(seen.iter().all(|l| !l.contains("token=")), "{seen:?}");
    assert!(
        seen.iter()
            .any(|l| l.contains("stack-gateway token --print-link")),
        "{seen:?}"
    );
}
