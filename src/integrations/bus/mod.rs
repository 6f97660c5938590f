//! The One Bus: events written to the outbox in the transaction that causes them, delivered as
//! CloudEvents 1.0 by one deliverer at a time (a PostgreSQL advisory lock elects it across
//! replicas), at least once, in order per aggregate, with a stable event id.

pub mod deliver;
pub mod events;
pub mod outbox;

pub use events::BusEvent;
pub use outbox::enqueue;
