//! Read-graph benchmark (`cargo bench --bench read_graph`; see docs/benchmarks.md).
//!
//! Seeds a fresh PostgreSQL database with 100 tenants × 1,000 repositories × 20 findings, starts
//! the real server (the release binary, `serve`) on it, and drives two reference queries from
//! in-process connections at 1, 4 and 32 connections:
//!
//! * Q1: a page of 50 repositories with 5 findings each (1 + depth = 2 statements);
//! * Q2: one repository by global id (1 statement).
//!
//! Each cell is measured twice in the same run: through the gateway, and as the same SQL
//! statements replayed directly against PostgreSQL with sqlx at the same concurrency. It prints
//! requests/s, p50/p99 latency, statements per request (from `/metrics`), the gateway/raw ratio,
//! the CPU split between server, PostgreSQL and client, and the server's memory, then PASS/MISS
//! per target. It is a report: it exits 0 whatever the figures, and 1 only when something is
//! broken (the server does not start, a request fails, the data is not what was seeded).
//!
//! Settings (environment): `BENCH_POSTGRES_URL` (admin URL, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), `BENCH_DATABASE` (default `gw_bench`, dropped
//! and recreated), `BENCH_SECONDS` (measured seconds per cell, default 8),
//! `BENCH_WARMUP_SECONDS` (default 1), `BENCH_ROUNDS` (slices per cell, the gateway and raw
//! sides alternating; default 4), `BENCH_CONNECTIONS` (default `1,4,32`), `BENCH_QUERIES`
//! (default `q1,q2`), `BENCH_RAW_PING=1` (the raw pool pings on each checkout, as sea-orm's does),
//! `BENCH_KEEP_DB=1` (keep the database afterwards).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entities::{findings, repositories};
use sea_orm::sea_query::{Alias, Asterisk, Expr, Query};
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use stack_gateway::auth::claims::{MintRequest, mint};
use stack_gateway::config::SsoConfig;
use stack_gateway::graphql::relay::global_id;
use uuid::Uuid;

const TENANTS: u64 = 100;
const REPOS_PER_TENANT: u64 = 1_000;
const FINDINGS_PER_REPO: u64 = 20;
const PAGE: u64 = 50;
const NESTED: u64 = 5;
/// The HS256 secret the server is started with and the bench signs tokens with (40 bytes).
const SECRET: &str = "read-graph-bench-secret-0123456789abcdef";
/// Below this share of the raw-SQL rate at 32 connections a query misses its target.
const RATIO_TARGET: f64 = 0.35;
const MEMORY_TARGET_MIB: f64 = 64.0;
/// Linux `USER_HZ`: the unit of the CPU times in `/proc`.
const TICKS_PER_SECOND: f64 = 100.0;
/// Warm-up before each later slice of a cell: new connections only, the caches are warm.
const ROUND_WARMUP: f64 = 0.3;

const Q1: &str = "query Q1($after: String) { repositories(first: 50, after: $after) { edges { node { id name findings(first: 5) { edges { node { id title severity } } } } } } }";
const Q2: &str =
    "query Q2($id: ID!) { node(id: $id) { ... on Repository { id name url healthScore } } }";

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    admin_url: String,
    database: String,
    seconds: f64,
    warmup: f64,
    /// Slices each side's measured seconds are cut into, the sides alternating.
    rounds: usize,
    connections: Vec<usize>,
    queries: Vec<Q>,
    raw_ping: bool,
    keep_db: bool,
}

impl Settings {
    fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: f64| -> anyhow::Result<f64> {
            match var(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| *n > 0.0 && *n <= 600.0)
                    .ok_or_else(|| anyhow!("{name}={v:?} is not a number of seconds (0–600)")),
            }
        };
        let connections = match var("BENCH_CONNECTIONS") {
            None => vec![1, 4, 32],
            Some(list) => list
                .split(',')
                .map(|c| {
                    c.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=64).contains(n))
                        .ok_or_else(|| anyhow!("BENCH_CONNECTIONS: {c:?} is not 1 to 64"))
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let queries = match var("BENCH_QUERIES") {
            None => vec![Q::Page, Q::ById],
            Some(list) => list
                .split(',')
                .map(|q| match q.trim().to_ascii_lowercase().as_str() {
                    "q1" => Ok(Q::Page),
                    "q2" => Ok(Q::ById),
                    other => Err(anyhow!("BENCH_QUERIES: {other:?} is not q1 or q2")),
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let database = var("BENCH_DATABASE").unwrap_or_else(|| "gw_bench".into());
        ensure!(
            database
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "BENCH_DATABASE must be lower-case letters, digits and _"
        );
        Ok(Settings {
            admin_url: var("BENCH_POSTGRES_URL")
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            database,
            seconds: number("BENCH_SECONDS", 8.0)?,
            warmup: number("BENCH_WARMUP_SECONDS", 1.0)?,
            rounds: match var("BENCH_ROUNDS") {
                None => 4,
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=20).contains(n))
                    .ok_or_else(|| anyhow!("BENCH_ROUNDS: {v:?} is not 1 to 20"))?,
            },
            connections,
            queries,
            raw_ping: var("BENCH_RAW_PING").is_some_and(|v| v != "0"),
            keep_db: var("BENCH_KEEP_DB").is_some_and(|v| v != "0"),
        })
    }

    /// The admin URL with the bench database in place of its database.
    fn bench_url(&self) -> String {
        let (base, query) = match self.admin_url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (self.admin_url.as_str(), None),
        };
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        let base = match base[after_scheme..].find('/') {
            Some(i) => &base[..after_scheme + i],
            None => base,
        };
        match query {
            Some(q) => format!("{base}/{}?{q}", self.database),
            None => format!("{base}/{}", self.database),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Seeded ids: UUID v7 layout (48-bit millisecond prefix, version 7, variant 10) with a sequence
// number in the low bits, so every table's ids are time-ordered and computable on both sides.

#[derive(Clone, Copy)]
struct Ids {
    ms: u64,
}

impl Ids {
    fn uuid(ms: u64, n: u64) -> Uuid {
        Uuid::from_u128(((ms as u128) << 80) | (0x7u128 << 76) | (0x8u128 << 60) | u128::from(n))
    }
    /// The same id in SQL, `n` being an SQL expression.
    fn sql(ms: u64, n: &str) -> String {
        format!("('{ms:012x}70008' || lpad(to_hex({n}), 15, '0'))::uuid")
    }
    fn tenant(&self, t: u64) -> Uuid {
        Self::uuid(self.ms, t)
    }
    fn repository(&self, t: u64, r: u64) -> Uuid {
        Self::uuid(self.ms + 2, t * REPOS_PER_TENANT + r)
    }
}

// ---------------------------------------------------------------------------------------------
// The server process

/// The server child; killed when dropped (also when the bench panics).
struct ServerProcess {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn start(database_url: &str, data_dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = data_dir.join("server.log");
        let out = std::fs::File::create(&log)?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_stack-gateway"));
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("PORTAL_SSO_SECRET", SECRET)
            .env("GATEWAY_ENCRYPTION_KEY", STANDARD.encode([7u8; 32]))
            .env("DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .env_remove("GATEWAY_ENV")
            .env_remove("PUBLIC_URL");
        // Timers off: one firing inside a cell (agent-offline-detection runs every minute) would
        // add its statements to that cell's count. The request path is unchanged.
        for (name, _) in jobs::Schedules::TABLE {
            command.env(
                format!("SCHEDULE_{}", name.to_uppercase().replace('-', "_")),
                "off",
            );
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting the server binary")?;
        Ok(ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        })
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited ({status}):\n{}", self.log_tail());
            }
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success()
            {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("the server was not ready after 120 s:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server exited ({status}):\n{}", self.log_tail());
        }
        Ok(())
    }

    async fn statements(&self, http: &reqwest::Client) -> anyhow::Result<u64> {
        let text = http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.lines()
            .find_map(|l| l.strip_prefix("gateway_db_statements_total "))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| anyhow!("/metrics has no gateway_db_statements_total"))
    }

    /// Waits until no statement has run for a second (start-up work, token upserts).
    async fn settle(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut last = self.statements(http).await?;
        let mut quiet = 0;
        while quiet < 5 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.statements(http).await?;
            quiet = if now == last { quiet + 1 } else { 0 };
            last = now;
            ensure!(
                started.elapsed() < Duration::from_secs(60),
                "the server keeps running statements while idle"
            );
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// /proc: memory and CPU

/// (VmRSS, VmHWM) in MiB.
fn memory(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| anyhow!("no {name} in /proc/{pid}/status"))?;
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("bad {name} line: {line}"))?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// utime + stime of a process, in ticks, and its command name.
fn process_ticks(stat_path: &Path) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

#[derive(Clone, Copy, Default)]
struct CpuSnapshot {
    server: u64,
    client: u64,
    postgres: u64,
    total: u64,
    idle: u64,
}

fn cpu_snapshot(server_pid: u32) -> CpuSnapshot {
    let mut snap = CpuSnapshot::default();
    if let Some((_, t)) = process_ticks(Path::new(&format!("/proc/{server_pid}/stat"))) {
        snap.server = t;
    }
    if let Some((_, t)) = process_ticks(Path::new("/proc/self/stat")) {
        snap.client = t;
    }
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some((comm, t)) = process_ticks(&entry.path().join("stat"))
                && comm == "postgres"
            {
                snap.postgres += t;
            }
        }
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/stat")
        && let Some(line) = stat.lines().find(|l| l.starts_with("cpu "))
    {
        let values: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|v| v.parse().ok())
            .collect();
        snap.total = values.iter().sum();
        snap.idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    }
    snap
}

/// Cores used by each party between two snapshots.
#[derive(Clone, Copy, Default)]
struct CpuSplit {
    server: f64,
    postgres: f64,
    client: f64,
    other: f64,
    idle: f64,
}

fn cpu_split(before: CpuSnapshot, after: CpuSnapshot, seconds: f64) -> CpuSplit {
    let cores = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / seconds;
    let server = cores(after.server.saturating_sub(before.server));
    let postgres = cores(after.postgres.saturating_sub(before.postgres));
    let client = cores(after.client.saturating_sub(before.client));
    let busy =
        cores((after.total.saturating_sub(before.total)).saturating_sub(after.idle - before.idle));
    CpuSplit {
        server,
        postgres,
        client,
        other: (busy - server - postgres - client).max(0.0),
        idle: cores(after.idle.saturating_sub(before.idle)),
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding

struct SeedReport {
    insert: Duration,
    vacuum: Duration,
    repositories: i64,
    findings: i64,
}

async fn recreate_database(settings: &Settings) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(&settings.admin_url)
        .await
        .with_context(|| {
            format!(
                "PostgreSQL must be running at {} (BENCH_POSTGRES_URL)",
                settings.admin_url
            )
        })?;
    let db = &settings.database;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}

async fn drop_database(settings: &Settings) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(&settings.admin_url).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        settings.database
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}

async fn seed_connection(url: &str) -> anyhow::Result<PgConnection> {
    let mut conn = PgConnection::connect(url).await?;
    // The rows are generated consistent; skipping the FK triggers and the commit flush only makes
    // the load faster.
    sqlx::raw_sql("SET synchronous_commit = off; SET session_replication_role = replica")
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// Set-based inserts straight into PostgreSQL (the server has applied the migrations).
async fn seed(url: &str, ids: Ids) -> anyhow::Result<SeedReport> {
    let ms = ids.ms;
    let started = Instant::now();
    let mut conn = seed_connection(url).await?;
    let tenant = |n: &str| Ids::sql(ms, n);
    let org = |n: &str| Ids::sql(ms + 1, n);
    let repo = |n: &str| Ids::sql(ms + 2, n);
    let finding = |n: &str| Ids::sql(ms + 3, n);
    let sql = format!(
        "INSERT INTO tenants (id, hub_tenant_id, name, crm_hourly_rate_cents, notification_email, \
           created_at, updated_at) \
         SELECT {t}, 'bench-tenant-' || n, 'Bench tenant ' || n, NULL, NULL, now(), now() \
         FROM generate_series(0, {last}::bigint) AS n",
        t = tenant("n"),
        last = TENANTS - 1
    );
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
    let sql = format!(
        "INSERT INTO organizations (id, tenant_id, client_id, provider, login, name, external_id, \
           status, status_error, base_permission, credentials_encrypted, repo_count, connected_at, \
           last_discovered_at, next_retry_at, created_at, updated_at) \
         SELECT {o}, {t}, NULL, 'github', 'bench-org-' || n, 'Bench organization ' || n, NULL, \
           'connected', NULL, NULL, NULL, {REPOS_PER_TENANT}, now(), now(), NULL, now(), now() \
         FROM generate_series(0, {last}::bigint) AS n",
        o = org("n"),
        t = tenant("n"),
        last = TENANTS - 1
    );
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
    // n = t * 1000 + r
    let sql = format!(
        "INSERT INTO repositories (id, tenant_id, organization_id, client_id, name, full_name, url, \
           default_branch, visibility, archived, app_type, tech_stack, health_score, debt_score, \
           last_commit_at, commit_frequency, hosting_platform, data_classification, lifecycle, \
           external_id, missing_since, created_at, updated_at) \
         SELECT {r}, {t}, {o}, NULL, 'repo-' || (n % {R}), \
           'bench-org-' || (n / {R}) || '/repo-' || (n % {R}), \
           'https://github.com/bench-org-' || (n / {R}) || '/repo-' || (n % {R}), \
           'main', 'private', false, 'web', '[\"rust\", \"postgresql\"]'::jsonb, \
           (n * 37 % 101)::int, (n * 53 % 101)::int, now() - (n % 365) * interval '1 day', 4.5, \
           'azure', 'internal', CASE WHEN n % 5 = 4 THEN 'sunset' ELSE 'active' END, \
           'ext-' || n, NULL, now(), now() \
         FROM generate_series(0, {last}::bigint) AS n",
        r = repo("n"),
        t = tenant(&format!("n / {REPOS_PER_TENANT}")),
        o = org(&format!("n / {REPOS_PER_TENANT}")),
        R = REPOS_PER_TENANT,
        last = TENANTS * REPOS_PER_TENANT - 1
    );
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
    // n = (t * 1000 + r) * 20 + f, in two halves on two connections.
    let per_tenant = REPOS_PER_TENANT * FINDINGS_PER_REPO;
    let total = TENANTS * per_tenant;
    let findings_sql = |from: u64, to: u64| {
        format!(
            "INSERT INTO findings (id, tenant_id, repository_id, kind, access_issue, severity, \
               status, title, description, file_path, line, cve_id, package_name, package_version, \
               secret_type, remediation, fingerprint, tool, first_seen_at, last_seen_at, \
               resolved_at, created_at, updated_at) \
             SELECT {f}, {t}, {r}, \
               CASE WHEN n % 2 = 0 THEN 'vulnerability' ELSE 'secret_detected' END, NULL, \
               (ARRAY['critical', 'high', 'medium', 'low'])[1 + n % 4], 'open', \
               'Finding ' || n || ' in repo-' || (n / {F} % {R}), \
               'Seeded finding ' || n || ': a description about as long as a scanner writes one.', \
               'src/module_' || (n % 50) || '.rs', (n % 500 + 1)::int, \
               CASE WHEN n % 2 = 0 THEN 'CVE-2026-' || (n % 10000) END, \
               CASE WHEN n % 2 = 0 THEN 'package-' || (n % 300) END, \
               CASE WHEN n % 2 = 0 THEN '1.' || (n % 20) || '.0' END, \
               CASE WHEN n % 2 = 1 THEN 'aws-access-key' END, 'Rotate or upgrade.', \
               'fp-' || n, CASE WHEN n % 2 = 0 THEN 'trivy' ELSE 'gitleaks' END, \
               now() - interval '30 days', now(), NULL, now(), now() \
             FROM generate_series({from}::bigint, {to}::bigint) AS n",
            f = finding("n"),
            t = tenant(&format!("n / {per_tenant}")),
            r = repo(&format!("n / {FINDINGS_PER_REPO}")),
            F = FINDINGS_PER_REPO,
            R = REPOS_PER_TENANT,
        )
    };
    let half = total / 2;
    let mut second = seed_connection(url).await?;
    let (a, b) = tokio::join!(
        sqlx::raw_sql(AssertSqlSafe(findings_sql(0, half - 1))).execute(&mut conn),
        sqlx::raw_sql(AssertSqlSafe(findings_sql(half, total - 1))).execute(&mut second),
    );
    a?;
    b?;
    second.close().await?;
    let insert = started.elapsed();
    let started = Instant::now();
    // Hint bits, visibility map and statistics now, so autovacuum stays out of the measurement;
    // the checkpoint writes the load out before it starts.
    sqlx::raw_sql("VACUUM (ANALYZE) tenants, organizations, repositories, findings")
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await?;
    let vacuum = started.elapsed();
    let repositories: i64 = sqlx::query_scalar("SELECT count(*) FROM repositories")
        .fetch_one(&mut conn)
        .await?;
    let findings: i64 = sqlx::query_scalar("SELECT count(*) FROM findings")
        .fetch_one(&mut conn)
        .await?;
    // The ids the bench computes are the ids in the tables.
    let probe: Uuid = sqlx::query_scalar(
        "SELECT id FROM repositories WHERE tenant_id = $1 ORDER BY id OFFSET 7 LIMIT 1",
    )
    .bind(ids.tenant(42))
    .fetch_one(&mut conn)
    .await?;
    ensure!(
        probe == ids.repository(42, 7),
        "seeded ids differ from the computed ones"
    );
    conn.close().await?;
    Ok(SeedReport {
        insert,
        vacuum,
        repositories,
        findings,
    })
}

// ---------------------------------------------------------------------------------------------
// The raw-SQL baseline: the statements the server runs, built with the same sea-orm calls as
// `src/code/service.rs` and `src/db.rs`, replayed with sqlx.

struct RawStatements {
    /// Q1 statement 1: the page of repositories (tenant, after, limit + 1).
    page: Arc<str>,
    /// Q1 statement 2: up to 6 findings per repository of the page (tenant, 50 ids, 6).
    children: Arc<str>,
    /// Q2: one repository by id (tenant, id).
    /// Q2: one repository by id, in the forms the service has used: `id IN ($2)` (tenant, id)
    /// and `.one()`'s `id = $2 LIMIT $3` (tenant, id, 1). The one the server runs is picked after
    /// Q2's first request (`pick_by_id`).
    by_id: [Arc<str>; 2],
    by_id_variant: AtomicUsize,
}

impl RawStatements {
    fn build() -> anyhow::Result<Self> {
        // In scope here only: its `max`/`min` would shadow `Ord`'s elsewhere.
        use sea_orm::sea_query::ExprTrait;
        let (t, some) = (Uuid::nil(), Uuid::from_u128(1));
        // CodeService::repositories → repository_select + keyset.
        let page = repositories::Entity::find()
            .filter(repositories::Column::TenantId.eq(t))
            .filter(repositories::Column::Id.gt(some))
            .order_by(repositories::Column::Id, Order::Asc)
            .limit(PAGE + 1)
            .build(DbBackend::Postgres);
        ensure!(page.values.as_ref().map_or(0, |v| v.0.len()) == 3);
        // CodeService::repository_findings → nested_page → children_per_parent.
        let ids: Vec<Uuid> = (0..PAGE).map(|i| Uuid::from_u128(u128::from(i))).collect();
        let select = findings::Entity::find()
            .filter(findings::Column::TenantId.eq(t))
            .filter(findings::Column::RepositoryId.is_in(ids));
        let mut inner = select.into_query();
        inner.expr_as(
            Expr::cust(format!(
                "ROW_NUMBER() OVER (PARTITION BY \"{}\" ORDER BY \"{}\" ASC)",
                "repository_id", "id"
            )),
            Alias::new("rn"),
        );
        let outer = Query::select()
            .column(Asterisk)
            .from_subquery(inner, Alias::new("ranked"))
            .and_where(Expr::col(Alias::new("rn")).lte(NESTED as i64 + 1))
            .to_owned();
        let children = DbBackend::Postgres.build(&outer);
        ensure!(children.values.as_ref().map_or(0, |v| v.0.len()) == PAGE as usize + 2);
        // CodeService's repository by id (node): `is_in([id]).all()` or `eq(id).one()`.
        let by_id_in = repositories::Entity::find()
            .filter(repositories::Column::TenantId.eq(t))
            .filter(repositories::Column::Id.is_in([some]))
            .build(DbBackend::Postgres);
        ensure!(by_id_in.values.as_ref().map_or(0, |v| v.0.len()) == 2);
        let by_id_one = repositories::Entity::find()
            .filter(repositories::Column::TenantId.eq(t))
            .filter(repositories::Column::Id.eq(some))
            .limit(1)
            .build(DbBackend::Postgres);
        ensure!(by_id_one.values.as_ref().map_or(0, |v| v.0.len()) == 3);
        Ok(RawStatements {
            page: page.sql.into(),
            children: children.sql.into(),
            by_id: [by_id_in.sql.into(), by_id_one.sql.into()],
            by_id_variant: AtomicUsize::new(0),
        })
    }

    fn by_id(&self) -> (&Arc<str>, bool) {
        let variant = self.by_id_variant.load(Ordering::Relaxed);
        (&self.by_id[variant], variant == 1)
    }

    /// Picks the Q2 form the server ran last; false when it ran neither.
    fn pick_by_id(&self, seen: &[String]) -> bool {
        for (i, sql) in self.by_id.iter().enumerate() {
            if seen.iter().any(|s| same_sql(s, sql)) {
                self.by_id_variant.store(i, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    fn all(&self) -> [(&'static str, &str); 3] {
        [
            ("Q1 statement 1 (repositories page)", &self.page),
            ("Q1 statement 2 (findings window)", &self.children),
            ("Q2 statement (repository by id)", self.by_id().0),
        ]
    }
}

/// Decodes every column of a repository row as sea-orm's model does (by name); returns a value
/// that depends on all of them.
fn decode_repository(row: &PgRow) -> Result<(Uuid, usize), sqlx::Error> {
    let id: Uuid = row.try_get("id")?;
    let _: Uuid = row.try_get("tenant_id")?;
    let _: Uuid = row.try_get("organization_id")?;
    let _: Option<Uuid> = row.try_get("client_id")?;
    let mut n = 0usize;
    for column in ["name", "full_name", "url", "lifecycle"] {
        n += row.try_get::<String, _>(column)?.len();
    }
    for column in [
        "default_branch",
        "visibility",
        "app_type",
        "hosting_platform",
        "data_classification",
        "external_id",
    ] {
        n += row
            .try_get::<Option<String>, _>(column)?
            .map_or(0, |s| s.len());
    }
    let _: bool = row.try_get("archived")?;
    let tech: Value = row.try_get("tech_stack")?;
    n += tech.as_array().map_or(0, Vec::len);
    for column in ["health_score", "debt_score"] {
        n += row.try_get::<Option<i32>, _>(column)?.unwrap_or(0) as usize;
    }
    for column in ["last_commit_at", "missing_since"] {
        let _: Option<DateTime<Utc>> = row.try_get(column)?;
    }
    let _: Option<f64> = row.try_get("commit_frequency")?;
    for column in ["created_at", "updated_at"] {
        let _: DateTime<Utc> = row.try_get(column)?;
    }
    Ok((id, n))
}

fn decode_finding(row: &PgRow) -> Result<usize, sqlx::Error> {
    for column in ["id", "tenant_id", "repository_id"] {
        let _: Uuid = row.try_get(column)?;
    }
    let mut n = 0usize;
    for column in [
        "kind",
        "severity",
        "status",
        "title",
        "description",
        "fingerprint",
    ] {
        n += row.try_get::<String, _>(column)?.len();
    }
    for column in [
        "access_issue",
        "file_path",
        "cve_id",
        "package_name",
        "package_version",
        "secret_type",
        "remediation",
        "tool",
    ] {
        n += row
            .try_get::<Option<String>, _>(column)?
            .map_or(0, |s| s.len());
    }
    n += row.try_get::<Option<i32>, _>("line")?.unwrap_or(0) as usize;
    for column in ["first_seen_at", "last_seen_at", "created_at", "updated_at"] {
        let _: DateTime<Utc> = row.try_get(column)?;
    }
    let _: Option<DateTime<Utc>> = row.try_get("resolved_at")?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Load

#[derive(Clone, Copy, PartialEq, Eq)]
enum Q {
    Page,
    ById,
}

impl Q {
    fn label(self) -> &'static str {
        match self {
            Q::Page => "Q1 page of 50 + 5 findings",
            Q::ById => "Q2 repository by id",
        }
    }
    fn short(self) -> &'static str {
        match self {
            Q::Page => "Q1",
            Q::ById => "Q2",
        }
    }
    /// 1 + depth of nested lists.
    fn expected_statements(self) -> u64 {
        match self {
            Q::Page => 2,
            Q::ById => 1,
        }
    }
}

/// xorshift64*: a cheap, seeded spread over tenants and repositories.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % n
    }
}

/// What one request asks for: a tenant and a repository index (the page starts after it).
fn pick(rng: &mut Rng, q: Q) -> (u64, u64) {
    let t = rng.below(TENANTS);
    let r = match q {
        Q::Page => rng.below(REPOS_PER_TENANT - PAGE),
        Q::ById => rng.below(REPOS_PER_TENANT),
    };
    (t, r)
}

#[derive(Default)]
struct WorkerOut {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl WorkerOut {
    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(message);
        }
    }
}

struct Shared {
    graphql_url: String,
    tokens: Vec<String>,
    ids: Ids,
    q1_json: String,
    q2_json: String,
    raw: RawStatements,
}

fn cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("c:{id}"))
}

fn request_body(shared: &Shared, q: Q, t: u64, r: u64) -> String {
    match q {
        Q::Page => format!(
            "{{\"query\":{},\"variables\":{{\"after\":\"{}\"}}}}",
            shared.q1_json,
            cursor(shared.ids.repository(t, r))
        ),
        Q::ById => format!(
            "{{\"query\":{},\"variables\":{{\"id\":\"{}\"}}}}",
            shared.q2_json,
            global_id("Repository", shared.ids.repository(t, r)).0
        ),
    }
}

/// Checks a full response: the right repositories, the right number of findings.
fn check_response(shared: &Shared, q: Q, t: u64, r: u64, body: &[u8]) -> Result<(), String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("errors").is_some() {
        return Err(format!("errors: {value}"));
    }
    let global = |r: u64| Value::String(global_id("Repository", shared.ids.repository(t, r)).0);
    match q {
        Q::Page => {
            let edges = value["data"]["repositories"]["edges"]
                .as_array()
                .ok_or("no edges")?;
            if edges.len() != PAGE as usize {
                return Err(format!("{} repositories, not {PAGE}", edges.len()));
            }
            if edges[0]["node"]["id"] != global(r + 1) {
                return Err(format!("page starts at {}", edges[0]["node"]["id"]));
            }
            for edge in edges {
                let n = edge["node"]["findings"]["edges"]
                    .as_array()
                    .map_or(0, Vec::len);
                if n != NESTED as usize {
                    return Err(format!("{n} findings on a repository, not {NESTED}"));
                }
            }
        }
        Q::ById => {
            if value["data"]["node"]["id"] != global(r) {
                return Err(format!("node is {}", value["data"]["node"]));
            }
        }
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn gateway_worker(
    shared: Arc<Shared>,
    client: reqwest::Client,
    q: Q,
    seed: u64,
    deadline: Instant,
) -> WorkerOut {
    let mut rng = Rng::new(seed);
    let mut out = WorkerOut::default();
    let mut checked = false;
    while Instant::now() < deadline {
        let (t, r) = pick(&mut rng, q);
        let body = request_body(&shared, q, t, r);
        let started = Instant::now();
        let response = client
            .post(&shared.graphql_url)
            .bearer_auth(&shared.tokens[t as usize])
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(body)
            .send()
            .await;
        let result = match response {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(bytes) => Ok((status, bytes)),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        out.latencies_us
            .push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
        match result {
            Err(e) => out.error(e),
            Ok((status, bytes)) if !status.is_success() => out.error(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            )),
            Ok((_, bytes)) => {
                if !checked {
                    checked = true;
                    if let Err(e) = check_response(&shared, q, t, r, &bytes) {
                        out.error(e);
                    }
                } else if contains(&bytes, b"\"errors\"") {
                    out.error(String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into());
                }
            }
        }
    }
    out
}

async fn raw_once(shared: &Shared, pool: &PgPool, q: Q, t: u64, r: u64) -> anyhow::Result<usize> {
    let tenant = shared.ids.tenant(t);
    let mut n = 0;
    match q {
        Q::Page => {
            let rows = sqlx::query(AssertSqlSafe(shared.raw.page.clone()))
                .bind(tenant)
                .bind(shared.ids.repository(t, r))
                .bind((PAGE + 1) as i64)
                .fetch_all(pool)
                .await?;
            let mut ids = Vec::with_capacity(rows.len());
            for row in &rows {
                let (id, k) = decode_repository(row)?;
                ids.push(id);
                n += k;
            }
            ids.truncate(PAGE as usize);
            ensure!(ids.len() == PAGE as usize, "{} repositories", ids.len());
            let mut children = sqlx::query(AssertSqlSafe(shared.raw.children.clone())).bind(tenant);
            for id in ids {
                children = children.bind(id);
            }
            let rows = children.bind(NESTED as i64 + 1).fetch_all(pool).await?;
            ensure!(
                rows.len() == (PAGE * (NESTED + 1)) as usize,
                "{} findings",
                rows.len()
            );
            for row in &rows {
                n += decode_finding(row)?;
            }
        }
        Q::ById => {
            let (sql, limit) = shared.raw.by_id();
            let mut query = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(tenant)
                .bind(shared.ids.repository(t, r));
            if limit {
                query = query.bind(1i64);
            }
            let rows = query.fetch_all(pool).await?;
            ensure!(rows.len() == 1, "{} rows", rows.len());
            n += decode_repository(&rows[0])?.1;
        }
    }
    Ok(n)
}

async fn raw_worker(
    shared: Arc<Shared>,
    pool: PgPool,
    q: Q,
    seed: u64,
    deadline: Instant,
) -> WorkerOut {
    let mut rng = Rng::new(seed);
    let mut out = WorkerOut::default();
    while Instant::now() < deadline {
        let (t, r) = pick(&mut rng, q);
        let started = Instant::now();
        let result = raw_once(&shared, &pool, q, t, r).await;
        out.latencies_us
            .push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
        match result {
            Ok(n) => {
                std::hint::black_box(n);
            }
            Err(e) => out.error(format!("{e:#}")),
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Side {
    Gateway,
    Raw,
}

struct Measured {
    requests: u64,
    seconds: f64,
    /// Every request's latency, sorted.
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    statements: Option<u64>,
    cpu: CpuSplit,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    fn p50_ms(&self) -> f64 {
        percentile(&self.latencies_us, 0.50)
    }
    fn p99_ms(&self) -> f64 {
        percentile(&self.latencies_us, 0.99)
    }
    /// Two slices of one side's measurement as one: counts added, CPU weighted by time.
    fn merge(self, other: Measured) -> Measured {
        let seconds = self.seconds + other.seconds;
        let weigh = |a: f64, b: f64| (a * self.seconds + b * other.seconds) / seconds;
        let (a, b) = (self.cpu, other.cpu);
        let mut latencies_us = self.latencies_us;
        latencies_us.extend(other.latencies_us);
        latencies_us.sort_unstable();
        Measured {
            requests: self.requests + other.requests,
            seconds,
            latencies_us,
            errors: self.errors + other.errors,
            first_error: self.first_error.or(other.first_error),
            statements: self.statements.zip(other.statements).map(|(x, y)| x + y),
            cpu: CpuSplit {
                server: weigh(a.server, b.server),
                postgres: weigh(a.postgres, b.postgres),
                client: weigh(a.client, b.client),
                other: weigh(a.other, b.other),
                idle: weigh(a.idle, b.idle),
            },
        }
    }
    fn per_request(&self) -> Option<f64> {
        self.statements
            .map(|s| s as f64 / self.requests.max(1) as f64)
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

/// One phase: `connections` workers until the deadline, all joined (so every request started
/// in the phase is complete and counted).
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
async fn phase(
    shared: &Arc<Shared>,
    side: Side,
    q: Q,
    connections: usize,
    clients: &[reqwest::Client],
    pool: Option<&PgPool>,
    seconds: f64,
    seed: u64,
) -> anyhow::Result<(Vec<WorkerOut>, f64)> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut handles = Vec::new();
    for i in 0..connections {
        let seed = seed * 1_000 + i as u64 + 1;
        let shared = shared.clone();
        handles.push(match side {
            Side::Gateway => tokio::spawn(gateway_worker(
                shared,
                clients[i].clone(),
                q,
                seed,
                deadline,
            )),
            Side::Raw => tokio::spawn(raw_worker(
                shared,
                pool.expect("a pool for the raw side").clone(),
                q,
                seed,
                deadline,
            )),
        });
    }
    let mut outs = Vec::new();
    for handle in handles {
        outs.push(handle.await?);
    }
    Ok((outs, started.elapsed().as_secs_f64()))
}

/// The warm-up and measured seconds of one slice of a cell.
#[derive(Clone, Copy)]
struct Slice {
    warmup: f64,
    seconds: f64,
}

#[allow(clippy::too_many_arguments)]
async fn cell(
    shared: &Arc<Shared>,
    server: &ServerProcess,
    control: &reqwest::Client,
    settings: &Settings,
    side: Side,
    q: Q,
    connections: usize,
    seed: u64,
    slice: Slice,
) -> anyhow::Result<Measured> {
    // One HTTP client per connection, each keeping its one connection alive; one pool of the
    // same size for the raw side.
    let clients: Vec<reqwest::Client> = (0..connections)
        .filter(|_| matches!(side, Side::Gateway))
        .map(|_| {
            reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(1)
                .tcp_nodelay(true)
                .build()
        })
        .collect::<Result<_, _>>()?;
    let pool = match side {
        Side::Gateway => None,
        Side::Raw => {
            let options: PgConnectOptions = settings.bench_url().parse()?;
            Some(
                // The statements alone: no liveness ping on each checkout (sqlx's default, which
                // sea-orm keeps; `BENCH_RAW_PING=1` adds it; see docs/benchmarks.md).
                PgPoolOptions::new()
                    .max_connections(connections as u32)
                    .min_connections(connections as u32)
                    .test_before_acquire(settings.raw_ping)
                    .connect_with(options.application_name("read_graph-raw"))
                    .await?,
            )
        }
    };
    let (warm, _) = phase(
        shared,
        side,
        q,
        connections,
        &clients,
        pool.as_ref(),
        slice.warmup,
        seed,
    )
    .await?;
    let warm_errors: u64 = warm.iter().map(|o| o.errors).sum();
    if warm_errors > 0 {
        let first = warm.iter().find_map(|o| o.first_error.clone());
        bail!(
            "{} {} at {connections}: {warm_errors} failed requests in the warm-up, e.g. {}",
            q.short(),
            match side {
                Side::Gateway => "gateway",
                Side::Raw => "raw",
            },
            first.unwrap_or_default()
        );
    }
    let before_statements = server.statements(control).await?;
    let before_cpu = cpu_snapshot(server.pid());
    let (outs, seconds) = phase(
        shared,
        side,
        q,
        connections,
        &clients,
        pool.as_ref(),
        slice.seconds,
        seed + 1,
    )
    .await?;
    let after_cpu = cpu_snapshot(server.pid());
    let after_statements = server.statements(control).await?;
    if let Some(pool) = pool {
        pool.close().await;
    }
    let mut latencies: Vec<u32> = outs
        .iter()
        .flat_map(|o| o.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    Ok(Measured {
        requests: latencies.len() as u64,
        seconds,
        latencies_us: latencies,
        errors: outs.iter().map(|o| o.errors).sum(),
        first_error: outs.iter().find_map(|o| o.first_error.clone()),
        statements: match side {
            Side::Gateway => Some(after_statements - before_statements),
            Side::Raw => None,
        },
        cpu: cpu_split(before_cpu, after_cpu, seconds),
    })
}

/// The last statement of each of the server's connections, as PostgreSQL shows it (cut at
/// `track_activity_query_size`, 1,023 bytes by default).
async fn server_sql(url: &str) -> anyhow::Result<Vec<String>> {
    let mut conn = PgConnection::connect(url).await?;
    let seen: Vec<String> = sqlx::query_scalar(
        "SELECT query FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
           AND application_name <> 'read_graph-raw'",
    )
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    Ok(seen)
}

/// The same text, or `seen` is the start of `sql` cut at the activity-size limit.
fn same_sql(seen: &str, sql: &str) -> bool {
    let (seen, sql) = (seen.trim(), sql.trim());
    seen == sql || (seen.len() >= 1000 && sql.starts_with(seen))
}

/// Whether the replayed SQL is the SQL the server ran.
async fn server_sql_matches(
    url: &str,
    raw: &RawStatements,
) -> anyhow::Result<Vec<(&'static str, bool)>> {
    let seen = server_sql(url).await?;
    Ok(raw
        .all()
        .into_iter()
        .map(|(label, sql)| (label, seen.iter().any(|s| same_sql(s, sql))))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Report

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run()) {
        Ok(()) => {}
        Err(error) => {
            eprintln!("\nread_graph: BROKEN: {error:#}");
            std::process::exit(1);
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let bench_started = Instant::now();
    let control = reqwest::Client::builder().no_proxy().build()?;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());

    println!("# read_graph");
    println!();
    recreate_database(&settings).await?;
    let data_dir = tempfile::tempdir()?;
    let mut server = ServerProcess::start(&settings.bench_url(), data_dir.path())?;
    let ready = server.wait_ready(&control).await?;
    let pg_version: String = {
        let mut conn = PgConnection::connect(&settings.bench_url()).await?;
        let v = sqlx::query_scalar("SHOW server_version")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        v
    };
    println!(
        "server: {} (pid {}), ready in {:.1} s with migrations applied; PostgreSQL {pg_version}, \
         database `{}`; {cpus} CPUs shared by client, server and PostgreSQL",
        server.base,
        server.pid(),
        ready.as_secs_f64(),
        settings.database,
    );

    let ms = Utc::now().timestamp_millis() as u64;
    let ids = Ids { ms };
    let seeded = seed(&settings.bench_url(), ids).await?;
    ensure!(
        seeded.repositories == (TENANTS * REPOS_PER_TENANT) as i64
            && seeded.findings == (TENANTS * REPOS_PER_TENANT * FINDINGS_PER_REPO) as i64,
        "seeded {} repositories and {} findings",
        seeded.repositories,
        seeded.findings
    );
    println!(
        "seed: {TENANTS} tenants, {TENANTS} organizations, {} repositories, {} findings in {:.1} s \
         (set-based INSERT … SELECT generate_series), VACUUM ANALYZE + CHECKPOINT {:.1} s",
        seeded.repositories,
        seeded.findings,
        seeded.insert.as_secs_f64(),
        seeded.vacuum.as_secs_f64()
    );

    // Tokens for every tenant, each used once so the user exists and the Bearer cache knows it
    // (authentication then costs no statement).
    let sso = SsoConfig {
        secret: SECRET.as_bytes().to_vec(),
        issuer: "the-one-hub".into(),
        audience: "stack-gateway".into(),
    };
    let tokens: Vec<String> = (0..TENANTS)
        .map(|t| {
            mint(
                &sso,
                &MintRequest {
                    sub: format!("bench-user-{t}"),
                    email: format!("bench-user-{t}@example.com"),
                    name: format!("Bench user {t}"),
                    tenant_id: format!("bench-tenant-{t}"),
                    tenant_name: format!("Bench tenant {t}"),
                    roles: vec!["viewer".into()],
                    products: vec!["code".into()],
                    ttl_seconds: 3_600,
                    session_seconds: 4 * 3_600,
                },
            )
        })
        .collect();
    let graphql_url = format!("{}/graphql", server.base);
    for (t, token) in tokens.iter().enumerate() {
        let response = control
            .post(&graphql_url)
            .bearer_auth(token)
            .json(&json!({ "query": "{ viewer { id } }" }))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(
            status.is_success() && body.get("errors").is_none(),
            "warming the token of tenant {t}: HTTP {status} {body}"
        );
    }
    server.settle(&control).await?;
    let (idle_rss, idle_hwm) = memory(server.pid())?;

    let shared = Arc::new(Shared {
        graphql_url,
        tokens,
        ids,
        q1_json: serde_json::to_string(Q1)?,
        q2_json: serde_json::to_string(Q2)?,
        raw: RawStatements::build()?,
    });

    // One request of each, alone: the shape and the statement count.
    for q in [Q::Page, Q::ById] {
        let before = server.statements(&control).await?;
        let (t, r) = (3, 100);
        let response = control
            .post(&shared.graphql_url)
            .bearer_auth(&shared.tokens[t as usize])
            .header("content-type", "application/json")
            .body(request_body(&shared, q, t, r))
            .send()
            .await?;
        let bytes = response.bytes().await?;
        check_response(&shared, q, t, r, &bytes)
            .map_err(|e| anyhow!("{} alone: {e}", q.short()))?;
        let statements = server.statements(&control).await? - before;
        if q == Q::ById {
            if shared
                .raw
                .pick_by_id(&server_sql(&settings.bench_url()).await?)
            {
                println!(
                    "Q2's statement is the `{}` form; the raw side replays that",
                    if shared.raw.by_id().1 {
                        "id = $2 LIMIT 1"
                    } else {
                        "id IN ($2)"
                    }
                );
            } else {
                println!("Q2: the server ran neither known form of the by-id statement");
            }
        }
        println!(
            "{} alone: {} statement(s) (expected {}), response {} bytes",
            q.label(),
            statements,
            q.expected_statements(),
            bytes.len()
        );
    }
    println!(
        "cells: {} s measured after {} s warm-up, gateway then raw SQL{}, at {:?} connections",
        settings.seconds,
        settings.warmup,
        if settings.raw_ping {
            " (raw pool pinging on each checkout)"
        } else {
            ""
        },
        settings.connections
    );
    let before = cpu_snapshot(server.pid());
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at_rest = cpu_split(
        before,
        cpu_snapshot(server.pid()),
        started.elapsed().as_secs_f64(),
    );
    println!(
        "at rest (2 s, no load): server {:.2}, PostgreSQL {:.2}, other processes {:.2} cores",
        at_rest.server, at_rest.postgres, at_rest.other
    );
    println!();

    struct CellRow {
        q: Q,
        connections: usize,
        gateway: Measured,
        raw: Measured,
    }
    let mut rows: Vec<CellRow> = Vec::new();
    let mut memory_rows: Vec<(String, f64, f64)> = vec![(
        "idle, after start-up, seeding and token warm-up".into(),
        idle_rss,
        idle_hwm,
    )];
    // Whether each replayed statement was seen as the server's (after any gateway cell).
    let mut sql_seen = [false; 3];
    let mut seed_no = 1u64;
    for &connections in &settings.connections {
        for &q in &settings.queries {
            // The two sides alternate in short slices, so a change in the machine's speed
            // during the cell (other tenants of this VM) reaches both alike.
            let mut sides: Option<(Measured, Measured)> = None;
            for round in 0..settings.rounds {
                let slice = Slice {
                    warmup: if round == 0 {
                        settings.warmup
                    } else {
                        ROUND_WARMUP.min(settings.warmup)
                    },
                    seconds: settings.seconds / settings.rounds as f64,
                };
                let gateway = cell(
                    &shared,
                    &server,
                    &control,
                    &settings,
                    Side::Gateway,
                    q,
                    connections,
                    seed_no,
                    slice,
                )
                .await?;
                server.alive()?;
                if round == 0 {
                    let found = server_sql_matches(&settings.bench_url(), &shared.raw).await?;
                    for (seen, (_, ok)) in sql_seen.iter_mut().zip(found) {
                        *seen |= ok;
                    }
                }
                let raw = cell(
                    &shared,
                    &server,
                    &control,
                    &settings,
                    Side::Raw,
                    q,
                    connections,
                    seed_no,
                    slice,
                )
                .await?;
                seed_no += 2;
                sides = Some(match sides {
                    None => (gateway, raw),
                    Some((g, r)) => (g.merge(gateway), r.merge(raw)),
                });
            }
            let (gateway, raw) = sides.expect("at least one round");
            eprintln!(
                "  {} at {connections}: gateway {:.0} req/s, raw {:.0} sets/s",
                q.short(),
                gateway.rate(),
                raw.rate()
            );
            for (side, m) in [("gateway", &gateway), ("raw", &raw)] {
                ensure!(
                    m.errors == 0,
                    "{} {side} at {connections}: {} failed requests, e.g. {}",
                    q.short(),
                    m.errors,
                    m.first_error.clone().unwrap_or_default()
                );
            }
            rows.push(CellRow {
                q,
                connections,
                gateway,
                raw,
            });
        }
        let (rss, hwm) = memory(server.pid())?;
        memory_rows.push((
            format!("after the {connections}-connection cells"),
            rss,
            hwm,
        ));
    }

    // The tables, in Markdown.
    let mut out = String::new();
    writeln!(
        out,
        "| query | conns | gateway req/s | p50 ms | p99 ms | statements/req | raw SQL sets/s | raw p50 ms | raw p99 ms | gateway / raw |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    for row in &rows {
        writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.3} | {:.0} | {:.2} | {:.2} | {:.1} % |",
            row.q.label(),
            row.connections,
            row.gateway.rate(),
            row.gateway.p50_ms(),
            row.gateway.p99_ms(),
            row.gateway.per_request().unwrap_or(f64::NAN),
            row.raw.rate(),
            row.raw.p50_ms(),
            row.raw.p99_ms(),
            100.0 * row.gateway.rate() / row.raw.rate()
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "CPU while measuring, in cores (of {cpus}) and in CPU microseconds per request (gateway) \
         or per statement set (raw SQL); `other` is every other process on the machine"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| query | conns | gateway: server | postgres | client | other | idle | server µs/req | postgres µs/req | client µs/req | raw: postgres | client | other | idle | postgres µs/set | client µs/set |"
    )?;
    writeln!(
        out,
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    )?;
    for row in &rows {
        let (g, r) = (row.gateway.cpu, row.raw.cpu);
        let (gr, rr) = (row.gateway.rate(), row.raw.rate());
        let us = |cores: f64, rate: f64| 1e6 * cores / rate;
        writeln!(
            out,
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
            row.q.short(),
            row.connections,
            g.server,
            g.postgres,
            g.client,
            g.other,
            g.idle,
            us(g.server, gr),
            us(g.postgres, gr),
            us(g.client, gr),
            r.postgres,
            r.client,
            r.other,
            r.idle,
            us(r.postgres, rr),
            us(r.client, rr),
        )?;
    }
    writeln!(out)?;
    writeln!(out, "| server memory | RSS MiB | peak (VmHWM) MiB |")?;
    writeln!(out, "|---|--:|--:|")?;
    for (label, rss, hwm) in &memory_rows {
        writeln!(out, "| {label} | {rss:.1} | {hwm:.1} |")?;
    }
    writeln!(out)?;
    let text: Vec<String> = shared
        .raw
        .all()
        .iter()
        .zip(sql_seen)
        .zip([Q::Page, Q::Page, Q::ById])
        .map(|(((label, _), ok), q)| {
            let verdict = if !settings.queries.contains(&q) {
                "not run"
            } else if ok {
                "same"
            } else {
                "NOT SEEN"
            };
            format!("{label}: {verdict}")
        })
        .collect();
    writeln!(
        out,
        "replayed SQL vs. the server's (pg_stat_activity): {}",
        text.join("; ")
    )?;
    writeln!(out)?;

    // Targets.
    writeln!(out, "| target | measured | result |")?;
    writeln!(out, "|---|---|---|")?;
    let max_conns = settings.connections.iter().copied().max().unwrap_or(0);
    for &q in &settings.queries {
        match rows
            .iter()
            .find(|r| r.q == q && r.connections == 32)
            .or_else(|| rows.iter().find(|r| r.q == q && r.connections == max_conns))
        {
            Some(row) => {
                let ratio = row.gateway.rate() / row.raw.rate();
                writeln!(
                    out,
                    "| {} ≥ 35 % of raw SQL at {} connections | {:.1} % ({:.0} vs {:.0}/s) | {} |",
                    q.short(),
                    row.connections,
                    100.0 * ratio,
                    row.gateway.rate(),
                    row.raw.rate(),
                    pass(ratio >= RATIO_TARGET && row.connections == 32)
                )?;
            }
            None => writeln!(out, "| {} ratio | not measured | MISS |", q.short())?,
        }
    }
    for &q in &settings.queries {
        let counts: Vec<String> = rows
            .iter()
            .filter(|r| r.q == q)
            .map(|r| {
                format!(
                    "{:.3} at {}",
                    r.gateway.per_request().unwrap_or(f64::NAN),
                    r.connections
                )
            })
            .collect();
        let exact = rows
            .iter()
            .filter(|r| r.q == q)
            .all(|r| r.gateway.statements == Some(q.expected_statements() * r.gateway.requests));
        writeln!(
            out,
            "| {} exactly {} statement(s)/request | {} | {} |",
            q.short(),
            q.expected_statements(),
            counts.join(", "),
            pass(exact)
        )?;
    }
    let peak = memory_rows.iter().map(|m| m.2).fold(0.0, f64::max);
    writeln!(
        out,
        "| server memory < {MEMORY_TARGET_MIB} MiB | peak {peak:.1} MiB | {} |",
        pass(peak < MEMORY_TARGET_MIB)
    )?;
    let busiest = rows
        .iter()
        .flat_map(|r| [r.gateway.cpu.other, r.raw.cpu.other])
        .fold(at_rest.other, f64::max);
    if busiest > 0.2 {
        writeln!(
            out,
            "WARNING: processes outside the benchmark used up to {busiest:.2} cores during a \
             measurement; the rates are low by that much. Rerun on a quiet machine."
        )?;
    }
    println!("{out}");
    println!(
        "total {:.0} s (seeding {:.0} s)",
        bench_started.elapsed().as_secs_f64(),
        (seeded.insert + seeded.vacuum).as_secs_f64()
    );

    drop(server);
    if settings.keep_db {
        println!("kept database `{}`", settings.database);
    } else {
        drop_database(&settings).await?;
    }
    Ok(())
}
