//! Backup runners: the services that run a tenant's repository backups and report on them, each
//! with its own revocable token (stored as SHA-256); backups learn who runs them, the runner's
//! last message and when it last reported (a backup silent for too long is failed).

use super::m20261123_000001_tenancy::Tenants;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BackupRunners {
    Table,
    Id,
    TenantId,
    Name,
    TokenHash,
    TokenPrefix,
    CreatedBy,
    LastSeenAt,
    RevokedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Backups {
    Table,
    RunnerId,
    Message,
    LastReportAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BackupRunners::Table)
                    .col(pk_uuid(BackupRunners::Id))
                    .col(uuid(BackupRunners::TenantId))
                    .col(text(BackupRunners::Name))
                    .col(string_len(BackupRunners::TokenHash, 64))
                    .col(string_len(BackupRunners::TokenPrefix, 16))
                    .col(uuid_null(BackupRunners::CreatedBy))
                    .col(timestamp_with_time_zone_null(BackupRunners::LastSeenAt))
                    .col(timestamp_with_time_zone_null(BackupRunners::RevokedAt))
                    .col(timestamp_with_time_zone(BackupRunners::CreatedAt))
                    .col(timestamp_with_time_zone(BackupRunners::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_backup_runners_tenant_id")
                            .from(BackupRunners::Table, BackupRunners::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_backup_runners_token_hash")
                    .table(BackupRunners::Table)
                    .col(BackupRunners::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_backup_runners_tenant_id_id")
                    .table(BackupRunners::Table)
                    .col(BackupRunners::TenantId)
                    .col(BackupRunners::Id)
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite alters one thing at a time.
        for column in [
            ColumnDef::new(Backups::RunnerId).uuid().null().to_owned(),
            ColumnDef::new(Backups::Message).text().null().to_owned(),
            ColumnDef::new(Backups::LastReportAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Backups::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // One backup in flight per repository, also under concurrent requests on PostgreSQL.
        // Older duplicates (possible before this index) are failed first.
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE backups SET status = 'failed', error = 'superseded by a newer request' \
             WHERE status IN ('requested', 'running') AND EXISTS (SELECT 1 FROM backups newer \
             WHERE newer.repository_id = backups.repository_id \
             AND newer.status IN ('requested', 'running') AND newer.id > backups.id)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_backups_in_flight ON backups (repository_id) \
             WHERE status IN ('requested', 'running')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS uq_backups_in_flight")
            .await?;
        for column in [Backups::RunnerId, Backups::Message, Backups::LastReportAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Backups::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(BackupRunners::Table).to_owned())
            .await
    }
}
