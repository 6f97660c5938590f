//! A repository's findings: how many, of which kind, and each one's status and times.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use entities::enums::{AccessIssue, FindingKind, FindingStatus, Lifecycle, Severity};
use entities::findings;
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveEnum;
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use super::Repo;
use super::kinds::{secret, vulnerability};
use super::reviews::{access_issue, sunset_decision};
use crate::catalogue::Eco;
use crate::generate::Demo;
use crate::random::{between, id_at, weighted};
use crate::text::sha256_hex;

/// Adds the repository's findings; returns how many are open.
pub(super) fn build(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    repo: &Repo,
    seq: &mut usize,
) -> usize {
    let count = *weighted(
        rng,
        match repo.lifecycle {
            Lifecycle::Active => &[
                (0usize, 25),
                (1, 20),
                (2, 20),
                (3, 15),
                (4, 10),
                (5, 6),
                (7, 4),
            ],
            Lifecycle::Sunset => &[(1, 20), (2, 25), (3, 25), (5, 20), (8, 10)],
            Lifecycle::Dead => &[(0, 20), (1, 30), (2, 30), (4, 20)],
        },
    );
    let has_deps = repo.stack.eco != Eco::None;
    let mut seen = HashSet::new();
    let mut open = 0;
    for _ in 0..count {
        let kind = if has_deps {
            *weighted(
                rng,
                &[
                    (FindingKind::Vulnerability, 55),
                    (FindingKind::SecretDetected, 20),
                    (FindingKind::AccessIssue, 25),
                ],
            )
        } else {
            *weighted(
                rng,
                &[
                    (FindingKind::SecretDetected, 45),
                    (FindingKind::AccessIssue, 55),
                ],
            )
        };
        let draft = match kind {
            FindingKind::Vulnerability => vulnerability(rng, repo),
            FindingKind::SecretDetected => secret(rng, repo),
            _ => access_issue(rng, repo),
        };
        // One finding per subject and repository, as a scanner would dedupe them.
        if let Some(draft) = draft.filter(|d| seen.insert(d.title.clone())) {
            open += push_finding(rng, demo, tenant, now, repo, draft, seq);
        }
    }
    let sunset_odds = match repo.lifecycle {
        Lifecycle::Sunset => 0.8,
        Lifecycle::Dead => 0.9,
        Lifecycle::Active if repo.health < 62 && repo.frequency < 2.0 => 0.3,
        Lifecycle::Active => 0.0,
    };
    if rng.random_bool(sunset_odds) {
        let draft = sunset_decision(rng, now, repo);
        open += push_finding(rng, demo, tenant, now, repo, draft, seq);
    }
    open
}

/// The kind-specific part of a finding.
pub(super) struct Draft {
    pub kind: FindingKind,
    pub access_issue: Option<AccessIssue>,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub file_path: Option<String>,
    pub line: Option<i32>,
    pub cve_id: Option<String>,
    pub package_name: Option<String>,
    pub package_version: Option<String>,
    pub secret_type: Option<String>,
    pub remediation: String,
    pub tool: Option<&'static str>,
}

impl Draft {
    pub fn new(kind: FindingKind, severity: Severity, title: String, description: String) -> Self {
        Draft {
            kind,
            access_issue: None,
            severity,
            title,
            description,
            file_path: None,
            line: None,
            cve_id: None,
            package_name: None,
            package_version: None,
            secret_type: None,
            remediation: String::new(),
            tool: None,
        }
    }
}

/// Stores a drafted finding with a status and its times; returns 1 if it is open.
fn push_finding(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    repo: &Repo,
    draft: Draft,
    seq: &mut usize,
) -> usize {
    *seq += 1;
    let status = *weighted(
        rng,
        match (draft.kind, repo.lifecycle) {
            (FindingKind::SunsetDecision, _) => &[
                (FindingStatus::Open, 80),
                (FindingStatus::Resolved, 12),
                (FindingStatus::Ignored, 8),
            ],
            (_, Lifecycle::Dead) => &[
                (FindingStatus::Open, 45),
                (FindingStatus::Resolved, 10),
                (FindingStatus::Ignored, 45),
            ],
            _ => &[
                (FindingStatus::Open, 62),
                (FindingStatus::Resolved, 28),
                (FindingStatus::Ignored, 10),
            ],
        },
    );
    let first_seen = between(rng, repo.discovered, now - Duration::hours(6));
    let (last_seen, resolved_at) = match status {
        FindingStatus::Resolved => {
            let resolved = between(rng, first_seen, now - Duration::hours(1));
            (between(rng, first_seen, resolved), Some(resolved))
        }
        _ => (now - Duration::minutes(rng.random_range(10..2880)), None),
    };
    let updated = resolved_at.unwrap_or(last_seen);
    demo.findings.push(findings::ActiveModel {
        id: Set(id_at(first_seen)),
        tenant_id: Set(tenant),
        repository_id: Set(repo.id),
        kind: Set(draft.kind),
        access_issue: Set(draft.access_issue),
        severity: Set(draft.severity),
        status: Set(status),
        fingerprint: Set(sha256_hex(&format!(
            "{}|{}|{}|{}",
            repo.full_name,
            draft.kind.to_value(),
            draft.title,
            seq
        ))),
        title: Set(draft.title),
        description: Set(draft.description),
        file_path: Set(draft.file_path),
        line: Set(draft.line),
        cve_id: Set(draft.cve_id),
        package_name: Set(draft.package_name),
        package_version: Set(draft.package_version),
        secret_type: Set(draft.secret_type),
        remediation: Set(Some(draft.remediation)),
        tool: Set(draft.tool.map(str::to_string)),
        scan_source: Set(None),
        first_seen_at: Set(first_seen),
        last_seen_at: Set(last_seen),
        resolved_at: Set(resolved_at),
        created_at: Set(first_seen),
        updated_at: Set(updated),
    });
    usize::from(status == FindingStatus::Open)
}
