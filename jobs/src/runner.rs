use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::{BackendExt, BoxDynError, Monitor, WorkerBuilder};
use apalis_cron::{CronScheduler, Tick};
use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;

use crate::poll::Every;
use crate::queue::{Queue, QueueTask, pg_storage, sqlite_storage};
use crate::schedule::{Schedules, last_tick_before, tick_key};

type Handler<T> = Arc<dyn Fn(T) -> BoxFuture<'static, Result<(), BoxDynError>> + Send + Sync>;
type Registration = Box<dyn FnOnce(Monitor) -> Monitor + Send>;
type CatchUp = Box<dyn FnOnce(Queue) -> BoxFuture<'static, anyhow::Result<()>> + Send>;

/// How one run of a task ended (every attempt is one run: apalis retries a failed task).
#[derive(Clone, Copy, Debug)]
pub struct TaskOutcome {
    /// The queue's name (`QueueTask::NAME`).
    pub task: &'static str,
    pub ok: bool,
    pub elapsed: Duration,
}

/// Told of every finished run (metrics); must not block.
pub type TaskObserver = Arc<dyn Fn(&TaskOutcome) + Send + Sync>;

/// Collects task handlers and cron timers, then runs them under one apalis monitor.
pub struct Runner {
    queue: Queue,
    poll: Duration,
    instance: String,
    /// Schedule overrides by timer name (see `Schedules::expression_with`).
    schedules: HashMap<String, String>,
    registrations: Vec<Registration>,
    catch_ups: Vec<CatchUp>,
    observer: Option<TaskObserver>,
}

impl Runner {
    pub fn new(queue: Queue) -> Self {
        let nanos = Utc::now().timestamp_subsec_nanos();
        Runner {
            queue,
            poll: Duration::from_millis(200),
            instance: format!("{}-{nanos}", std::process::id()),
            schedules: HashMap::new(),
            registrations: Vec::new(),
            catch_ups: Vec::new(),
            observer: None,
        }
    }

    /// Tells `observer` how every run of the tasks registered after this call ended.
    pub fn observe(mut self, observer: TaskObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// How often workers look for new tasks (without a poll strategy apalis waits for its
    /// 30 s heartbeat).
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Schedule overrides by timer name (an expression, or `off`); they win over the environment
    /// and the table.
    pub fn schedules(mut self, overrides: HashMap<String, String>) -> Self {
        self.schedules = overrides;
        self
    }

    /// Runs `handler` for every task pushed on `T::NAME`.
    pub fn task<T, F, Fut>(mut self, handler: F) -> Self
    where
        T: QueueTask,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxDynError>> + Send + 'static,
    {
        let observer = self.observer.clone();
        let handler: Handler<T> = Arc::new(move |args| {
            let started = Instant::now();
            let run = handler(args);
            let observer = observer.clone();
            Box::pin(async move {
                let result = run.await;
                if let Some(observe) = &observer {
                    observe(&TaskOutcome {
                        task: T::NAME,
                        ok: result.is_ok(),
                        elapsed: started.elapsed(),
                    });
                }
                result
            })
        });
        let queue = self.queue.clone();
        let poll = self.poll;
        let worker_name = format!("{}@{}", T::NAME, self.instance);
        self.registrations
            .push(Box::new(move |monitor| match queue {
                Queue::Sqlite(pool) => monitor.register(move |_| {
                    let handler = handler.clone();
                    WorkerBuilder::new(worker_name.clone())
                        .backend(
                            sqlite_storage::<T>(&pool, T::NAME)
                                .poll_with_strategy(Every::new(poll)),
                        )
                        .build(move |args: T| handler(args))
                }),
                Queue::Postgres(pool) => monitor.register(move |_| {
                    let handler = handler.clone();
                    WorkerBuilder::new(worker_name.clone())
                        .backend(
                            pg_storage::<T>(&pool, T::NAME).poll_with_strategy(Every::new(poll)),
                        )
                        .build(move |args: T| handler(args))
                }),
            }));
        self
    }

    /// Fires the timer `name` (from the schedule table) by pushing `make(tick)` with the tick's
    /// idempotency key: every replica fires, one task runs. The last tick is pushed again at
    /// start-up, so a tick missed while every replica was down is caught up.
    pub fn cron<T: QueueTask>(
        mut self,
        name: &'static str,
        make: fn(DateTime<Utc>) -> T,
    ) -> anyhow::Result<Self> {
        let Some(schedule) = Schedules::parse_with(name, &self.schedules)? else {
            tracing::info!(timer = name, "timer switched off");
            return Ok(self);
        };
        let catch_up_schedule = schedule.clone();
        self.catch_ups.push(Box::new(move |queue| {
            Box::pin(async move {
                if let Some(tick) = last_tick_before(&catch_up_schedule, Utc::now()) {
                    queue.push(make(tick), Some(&tick_key(name, tick))).await?;
                }
                Ok(())
            })
        }));
        let queue = self.queue.clone();
        let worker_name = format!("cron-{name}@{}", self.instance);
        self.registrations.push(Box::new(move |monitor| {
            monitor.register(move |_| {
                let queue = queue.clone();
                WorkerBuilder::new(worker_name.clone())
                    .backend(CronScheduler::new(schedule.clone()))
                    .build(move |tick: Tick| {
                        let queue = queue.clone();
                        async move {
                            let at = Utc
                                .timestamp_opt(tick.get_timestamp() as i64, 0)
                                .single()
                                .unwrap_or_else(Utc::now);
                            queue.push(make(at), Some(&tick_key(name, at))).await?;
                            Ok::<(), BoxDynError>(())
                        }
                    })
            })
        }));
        Ok(self)
    }

    /// Catches up missed ticks, then runs every worker until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        for catch_up in self.catch_ups {
            if let Err(error) = catch_up(self.queue.clone()).await {
                tracing::warn!(%error, "catching up a missed timer tick failed");
            }
        }
        let monitor = self
            .registrations
            .into_iter()
            .fold(Monitor::new(), |monitor, register| register(monitor));
        monitor
            .shutdown_timeout(Duration::from_secs(5))
            .run_with_signal(async move {
                shutdown.await;
                Ok(())
            })
            .await
            .map_err(|e| anyhow::anyhow!("queue monitor stopped: {e}"))
    }
}
