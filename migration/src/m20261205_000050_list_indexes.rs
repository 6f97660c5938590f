//! An index for the order of every root list (docs/benchmarks.md): each list filters by the tenant
//! and pages in (sort value, id) order, so `(tenant_id, <sort value>, id)` answers a page by reading
//! just that page, where the plans had walked the primary key past other tenants' rows (findings:
//! 0.4 s a page on the benchmark's 2 million) or sorted every row of the tenant.
//!
//! The expression indexes repeat the sort expressions of `src/code/order.rs` and
//! `src/kernel/order.rs` word for word: both databases use an expression index only for the same
//! expression. Lists already served by an earlier index (organizations, repositories by id and by
//! name, projects, agents, jobs, PSA links, CMDB runs, notifications) are not indexed again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `(name, table, key)`; the key is SQL that both PostgreSQL and SQLite accept.
const INDEXES: &[(&str, &str, &str)] = &[
    // Lists in id order.
    ("idx_findings_tenant_id_id", "findings", "tenant_id, id"),
    (
        "idx_recommendations_tenant_id_id",
        "recommendations",
        "tenant_id, id",
    ),
    ("idx_backups_tenant_id_id", "backups", "tenant_id, id"),
    (
        "idx_crm_opportunities_tenant_id_id",
        "crm_opportunities",
        "tenant_id, id",
    ),
    (
        "idx_billing_reports_tenant_id_id",
        "billing_reports",
        "tenant_id, id",
    ),
    (
        "idx_outbox_events_tenant_id_event_id",
        "outbox_events",
        "tenant_id, event_id",
    ),
    // `orderBy` of findings.
    (
        "idx_findings_tenant_id_severity_rank_id",
        "findings",
        "tenant_id, (CASE \"severity\" WHEN 'critical' THEN 4 WHEN 'high' THEN 3 \
         WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END), id",
    ),
    (
        "idx_findings_tenant_id_first_seen_at_id",
        "findings",
        "tenant_id, first_seen_at, id",
    ),
    (
        "idx_findings_tenant_id_last_seen_at_id",
        "findings",
        "tenant_id, last_seen_at, id",
    ),
    // `orderBy` of repositories (name has one since the first migration). A score sorts unknown
    // values last in either direction, so each direction has its own sentinel and index.
    (
        "idx_repositories_tenant_id_created_at_id",
        "repositories",
        "tenant_id, created_at, id",
    ),
    (
        "idx_repositories_tenant_id_health_asc_id",
        "repositories",
        "tenant_id, (COALESCE(\"health_score\", 2147483647)), id",
    ),
    (
        "idx_repositories_tenant_id_health_desc_id",
        "repositories",
        "tenant_id, (COALESCE(\"health_score\", -1)), id",
    ),
    (
        "idx_repositories_tenant_id_debt_asc_id",
        "repositories",
        "tenant_id, (COALESCE(\"debt_score\", 2147483647)), id",
    ),
    (
        "idx_repositories_tenant_id_debt_desc_id",
        "repositories",
        "tenant_id, (COALESCE(\"debt_score\", -1)), id",
    ),
    // `orderBy` of jobs.
    ("idx_jobs_tenant_id_name_id", "jobs", "tenant_id, name, id"),
    (
        "idx_jobs_tenant_id_created_at_id",
        "jobs",
        "tenant_id, created_at, id",
    ),
    (
        "idx_jobs_tenant_id_updated_at_id",
        "jobs",
        "tenant_id, updated_at, id",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, table, key) in INDEXES {
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {table} ({key})"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }
}
