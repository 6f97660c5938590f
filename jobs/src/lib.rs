//! Queue machinery, independent of the domains: apalis storage on a given database (its own pool),
//! the poll strategy, the cron schedule table, the per-tick idempotency key and the runner that
//! starts the monitor. Tasks themselves (payload + handler) live in the domains that own them.

mod poll;
mod queue;
mod runner;
mod schedule;

pub use apalis::prelude::BoxDynError;
pub use queue::{PoolStats, Queue, QueueTask};
pub use runner::{Runner, TaskObserver, TaskOutcome};
pub use schedule::{Schedules, last_tick_before, tick_key};
