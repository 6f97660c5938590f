//! One ingestion, in one transaction: match the document's findings against the repository's by
//! fingerprint, create / update / reopen / resolve, announce new secrets on the Bus, rescore.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entities::enums::{FindingStatus, Severity};
use entities::{findings, organizations, repositories};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::plan::{Rewrite, plan, source_of};
use super::scores::{self, OpenCount};
use super::{ScanFormat, explicit_source, parse, uploader};
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
    /// The document's sources (tool, category, explicit source).
    pub sources: Vec<String>,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub resolved: i64,
    pub new_secrets: i64,
    /// What the uploader should know about the document (see `Parsed::warnings`).
    pub warnings: Vec<String>,
    /// The repository with its recomputed scores.
    pub repository: repositories::Model,
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
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
        source: Option<&str>,
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
        let source = explicit_source(source)?;
        let parsed = parse(format, document, source.as_deref())?;
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

        let plan = plan(user.tenant_id, repo.id, &stored, &parsed.findings, now);
        let created = plan.new_rows.len() as i64;
        for chunk in plan.new_rows.chunks(CHUNK) {
            findings::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for rewrite in &plan.rewrites {
            update_row(&txn, rewrite, now).await?;
        }
        for chunk in plan.unchanged.chunks(CHUNK) {
            findings::Entity::update_many()
                .col_expr(findings::Column::LastSeenAt, Expr::value(now))
                .filter(findings::Column::Id.is_in(chunk.to_vec()))
                .exec(&txn)
                .await?;
        }
        let mut resolved = resolve(&txn, &plan.closed, now).await?;
        if full_scan {
            let sources: Vec<&str> = parsed
                .sources
                .iter()
                .filter(|s| s.resolves())
                .map(|s| s.key.as_str())
                .collect();
            resolved += resolve_absent(&txn, &stored, &plan.matched, &sources, now).await?;
        }
        for d in &plan.secrets {
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
        if !plan.secrets.is_empty() {
            self.bus_wake.notify_one();
        }
        Ok(ScanSummary {
            format,
            tools: parsed.tools,
            sources: parsed.sources.into_iter().map(|s| s.key).collect(),
            created,
            updated: (plan.rewrites.len() - plan.quiet_rewrites) as i64,
            unchanged: (plan.unchanged.len() + plan.quiet_rewrites) as i64,
            resolved,
            new_secrets: plan.secrets.len() as i64,
            warnings: parsed.warnings,
            repository,
        })
    }
}

/// Takes the document's word for a re-seen finding; a finding resolved by an earlier scan opens
/// again (an ignored one stays ignored).
async fn update_row(
    txn: &DatabaseTransaction,
    rewrite: &Rewrite,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let d = &rewrite.detected;
    let mut active: findings::ActiveModel = rewrite.row.clone().into();
    active.fingerprint = Set(rewrite.fingerprint.clone());
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
    active.scan_source = Set(Some(d.source.clone()));
    active.last_seen_at = Set(now);
    active.updated_at = Set(now);
    if rewrite.reopen {
        active.status = Set(FindingStatus::Open);
        active.resolved_at = Set(None);
    }
    findings::Entity::update(active).exec(txn).await?;
    Ok(())
}

/// A full scan speaks for its complete, named sources on this repository: their open findings
/// it did not report are resolved. Other sources', the access audit's and other repositories'
/// findings are not touched.
async fn resolve_absent(
    txn: &DatabaseTransaction,
    stored: &HashMap<String, findings::Model>,
    matched: &HashSet<Uuid>,
    sources: &[&str],
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    let gone: Vec<Uuid> = stored
        .values()
        .filter(|f| f.status == FindingStatus::Open)
        .filter(|f| source_of(f).is_some_and(|s| sources.contains(&s)))
        .filter(|f| !matched.contains(&f.id))
        .map(|f| f.id)
        .collect();
    resolve(txn, &gone, now).await
}

/// Marks the findings `ids` resolved now; returns how many.
async fn resolve(txn: &DatabaseTransaction, ids: &[Uuid], now: DateTime<Utc>) -> ApiResult<i64> {
    for chunk in ids.chunks(CHUNK) {
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
    Ok(ids.len() as i64)
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
