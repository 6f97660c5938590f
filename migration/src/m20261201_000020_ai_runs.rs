//! AI runs: one row per AI Platform generation (documentation, analyses), with its status.

use super::m20261123_000001_tenancy::Tenants;
use super::m20261123_000002_code::Repositories;
use sea_orm_migration::{prelude::*, schema::*};

/// Enumerations are stored as short strings.
const ENUM_LEN: u32 = 32;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AiRuns::Table)
                    .col(pk_uuid(AiRuns::Id))
                    .col(uuid(AiRuns::TenantId))
                    .col(uuid(AiRuns::RepositoryId))
                    .col(string_len(AiRuns::Kind, ENUM_LEN))
                    .col(json_binary(AiRuns::DocTypes))
                    .col(string_len(AiRuns::Status, ENUM_LEN))
                    .col(string_len_null(AiRuns::ErrorCode, ENUM_LEN))
                    .col(text_null(AiRuns::ErrorMessage))
                    .col(json_binary_null(AiRuns::Result))
                    .col(uuid_null(AiRuns::RequestedBy))
                    .col(timestamp_with_time_zone_null(AiRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(AiRuns::FinishedAt))
                    .col(timestamp_with_time_zone(AiRuns::CreatedAt))
                    .col(timestamp_with_time_zone(AiRuns::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ai_runs_tenant_id")
                            .from(AiRuns::Table, AiRuns::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ai_runs_repository_id")
                            .from(AiRuns::Table, AiRuns::RepositoryId)
                            .to(Repositories::Table, Repositories::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ai_runs_repository_id_id")
                    .table(AiRuns::Table)
                    .col(AiRuns::RepositoryId)
                    .col(AiRuns::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AiRuns::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum AiRuns {
    Table,
    Id,
    TenantId,
    RepositoryId,
    Kind,
    DocTypes,
    Status,
    ErrorCode,
    ErrorMessage,
    Result,
    RequestedBy,
    StartedAt,
    FinishedAt,
    CreatedAt,
    UpdatedAt,
}
