//! Health and debt scores of a repository from its open findings and its activity. The formula
//! is documented in docs/scans.md; change both together.

use chrono::{DateTime, Utc};
use entities::enums::{FindingKind, Severity};

/// Both scores, 0–100. Health: higher is better. Debt: higher is more debt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scores {
    pub health: i32,
    pub debt: i32,
}

/// Open findings of one kind and severity, and how many there are.
pub type OpenCount = (FindingKind, Severity, i64);

/// Health points an open finding costs, by severity (every kind).
fn risk(severity: Severity) -> i64 {
    match severity {
        Severity::Critical => 25,
        Severity::High => 10,
        Severity::Medium => 4,
        Severity::Low => 1,
    }
}

/// Debt points an open vulnerability adds, by severity (the work to fix it).
fn effort(severity: Severity) -> i64 {
    match severity {
        Severity::Critical => 10,
        Severity::High => 6,
        Severity::Medium => 3,
        Severity::Low => 1,
    }
}

/// Days since the last commit, `None` when unknown.
fn idle_days(last_commit_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<i64> {
    last_commit_at.map(|at| (now - at).num_days().max(0))
}

/// Health points lost to inactivity.
fn inactivity(idle: Option<i64>, commits_per_week: Option<f64>) -> i64 {
    let age = match idle {
        None => 15,
        Some(d) if d <= 30 => 0,
        Some(d) if d <= 90 => 5,
        Some(d) if d <= 180 => 10,
        Some(d) if d <= 365 => 20,
        Some(_) => 30,
    };
    let rare = commits_per_week.is_some_and(|f| f < 0.25);
    age + if rare { 5 } else { 0 }
}

/// Debt points of a stale code base.
fn staleness(idle: Option<i64>, commits_per_week: Option<f64>) -> i64 {
    let age = match idle {
        Some(d) if d > 365 => 20,
        Some(d) if d > 180 => 10,
        _ => 0,
    };
    let rare = commits_per_week.is_some_and(|f| f < 0.25);
    age + if rare { 5 } else { 0 }
}

pub fn compute(
    open: &[OpenCount],
    last_commit_at: Option<DateTime<Utc>>,
    commits_per_week: Option<f64>,
    now: DateTime<Utc>,
) -> Scores {
    let security: i64 = open.iter().map(|(_, s, n)| risk(*s) * n).sum();
    let work: i64 = open
        .iter()
        .filter(|(k, _, _)| *k == FindingKind::Vulnerability)
        .map(|(_, s, n)| effort(*s) * n)
        .sum();
    let idle = idle_days(last_commit_at, now);
    let health = 100 - security.min(70) - inactivity(idle, commits_per_week);
    let debt = work.min(80) + staleness(idle, commits_per_week);
    Scores {
        health: health.clamp(0, 100) as i32,
        debt: debt.clamp(0, 100) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_clean_active_repository_is_healthy_and_debt_free() {
        let now = Utc::now();
        let s = compute(&[], Some(now - Duration::days(3)), Some(5.0), now);
        assert_eq!(
            s,
            Scores {
                health: 100,
                debt: 0
            }
        );
    }

    #[test]
    fn findings_and_inactivity_lower_health_and_raise_debt() {
        let now = Utc::now();
        let open = [
            (FindingKind::SecretDetected, Severity::High, 2),
            (FindingKind::Vulnerability, Severity::Critical, 1),
            (FindingKind::Vulnerability, Severity::Medium, 2),
        ];
        // security 20 + 25 + 8 = 53; idle 100 days → 10; rare commits → 5.
        let s = compute(&open, Some(now - Duration::days(100)), Some(0.1), now);
        // debt: 10 + 6 = 16; staleness: rare commits 5.
        assert_eq!(
            s,
            Scores {
                health: 32,
                debt: 21
            }
        );
    }

    #[test]
    fn scores_stay_within_bounds() {
        let now = Utc::now();
        let open = [(FindingKind::Vulnerability, Severity::Critical, 50)];
        let s = compute(&open, None, None, now);
        assert_eq!(
            s,
            Scores {
                health: 15,
                debt: 80
            }
        );
        let s = compute(&open, Some(now - Duration::days(800)), Some(0.0), now);
        assert_eq!(
            s,
            Scores {
                health: 0,
                debt: 100
            }
        );
    }
}
