//! Connections cannot be starved (issue #15): a request head must arrive in time, idle
//! connections are closed, and at the connection cap the health probes still answer.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both;
use crate::helpers::{TestApp, Who, spawn_app_with};
use crate::subscriptions::AGENT_STATUS;
use crate::ws_client::signed_in;

/// A client with no pooled connections: every request opens its own.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// Whether the server has closed `stream` (reads EOF or an error) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

both!(
    a_slow_loris_is_cut_off_after_the_header_timeout,
    |backend| async move {
        let app = spawn_app_with(backend, |c| {
            c.connections.header_timeout = Duration::from_millis(800);
        })
        .await;
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        let started = Instant::now();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        // One header byte every 100 ms, for at most 8 s: each byte alone arrives in time.
        let mut cut = false;
        for byte in b"X-Slow: ".iter().chain([b'a'; 72].iter()) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream.write_all(&[*byte]).await.is_err() {
                cut = true;
                break;
            }
            if closed_within(&mut stream, Duration::from_millis(1)).await {
                cut = true;
                break;
            }
        }
        let took = started.elapsed();
        assert!(cut, "the slow head was still open after {took:?}");
        assert!(took < Duration::from_secs(3), "cut only after {took:?}");
        let health = fresh_client()
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
    }
);

both!(an_idle_connection_is_closed, |backend| async move {
    let app = spawn_app_with(backend, |c| {
        c.connections.idle_timeout = Duration::from_millis(600);
    })
    .await;
    // Silent from the start, and silent after a request.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 12];
    kept.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
    assert!(closed_within(&mut kept, Duration::from_secs(3)).await);
});

both!(
    at_the_connection_cap_the_health_probes_still_answer,
    |backend| async move {
        let app = spawn_app_with(backend, |c| c.connections.max_connections = 8).await;
        let mut idle = Vec::new();
        for _ in 0..8 {
            idle.push(TcpStream::connect(app.addr).await.unwrap());
        }
        // The server has accepted them all once a ninth connection is turned away.
        let client = fresh_client();
        let mut refused = None;
        for _ in 0..50 {
            let response = client
                .get(app.url("/graphql?query={__typename}"))
                .send()
                .await
                .unwrap();
            if response.status() == 503 {
                refused = Some(response.json::<serde_json::Value>().await.unwrap());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let refused = refused.expect("a request past the cap is refused");
        assert_eq!(refused["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        for path in ["/healthz", "/readyz"] {
            let response = client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
        }
        drop(idle);
        assert!(
            serves_again(&app, &client).await,
            "normal requests after the idle sockets left"
        );
    }
);

async fn serves_again(app: &TestApp, client: &reqwest::Client) -> bool {
    for _ in 0..100 {
        let response = client
            .post(app.url("/graphql"))
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

both!(
    a_websocket_with_a_subscription_outlives_the_idle_timeout,
    |backend| async move {
        let app = spawn_app_with(backend, |c| {
            c.connections.idle_timeout = Duration::from_millis(300);
            c.connections.header_timeout = Duration::from_millis(300);
        })
        .await;
        let token = app.token(&Who::ADMIN_A);
        let mut ws = signed_in(&app, &token).await;
        ws.subscribe("s", AGENT_STATUS, json!({})).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        ws.barrier().await;
    }
);
