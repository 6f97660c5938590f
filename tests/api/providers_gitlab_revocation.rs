//! Token revocation when a GitLab group is disconnected (`/oauth/revoke`, RFC 7009): both
//! tokens sent after the answer, the disconnect never held up by GitLab, and a GitLab outage
//! outlived by the queued revocation task, which stops at a refusal.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::EntityTrait;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::both;
use crate::helpers::{TestApp, Who};
use crate::providers_gitlab::{app_with_gitlab, app_with_gitlab_and, connect_with};
use crate::providers_gitlab_audit::{DISCONNECT, projects};

/// Disconnects `org`, which answers DISCONNECTED without an error whatever GitLab does.
async fn disconnect(app: &TestApp, token: &str, org: &str) {
    let (_, body) = app.gql(token, DISCONNECT, json!({ "o": org })).await;
    let organization = &body["data"]["disconnectOrganization"]["organization"];
    assert_eq!(organization["status"], "DISCONNECTED", "{body}");
    assert!(body["errors"].is_null(), "{body}");
}

fn form(request: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// The revocation requests GitLab received, once the refresh token's has come (revocation runs
/// in the background after the disconnect answers) and nothing more follows; empty after 10 s.
async fn revocations(server: &MockServer) -> Vec<Request> {
    let mut last = 0;
    for _ in 0..100 {
        let seen: Vec<Request> = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == "/oauth/revoke")
            .collect();
        let done = seen
            .last()
            .is_some_and(|r| form(r)["token_type_hint"] == "refresh_token");
        if done && seen.len() == last {
            return seen;
        }
        last = seen.len();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    vec![]
}

both!(gitlab_disconnect_revokes_the_tokens, |backend| async move {
    let (app, server) = app_with_gitlab(backend).await;
    let token = app.token(&Who::ADMIN_A);
    let (org, _) = connect_with(&app, &server, &token, projects()).await;
    Mock::given(method("POST"))
        .and(path("/oauth/revoke"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    disconnect(&app, &token, &org).await;
    let revoked: Vec<BTreeMap<String, String>> = revocations(&server)
        .await
        .iter()
        .map(|r| {
            assert_eq!(
                r.headers.get("content-type").unwrap(),
                "application/x-www-form-urlencoded"
            );
            form(r)
        })
        .collect();
    let sent: Vec<(&str, &str, &str, &str)> = revoked
        .iter()
        .map(|f| {
            (
                f["client_id"].as_str(),
                f["client_secret"].as_str(),
                f["token"].as_str(),
                f["token_type_hint"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("gl-client", "gl-secret", "glat-1", "access_token"),
            ("gl-client", "gl-secret", "glrt-1", "refresh_token"),
        ]
    );

    // Connected again; GitLab's revocation fails: the disconnect still happens.
    server.reset().await;
    let (org, _) = connect_with(&app, &server, &token, projects()).await;
    Mock::given(method("POST"))
        .and(path("/oauth/revoke"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    disconnect(&app, &token, &org).await;
    // Revocation runs after the answer, each token retried on the 500; the task is queued again
    // for later (a minute by default: after this test).
    let tried: Vec<String> = revocations(&server)
        .await
        .iter()
        .map(|r| form(r)["token"].clone())
        .collect();
    assert!(tried.len() > 2, "{tried:?}");
    assert_eq!(tried.first().map(String::as_str), Some("glat-1"));
    assert_eq!(tried.last().map(String::as_str), Some("glrt-1"));
    let row = entities::organizations::Entity::find()
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.credentials_encrypted.is_none());
});

/// What the revocation fake answered: (token, hint, status) per request, in order.
type Answered = Arc<Mutex<Vec<(String, String, u16)>>>;

/// Waits until `done` holds for what the fake answered; panics after 30 s.
async fn until(answered: &Answered, what: &str, done: impl Fn(&[(String, String, u16)]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if done(&answered.lock().unwrap()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {:?}",
            answered.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both!(
    gitlab_revocation_outlives_an_outage_and_stops_at_a_refusal,
    |backend| async move {
        let (app, server) = app_with_gitlab_and(backend, |c| {
            c.integrations.gitlab_revocation_retry_base_ms = 1_000;
        })
        .await;
        let token = app.token(&Who::ADMIN_A);
        let (org, _) = connect_with(&app, &server, &token, projects()).await;
        // GitLab answers 503 until `status` says otherwise.
        let status = Arc::new(Mutex::new(503u16));
        let answered: Answered = Arc::default();
        let (now, log) = (status.clone(), answered.clone());
        Mock::given(method("POST"))
            .and(path("/oauth/revoke"))
            .respond_with(move |request: &Request| {
                let f = form(request);
                let code = *now.lock().unwrap();
                log.lock()
                    .unwrap()
                    .push((f["token"].clone(), f["token_type_hint"].clone(), code));
                match code {
                    200 => ResponseTemplate::new(200).set_body_json(json!({})),
                    401 => ResponseTemplate::new(401)
                        .set_body_json(json!({ "error": "invalid_client" })),
                    other => ResponseTemplate::new(other).set_body_string("down"),
                }
            })
            .mount(&server)
            .await;

        disconnect(&app, &token, &org).await;
        // The first try: each token three times (the client's own retries), all refused.
        let refresh_503s = |a: &[(String, String, u16)]| {
            a.iter()
                .filter(|(t, _, s)| t == "glrt-1" && *s == 503)
                .count()
        };
        until(&answered, "the first try", |a| refresh_503s(a) == 3).await;
        {
            let a = answered.lock().unwrap();
            assert_eq!(a.len(), 6, "{a:?}");
            assert!(
                a[..3]
                    .iter()
                    .all(|(t, h, _)| t == "glat-1" && h == "access_token")
            );
        }
        // GitLab is back: the queued task tries again a second later and ends the grant.
        *status.lock().unwrap() = 200;
        until(&answered, "the retry", |a| {
            a.iter()
                .any(|(t, h, s)| t == "glat-1" && h == "access_token" && *s == 200)
                && a.iter()
                    .any(|(t, h, s)| t == "glrt-1" && h == "refresh_token" && *s == 200)
        })
        .await;
        // And stops there.
        let seen = answered.lock().unwrap().len();
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(
            answered.lock().unwrap().len(),
            seen,
            "{:?}",
            answered.lock().unwrap()
        );
        assert_eq!(seen, 8);

        // Connected again; this time GitLab refuses our client: that is not retried, by the
        // client or by the queue.
        answered.lock().unwrap().clear();
        *status.lock().unwrap() = 401;
        let (org, _) = connect_with(&app, &server, &token, projects()).await;
        disconnect(&app, &token, &org).await;
        until(&answered, "the refused try", |a| a.len() == 2).await;
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let a = answered.lock().unwrap().clone();
        let tried: Vec<(&str, u16)> = a.iter().map(|(t, _, s)| (t.as_str(), *s)).collect();
        assert_eq!(tried, [("glat-1", 401), ("glrt-1", 401)]);
    }
);
