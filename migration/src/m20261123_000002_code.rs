//! The One Code: organizations, repositories, findings, recommendations, documents and backups.

use super::m20261123_000001_tenancy::{Clients, Tenants};
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
                    .table(Organizations::Table)
                    .col(pk_uuid(Organizations::Id))
                    .col(uuid(Organizations::TenantId))
                    .col(uuid_null(Organizations::ClientId))
                    .col(string_len(Organizations::Provider, ENUM_LEN))
                    .col(text(Organizations::Login))
                    .col(text(Organizations::Name))
                    .col(text_null(Organizations::ExternalId))
                    .col(string_len(Organizations::Status, ENUM_LEN))
                    .col(text_null(Organizations::StatusError))
                    .col(text_null(Organizations::BasePermission))
                    .col(text_null(Organizations::CredentialsEncrypted))
                    .col(integer(Organizations::RepoCount))
                    .col(timestamp_with_time_zone_null(Organizations::ConnectedAt))
                    .col(timestamp_with_time_zone_null(
                        Organizations::LastDiscoveredAt,
                    ))
                    .col(timestamp_with_time_zone_null(Organizations::NextRetryAt))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organizations_tenant_id")
                            .from(Organizations::Table, Organizations::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organizations_client_id")
                            .from(Organizations::Table, Organizations::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_organizations_tenant_id_provider_login")
                    .table(Organizations::Table)
                    .col(Organizations::TenantId)
                    .col(Organizations::Provider)
                    .col(Organizations::Login)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_organizations_tenant_id_id")
                    .table(Organizations::Table)
                    .col(Organizations::TenantId)
                    .col(Organizations::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Repositories::Table)
                    .col(pk_uuid(Repositories::Id))
                    .col(uuid(Repositories::TenantId))
                    .col(uuid(Repositories::OrganizationId))
                    .col(uuid_null(Repositories::ClientId))
                    .col(text(Repositories::Name))
                    .col(text(Repositories::FullName))
                    .col(text(Repositories::Url))
                    .col(text_null(Repositories::DefaultBranch))
                    .col(text_null(Repositories::Visibility))
                    .col(boolean(Repositories::Archived))
                    .col(text_null(Repositories::AppType))
                    .col(json_binary(Repositories::TechStack))
                    .col(integer_null(Repositories::HealthScore))
                    .col(integer_null(Repositories::DebtScore))
                    .col(timestamp_with_time_zone_null(Repositories::LastCommitAt))
                    .col(double_null(Repositories::CommitFrequency))
                    .col(text_null(Repositories::HostingPlatform))
                    .col(text_null(Repositories::DataClassification))
                    .col(string_len(Repositories::Lifecycle, ENUM_LEN))
                    .col(text_null(Repositories::ExternalId))
                    .col(timestamp_with_time_zone_null(Repositories::MissingSince))
                    .col(timestamp_with_time_zone(Repositories::CreatedAt))
                    .col(timestamp_with_time_zone(Repositories::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_repositories_tenant_id")
                            .from(Repositories::Table, Repositories::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_repositories_organization_id")
                            .from(Repositories::Table, Repositories::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_repositories_client_id")
                            .from(Repositories::Table, Repositories::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_repositories_organization_id_name")
                    .table(Repositories::Table)
                    .col(Repositories::OrganizationId)
                    .col(Repositories::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_repositories_tenant_id_id")
                    .table(Repositories::Table)
                    .col(Repositories::TenantId)
                    .col(Repositories::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_repositories_tenant_id_organization_id_id")
                    .table(Repositories::Table)
                    .col(Repositories::TenantId)
                    .col(Repositories::OrganizationId)
                    .col(Repositories::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_repositories_tenant_id_name_id")
                    .table(Repositories::Table)
                    .col(Repositories::TenantId)
                    .col(Repositories::Name)
                    .col(Repositories::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Findings::Table)
                    .col(pk_uuid(Findings::Id))
                    .col(uuid(Findings::TenantId))
                    .col(uuid(Findings::RepositoryId))
                    .col(string_len(Findings::Kind, ENUM_LEN))
                    .col(string_len_null(Findings::AccessIssue, ENUM_LEN))
                    .col(string_len(Findings::Severity, ENUM_LEN))
                    .col(string_len(Findings::Status, ENUM_LEN))
                    .col(text(Findings::Title))
                    .col(text(Findings::Description))
                    .col(text_null(Findings::FilePath))
                    .col(integer_null(Findings::Line))
                    .col(text_null(Findings::CveId))
                    .col(text_null(Findings::PackageName))
                    .col(text_null(Findings::PackageVersion))
                    .col(text_null(Findings::SecretType))
                    .col(text_null(Findings::Remediation))
                    .col(text(Findings::Fingerprint))
                    .col(text_null(Findings::Tool))
                    .col(timestamp_with_time_zone(Findings::FirstSeenAt))
                    .col(timestamp_with_time_zone(Findings::LastSeenAt))
                    .col(timestamp_with_time_zone_null(Findings::ResolvedAt))
                    .col(timestamp_with_time_zone(Findings::CreatedAt))
                    .col(timestamp_with_time_zone(Findings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_findings_tenant_id")
                            .from(Findings::Table, Findings::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_findings_repository_id")
                            .from(Findings::Table, Findings::RepositoryId)
                            .to(Repositories::Table, Repositories::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_findings_tenant_id_fingerprint")
                    .table(Findings::Table)
                    .col(Findings::TenantId)
                    .col(Findings::Fingerprint)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_findings_tenant_id_repository_id_id")
                    .table(Findings::Table)
                    .col(Findings::TenantId)
                    .col(Findings::RepositoryId)
                    .col(Findings::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_findings_tenant_id_severity_id")
                    .table(Findings::Table)
                    .col(Findings::TenantId)
                    .col(Findings::Severity)
                    .col(Findings::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_findings_tenant_id_kind_id")
                    .table(Findings::Table)
                    .col(Findings::TenantId)
                    .col(Findings::Kind)
                    .col(Findings::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Recommendations::Table)
                    .col(pk_uuid(Recommendations::Id))
                    .col(uuid(Recommendations::TenantId))
                    .col(uuid(Recommendations::RepositoryId))
                    .col(text(Recommendations::Title))
                    .col(text(Recommendations::Summary))
                    .col(text_null(Recommendations::TargetPlatform))
                    .col(json_binary(Recommendations::Steps))
                    .col(double(Recommendations::EffortHours))
                    .col(timestamp_with_time_zone(Recommendations::CreatedAt))
                    .col(timestamp_with_time_zone(Recommendations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_recommendations_tenant_id")
                            .from(Recommendations::Table, Recommendations::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_recommendations_repository_id")
                            .from(Recommendations::Table, Recommendations::RepositoryId)
                            .to(Repositories::Table, Repositories::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_recommendations_tenant_id_repository_id_id")
                    .table(Recommendations::Table)
                    .col(Recommendations::TenantId)
                    .col(Recommendations::RepositoryId)
                    .col(Recommendations::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .col(pk_uuid(Documents::Id))
                    .col(uuid(Documents::TenantId))
                    .col(uuid(Documents::RepositoryId))
                    .col(text(Documents::DocType))
                    .col(text(Documents::Title))
                    .col(text(Documents::Content))
                    .col(integer(Documents::Version))
                    .col(timestamp_with_time_zone(Documents::GeneratedAt))
                    .col(timestamp_with_time_zone(Documents::CreatedAt))
                    .col(timestamp_with_time_zone(Documents::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_tenant_id")
                            .from(Documents::Table, Documents::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_repository_id")
                            .from(Documents::Table, Documents::RepositoryId)
                            .to(Repositories::Table, Repositories::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_documents_repository_id_doc_type")
                    .table(Documents::Table)
                    .col(Documents::RepositoryId)
                    .col(Documents::DocType)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_documents_tenant_id_repository_id")
                    .table(Documents::Table)
                    .col(Documents::TenantId)
                    .col(Documents::RepositoryId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Backups::Table)
                    .col(pk_uuid(Backups::Id))
                    .col(uuid(Backups::TenantId))
                    .col(uuid(Backups::RepositoryId))
                    .col(string_len(Backups::Status, ENUM_LEN))
                    .col(uuid_null(Backups::RequestedBy))
                    .col(timestamp_with_time_zone_null(Backups::StartedAt))
                    .col(timestamp_with_time_zone_null(Backups::FinishedAt))
                    .col(text_null(Backups::Error))
                    .col(timestamp_with_time_zone(Backups::CreatedAt))
                    .col(timestamp_with_time_zone(Backups::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_backups_tenant_id")
                            .from(Backups::Table, Backups::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_backups_repository_id")
                            .from(Backups::Table, Backups::RepositoryId)
                            .to(Repositories::Table, Repositories::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_backups_tenant_id_repository_id_id")
                    .table(Backups::Table)
                    .col(Backups::TenantId)
                    .col(Backups::RepositoryId)
                    .col(Backups::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Backups::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Documents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Recommendations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Findings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Repositories::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Organizations::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum Organizations {
    Table,
    Id,
    TenantId,
    ClientId,
    Provider,
    Login,
    Name,
    ExternalId,
    Status,
    StatusError,
    BasePermission,
    CredentialsEncrypted,
    RepoCount,
    ConnectedAt,
    LastDiscoveredAt,
    NextRetryAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Repositories {
    Table,
    Id,
    TenantId,
    OrganizationId,
    ClientId,
    Name,
    FullName,
    Url,
    DefaultBranch,
    Visibility,
    Archived,
    AppType,
    TechStack,
    HealthScore,
    DebtScore,
    LastCommitAt,
    CommitFrequency,
    HostingPlatform,
    DataClassification,
    Lifecycle,
    ExternalId,
    MissingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Findings {
    Table,
    Id,
    TenantId,
    RepositoryId,
    Kind,
    AccessIssue,
    Severity,
    Status,
    Title,
    Description,
    FilePath,
    Line,
    CveId,
    PackageName,
    PackageVersion,
    SecretType,
    Remediation,
    Fingerprint,
    Tool,
    FirstSeenAt,
    LastSeenAt,
    ResolvedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Recommendations {
    Table,
    Id,
    TenantId,
    RepositoryId,
    Title,
    Summary,
    TargetPlatform,
    Steps,
    EffortHours,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Documents {
    Table,
    Id,
    TenantId,
    RepositoryId,
    DocType,
    Title,
    Content,
    Version,
    GeneratedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Backups {
    Table,
    Id,
    TenantId,
    RepositoryId,
    Status,
    RequestedBy,
    StartedAt,
    FinishedAt,
    Error,
    CreatedAt,
    UpdatedAt,
}
