use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// The cron schedule table: timer name → six-field cron expression, all in UTC.
/// A deployment may override one with `SCHEDULE_<NAME>` (upper case, `-` as `_`), or through
/// the overrides the runner is given (tests: the environment is shared by the whole process).
/// `off` switches a timer off (no ticks, no start-up catch-up).
pub struct Schedules;

/// The value that switches a timer off.
pub const OFF: &str = "off";

impl Schedules {
    pub const TABLE: &'static [(&'static str, &'static str)] = &[
        ("session-cleanup", "0 */10 * * * *"),
        ("hub-billing", "0 15 1 * * *"),
        ("code-cmdb-sync-timer", "0 30 */6 * * *"),
        ("psa-status-refresh", "0 */15 * * * *"),
        ("integration-probes", "0 */5 * * * *"),
        ("credentials-expiring-check", "0 0 8 * * *"),
        ("notification-retry", "0 */5 * * * *"),
        ("repository-rediscovery", "0 */15 * * * *"),
        ("agent-offline-detection", "30 * * * * *"),
        ("backup-timeout", "15 * * * * *"),
    ];

    /// The expression in force for `name` (the environment override, else the table).
    pub fn expression(name: &str) -> anyhow::Result<String> {
        Self::expression_with(name, &HashMap::new())
    }

    /// The expression in force for `name`: `overrides`, else the environment, else the table.
    pub fn expression_with(
        name: &str,
        overrides: &HashMap<String, String>,
    ) -> anyhow::Result<String> {
        let var = format!("SCHEDULE_{}", name.to_uppercase().replace('-', "_"));
        let given = match overrides.get(name) {
            Some(expr) => Some((format!("the schedule override of {name}"), expr.clone())),
            None => std::env::var(&var).ok().map(|expr| (var, expr)),
        };
        if let Some((source, expr)) = given {
            if expr.trim() != OFF {
                cron::Schedule::from_str(&expr).map_err(|e| {
                    anyhow::anyhow!("{source} is not a six-field cron expression or `off`: {e}")
                })?;
            }
            return Ok(expr.trim().to_string());
        }
        Self::TABLE
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| e.to_string())
            .ok_or_else(|| anyhow::anyhow!("no schedule named {name}"))
    }

    pub fn parse(name: &str) -> anyhow::Result<cron::Schedule> {
        Self::parse_with(name, &HashMap::new())?
            .ok_or_else(|| anyhow::anyhow!("schedule {name} is switched off"))
    }

    /// The schedule in force for `name`, or `None` when it is switched off.
    pub fn parse_with(
        name: &str,
        overrides: &HashMap<String, String>,
    ) -> anyhow::Result<Option<cron::Schedule>> {
        let expr = Self::expression_with(name, overrides)?;
        if expr == OFF {
            return Ok(None);
        }
        cron::Schedule::from_str(&expr)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("schedule {name}: {e}"))
    }
}

/// The idempotency key of one tick: every replica derives the same key for the same tick.
pub fn tick_key(name: &str, tick: DateTime<Utc>) -> String {
    format!("{name}@{}", tick.to_rfc3339())
}

/// The latest tick at or before `now` within the last week (for the start-up catch-up).
pub fn last_tick_before(schedule: &cron::Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule
        .after(&(now - Duration::days(7)))
        .take_while(|t| *t <= now)
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_runs_at_one_fifteen_utc() {
        let schedule = Schedules::parse("hub-billing").unwrap();
        let now: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap();
        let next = schedule.after(&now).next().unwrap();
        assert_eq!(next.to_rfc3339(), "2026-11-24T01:15:00+00:00");
        let last = last_tick_before(&schedule, now).unwrap();
        assert_eq!(last.to_rfc3339(), "2026-11-23T01:15:00+00:00");
        assert_eq!(
            tick_key("hub-billing", last),
            "hub-billing@2026-11-23T01:15:00+00:00"
        );
    }

    #[test]
    fn overrides_win_and_off_switches_a_timer_off() {
        let mut overrides = HashMap::new();
        overrides.insert("hub-billing".to_string(), "*/2 * * * * *".to_string());
        overrides.insert("code-cmdb-sync-timer".to_string(), "off".to_string());
        assert_eq!(
            Schedules::expression_with("hub-billing", &overrides).unwrap(),
            "*/2 * * * * *"
        );
        assert!(
            Schedules::parse_with("code-cmdb-sync-timer", &overrides)
                .unwrap()
                .is_none()
        );
        overrides.insert("session-cleanup".to_string(), "every minute".to_string());
        assert!(Schedules::parse_with("session-cleanup", &overrides).is_err());
    }

    #[test]
    fn every_schedule_in_the_table_parses() {
        for (name, _) in Schedules::TABLE {
            Schedules::parse(name).unwrap();
        }
    }
}
