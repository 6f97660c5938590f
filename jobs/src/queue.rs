use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use serde::{Serialize, de::DeserializeOwned};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// A payload the queue can carry. `NAME` is the queue it travels on: stable across releases,
/// because rows already in the database name it.
pub trait QueueTask: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    const NAME: &'static str;
    /// Attempts before the task is given up (apalis re-enqueues a failed task until then).
    const MAX_ATTEMPTS: usize = 10;
}

/// The queue's storage: its own pool, never sea-orm's (apalis tunes SQLite pragmas on the
/// connections it is given).
#[derive(Clone, Debug)]
pub enum Queue {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Queue {
    /// Opens (and migrates) the queue at `url`: `sqlite://path` or `postgres://…`. On PostgreSQL
    /// a push waits at most `acquire_timeout` for a connection; the SQLite file is the process's
    /// own, and its workers keep the longer busy wait.
    pub async fn connect(url: &str, acquire_timeout: Duration) -> anyhow::Result<Self> {
        if url.starts_with("postgres") {
            // Setting up waits as long as start-up may (30 s); pushes only `acquire_timeout`.
            let setup = PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(acquire_timeout.max(Duration::from_secs(30)))
                .connect(url)
                .await
                .context("connecting the queue to PostgreSQL")?;
            PostgresStorage::setup(&setup)
                .await
                .context("setting up the queue tables on PostgreSQL")?;
            setup.close().await;
            let pool = PgPoolOptions::new()
                .max_connections(6)
                .acquire_timeout(acquire_timeout)
                .connect_lazy(url)
                .context("connecting the queue to PostgreSQL")?;
            Ok(Queue::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(url)
                .context("parsing the queue's SQLite URL")?
                .create_if_missing(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .context("opening the queue's SQLite file")?;
            SqliteStorage::setup(&pool)
                .await
                .context("setting up the queue tables on SQLite")?;
            Ok(Queue::Sqlite(pool))
        }
    }

    /// Enqueues `args` on `T::NAME`. With an idempotency key a second push of the same key is a
    /// no-op (apalis keeps a unique index on it), which is how several replicas share one cron tick.
    pub async fn push<T: QueueTask>(&self, args: T, key: Option<&str>) -> anyhow::Result<()> {
        self.push_after(args, key, Duration::ZERO).await
    }

    /// Like `push`, but the task runs no earlier than `delay` from now (rounded up to a whole
    /// second: apalis stores `run_at` in seconds). This is how a task backs off: apalis itself
    /// re-runs a failed task at the next poll.
    pub async fn push_after<T: QueueTask>(
        &self,
        args: T,
        key: Option<&str>,
        delay: Duration,
    ) -> anyhow::Result<()> {
        let mut builder = TaskBuilder::new(args).max_attempts(T::MAX_ATTEMPTS);
        if let Some(key) = key {
            builder = builder.idempotency_key(key);
        }
        if !delay.is_zero() {
            let at = (SystemTime::now() + delay)
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let secs = at.as_secs() + u64::from(at.subsec_nanos() > 0);
            builder = builder.run_at_timestamp(secs);
        }
        let task = builder.build();
        match self {
            Queue::Sqlite(pool) => {
                let mut storage = sqlite_storage::<T>(pool, T::NAME);
                storage
                    .push_task(task)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))
            }
            Queue::Postgres(pool) => {
                let mut storage = pg_storage::<T>(pool, T::NAME);
                match storage.push_task(task).await {
                    // SQLite's insert ignores a duplicate key; PostgreSQL's raises it. Either way
                    // the task for this key is already queued.
                    Err(e) if e.to_string().contains("idx_jobs_idempotency_key") => Ok(()),
                    other => other.map_err(|e| anyhow::anyhow!("{e}")),
                }
            }
        }
        .with_context(|| format!("pushing a task on {}", T::NAME))
    }

    /// Tasks of `T::NAME` not yet done (for `/readyz`, metrics and tests).
    pub async fn pending<T: QueueTask>(&self) -> anyhow::Result<i64> {
        let count = match self {
            Queue::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM Jobs WHERE job_type = ?1 AND status IN ('Pending', 'Queued', 'Running')",
                )
                .bind(T::NAME)
                .fetch_one(pool)
                .await?
            }
            Queue::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM apalis.jobs WHERE job_type = $1 AND status IN ('Pending', 'Queued', 'Running')",
                )
                .bind(T::NAME)
                .fetch_one(pool)
                .await?
            }
        };
        Ok(count)
    }

    /// Tasks of `T::NAME` carrying idempotency key `key` (0 or 1: the key is unique per queue).
    pub async fn count_with_key<T: QueueTask>(&self, key: &str) -> anyhow::Result<i64> {
        let count =
            match self {
                Queue::Sqlite(pool) => {
                    sqlx::query_scalar(
                        "SELECT COUNT(*) FROM Jobs WHERE job_type = ?1 AND idempotency_key = ?2",
                    )
                    .bind(T::NAME)
                    .bind(key)
                    .fetch_one(pool)
                    .await?
                }
                Queue::Postgres(pool) => sqlx::query_scalar(
                    "SELECT COUNT(*) FROM apalis.jobs WHERE job_type = $1 AND idempotency_key = $2",
                )
                .bind(T::NAME)
                .bind(key)
                .fetch_one(pool)
                .await?,
            };
        Ok(count)
    }

    /// True when the queue's database answers (one `SELECT 1` on the queue's own pool).
    pub async fn ping(&self) -> bool {
        match self {
            Queue::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
            Queue::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
        }
    }

    /// Unfinished tasks (`Pending`, `Queued`, `Running`) by queue name and status, for metrics:
    /// one grouped statement on the status index.
    pub async fn depth(&self) -> anyhow::Result<Vec<(String, String, i64)>> {
        let rows = match self {
            Queue::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT job_type, status, COUNT(*) FROM Jobs WHERE status IN ('Pending', 'Queued', 'Running') GROUP BY job_type, status",
                )
                .fetch_all(pool)
                .await?
            }
            Queue::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT job_type, status, COUNT(*) FROM apalis.jobs WHERE status IN ('Pending', 'Queued', 'Running') GROUP BY job_type, status",
                )
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows)
    }

    /// The queue pool's open and idle connections, and its maximum.
    pub fn pool_stats(&self) -> PoolStats {
        match self {
            Queue::Sqlite(pool) => PoolStats::of(pool),
            Queue::Postgres(pool) => PoolStats::of(pool),
        }
    }

    /// Closes the queue's pool: every later use fails (shutdown, and tests of `/readyz`).
    pub async fn close(&self) {
        match self {
            Queue::Sqlite(pool) => pool.close().await,
            Queue::Postgres(pool) => pool.close().await,
        }
    }
}

/// A sqlx pool's connections right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

impl PoolStats {
    pub fn of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Self {
        PoolStats {
            size: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        }
    }
}

/// A SQLite storage bound to one named queue.
pub(crate) fn sqlite_storage<T>(pool: &SqlitePool, name: &str) -> SqliteStorage<T> {
    SqliteStorage::new(pool).with_config(apalis_sqlite::Config::default().queue(name))
}

/// A PostgreSQL storage bound to one named queue.
pub(crate) fn pg_storage<T>(pool: &PgPool, name: &str) -> PostgresStorage<T> {
    PostgresStorage::new(pool).with_config(apalis_postgres::Config::default().queue(name))
}
