//! The SAS an agent gets: a user delegation SAS built with Microsoft's `azure_storage_sas`,
//! create and write only (`sp=cw`), on the project's container (`sr=c`), HTTPS only, starting a
//! few minutes back for clock skew and ending an hour from now (never after the key does).

use azure_core::time::OffsetDateTime;
use azure_storage_common::models::UserDelegationKey;
use azure_storage_sas::{SasBuilder, SasProtocol};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::kernel::errors::{ApiError, ApiResult, Code};

/// How long a SAS is valid from now.
pub const LIFETIME_MINUTES: i64 = 60;
/// How far back it starts, for agents whose clocks run behind.
pub const SKEW_MINUTES: i64 = 5;
/// The permissions, as they appear in `sp`.
pub const PERMISSIONS: &str = "cw";

/// The validity window of a SAS asked for at `now`, whole seconds (as the SAS carries them).
pub fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let now = Utc
        .timestamp_opt(now.timestamp(), 0)
        .single()
        .expect("a whole second of a valid time");
    (
        now - TimeDelta::minutes(SKEW_MINUTES),
        now + TimeDelta::minutes(LIFETIME_MINUTES),
    )
}

fn offset(t: DateTime<Utc>) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.timestamp()).expect("a time the SAS can carry")
}

/// A signed SAS query string and when it ends.
pub struct Sas {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs the SAS for `container` with `key`, ending at `expiry` or when the key does.
pub fn sign(
    account: &str,
    container: &str,
    key: &UserDelegationKey,
    start: DateTime<Utc>,
    expiry: DateTime<Utc>,
) -> ApiResult<Sas> {
    let key_expiry = key
        .signed_expiry
        .and_then(|t| Utc.timestamp_opt(t.unix_timestamp(), 0).single());
    let expires_at = match key_expiry {
        Some(k) if k < expiry => k,
        _ => expiry,
    };
    if expires_at <= Utc::now() {
        return Err(incomplete());
    }
    let token = SasBuilder::new(account, key, offset(expires_at))
        .map_err(|_| incomplete())?
        .start(offset(start))
        .protocol(SasProtocol::Https)
        .container(container)
        .create()
        .write()
        .build();
    Ok(Sas { token, expires_at })
}

fn incomplete() -> ApiError {
    ApiError::new(
        Code::UpstreamUnavailable,
        "Azure Storage answered with a user delegation key that cannot sign a SAS",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sas_is_create_write_on_the_container_over_https() {
        let now = Utc::now();
        let (start, expiry) = window(now);
        let key = UserDelegationKey {
            signed_oid: Some("oid".into()),
            signed_tid: Some("tid".into()),
            signed_start: Some(offset(start)),
            signed_expiry: Some(offset(expiry)),
            signed_service: Some("b".into()),
            signed_version: Some("2026-04-06".into()),
            value: Some(b"0123456789abcdef".to_vec()),
            ..Default::default()
        };
        let sas = sign("acct", "box", &key, start, expiry).unwrap();
        for part in ["sr=c", "sp=cw", "spr=https", "skoid=oid", "sig="] {
            assert!(sas.token.split('&').any(|p| p.starts_with(part)), "{part}");
        }
        assert_eq!(sas.expires_at, expiry);
        // A key that ends sooner ends the SAS sooner.
        let short = UserDelegationKey {
            signed_expiry: Some(offset(now + TimeDelta::minutes(10))),
            ..key
        };
        let sas = sign("acct", "box", &short, start, expiry).unwrap();
        assert!(sas.expires_at < expiry);
    }
}
