//! Desktop agents end to end: keys shown once, rotated and revoked; agents authenticate with
//! `Bearer sgak_…` and may use only the agent API; heartbeats; offline detection.

use chrono::{Duration, Utc};
use entities::{agents, outbox_events};
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use stack_gateway::graphql::relay::decode_global_id;
use stack_gateway::migrate::offline::{AgentOfflineDetection, handle};
use uuid::Uuid;

use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app};

pub const TECH_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "tess",
    roles: &["technician"],
    products: &["migrate"],
};

/// The row id behind a global ID.
pub fn uuid_of(id: &Value) -> Uuid {
    decode_global_id(id.as_str().expect("an ID")).unwrap().1
}

/// Calls the agent API with `key`; returns the status and the JSON body (null if none).
pub async fn agent_call(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn heartbeat(app: &TestApp, key: &str) -> (u16, Value) {
    agent_call(app, key, Method::POST, "/api/agent/heartbeat", None).await
}

/// Registers an agent as `token`'s admin; returns its global ID and its key.
pub async fn register_agent(app: &TestApp, token: &str, name: &str) -> (Value, String) {
    let m =
        "mutation($i: RegisterAgentInput!) { registerAgent(input: $i) { apiKey agent { id } } }";
    let input = json!({ "name": name, "hostname": format!("{name}.local"), "version": "1.0.0" });
    let (_, body) = app.gql(token, m, json!({ "i": input })).await;
    let payload = &body["data"]["registerAgent"];
    assert!(payload.is_object(), "{body}");
    (
        payload["agent"]["id"].clone(),
        payload["apiKey"].as_str().unwrap().to_string(),
    )
}

/// Payloads of the tenant's Bus events of `event_type`, oldest first.
pub async fn bus_events(app: &TestApp, token: &str, event_type: &str) -> Vec<Value> {
    let q = "query($t: String) { events(first: 100, type: $t) { edges { node { payload } } } }";
    let (_, body) = app.gql(token, q, json!({ "t": event_type })).await;
    body["data"]["events"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"]["payload"].clone())
        .collect()
}

/// The sorted keys of a JSON object.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

both!(
    agent_keys_are_shown_once_rotated_and_revoked,
    |backend| async move {
        let app = spawn_app(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let m = "mutation($i: RegisterAgentInput!) { registerAgent(input: $i) { apiKey agent { id name status apiKeyPrefix hostname version } } }";
        let input = json!({ "name": "Mail box 1", "hostname": "mig-01", "version": "1.4.2" });
        let (_, body) = app.gql(&admin, m, json!({ "i": input })).await;
        let payload = &body["data"]["registerAgent"];
        let key = payload["apiKey"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        let agent_id = payload["agent"]["id"].clone();
        assert!(key.starts_with("sgak_") && key.len() == 48, "{key}");
        assert_eq!(payload["agent"]["apiKeyPrefix"], key[..12]);
        assert_eq!(
            payload["agent"]["status"], "OFFLINE",
            "offline until it calls in"
        );

        // The key is kept only as its hash and never appears again.
        let row = agents::Entity::find_by_id(uuid_of(&agent_id))
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.api_key_hash,
            stack_gateway::auth::service::hash_secret(&key)
        );
        let (_, listed) = app
            .gql(
                &admin,
                "{ agents(first: 10) { edges { node { id name apiKeyPrefix status } } } }",
                json!({}),
            )
            .await;
        let (_, node) = app
            .gql(
                &admin,
                "query($id: ID!) { node(id: $id) { ... on Agent { name apiKeyPrefix } } }",
                json!({ "id": agent_id }),
            )
            .await;
        let (_, events) = app
            .gql(
                &admin,
                "{ events(first: 10) { edges { node { payload } } } }",
                json!({}),
            )
            .await;
        for body in [&listed, &node, &events] {
            assert!(
                !body.to_string().contains(&key[12..]),
                "the key leaked: {body}"
            );
        }
        assert_eq!(
            listed["data"]["agents"]["edges"][0]["node"]["name"],
            "Mail box 1"
        );

        // agent.registered, with exactly its fields, aggregated on the agent.
        let registered = bus_events(&app, &admin, "agent.registered").await;
        assert_eq!(registered.len(), 1);
        assert_eq!(
            keys(&registered[0]),
            ["agent_id", "hostname", "name", "version"]
        );
        assert_eq!(registered[0]["agent_id"], uuid_of(&agent_id).to_string());
        assert_eq!(registered[0]["hostname"], "mig-01");
        let outbox = outbox_events::Entity::find()
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (outbox.aggregate_type.as_str(), outbox.aggregate_id),
            ("agent", uuid_of(&agent_id))
        );

        // The key works: heartbeat, then re-registration with new details.
        let (status, body) = heartbeat(&app, &key).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["agent"]["status"], "online");
        assert_eq!(body["commands"], json!([]));
        let hello = json!({ "hostname": "mig-02", "version": "1.5.0" });
        let (status, body) =
            agent_call(&app, &key, Method::POST, "/api/agent/register", Some(hello)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["agent"]["hostname"], "mig-02");
        let registered = bus_events(&app, &admin, "agent.registered").await;
        assert_eq!(
            registered.len(),
            2,
            "re-registration emits agent.registered again"
        );
        assert_eq!(registered[1]["version"], "1.5.0");

        // Rotation: the old key stops working, the new one works.
        let m = "mutation($a: ID!) { rotateAgentKey(input: { agentId: $a }) { apiKey agent { apiKeyPrefix } } }";
        let (_, body) = app.gql(&admin, m, json!({ "a": agent_id })).await;
        let new_key = body["data"]["rotateAgentKey"]["apiKey"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(new_key, key);
        assert_eq!(
            body["data"]["rotateAgentKey"]["agent"]["apiKeyPrefix"],
            new_key[..12]
        );
        let (status, body) = heartbeat(&app, &key).await;
        assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
        assert_eq!(heartbeat(&app, &new_key).await.0, 200);

        // Revocation: the key is refused, the agent cannot be rotated back.
        let m = "mutation($a: ID!) { revokeAgent(input: { agentId: $a }) { agent { status revokedAt } } }";
        let (_, body) = app.gql(&admin, m, json!({ "a": agent_id })).await;
        assert_eq!(
            body["data"]["revokeAgent"]["agent"]["status"], "REVOKED",
            "{body}"
        );
        let (status, body) = heartbeat(&app, &new_key).await;
        assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
        let (_, body) = app
            .gql(
                &admin,
                "mutation($a: ID!) { rotateAgentKey(input: { agentId: $a }) { apiKey } }",
                json!({ "a": agent_id }),
            )
            .await;
        assert_eq!(code(&body), "CONFLICT");

        // Another tenant cannot see or touch the agent.
        let (_, body) = app
            .gql(&app.token(&Who::ADMIN_B), m, json!({ "a": agent_id }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND");
    }
);

both!(
    agents_may_use_only_the_agent_operations,
    |backend| async move {
        let app = spawn_app(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let (_, key) = register_agent(&app, &admin, "a1").await;

        // An agent key on user operations is FORBIDDEN.
        for query in [
            "{ viewer { id } }",
            "{ jobs(first: 1) { totalCount } }",
            "{ agents(first: 1) { totalCount } }",
            "{ events(first: 1) { totalCount } }",
            "{ integrations { name } }",
            "mutation { createProject(input: { name: \"x\" }) { project { id } } }",
            "mutation { registerAgent(input: { name: \"x\" }) { apiKey } }",
        ] {
            let (status, body) = app.gql(&key, query, json!({})).await;
            assert_eq!((status, code(&body)), (200, "FORBIDDEN"), "{query}: {body}");
        }
        // A user on the agent API is FORBIDDEN; nobody is UNAUTHENTICATED.
        let (status, body) = heartbeat(&app, &admin).await;
        assert_eq!((status, code(&body)), (403, "FORBIDDEN"));
        let response = app
            .client
            .post(app.url("/api/agent/heartbeat"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "UNAUTHENTICATED");

        // Wrong and malformed keys are 401, on the agent API and on /graphql.
        let unknown = format!("sgak_{}", "A".repeat(43));
        let wrong = format!("{}x", &key[..key.len() - 1]);
        for bad in [unknown.as_str(), wrong.as_str(), "sgak_short", "sgak_"] {
            let (status, body) = heartbeat(&app, bad).await;
            assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{bad}");
            let (status, body) = app.gql(bad, "{ viewer { id } }", json!({})).await;
            assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{bad}");
        }

        // Only admins register agents; technicians and viewers may not.
        let tech = app.token(&TECH_A);
        let (_, body) = app
            .gql(
                &tech,
                "mutation { registerAgent(input: { name: \"x\" }) { apiKey } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN");
        let (_, body) = app
            .gql(
                &admin,
                "mutation { registerAgent(input: { name: \"  \" }) { apiKey } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
        assert_eq!(
            agents::Entity::find()
                .all(&app.services.db)
                .await
                .unwrap()
                .len(),
            1
        );
    }
);

both!(silent_agents_go_offline, |backend| async move {
    let app = spawn_app(backend).await;
    let admin = app.token(&Who::ADMIN_A);
    let (quiet, quiet_key) = register_agent(&app, &admin, "quiet").await;
    let (lively, lively_key) = register_agent(&app, &admin, "lively").await;
    assert_eq!(heartbeat(&app, &quiet_key).await.0, 200);
    assert_eq!(heartbeat(&app, &lively_key).await.0, 200);
    // The quiet one's last heartbeat was three minutes ago, the lively one's a minute ago.
    for (id, ago) in [(&quiet, 3), (&lively, 1)] {
        let row = agents::Entity::find_by_id(uuid_of(id))
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        let mut row: agents::ActiveModel = row.into();
        row.last_heartbeat_at = Set(Some(Utc::now() - Duration::minutes(ago)));
        row.update(&app.services.db).await.unwrap();
    }
    let marked = handle(
        &app.services.agents,
        AgentOfflineDetection { tick: Utc::now() },
    )
    .await
    .unwrap();
    assert_eq!(marked, 1);
    let again = handle(
        &app.services.agents,
        AgentOfflineDetection { tick: Utc::now() },
    )
    .await
    .unwrap();
    assert_eq!(again, 0, "idempotent");
    let q = "query($id: ID!) { node(id: $id) { ... on Agent { status lastHeartbeatAt } } }";
    let (_, body) = app.gql(&admin, q, json!({ "id": quiet })).await;
    assert_eq!(body["data"]["node"]["status"], "OFFLINE");
    let (_, body) = app.gql(&admin, q, json!({ "id": lively })).await;
    assert_eq!(body["data"]["node"]["status"], "ONLINE");
    // Its next heartbeat brings it back.
    assert_eq!(
        heartbeat(&app, &quiet_key).await.1["agent"]["status"],
        "online"
    );
    let online = agents::Entity::find()
        .filter(agents::Column::Status.eq(entities::enums::AgentStatus::Online))
        .all(&app.services.db)
        .await
        .unwrap();
    assert_eq!(online.len(), 2);
});
