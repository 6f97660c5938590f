//! Clients managed through the API (issue #19): `clients.archived_at`, names unique per tenant
//! regardless of case, and repositories that inherit their organization's client. Discovery used
//! to copy the organization's client onto every repository it found; such a copy is cleared here,
//! so the repository follows its organization until one is set on it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::timestamp_with_time_zone_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    ArchivedAt,
}

const UNIQUE_NAME: &str =
    "CREATE UNIQUE INDEX IF NOT EXISTS uq_clients_tenant_name ON clients (tenant_id, lower(name))";

/// The `clients` list pages in id order within a tenant.
const LIST: &str = "CREATE INDEX IF NOT EXISTS ix_clients_tenant_id ON clients (tenant_id, id)";

const INHERIT: &str = "UPDATE repositories SET client_id = NULL WHERE client_id IS NOT NULL \
     AND client_id = (SELECT o.client_id FROM organizations o \
     WHERE o.id = repositories.organization_id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(timestamp_with_time_zone_null(Clients::ArchivedAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(UNIQUE_NAME).await?;
        db.execute_unprepared(LIST).await?;
        db.execute_unprepared(INHERIT).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_clients_tenant_id")
            .await?;
        db.execute_unprepared("DROP INDEX uq_clients_tenant_name")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .drop_column(Clients::ArchivedAt)
                    .to_owned(),
            )
            .await
    }
}
