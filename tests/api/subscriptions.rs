//! Live views over `graphql-transport-ws` at `/graphql/ws`: job progress from the agent's reports,
//! a project's jobs, agent status; tenancy at the source; the protocol's rules and close codes;
//! the Origin check; the per-connection cap at the limit and one past it.

use std::time::Duration;

use serde_json::json;

use crate::agents::{heartbeat, register_agent, uuid_of};
use crate::auth::{session_cookie, sso};
use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app, spawn_app_with};
use crate::jobs::{report, setup};
use crate::ws_client::{Got, connect, signed_in};
use stack_gateway::live::{agents_topic, project_topic};

pub const JOB_PROGRESS: &str = "subscription($j: ID!) { jobProgress(jobId: $j) { id status itemsDone itemsTotal bytesDone bytesTotal } }";
const PROJECT_JOBS: &str =
    "subscription($p: ID!) { projectJobs(projectId: $p) { name status itemsDone } }";
pub const AGENT_STATUS: &str = "subscription { agentStatus { name status } }";
const QUIET: Duration = Duration::from_millis(700);

/// Waits until a subscription listens to `topic` (subscriptions without a first result give no
/// other sign that they are in place).
pub async fn listening(app: &TestApp, topic: String) {
    for _ in 0..250 {
        if app.services.live.subscribers(&topic) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("nobody listens to {topic}");
}

both!(
    job_progress_streams_the_agents_reports_until_the_job_ends,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (_, _, key, job) = setup(&app, &token).await;
        let mut ws = signed_in(&app, &token).await;
        ws.subscribe("p1", JOB_PROGRESS, json!({ "j": job })).await;
        let first = ws.next_data("p1").await;
        assert_eq!(
            first,
            json!({ "data": { "jobProgress": { "id": job, "status": "QUEUED", "itemsDone": 0, "itemsTotal": null, "bytesDone": 0, "bytesTotal": null } } })
        );
        assert_eq!(report(&app, &key, &job, "start", json!({})).await.0, 200);
        let running = ws.next_data("p1").await;
        assert_eq!(running["data"]["jobProgress"]["status"], "RUNNING");
        let progress =
            json!({ "itemsDone": 40, "itemsTotal": 100, "bytesDone": 4096, "bytesTotal": 10240 });
        assert_eq!(report(&app, &key, &job, "progress", progress).await.0, 200);
        let moved = ws.next_data("p1").await;
        assert_eq!(
            moved["data"]["jobProgress"],
            json!({ "id": job, "status": "RUNNING", "itemsDone": 40, "itemsTotal": 100, "bytesDone": 4096, "bytesTotal": 10240 })
        );
        let done = json!({ "gbTransferred": 0.5, "mailboxCount": 1 });
        assert_eq!(report(&app, &key, &job, "complete", done).await.0, 200);
        let last = ws.next_data("p1").await;
        assert_eq!(last["data"]["jobProgress"]["status"], "COMPLETED");
        assert_eq!(ws.next().await, json!({ "id": "p1", "type": "complete" }));
        // A finished job answers its state once and completes.
        ws.subscribe("p2", JOB_PROGRESS, json!({ "j": job })).await;
        assert_eq!(
            ws.next_data("p2").await["data"]["jobProgress"]["status"],
            "COMPLETED"
        );
        assert_eq!(ws.next().await, json!({ "id": "p2", "type": "complete" }));
    }
);

both!(
    a_client_that_completes_stops_receiving,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (_, _, key, job) = setup(&app, &token).await;
        let mut ws = signed_in(&app, &token).await;
        ws.subscribe("a", JOB_PROGRESS, json!({ "j": job })).await;
        ws.next_data("a").await;
        ws.send(json!({ "id": "a", "type": "complete" })).await;
        ws.barrier().await;
        assert_eq!(report(&app, &key, &job, "start", json!({})).await.0, 200);
        assert_eq!(ws.next_within(QUIET).await, Got::Silence);
        // The id is free again.
        ws.subscribe("a", JOB_PROGRESS, json!({ "j": job })).await;
        assert_eq!(
            ws.next_data("a").await["data"]["jobProgress"]["status"],
            "RUNNING"
        );
    }
);

both!(
    project_jobs_and_agent_status_follow_their_changes,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (project, agent, key, job) = setup(&app, &token).await;
        let mut ws = signed_in(&app, &token).await;
        ws.subscribe("jobs", PROJECT_JOBS, json!({ "p": project }))
            .await;
        ws.subscribe("agents", AGENT_STATUS, json!({})).await;
        listening(&app, project_topic(uuid_of(&project))).await;
        listening(&app, agents_topic(app.tenant("tenant-a").await)).await;
        assert_eq!(report(&app, &key, &job, "start", json!({})).await.0, 200);
        let update = ws.next_data("jobs").await;
        assert_eq!(
            update["data"]["projectJobs"],
            json!({ "name": "Wave 1", "status": "RUNNING", "itemsDone": 0 })
        );
        // A heartbeat of an online agent changes no status: nothing is sent.
        assert_eq!(heartbeat(&app, &key).await.0, 200);
        assert_eq!(ws.next_within(QUIET).await, Got::Silence);
        let m = "mutation($a: ID!) { revokeAgent(input: { agentId: $a }) { agent { status } } }";
        let (_, body) = app.gql(&token, m, json!({ "a": agent })).await;
        assert_eq!(
            body["data"]["revokeAgent"]["agent"]["status"], "REVOKED",
            "{body}"
        );
        let revoked = ws.next_data("agents").await;
        assert_eq!(
            revoked["data"]["agentStatus"],
            json!({ "name": "mig-01", "status": "REVOKED" })
        );
        // A newly registered agent is a change too.
        register_agent(&app, &token, "mig-02").await;
        let registered = ws.next_data("agents").await;
        assert_eq!(
            registered["data"]["agentStatus"],
            json!({ "name": "mig-02", "status": "OFFLINE" }),
            "an agent is offline until its first heartbeat"
        );
    }
);

both!(
    nothing_of_another_tenant_ever_arrives,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token_a = app.token(&Who::ADMIN_A);
        let token_b = app.token(&Who::ADMIN_B);
        let (project_a, _, key_a, job_a) = setup(&app, &token_a).await;
        let (project_b, _, _, _) = setup(&app, &token_b).await;
        let mut ws = signed_in(&app, &token_b).await;
        // Tenant A's job and project are not found for B, exactly like missing ones.
        ws.subscribe("x", JOB_PROGRESS, json!({ "j": job_a })).await;
        let refused = ws.next().await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["id"], "x");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "NOT_FOUND");
        ws.subscribe("y", PROJECT_JOBS, json!({ "p": project_a }))
            .await;
        let refused = ws.next().await;
        assert_eq!(refused["payload"][0]["extensions"]["code"], "NOT_FOUND");
        // B's own views stay silent while A's job moves and A's agent changes.
        ws.subscribe("mine", PROJECT_JOBS, json!({ "p": project_b }))
            .await;
        ws.subscribe("agents", AGENT_STATUS, json!({})).await;
        listening(&app, project_topic(uuid_of(&project_b))).await;
        listening(&app, agents_topic(app.tenant("tenant-b").await)).await;
        assert_eq!(
            report(&app, &key_a, &job_a, "start", json!({})).await.0,
            200
        );
        register_agent(&app, &token_a, "a-02").await;
        assert_eq!(ws.next_within(QUIET).await, Got::Silence);
        // A technician of A without Migrate is refused.
        let code_only = Who {
            tenant: "tenant-a",
            sub: "carol",
            roles: &["technician"],
            products: &["code"],
        };
        let mut ws = signed_in(&app, &app.token(&code_only)).await;
        ws.subscribe("z", JOB_PROGRESS, json!({ "j": job_a })).await;
        let refused = ws.next().await;
        assert_eq!(refused["payload"][0]["extensions"]["code"], "FORBIDDEN");
    }
);

both!(
    the_protocol_rules_and_close_codes_hold,
    |backend| async move {
        let app = spawn_app_with(backend, |c| c.subscriptions.init_timeout_ms = 300).await;
        let token = app.token(&Who::ADMIN_A);
        // No connection_init in time: 4408.
        let mut ws = connect(&app, &[]).await.unwrap();
        assert_eq!(ws.closed().await.0, 4408);
        // Subscribe before connection_ack: 4401.
        let mut ws = connect(&app, &[]).await.unwrap();
        ws.subscribe("1", AGENT_STATUS, json!({})).await;
        assert_eq!(ws.closed().await.0, 4401);
        // Nobody signed in, or a token that does not verify: 4403.
        let mut ws = connect(&app, &[]).await.unwrap();
        ws.send(json!({ "type": "connection_init" })).await;
        assert_eq!(ws.closed().await.0, 4403);
        let mut ws = connect(&app, &[]).await.unwrap();
        ws.send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer forged.token.here" } }))
            .await;
        assert_eq!(ws.closed().await.0, 4403);
        // A second connection_init: 4429.
        let mut ws = signed_in(&app, &token).await;
        ws.send(json!({ "type": "connection_init" })).await;
        assert_eq!(ws.closed().await.0, 4429);
        // Two live subscriptions with one id: 4409.
        let mut ws = signed_in(&app, &token).await;
        ws.subscribe("dup", AGENT_STATUS, json!({})).await;
        ws.subscribe("dup", AGENT_STATUS, json!({})).await;
        let (close, reason) = ws.closed().await;
        assert_eq!(close, 4409);
        assert_eq!(reason, "Subscriber for dup already exists");
        // Not JSON, an unknown type, a binary frame: 4400.
        for bad in [
            "not json",
            r#"{"type":"launch"}"#,
            r#"{"type":"subscribe","id":"1"}"#,
        ] {
            let mut ws = signed_in(&app, &token).await;
            ws.send_text(bad.to_string()).await;
            assert_eq!(ws.closed().await.0, 4400, "{bad}");
        }
        // Ping is answered with pong, before and after the handshake.
        let mut ws = connect(&app, &[]).await.unwrap();
        ws.send(json!({ "type": "ping" })).await;
        assert_eq!(ws.next().await, json!({ "type": "pong" }));
        ws.init(json!({ "token": token })).await;
        ws.send(json!({ "type": "ping" })).await;
        assert_eq!(ws.next().await, json!({ "type": "pong" }));
        // Invalid documents are an error message for that id, and the socket stays open.
        ws.subscribe("bad", "subscription { nope }", json!({}))
            .await;
        let refused = ws.next().await;
        assert_eq!(refused["type"], "error");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "GRAPHQL_VALIDATION_FAILED"
        );
        ws.subscribe("ok", AGENT_STATUS, json!({})).await;
        assert_eq!(ws.next_within(QUIET).await, Got::Silence);
    }
);

both!(
    the_subscription_cap_holds_at_the_limit_and_one_past_it,
    |backend| async move {
        let app = spawn_app_with(backend, |c| c.subscriptions.max_per_connection = 2).await;
        let token = app.token(&Who::ADMIN_A);
        let (project, _, key, job) = setup(&app, &token).await;
        let mut ws = signed_in(&app, &token).await;
        ws.subscribe("1", PROJECT_JOBS, json!({ "p": project }))
            .await;
        ws.subscribe("2", AGENT_STATUS, json!({})).await;
        ws.subscribe("3", JOB_PROGRESS, json!({ "j": job })).await;
        let refused = ws.next().await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["id"], "3");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        listening(&app, project_topic(uuid_of(&project))).await;
        // The two within the limit still work; completing one frees a place.
        assert_eq!(report(&app, &key, &job, "start", json!({})).await.0, 200);
        assert_eq!(
            ws.next_data("1").await["data"]["projectJobs"]["status"],
            "RUNNING"
        );
        ws.send(json!({ "id": "2", "type": "complete" })).await;
        ws.barrier().await;
        ws.subscribe("3", JOB_PROGRESS, json!({ "j": job })).await;
        assert_eq!(
            ws.next_data("3").await["data"]["jobProgress"]["status"],
            "RUNNING"
        );
    }
);

both!(
    the_handshake_checks_origin_subprotocol_and_cookie,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = app.token(&Who::ADMIN_A);
        // A foreign browser origin is refused before the upgrade.
        assert_eq!(
            connect(&app, &[("origin", "https://evil.example")])
                .await
                .err(),
            Some(403)
        );
        // PUBLIC_URL's origin and the server's own are accepted.
        assert!(
            connect(&app, &[("origin", "http://gateway.test")])
                .await
                .is_ok()
        );
        let own = format!("http://{}", app.addr);
        assert!(connect(&app, &[("origin", &own)]).await.is_ok());
        // Without the subprotocol: 400.
        let plain = app
            .client
            .get(app.url("/graphql/ws"))
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        assert_eq!(plain.status().as_u16(), 400);
        // The playground's way: the session cookie of the upgrade request.
        let cookie = session_cookie(&sso(&app, &token).await);
        let mut ws = connect(&app, &[("cookie", &cookie), ("origin", &own)])
            .await
            .unwrap();
        ws.init(json!({})).await;
        ws.subscribe("a", AGENT_STATUS, json!({})).await;
        assert_eq!(ws.next_within(QUIET).await, Got::Silence);
        // Subscriptions are refused over HTTP, with a pointer to the socket.
        let (status, body) = app.gql(&token, AGENT_STATUS, json!({})).await;
        assert_eq!(status, 400);
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
);

both!(
    a_connection_closes_when_its_credential_lapses,
    |backend| async move {
        let app = spawn_app(backend).await;
        let minted = std::time::Instant::now();
        let short = stack_gateway::auth::claims::mint(
            &app.sso,
            &stack_gateway::auth::claims::MintRequest {
                sub: "alice".into(),
                email: "alice@example.com".into(),
                name: "Alice".into(),
                tenant_id: "tenant-a".into(),
                tenant_name: "Tenant A".into(),
                roles: vec!["admin".into()],
                products: vec!["migrate".into()],
                ttl_seconds: 3,
                session_seconds: 3600,
            },
        );
        let mut ws = signed_in(&app, &short).await;
        ws.subscribe("a", AGENT_STATUS, json!({})).await;
        // Closed with 4403 (graphql-ws clients reconnect with fresh params) once the token lapses,
        // and not before: `exp` is whole seconds, so at least 2 s after minting.
        let closed = match ws.next_within(Duration::from_secs(6)).await {
            Got::Closed(code, reason) => (code, reason),
            other => panic!("expected the socket to close, got {other:?}"),
        };
        assert_eq!(closed, (4403, "Forbidden: the session has ended".into()));
        let lived = minted.elapsed();
        assert!(lived >= Duration::from_secs(2), "closed after {lived:?}");
        // A long-lived credential's connection is not touched.
        let token = app.token(&Who::ADMIN_A);
        let mut ws = signed_in(&app, &token).await;
        ws.subscribe("a", AGENT_STATUS, json!({})).await;
        assert_eq!(ws.next_within(QUIET).await, Got::Silence);
    }
);

both!(
    signing_out_closes_the_sessions_sockets_and_no_other,
    |backend| async move {
        let app = spawn_app(backend).await;
        let cookie = session_cookie(&sso(&app, &app.token(&Who::ADMIN_A)).await);
        let other = session_cookie(&sso(&app, &app.token(&Who::ADMIN_A)).await);
        assert_ne!(cookie, other);
        let mut ws = connect(&app, &[("cookie", &cookie)]).await.unwrap();
        ws.init(json!({})).await;
        ws.subscribe("a", AGENT_STATUS, json!({})).await;
        let mut kept = connect(&app, &[("cookie", &other)]).await.unwrap();
        kept.init(json!({})).await;
        kept.subscribe("a", AGENT_STATUS, json!({})).await;
        assert_eq!(ws.next_within(QUIET).await, Got::Silence);

        let out = app
            .client
            .post(app.url("/auth/logout"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 204);
        // The signed-out session's socket closes at once (on PostgreSQL through NOTIFY), with
        // the code graphql-ws clients reconnect after.
        match ws.next_within(Duration::from_secs(5)).await {
            Got::Closed(code, reason) => {
                assert_eq!(
                    (code, reason.as_str()),
                    (4403, "Forbidden: the session has ended")
                )
            }
            other => panic!("expected the socket to close, got {other:?}"),
        }
        // The same user's other session keeps its socket.
        assert_eq!(kept.next_within(QUIET).await, Got::Silence);
        // The signed-out cookie opens nothing any more.
        let mut again = connect(&app, &[("cookie", &cookie)]).await.unwrap();
        again
            .send(json!({ "type": "connection_init", "payload": {} }))
            .await;
        assert_eq!(again.closed().await.0, 4403);
        // What listened for the closed socket is gone; the kept one's session and agents
        // topics remain.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while app.services.live.listeners() != 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(app.services.live.listeners(), 2);
    }
);
