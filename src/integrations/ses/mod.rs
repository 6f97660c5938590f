//! AWS SES v2: `SendEmail` (`POST {endpoint}/v2/email/outbound-emails`), SigV4-signed with
//! `SES_ACCESS_KEY` / `SES_SECRET_KEY` for `SES_REGION`. What is sent and when: the Migrate
//! notifications (`migrate::notifications`, docs/notifications.md).

mod wire;

pub use wire::{Email, endpoint, send};
