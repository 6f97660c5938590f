//! Writing: the transaction, the tenant, batched inserts, and counting what a tenant has.

use chrono::Utc;
use entities::{
    agents, findings, jobs, organizations, projects, recommendations, repositories, tenants,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction,
    DbErr, EntityTrait, PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use crate::{CHUNK, DemoSummary};

/// A transaction that will write, as the server's `db::begin_write` starts it: on SQLite it takes
/// the write lock at `BEGIN IMMEDIATE`, so it waits (busy timeout) for another writer instead of
/// failing with `SQLITE_BUSY`; PostgreSQL ignores the mode. A copy: this crate does not depend
/// on the server.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
/// The tenant's id, creating the tenant if Hub's id is new (like the first sign-in would).
pub(crate) async fn ensure_tenant(
    txn: &DatabaseTransaction,
    hub_id: &str,
    name: &str,
) -> Result<Uuid, DbErr> {
    let find = || tenants::Entity::find().filter(tenants::Column::HubTenantId.eq(hub_id));
    if let Some(tenant) = find().one(txn).await? {
        return Ok(tenant.id);
    }
    let now = Utc::now();
    tenants::Entity::insert(tenants::ActiveModel {
        id: Set(Uuid::now_v7()),
        hub_tenant_id: Set(hub_id.to_string()),
        name: Set(name.to_string()),
        crm_hourly_rate_cents: Set(None),
        notification_email: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([tenants::Column::HubTenantId])
    .exec_without_returning(txn)
    .await?;
    find()
        .one(txn)
        .await?
        .map(|t| t.id)
        .ok_or_else(|| DbErr::RecordNotFound(format!("tenant {hub_id} after insert")))
}

pub(crate) async fn count_existing(
    txn: &DatabaseTransaction,
    tenant: Uuid,
) -> Result<DemoSummary, DbErr> {
    Ok(DemoSummary {
        organizations: organizations::Entity::find()
            .filter(organizations::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        repositories: repositories::Entity::find()
            .filter(repositories::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        findings: findings::Entity::find()
            .filter(findings::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        recommendations: recommendations::Entity::find()
            .filter(recommendations::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        projects: projects::Entity::find()
            .filter(projects::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        agents: agents::Entity::find()
            .filter(agents::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        jobs: jobs::Entity::find()
            .filter(jobs::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        already_seeded: true,
    })
}

/// Inserts `rows` in batches of at most [`CHUNK`].
pub(crate) async fn insert_all<A>(txn: &DatabaseTransaction, rows: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
