//! Database outages (docs/decisions.md, "Database outages"): a connection cut by a shutdown and a
//! database that cannot be reached both answer `DB_UNAVAILABLE` within
//! `DATABASE_ACQUIRE_TIMEOUT_MS`, never `INTERNAL`, and nothing is written. The machine's shared
//! PostgreSQL keeps running: the test's own backends are terminated (SQLSTATE 57P01, as in a real
//! shutdown), and "down" is a proxy in front of it that stops listening and drops its
//! connections. SQLite cannot be cut or go away under a running process (it holds the file
//! open); its outage is another process holding the write lock past the wait.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use entities::projects;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::net::{TcpListener, TcpStream};

use crate::both;
use crate::helpers::{Backend, TestApp, Who, admin_pg_url, code, spawn_app_with};

const WAIT_MS: u64 = 1000;
const CREATE: &str =
    "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }";
const LIST: &str = "{ projects(first: 5) { edges { node { id } } } }";

async fn timed(app: &TestApp, token: &str, query: &str, variables: Value) -> (Value, Duration) {
    let started = Instant::now();
    let (_, body) = app.gql(token, query, variables).await;
    (body, started.elapsed())
}

async fn create(app: &TestApp, token: &str, name: &str) -> (Value, Duration) {
    timed(app, token, CREATE, json!({ "i": { "name": name } })).await
}

async fn projects_named(app: &TestApp, name: &str) -> u64 {
    projects::Entity::find()
        .filter(projects::Column::Name.eq(name))
        .count(&app.services.db)
        .await
        .unwrap()
}

/// Asserts `DB_UNAVAILABLE` within the configured wait (plus slack for a loaded machine; the
/// old behaviour waited 10 s and answered `INTERNAL` for cut connections).
fn assert_unavailable(what: &str, body: &Value, took: Duration) {
    assert_eq!(code(body), "DB_UNAVAILABLE", "{what}: {body}");
    assert!(!body.to_string().contains("SQL"), "{what}: {body}");
    assert!(
        took < Duration::from_millis(WAIT_MS + 3000),
        "{what} took {took:?}"
    );
}

/// Another connection to the SQLite data file in a write transaction: the server's writers
/// wait for the lock and give up after the configured wait.
async fn hold_sqlite_write_lock(app: &TestApp) -> sqlx::SqliteConnection {
    let path = app.services.config.data_dir.join("gateway.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

/// A connection of the test's own to the app's PostgreSQL database.
async fn pg_connection(app: &TestApp) -> sqlx::PgConnection {
    let url = app.services.config.database_url.clone().unwrap();
    sqlx::PgConnection::connect(&url).await.unwrap()
}

/// Waits until one of the app's statements waits for a lock (the request is in flight).
async fn until_blocked(admin: &mut sqlx::PgConnection) {
    for _ in 0..100 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut *admin)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the request never reached the database");
}

both!(
    cut_connections_answer_db_unavailable,
    |backend| async move {
        let app = spawn_app_with(backend, |c| c.database_acquire_timeout_ms = WAIT_MS).await;
        let token = app.token(&Who::ADMIN_A);
        let (body, _) = create(&app, &token, "before").await;
        assert!(
            body["data"]["createProject"]["project"]["id"].is_string(),
            "{body}"
        );

        let body = match backend {
            Backend::Postgres => {
                // A request in flight when its connection is cut: it waits on a lock we hold, then
                // every other backend of the database is terminated (57P01, as in a shutdown).
                // sqlx replaces idle connections cut this way by itself; the in-flight one is the
                // case a client sees.
                let mut admin = pg_connection(&app).await;
                sqlx::raw_sql("BEGIN; LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let request = {
                    let (client, url, token) =
                        (app.client.clone(), app.url("/graphql"), token.clone());
                    tokio::spawn(async move {
                        let body =
                            json!({ "query": CREATE, "variables": { "i": { "name": "during" } } });
                        let response = client
                            .post(url)
                            .bearer_auth(token)
                            .header("accept", "application/graphql-response+json")
                            .json(&body)
                            .send()
                            .await
                            .unwrap();
                        response.json::<Value>().await.unwrap()
                    })
                };
                until_blocked(&mut admin).await;
                sqlx::raw_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .execute(&mut admin)
                .await
                .unwrap();
                let body = request.await.unwrap();
                sqlx::raw_sql("ROLLBACK").execute(&mut admin).await.unwrap();
                body
            }
            Backend::Sqlite => {
                let mut lock = hold_sqlite_write_lock(&app).await;
                let (body, took) = create(&app, &token, "during").await;
                assert_unavailable("a write while another process holds the lock", &body, took);
                sqlx::raw_sql("ROLLBACK").execute(&mut lock).await.unwrap();
                body
            }
        };
        assert_eq!(code(&body), "DB_UNAVAILABLE", "{body}");
        assert!(!body.to_string().contains("57P01"), "{body}");

        // The pool replaces what was cut: the service comes back without a restart.
        let mut recovered = false;
        for _ in 0..10 {
            let (body, _) = create(&app, &token, "after").await;
            if body["data"]["createProject"]["project"]["id"].is_string() {
                recovered = true;
                break;
            }
            assert_eq!(code(&body), "DB_UNAVAILABLE", "{body}");
        }
        assert!(recovered, "the server did not recover after the cut");
        assert_eq!(projects_named(&app, "during").await, 0);
    }
);

/// A TCP proxy in front of PostgreSQL; `down` stops listening and cuts every connection.
struct Proxy {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
}

async fn pg_proxy() -> Proxy {
    let upstream = url::Url::parse(&admin_pg_url()).unwrap();
    let upstream = format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap_or(5432)
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut pipes = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => {
                    let Ok((mut client, _)) = accepted else { continue };
                    let upstream = upstream.clone();
                    pipes.spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
            }
        }
        // Dropping the listener refuses new connections; aborting the pipes cuts the open ones.
        drop(listener);
        pipes.abort_all();
    });
    Proxy { addr, stop }
}

both!(unreachable_database_fails_fast, |backend| async move {
    let proxy = pg_proxy().await;
    let app = spawn_app_with(backend, |c| {
        c.database_acquire_timeout_ms = WAIT_MS;
        if let Some(url) = &c.database_url {
            let mut url = url::Url::parse(url).unwrap();
            url.set_host(Some("127.0.0.1")).unwrap();
            url.set_port(Some(proxy.addr.port())).unwrap();
            c.database_url = Some(url.to_string());
        }
    })
    .await;
    let token = app.token(&Who::ADMIN_A);
    let (body, _) = create(&app, &token, "before").await;
    assert!(
        body["data"]["createProject"]["project"]["id"].is_string(),
        "{body}"
    );

    let _lock = match backend {
        Backend::Postgres => {
            proxy.stop.send(()).unwrap();
            None
        }
        Backend::Sqlite => Some(hold_sqlite_write_lock(&app).await),
    };
    for attempt in 0..3 {
        let (body, took) = create(&app, &token, "down").await;
        assert_unavailable(&format!("write {attempt}"), &body, took);
    }
    if backend == Backend::Postgres {
        // Reads too (SQLite still serves reads from the file while a writer holds the lock).
        let (body, took) = timed(&app, &token, LIST, json!({})).await;
        assert_unavailable("a read", &body, took);
    }
    drop(_lock);
    if backend == Backend::Sqlite {
        assert_eq!(projects_named(&app, "down").await, 0);
    }
});
