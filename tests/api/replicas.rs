//! Several replicas on one PostgreSQL: what one process receives reaches subscribers on the
//! others (LISTEN/NOTIFY). Replica A runs in the test process; replica B is the real binary in a
//! process of its own, on A's database.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::agents::uuid_of;
use crate::helpers::{Backend, SECRET, Who, spawn_app};
use crate::jobs::{report, setup};
use crate::subscriptions::{AGENT_STATUS, JOB_PROGRESS, listening};
use crate::ws_client::{connect_to, signed_in};
use stack_gateway::live::agents_topic;

/// `stack-gateway serve` in its own process; killed when dropped.
struct Replica {
    addr: String,
    client: reqwest::Client,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Replica {
    async fn start(database_url: &str) -> Replica {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let dir = tempfile::tempdir().unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stack-gateway"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("PORTAL_SSO_SECRET", SECRET)
            // The test server's key ([42; 32]), so both replicas open the same sealed secrets.
            .env("GATEWAY_ENCRYPTION_KEY", "2a".repeat(32))
            .env("BIND_ADDR", &addr)
            .env("DATA_DIR", dir.path())
            .env("PUBLIC_URL", "http://gateway.test")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the stack-gateway binary starts");
        let client = reqwest::Client::new();
        for _ in 0..120 {
            let up = client
                .get(format!("http://{addr}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return Replica {
                    addr,
                    client,
                    _child: child,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("replica B did not come up on {addr}");
    }

    async fn post(&self, path: &str, bearer: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("http://{}{path}", self.addr))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_replica_receives_reaches_subscribers_on_the_other() {
    let a = spawn_app(Backend::Postgres).await;
    let b = Replica::start(a.services.config.database_url.as_deref().unwrap()).await;
    let token = a.token(&Who::ADMIN_A);
    let (_, agent, key, job) = setup(&a, &token).await;

    let mut on_a = signed_in(&a, &token).await;
    let mut on_b = connect_to(&b.addr, &[]).await.expect("upgrade on B");
    on_b.init(json!({ "authorization": format!("Bearer {token}") }))
        .await;
    on_a.subscribe("a", JOB_PROGRESS, json!({ "j": job })).await;
    on_b.subscribe("b", JOB_PROGRESS, json!({ "j": job })).await;
    assert_eq!(
        on_a.next_data("a").await["data"]["jobProgress"]["status"],
        "QUEUED"
    );
    assert_eq!(
        on_b.next_data("b").await["data"]["jobProgress"]["status"],
        "QUEUED"
    );

    // The agent reports to B: A's subscriber hears it (and B's own).
    let start = format!("/api/agent/jobs/{}/start", uuid_of(&job));
    assert_eq!(b.post(&start, &key, json!({})).await.0, 200);
    assert_eq!(
        on_a.next_data("a").await["data"]["jobProgress"]["status"],
        "RUNNING"
    );
    assert_eq!(
        on_b.next_data("b").await["data"]["jobProgress"]["status"],
        "RUNNING"
    );

    // And to A: B's subscriber hears it.
    let progress = json!({ "itemsDone": 7, "itemsTotal": 9, "bytesDone": 70, "bytesTotal": 90 });
    assert_eq!(report(&a, &key, &job, "progress", progress).await.0, 200);
    assert_eq!(
        on_b.next_data("b").await["data"]["jobProgress"]["itemsDone"],
        7
    );
    assert_eq!(
        on_a.next_data("a").await["data"]["jobProgress"]["itemsDone"],
        7
    );

    // Agent status too: revoked through B, seen on A.
    on_a.subscribe("s", AGENT_STATUS, json!({})).await;
    listening(&a, agents_topic(a.tenant("tenant-a").await)).await;
    let revoke = "mutation($a: ID!) { revokeAgent(input: { agentId: $a }) { agent { status } } }";
    let (status, body) = b
        .post(
            "/graphql",
            &token,
            json!({ "query": revoke, "variables": { "a": agent } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        on_a.next_data("s").await["data"]["agentStatus"]["status"],
        "REVOKED"
    );
}
