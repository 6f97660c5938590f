//! Drawing from the seeded generator: weighted and plain picks, times, ids.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, RngCore};
use uuid::{Timestamp, Uuid};

/// A UUID v7 carrying `at` as its time, so id order follows `created_at`.
pub(crate) fn id_at(at: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
    Uuid::new_v7(Timestamp::from_unix_time(
        seconds,
        at.timestamp_subsec_nanos(),
        0,
        0,
    ))
}

/// Picks by weight.
pub(crate) fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (item, weight) in items {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &items[items.len() - 1].0
}

pub(crate) fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("a non-empty list")
}

pub(crate) fn pick_copy<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    *pick(rng, items)
}

/// A time between `from_days` and `to_days` days before `now`.
pub(crate) fn days_ago(
    rng: &mut StdRng,
    now: DateTime<Utc>,
    from_days: i64,
    to_days: i64,
) -> DateTime<Utc> {
    now - Duration::minutes(rng.random_range(from_days * 1440..=to_days * 1440))
}

/// A time between `a` and `b` (`a` if they are in the wrong order).
pub(crate) fn between(rng: &mut StdRng, a: DateTime<Utc>, b: DateTime<Utc>) -> DateTime<Utc> {
    let span = (b - a).num_seconds();
    if span <= 0 {
        return a;
    }
    a + Duration::seconds(rng.random_range(0..=span))
}

/// A new agent API key's secret part, as the server's `auth::service::random_secret` makes it:
/// 32 random bytes (from the OS generator, never the seeded one), base64url.
pub(crate) fn random_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
