//! Bus events through the outbox: written with the change, delivered as CloudEvents, nothing lost
//! while the Bus is down, order kept per aggregate, the event id stable across redeliveries.

use std::time::Duration;

use serde_json::{Value, json};
use stack_gateway::integrations::bus::{self, events::DocumentationRefreshed};
use uuid::Uuid;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app, spawn_app_with};

/// The events the fake Bus received (probes of `/health` left out).
async fn bus_requests(mock: &MockServer) -> Vec<Value> {
    event_posts(mock)
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn event_posts(mock: &MockServer) -> Vec<wiremock::Request> {
    let all = mock.received_requests().await.unwrap();
    all.into_iter()
        .filter(|r| r.method == wiremock::http::Method::POST && r.url.path() == "/events")
        .collect()
}

async fn wait_until(mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..150 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out");
}

async fn delivered(app: &TestApp, token: &str) -> Vec<Value> {
    let (_, body) = app
        .gql(
            token,
            "{ events(first: 100) { edges { node { id type payload deliveredAt attempts } } } }",
            json!({}),
        )
        .await;
    body["data"]["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

both!(
    request_backup_emits_code_backup_requested_as_a_cloud_event,
    |backend| async move {
        let mock = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/events"))
            .respond_with(ResponseTemplate::new(202))
            .mount(&mock)
            .await;
        let uri = mock.uri();
        let app = spawn_app_with(backend, move |c| {
            c.integrations.bus_api_url = Some(uri);
            c.integrations.bus_integration_key = Some("bus-key".into());
        })
        .await;
        let tenant = app.tenant("tenant-a").await;
        let repos = app.seed_code(tenant, "alpha", 1, 1, 0).await;
        let token = app.token(&Who::ADMIN_A);
        let repo_id = stack_gateway::graphql::relay::global_id("Repository", repos[0]).0;
        let m = "mutation($r: ID!) { requestBackup(input: { repositoryId: $r }) { backup { id status repositoryId } } }";
        let (_, body) = app.gql(&token, m, json!({ "r": repo_id })).await;
        assert_eq!(
            body["data"]["requestBackup"]["backup"]["status"], "REQUESTED",
            "{body}"
        );
        let backup_id = body["data"]["requestBackup"]["backup"]["id"]
            .as_str()
            .unwrap()
            .to_string();

        wait_until(async || !bus_requests(&mock).await.is_empty()).await;
        let received = event_posts(&mock).await;
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].headers["x-integration-key"], "bus-key");
        assert_eq!(
            received[0].headers["content-type"],
            "application/cloudevents+json"
        );
        let event: Value = serde_json::from_slice(&received[0].body).unwrap();
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["type"], "code.backup.requested");
        assert_eq!(event["tenantid"], "tenant-a");
        let data = event["data"].as_object().unwrap();
        let mut keys: Vec<_> = data.keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["job_id", "org_id", "repo_id"],
            "exactly the seed's payload fields"
        );
        assert_eq!(data["repo_id"], repos[0].to_string());
        let (_, job) = stack_gateway::graphql::relay::decode_global_id(&backup_id).unwrap();
        assert_eq!(data["job_id"], job.to_string());

        wait_until(async || delivered(&app, &token).await[0]["deliveredAt"].is_string()).await;
        let events = delivered(&app, &token).await;
        assert_eq!(events[0]["id"], event["id"]);
        assert_eq!(events[0]["payload"], event["data"]);

        // A second request while the first is in progress is a conflict and writes no event.
        let (_, body) = app.gql(&token, m, json!({ "r": repo_id })).await;
        assert_eq!(code(&body), "CONFLICT");
        assert_eq!(delivered(&app, &token).await.len(), 1);
        // Another tenant cannot back up this repository; a viewer cannot back up at all.
        let (_, body) = app
            .gql(&app.token(&Who::ADMIN_B), m, json!({ "r": repo_id }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND");
        let viewer = app.token(&Who {
            tenant: "tenant-a",
            sub: "v",
            roles: &["viewer"],
            products: &["code"],
        });
        let (_, body) = app.gql(&viewer, m, json!({ "r": repo_id })).await;
        assert_eq!(code(&body), "FORBIDDEN");
    }
);

both!(
    events_wait_while_the_bus_is_down_and_keep_their_order_and_ids,
    |backend| async move {
        let mock = MockServer::start().await;
        let uri = mock.uri();
        let app = spawn_app_with(backend, move |c| {
            c.integrations.bus_api_url = Some(uri);
            c.integrations.bus_integration_key = Some("bus-key".into());
        })
        .await;
        let tenant = app.tenant("tenant-a").await;
        let (repo_a, repo_b) = (Uuid::now_v7(), Uuid::now_v7());
        // Repository A's first event fails twice; B is unaffected.
        Mock::given(method("POST"))
            .and(body_partial_json(json!({ "data": { "doc_type": "a-1" } })))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .mount(&mock)
            .await;
        Mock::given(method("POST"))
            .and(header("x-integration-key", "bus-key"))
            .respond_with(ResponseTemplate::new(202))
            .mount(&mock)
            .await;
        for (repo, doc) in [
            (repo_a, "a-1"),
            (repo_b, "b-1"),
            (repo_a, "a-2"),
            (repo_b, "b-2"),
            (repo_a, "a-3"),
        ] {
            bus::enqueue(
                &app.services.db,
                tenant,
                &DocumentationRefreshed {
                    doc_type: doc.into(),
                    repo_id: repo,
                },
            )
            .await
            .unwrap();
        }
        app.services.bus_wake.notify_one();
        wait_until(async || {
            bus_requests(&mock)
                .await
                .iter()
                .filter(|e| e["data"]["doc_type"].as_str().unwrap().starts_with("a-"))
                .count()
                >= 5
        })
        .await;
        let sent: Vec<(String, String)> = bus_requests(&mock)
            .await
            .iter()
            .map(|e| {
                (
                    e["data"]["doc_type"].as_str().unwrap().to_string(),
                    e["id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let a_order: Vec<&str> = sent
            .iter()
            .filter(|(d, _)| d.starts_with("a-"))
            .map(|(d, _)| d.as_str())
            .collect();
        assert_eq!(
            a_order,
            ["a-1", "a-1", "a-1", "a-2", "a-3"],
            "a-2 waits until a-1 is through"
        );
        let b_order: Vec<&str> = sent
            .iter()
            .filter(|(d, _)| d.starts_with("b-"))
            .map(|(d, _)| d.as_str())
            .collect();
        assert_eq!(b_order, ["b-1", "b-2"], "another aggregate is not held up");
        let a1_ids: Vec<&str> = sent
            .iter()
            .filter(|(d, _)| d == "a-1")
            .map(|(_, id)| id.as_str())
            .collect();
        assert!(
            a1_ids.windows(2).all(|w| w[0] == w[1]),
            "redelivery keeps the event id"
        );
        let token = app.token(&Who::ADMIN_A);
        wait_until(async || {
            delivered(&app, &token)
                .await
                .iter()
                .all(|e| e["deliveredAt"].is_string())
        })
        .await;
        let events = delivered(&app, &token).await;
        assert_eq!(events.len(), 5);
        assert_eq!(events[0]["attempts"], 3);
    }
);

both!(
    without_a_bus_events_are_kept_not_lost,
    |backend| async move {
        let app = spawn_app(backend).await;
        let tenant = app.tenant("tenant-a").await;
        bus::enqueue(
            &app.services.db,
            tenant,
            &DocumentationRefreshed {
                doc_type: "api".into(),
                repo_id: Uuid::now_v7(),
            },
        )
        .await
        .unwrap();
        app.services.bus_wake.notify_one();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let token = app.token(&Who::ADMIN_A);
        let events = delivered(&app, &token).await;
        assert_eq!(events.len(), 1);
        assert!(events[0]["deliveredAt"].is_null());
        assert_eq!(events[0]["attempts"], 0);
        assert_eq!(events[0]["type"], "code.documentation.refreshed");
        // Tenant B sees none of A's events.
        let (_, body) = app
            .gql(
                &app.token(&Who::ADMIN_B),
                "{ events(first: 10) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(body["data"]["events"]["totalCount"], 0);
    }
);
