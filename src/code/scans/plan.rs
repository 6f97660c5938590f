//! What one document does to a repository's stored findings, decided before anything is written:
//! which findings are new, which change, reopen or close, and which stored rows it saw.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entities::enums::{FindingKind, FindingStatus};
use entities::findings;
use sea_orm::ActiveValue::Set;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Detected;

/// The stored fingerprint: unique per tenant, so it covers the repository and the tool.
pub fn fingerprint(repository: Uuid, tool: &str, key: &str) -> String {
    let mut hash = Sha256::new();
    for part in [repository.to_string().as_str(), tool, key] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    hex::encode(hash.finalize())
}

/// A stored finding the document reports again, to be rewritten.
pub struct Rewrite {
    pub row: findings::Model,
    pub detected: Detected,
    /// The fingerprint under today's identity (differs from the row's when it is taken over).
    pub fingerprint: String,
    pub reopen: bool,
}

#[derive(Default)]
pub struct Plan {
    pub new_rows: Vec<findings::ActiveModel>,
    pub rewrites: Vec<Rewrite>,
    /// Rewrites that change nothing a user sees (a fingerprint taken over, a new source).
    pub quiet_rewrites: usize,
    /// Seen again as they were: only `last_seen_at` moves.
    pub unchanged: Vec<Uuid>,
    /// Open findings the document says do not apply (VEX).
    pub closed: Vec<Uuid>,
    /// Every stored row the document reported (so a full scan does not resolve it).
    pub matched: HashSet<Uuid>,
    /// Secrets not in the previous scan: new, or resolved and back.
    pub secrets: Vec<Detected>,
}

/// Whether the stored finding says something other than the document now does.
fn differs(row: &findings::Model, d: &Detected) -> bool {
    row.kind != d.kind
        || row.severity != d.severity
        || row.title != d.title
        || row.description != d.description
        || row.file_path != d.file_path
        || row.line != d.line
        || row.cve_id != d.cve_id
        || row.package_name != d.package_name
        || row.package_version != d.package_version
        || row.secret_type != d.secret_type
        || row.remediation != d.remediation
}

fn new_row(
    tenant: Uuid,
    repo: Uuid,
    fp: String,
    d: &Detected,
    now: DateTime<Utc>,
) -> findings::ActiveModel {
    findings::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        repository_id: Set(repo),
        kind: Set(d.kind),
        access_issue: Set(None),
        severity: Set(d.severity),
        status: Set(FindingStatus::Open),
        title: Set(d.title.clone()),
        description: Set(d.description.clone()),
        file_path: Set(d.file_path.clone()),
        line: Set(d.line),
        cve_id: Set(d.cve_id.clone()),
        package_name: Set(d.package_name.clone()),
        package_version: Set(d.package_version.clone()),
        secret_type: Set(d.secret_type.clone()),
        remediation: Set(d.remediation.clone()),
        fingerprint: Set(fp),
        tool: Set(Some(d.tool.clone())),
        scan_source: Set(Some(d.source.clone())),
        first_seen_at: Set(now),
        last_seen_at: Set(now),
        resolved_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Matches `detected` against `stored` (the repository's findings by fingerprint). A finding
/// stored under the identity of before (its legacy key) is taken over once, not created again.
pub fn plan(
    tenant: Uuid,
    repo: Uuid,
    stored: &HashMap<String, findings::Model>,
    detected: &[Detected],
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan::default();
    let mut seen = HashSet::new();
    for d in detected {
        let fp = fingerprint(repo, &d.tool, &d.key);
        if !seen.insert(fp.clone()) {
            continue; // the same finding twice in one document counts once
        }
        let legacy = || {
            let old = fingerprint(repo, &d.tool, &d.legacy_key);
            stored
                .get(&old)
                .filter(|row| row.access_issue.is_none() && !plan.matched.contains(&row.id))
        };
        let row = stored.get(&fp).or_else(legacy).cloned();
        if let Some(row) = &row {
            plan.matched.insert(row.id);
        }
        if d.closed {
            // VEX says it does not apply: nothing opens, an open one closes.
            if let Some(row) = row.filter(|r| r.status == FindingStatus::Open) {
                plan.closed.push(row.id);
            }
            continue;
        }
        match row {
            None => {
                if d.kind == FindingKind::SecretDetected {
                    plan.secrets.push(d.clone());
                }
                plan.new_rows.push(new_row(tenant, repo, fp, d, now));
            }
            Some(row) => {
                let reopen = row.status == FindingStatus::Resolved;
                let changed = reopen || differs(&row, d);
                let same_source = row.scan_source.as_deref() == Some(d.source.as_str());
                if !changed && row.fingerprint == fp && same_source {
                    plan.unchanged.push(row.id);
                    continue;
                }
                if reopen && d.kind == FindingKind::SecretDetected {
                    plan.secrets.push(d.clone());
                }
                if !changed {
                    plan.quiet_rewrites += 1;
                }
                plan.rewrites.push(Rewrite {
                    row,
                    detected: d.clone(),
                    fingerprint: fp,
                    reopen,
                });
            }
        }
    }
    plan
}

/// The source a stored scan finding belongs to: its own, else (stored before sources) its tool.
pub fn source_of(row: &findings::Model) -> Option<&str> {
    if row.access_issue.is_some() {
        return None; // the access audit's, never a scan's
    }
    row.scan_source.as_deref().or(row.tool.as_deref())
}
