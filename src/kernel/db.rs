//! The data connection (sea-orm over sqlx) and the count of SQL statements it runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Counts every SQL statement the data connection runs (the statement-count tests and the
/// benchmark read it; `/metrics` exports it), and on demand keeps them (the plan tests `EXPLAIN`
/// what a request really ran).
#[derive(Clone, Default, Debug)]
pub struct StatementCounter {
    count: Arc<AtomicU64>,
    recording: Arc<AtomicBool>,
    recorded: Arc<Mutex<Vec<sea_orm::Statement>>>,
}

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Starts keeping every counted statement (until `take_recorded`).
    pub fn record(&self) {
        self.recorded.lock().expect("poisoned").clear();
        self.recording.store(true, Ordering::Relaxed);
    }

    /// The statements counted since `record`, and stops keeping them.
    pub fn take_recorded(&self) -> Vec<sea_orm::Statement> {
        self.recording.store(false, Ordering::Relaxed);
        std::mem::take(&mut *self.recorded.lock().expect("poisoned"))
    }

    fn counted(&self, statement: &sea_orm::Statement) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if self.recording.load(Ordering::Relaxed) {
            self.recorded
                .lock()
                .expect("poisoned")
                .push(statement.clone());
        }
    }
}

tokio::task_local! {
    static UNCOUNTED: ();
}

/// Runs `work` without counting its statements: `/metrics` reads the outbox backlog at every
/// scrape, and a scrape must not change the count it reports (nor a benchmark's per-request
/// figure). The metric callback runs inside the polling task, so a task-local marks it.
pub async fn uncounted<F: std::future::Future>(work: F) -> F::Output {
    UNCOUNTED.scope((), work).await
}

/// How long start-up waits for the database (connecting and migrating).
pub const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// Opens the data database and applies pending migrations. A request waits at most
/// `acquire_timeout` for a connection (and on SQLite for the write lock): while the database is
/// down it answers `DB_UNAVAILABLE` then, not after sqlx's default 30 s.
pub async fn connect(
    url: &str,
    acquire_timeout: Duration,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    let options = |wait: Duration| {
        let mut options = ConnectOptions::new(url.to_string());
        options
            .max_connections(if url.starts_with("sqlite") { 8 } else { 20 })
            // sqlx pings every connection it hands out (a round trip per statement, ≈ 9 % of the
            // server's CPU and twice PostgreSQL's per statement in the benchmark); only a
            // connection idle long enough to have been dropped by the server or a proxy is pinged.
            .test_before_acquire_if_idle_for(Duration::from_secs(30))
            .min_connections(1)
            .acquire_timeout(wait)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(wait)
                    .foreign_keys(true)
            });
        options
    };
    // Start-up waits longer than a request: a database still starting, or a loaded machine,
    // should delay start-up, not fail it. The serving pool then opens its connections lazily.
    let migrating = Database::connect(options(STARTUP_WAIT.max(acquire_timeout)))
        .await
        .context("connecting to the database (DATABASE_URL)")?;
    Migrator::up(&migrating, None)
        .await
        .context("applying migrations")?;
    migrating.close().await.ok();
    let mut serving = options(acquire_timeout);
    serving.connect_lazy(true);
    let mut db = Database::connect(serving)
        .await
        .context("connecting to the database (DATABASE_URL)")?;
    // Open the first serving connection before serving (the lazy pool would leave it to the
    // first request, which on a loaded machine may not get it within `acquire_timeout`).
    let started = std::time::Instant::now();
    while let Err(error) = db.ping().await {
        if started.elapsed() > STARTUP_WAIT {
            return Err(error).context("connecting to the database (DATABASE_URL)");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let counter = StatementCounter::default();
    let count = counter.clone();
    let print = std::env::var("GATEWAY_PRINT_SQL").is_ok_and(|v| v == "1");
    db.set_metric_callback(move |info| {
        if UNCOUNTED.try_with(|_| ()).is_ok() {
            return;
        }
        count.counted(info.statement);
        if print {
            eprintln!("SQL {:?} {}", info.elapsed, info.statement.sql);
        }
    });
    Ok((db, counter))
}

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN IMMEDIATE`,
/// so it waits (busy timeout) for another writer instead of failing with `SQLITE_BUSY` when a
/// deferred transaction that has read tries to write; PostgreSQL ignores the mode.
pub async fn begin_write(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
