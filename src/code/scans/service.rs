//! One ingestion, in one transaction: match the document's findings against the repository's by
//! fingerprint, create / update / reopen / resolve, announce new secrets on the Bus, rescore.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entities::enums::{FindingKind, FindingStatus, Severity};
use entities::{findings, organizations, repositories};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::scores::{self, OpenCount};
use super::{Detected, ScanFormat, parse, uploader};
use crate::auth::User;
use crate::integrations::bus::{self, events::NewSecretDetected};
use crate::kernel::errors::{ApiError, ApiResult, Code};

/// Rows per multi-row statement (well under both databases' bind-parameter limits).
const CHUNK: usize = 200;

#[derive(Clone)]
pub struct ScanService {
    db: DatabaseConnection,
    bus_wake: Arc<tokio::sync::Notify>,
    max_bytes: usize,
}

/// What one ingestion did.
#[derive(Clone, Debug)]
pub struct ScanSummary {
    pub format: ScanFormat,
    pub tools: Vec<String>,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub resolved: i64,
    pub new_secrets: i64,
    /// The repository with its recomputed scores.
    pub repository: repositories::Model,
}

/// The stored fingerprint: unique per tenant, so it covers the repository and the tool.
pub fn fingerprint(repository: Uuid, tool: &str, key: &str) -> String {
    let mut hash = Sha256::new();
    for part in [repository.to_string().as_str(), tool, key] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    hex::encode(hash.finalize())
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
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
        first_seen_at: Set(now),
        last_seen_at: Set(now),
        resolved_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

impl ScanService {
    pub fn new(
        db: DatabaseConnection,
        bus_wake: Arc<tokio::sync::Notify>,
        max_bytes: usize,
    ) -> Self {
        ScanService {
            db,
            bus_wake,
            max_bytes,
        }
    }

    /// The largest document accepted (`SCAN_MAX_BYTES`).
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Ingests one scanner document into a repository of the user's tenant. A refused document
    /// changes nothing; an accepted one is applied whole, in one transaction.
    pub async fn ingest(
        &self,
        user: &User,
        repository_id: Uuid,
        format: ScanFormat,
        document: &[u8],
        full_scan: bool,
    ) -> ApiResult<ScanSummary> {
        uploader(user)?;
        if document.len() > self.max_bytes {
            return Err(ApiError::new(
                Code::PayloadTooLarge,
                format!(
                    "the scan document has {} bytes, over the limit of {} bytes (SCAN_MAX_BYTES)",
                    document.len(),
                    self.max_bytes
                ),
            ));
        }
        let parsed = parse(format, document)?;
        let now = Utc::now();
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        // Locks the repository row on PostgreSQL: one ingestion per repository at a time, so the
        // "new secret" decision and the resolution see a settled state.
        let repo = repositories::Entity::find_by_id(repository_id)
            .filter(repositories::Column::TenantId.eq(user.tenant_id))
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("repository"))?;
        let org = organizations::Entity::find_by_id(repo.organization_id)
            .one(&txn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("repository {} has no organization", repo.id))?;
        let stored: HashMap<String, findings::Model> = findings::Entity::find()
            .filter(findings::Column::TenantId.eq(user.tenant_id))
            .filter(findings::Column::RepositoryId.eq(repo.id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|f| (f.fingerprint.clone(), f))
            .collect();

        let mut summary = Tally::default();
        let mut seen = HashSet::new();
        for d in &parsed.findings {
            let fp = fingerprint(repo.id, &d.tool, &d.key);
            if !seen.insert(fp.clone()) {
                continue; // the same finding twice in one document counts once
            }
            match stored.get(&fp) {
                None => {
                    if d.kind == FindingKind::SecretDetected {
                        summary.secrets.push(d.clone());
                    }
                    summary
                        .new_rows
                        .push(new_row(user.tenant_id, repo.id, fp, d, now));
                }
                Some(row) => {
                    let reopen = row.status == FindingStatus::Resolved;
                    if reopen || differs(row, d) {
                        if reopen && d.kind == FindingKind::SecretDetected {
                            summary.secrets.push(d.clone());
                        }
                        update_row(&txn, row, d, reopen, now).await?;
                        summary.updated += 1;
                    } else {
                        summary.unchanged.push(row.id);
                    }
                }
            }
        }
        let created = summary.new_rows.len() as i64;
        for chunk in summary.new_rows.chunks(CHUNK) {
            findings::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for chunk in summary.unchanged.chunks(CHUNK) {
            findings::Entity::update_many()
                .col_expr(findings::Column::LastSeenAt, Expr::value(now))
                .filter(findings::Column::Id.is_in(chunk.to_vec()))
                .exec(&txn)
                .await?;
        }
        let resolved = if full_scan {
            resolve_absent(&txn, &stored, &seen, &parsed.tools, now).await?
        } else {
            0
        };
        for d in &summary.secrets {
            let event = NewSecretDetected {
                repo_id: repo.id,
                org_id: org.id,
                secret_type: d.secret_type.clone().unwrap_or_default(),
                severity: severity_name(d.severity).into(),
            };
            bus::enqueue(&txn, user.tenant_id, &event).await?;
        }
        let repository = rescore(&txn, repo, now).await?;
        txn.commit().await?;
        if !summary.secrets.is_empty() {
            self.bus_wake.notify_one();
        }
        Ok(ScanSummary {
            format,
            tools: parsed.tools,
            created,
            updated: summary.updated,
            unchanged: summary.unchanged.len() as i64,
            resolved,
            new_secrets: summary.secrets.len() as i64,
            repository,
        })
    }
}

#[derive(Default)]
struct Tally {
    new_rows: Vec<findings::ActiveModel>,
    unchanged: Vec<Uuid>,
    updated: i64,
    secrets: Vec<Detected>,
}

/// Takes the document's word for a re-seen finding; a finding resolved by an earlier scan opens
/// again (an ignored one stays ignored).
async fn update_row(
    txn: &DatabaseTransaction,
    row: &findings::Model,
    d: &Detected,
    reopen: bool,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut active: findings::ActiveModel = row.clone().into();
    active.kind = Set(d.kind);
    active.severity = Set(d.severity);
    active.title = Set(d.title.clone());
    active.description = Set(d.description.clone());
    active.file_path = Set(d.file_path.clone());
    active.line = Set(d.line);
    active.cve_id = Set(d.cve_id.clone());
    active.package_name = Set(d.package_name.clone());
    active.package_version = Set(d.package_version.clone());
    active.secret_type = Set(d.secret_type.clone());
    active.remediation = Set(d.remediation.clone());
    active.last_seen_at = Set(now);
    active.updated_at = Set(now);
    if reopen {
        active.status = Set(FindingStatus::Open);
        active.resolved_at = Set(None);
    }
    findings::Entity::update(active).exec(txn).await?;
    Ok(())
}

/// A full scan speaks for its tools on this repository: their open findings it did not report
/// are resolved. Other tools' and other repositories' findings are not touched.
async fn resolve_absent(
    txn: &DatabaseTransaction,
    stored: &HashMap<String, findings::Model>,
    seen: &HashSet<String>,
    tools: &[String],
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    let gone: Vec<Uuid> = stored
        .values()
        .filter(|f| f.status == FindingStatus::Open)
        .filter(|f| f.tool.as_ref().is_some_and(|t| tools.contains(t)))
        .filter(|f| !seen.contains(&f.fingerprint))
        .map(|f| f.id)
        .collect();
    for chunk in gone.chunks(CHUNK) {
        findings::Entity::update_many()
            .col_expr(
                findings::Column::Status,
                Expr::value(FindingStatus::Resolved),
            )
            .col_expr(findings::Column::ResolvedAt, Expr::value(now))
            .col_expr(findings::Column::UpdatedAt, Expr::value(now))
            .filter(findings::Column::Id.is_in(chunk.to_vec()))
            .exec(txn)
            .await?;
    }
    Ok(gone.len() as i64)
}

/// Recomputes the repository's scores from its open findings (one grouped count) and activity.
async fn rescore(
    txn: &DatabaseTransaction,
    repo: repositories::Model,
    now: DateTime<Utc>,
) -> ApiResult<repositories::Model> {
    let open: Vec<OpenCount> = findings::Entity::find()
        .select_only()
        .column(findings::Column::Kind)
        .column(findings::Column::Severity)
        .column_as(Expr::col(Asterisk).count(), "n")
        .filter(findings::Column::TenantId.eq(repo.tenant_id))
        .filter(findings::Column::RepositoryId.eq(repo.id))
        .filter(findings::Column::Status.eq(FindingStatus::Open))
        .group_by(findings::Column::Kind)
        .group_by(findings::Column::Severity)
        .into_tuple()
        .all(txn)
        .await?;
    let s = scores::compute(&open, repo.last_commit_at, repo.commit_frequency, now);
    let mut active: repositories::ActiveModel = repo.into();
    active.health_score = Set(Some(s.health));
    active.debt_score = Set(Some(s.debt));
    active.updated_at = Set(now);
    Ok(repositories::Entity::update(active).exec(txn).await?)
}
