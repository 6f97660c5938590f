//! The One Migrate: projects, agents, agent commands, jobs, job events and notifications.

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
                    .table(Projects::Table)
                    .col(pk_uuid(Projects::Id))
                    .col(uuid(Projects::TenantId))
                    .col(uuid_null(Projects::ClientId))
                    .col(text(Projects::Name))
                    .col(text_null(Projects::Description))
                    .col(text_null(Projects::PsaTicketId))
                    .col(text_null(Projects::PsaProjectId))
                    .col(text_null(Projects::StorageAccount))
                    .col(text_null(Projects::StorageContainer))
                    .col(text_null(Projects::AzureTenant))
                    .col(text_null(Projects::RefreshTokenEncrypted))
                    .col(timestamp_with_time_zone_null(
                        Projects::CredentialsConnectedAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        Projects::CredentialsExpiresAt,
                    ))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .col(timestamp_with_time_zone(Projects::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_projects_tenant_id")
                            .from(Projects::Table, Projects::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_projects_client_id")
                            .from(Projects::Table, Projects::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_projects_tenant_id_name")
                    .table(Projects::Table)
                    .col(Projects::TenantId)
                    .col(Projects::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_projects_tenant_id_id")
                    .table(Projects::Table)
                    .col(Projects::TenantId)
                    .col(Projects::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(pk_uuid(Agents::Id))
                    .col(uuid(Agents::TenantId))
                    .col(text(Agents::Name))
                    .col(text_null(Agents::Hostname))
                    .col(text_null(Agents::Version))
                    .col(string_len(Agents::Status, ENUM_LEN))
                    .col(text(Agents::ApiKeyHash))
                    .col(text(Agents::ApiKeyPrefix))
                    .col(timestamp_with_time_zone_null(Agents::LastHeartbeatAt))
                    .col(timestamp_with_time_zone(Agents::RegisteredAt))
                    .col(timestamp_with_time_zone_null(Agents::RevokedAt))
                    .col(timestamp_with_time_zone(Agents::CreatedAt))
                    .col(timestamp_with_time_zone(Agents::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_agents_tenant_id")
                            .from(Agents::Table, Agents::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_agents_api_key_hash")
                    .table(Agents::Table)
                    .col(Agents::ApiKeyHash)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_agents_tenant_id_id")
                    .table(Agents::Table)
                    .col(Agents::TenantId)
                    .col(Agents::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(pk_uuid(Jobs::Id))
                    .col(uuid(Jobs::TenantId))
                    .col(uuid(Jobs::ProjectId))
                    .col(uuid_null(Jobs::AgentId))
                    .col(string_len(Jobs::Kind, ENUM_LEN))
                    .col(text(Jobs::Name))
                    .col(string_len(Jobs::Status, ENUM_LEN))
                    .col(text_null(Jobs::PsaTicketId))
                    .col(text_null(Jobs::PsaProjectId))
                    .col(big_integer_null(Jobs::ItemsTotal))
                    .col(big_integer(Jobs::ItemsDone))
                    .col(big_integer_null(Jobs::BytesTotal))
                    .col(big_integer(Jobs::BytesDone))
                    .col(double(Jobs::GbTransferred))
                    .col(integer(Jobs::MailboxCount))
                    .col(text_null(Jobs::Error))
                    .col(json_binary(Jobs::Config))
                    .col(text_null(Jobs::SecretEncrypted))
                    .col(timestamp_with_time_zone_null(Jobs::StartedAt))
                    .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jobs_tenant_id")
                            .from(Jobs::Table, Jobs::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jobs_project_id")
                            .from(Jobs::Table, Jobs::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jobs_agent_id")
                            .from(Jobs::Table, Jobs::AgentId)
                            .to(Agents::Table, Agents::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_tenant_id_id")
                    .table(Jobs::Table)
                    .col(Jobs::TenantId)
                    .col(Jobs::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_tenant_id_project_id_id")
                    .table(Jobs::Table)
                    .col(Jobs::TenantId)
                    .col(Jobs::ProjectId)
                    .col(Jobs::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_tenant_id_status_id")
                    .table(Jobs::Table)
                    .col(Jobs::TenantId)
                    .col(Jobs::Status)
                    .col(Jobs::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_tenant_id_agent_id_id")
                    .table(Jobs::Table)
                    .col(Jobs::TenantId)
                    .col(Jobs::AgentId)
                    .col(Jobs::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AgentCommands::Table)
                    .col(pk_uuid(AgentCommands::Id))
                    .col(uuid(AgentCommands::TenantId))
                    .col(uuid(AgentCommands::AgentId))
                    .col(uuid_null(AgentCommands::JobId))
                    .col(string_len(AgentCommands::Command, ENUM_LEN))
                    .col(string_len(AgentCommands::Status, ENUM_LEN))
                    .col(timestamp_with_time_zone_null(AgentCommands::AcknowledgedAt))
                    .col(timestamp_with_time_zone(AgentCommands::CreatedAt))
                    .col(timestamp_with_time_zone(AgentCommands::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_agent_commands_tenant_id")
                            .from(AgentCommands::Table, AgentCommands::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_agent_commands_agent_id")
                            .from(AgentCommands::Table, AgentCommands::AgentId)
                            .to(Agents::Table, Agents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_agent_commands_job_id")
                            .from(AgentCommands::Table, AgentCommands::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_agent_commands_tenant_id_agent_id_id")
                    .table(AgentCommands::Table)
                    .col(AgentCommands::TenantId)
                    .col(AgentCommands::AgentId)
                    .col(AgentCommands::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(JobEvents::Table)
                    .col(pk_uuid(JobEvents::Id))
                    .col(uuid(JobEvents::TenantId))
                    .col(uuid(JobEvents::JobId))
                    .col(text(JobEvents::Kind))
                    .col(text(JobEvents::Message))
                    .col(json_binary(JobEvents::Data))
                    .col(timestamp_with_time_zone(JobEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_job_events_tenant_id")
                            .from(JobEvents::Table, JobEvents::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_job_events_job_id")
                            .from(JobEvents::Table, JobEvents::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_job_events_tenant_id_job_id_id")
                    .table(JobEvents::Table)
                    .col(JobEvents::TenantId)
                    .col(JobEvents::JobId)
                    .col(JobEvents::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::TenantId))
                    .col(string_len(Notifications::Kind, ENUM_LEN))
                    .col(uuid(Notifications::SubjectId))
                    .col(text(Notifications::Recipient))
                    .col(string_len(Notifications::Status, ENUM_LEN))
                    .col(integer(Notifications::Attempts))
                    .col(text_null(Notifications::LastError))
                    .col(timestamp_with_time_zone_null(Notifications::SentAt))
                    .col(text(Notifications::DedupeKey))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone(Notifications::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_tenant_id")
                            .from(Notifications::Table, Notifications::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_notifications_dedupe_key")
                    .table(Notifications::Table)
                    .col(Notifications::DedupeKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_tenant_id_id")
                    .table(Notifications::Table)
                    .col(Notifications::TenantId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(JobEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AgentCommands::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Agents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Projects::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum Projects {
    Table,
    Id,
    TenantId,
    ClientId,
    Name,
    Description,
    PsaTicketId,
    PsaProjectId,
    StorageAccount,
    StorageContainer,
    AzureTenant,
    RefreshTokenEncrypted,
    CredentialsConnectedAt,
    CredentialsExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Agents {
    Table,
    Id,
    TenantId,
    Name,
    Hostname,
    Version,
    Status,
    ApiKeyHash,
    ApiKeyPrefix,
    LastHeartbeatAt,
    RegisteredAt,
    RevokedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Jobs {
    Table,
    Id,
    TenantId,
    ProjectId,
    AgentId,
    Kind,
    Name,
    Status,
    PsaTicketId,
    PsaProjectId,
    ItemsTotal,
    ItemsDone,
    BytesTotal,
    BytesDone,
    GbTransferred,
    MailboxCount,
    Error,
    Config,
    SecretEncrypted,
    StartedAt,
    FinishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum AgentCommands {
    Table,
    Id,
    TenantId,
    AgentId,
    JobId,
    Command,
    Status,
    AcknowledgedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum JobEvents {
    Table,
    Id,
    TenantId,
    JobId,
    Kind,
    Message,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Notifications {
    Table,
    Id,
    TenantId,
    Kind,
    SubjectId,
    Recipient,
    Status,
    Attempts,
    LastError,
    SentAt,
    DedupeKey,
    CreatedAt,
    UpdatedAt,
}
