//! E-mail notifications of The One Migrate (through AWS SES): job completed, job failed, and
//! Azure credentials expiring soon. Rows are written in the transaction of the change that
//! causes them (one per recipient, deduplicated by key), then delivered by queue tasks; a timer
//! retries what failed. Rules and the delivery guarantee: docs/notifications.md.

mod compose;
mod enqueue;
pub mod graphql;
mod resend;
mod service;
pub mod tasks;

pub use enqueue::{Pending, for_job, recipients, wake};
pub use resend::{RESEND_MAX, Resent};
pub use service::NotificationService;
pub use tasks::{CredentialsExpiringCheck, NotificationDelivery, NotificationRetry, register};
