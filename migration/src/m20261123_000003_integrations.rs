//! Integrations: PSA links, CRM opportunities, CMDB sync, billing reports, outbox and integration health.

use super::m20261123_000001_tenancy::{Clients, Tenants};
use super::m20261123_000002_code::{Findings, Recommendations, Repositories};
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
                    .table(PsaLinks::Table)
                    .col(pk_uuid(PsaLinks::Id))
                    .col(uuid(PsaLinks::TenantId))
                    .col(string_len(PsaLinks::Kind, ENUM_LEN))
                    .col(uuid_null(PsaLinks::FindingId))
                    .col(uuid_null(PsaLinks::RecommendationId))
                    .col(text(PsaLinks::PsaId))
                    .col(text(PsaLinks::Title))
                    .col(text_null(PsaLinks::PsaStatus))
                    .col(timestamp_with_time_zone_null(PsaLinks::StatusCheckedAt))
                    .col(text(PsaLinks::IdempotencyKey))
                    .col(timestamp_with_time_zone(PsaLinks::CreatedAt))
                    .col(timestamp_with_time_zone(PsaLinks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_psa_links_tenant_id")
                            .from(PsaLinks::Table, PsaLinks::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_psa_links_finding_id")
                            .from(PsaLinks::Table, PsaLinks::FindingId)
                            .to(Findings::Table, Findings::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_psa_links_recommendation_id")
                            .from(PsaLinks::Table, PsaLinks::RecommendationId)
                            .to(Recommendations::Table, Recommendations::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_psa_links_tenant_id_idempotency_key")
                    .table(PsaLinks::Table)
                    .col(PsaLinks::TenantId)
                    .col(PsaLinks::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_psa_links_tenant_id_id")
                    .table(PsaLinks::Table)
                    .col(PsaLinks::TenantId)
                    .col(PsaLinks::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CrmOpportunities::Table)
                    .col(pk_uuid(CrmOpportunities::Id))
                    .col(uuid(CrmOpportunities::TenantId))
                    .col(text(CrmOpportunities::SourceKind))
                    .col(uuid(CrmOpportunities::SourceId))
                    .col(uuid_null(CrmOpportunities::ClientId))
                    .col(text(CrmOpportunities::CrmId))
                    .col(text(CrmOpportunities::Name))
                    .col(big_integer(CrmOpportunities::EstimatedValueCents))
                    .col(text(CrmOpportunities::Description))
                    .col(text(CrmOpportunities::IdempotencyKey))
                    .col(timestamp_with_time_zone(CrmOpportunities::CreatedAt))
                    .col(timestamp_with_time_zone(CrmOpportunities::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_crm_opportunities_tenant_id")
                            .from(CrmOpportunities::Table, CrmOpportunities::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_crm_opportunities_client_id")
                            .from(CrmOpportunities::Table, CrmOpportunities::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_crm_opportunities_tenant_id_idempotency_key")
                    .table(CrmOpportunities::Table)
                    .col(CrmOpportunities::TenantId)
                    .col(CrmOpportunities::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CmdbSyncRuns::Table)
                    .col(pk_uuid(CmdbSyncRuns::Id))
                    .col(uuid(CmdbSyncRuns::TenantId))
                    .col(text(CmdbSyncRuns::Trigger))
                    .col(timestamp_with_time_zone(CmdbSyncRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(CmdbSyncRuns::FinishedAt))
                    .col(integer(CmdbSyncRuns::Synced))
                    .col(integer(CmdbSyncRuns::Failed))
                    .col(integer(CmdbSyncRuns::Skipped))
                    .col(text_null(CmdbSyncRuns::Error))
                    .col(timestamp_with_time_zone(CmdbSyncRuns::CreatedAt))
                    .col(timestamp_with_time_zone(CmdbSyncRuns::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cmdb_sync_runs_tenant_id")
                            .from(CmdbSyncRuns::Table, CmdbSyncRuns::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_cmdb_sync_runs_tenant_id_id")
                    .table(CmdbSyncRuns::Table)
                    .col(CmdbSyncRuns::TenantId)
                    .col(CmdbSyncRuns::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CmdbAssets::Table)
                    .col(pk_uuid(CmdbAssets::Id))
                    .col(uuid(CmdbAssets::TenantId))
                    .col(uuid(CmdbAssets::RepositoryId))
                    .col(text(CmdbAssets::ProfileHash))
                    .col(timestamp_with_time_zone(CmdbAssets::SyncedAt))
                    .col(timestamp_with_time_zone(CmdbAssets::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cmdb_assets_tenant_id")
                            .from(CmdbAssets::Table, CmdbAssets::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cmdb_assets_repository_id")
                            .from(CmdbAssets::Table, CmdbAssets::RepositoryId)
                            .to(Repositories::Table, Repositories::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_cmdb_assets_repository_id")
                    .table(CmdbAssets::Table)
                    .col(CmdbAssets::RepositoryId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BillingReports::Table)
                    .col(pk_uuid(BillingReports::Id))
                    .col(uuid(BillingReports::TenantId))
                    .col(string_len(BillingReports::Product, ENUM_LEN))
                    .col(text(BillingReports::Metric))
                    .col(double(BillingReports::Quantity))
                    .col(text(BillingReports::Period))
                    .col(string_len(BillingReports::Status, ENUM_LEN))
                    .col(integer(BillingReports::Attempts))
                    .col(text_null(BillingReports::LastError))
                    .col(timestamp_with_time_zone_null(BillingReports::ReportedAt))
                    .col(timestamp_with_time_zone(BillingReports::CreatedAt))
                    .col(timestamp_with_time_zone(BillingReports::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_billing_reports_tenant_id")
                            .from(BillingReports::Table, BillingReports::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_billing_reports_tenant_id_product_metric_period")
                    .table(BillingReports::Table)
                    .col(BillingReports::TenantId)
                    .col(BillingReports::Product)
                    .col(BillingReports::Metric)
                    .col(BillingReports::Period)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .col(big_pk_auto(OutboxEvents::Seq))
                    .col(uuid(OutboxEvents::EventId))
                    .col(uuid(OutboxEvents::TenantId))
                    .col(text(OutboxEvents::AggregateType))
                    .col(uuid(OutboxEvents::AggregateId))
                    .col(text(OutboxEvents::EventType))
                    .col(json_binary(OutboxEvents::Payload))
                    .col(integer(OutboxEvents::Attempts))
                    .col(text_null(OutboxEvents::LastError))
                    .col(timestamp_with_time_zone(OutboxEvents::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(OutboxEvents::DeliveredAt))
                    .col(timestamp_with_time_zone(OutboxEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_outbox_events_tenant_id")
                            .from(OutboxEvents::Table, OutboxEvents::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_outbox_events_event_id")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::EventId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_events_delivered_at_seq")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::DeliveredAt)
                    .col(OutboxEvents::Seq)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_events_tenant_id_seq")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::TenantId)
                    .col(OutboxEvents::Seq)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IntegrationHealth::Table)
                    .col(text(IntegrationHealth::Integration).primary_key().take())
                    .col(text(IntegrationHealth::Status))
                    .col(text_null(IntegrationHealth::LastError))
                    .col(timestamp_with_time_zone_null(
                        IntegrationHealth::LastSuccessAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        IntegrationHealth::LastFailureAt,
                    ))
                    .col(timestamp_with_time_zone_null(IntegrationHealth::CheckedAt))
                    .col(timestamp_with_time_zone(IntegrationHealth::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IntegrationHealth::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OutboxEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(BillingReports::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CmdbAssets::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CmdbSyncRuns::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CrmOpportunities::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PsaLinks::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum PsaLinks {
    Table,
    Id,
    TenantId,
    Kind,
    FindingId,
    RecommendationId,
    PsaId,
    Title,
    PsaStatus,
    StatusCheckedAt,
    IdempotencyKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum CrmOpportunities {
    Table,
    Id,
    TenantId,
    SourceKind,
    SourceId,
    ClientId,
    CrmId,
    Name,
    EstimatedValueCents,
    Description,
    IdempotencyKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum CmdbSyncRuns {
    Table,
    Id,
    TenantId,
    Trigger,
    StartedAt,
    FinishedAt,
    Synced,
    Failed,
    Skipped,
    Error,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum CmdbAssets {
    Table,
    Id,
    TenantId,
    RepositoryId,
    ProfileHash,
    SyncedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum BillingReports {
    Table,
    Id,
    TenantId,
    Product,
    Metric,
    Quantity,
    Period,
    Status,
    Attempts,
    LastError,
    ReportedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum OutboxEvents {
    Table,
    Seq,
    EventId,
    TenantId,
    AggregateType,
    AggregateId,
    EventType,
    Payload,
    Attempts,
    LastError,
    NextAttemptAt,
    DeliveredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum IntegrationHealth {
    Table,
    Integration,
    Status,
    LastError,
    LastSuccessAt,
    LastFailureAt,
    CheckedAt,
    UpdatedAt,
}
