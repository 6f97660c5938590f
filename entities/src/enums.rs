//! Enumerations stored as short strings (see "Enumerations" in docs/data-model.md).
//!
//! Serde uses the same strings as the database.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A role granted to a user by the hub.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Role {
    #[sea_orm(string_value = "admin")]
    #[serde(rename = "admin")]
    Admin,
    #[sea_orm(string_value = "technician")]
    #[serde(rename = "technician")]
    Technician,
    #[sea_orm(string_value = "viewer")]
    #[serde(rename = "viewer")]
    Viewer,
}

/// A product of the stack a user or a usage report belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Product {
    #[sea_orm(string_value = "code")]
    #[serde(rename = "code")]
    Code,
    #[sea_orm(string_value = "migrate")]
    #[serde(rename = "migrate")]
    Migrate,
}

/// The source-control provider of an organization.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Provider {
    #[sea_orm(string_value = "github")]
    #[serde(rename = "github")]
    Github,
    #[sea_orm(string_value = "gitlab")]
    #[serde(rename = "gitlab")]
    Gitlab,
    #[sea_orm(string_value = "azure_devops")]
    #[serde(rename = "azure_devops")]
    AzureDevops,
}

/// The connection status of an organization.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum OrgStatus {
    /// Access proven and credentials stored; the first discovery has not finished yet.
    #[sea_orm(string_value = "connecting")]
    #[serde(rename = "connecting")]
    Connecting,
    #[sea_orm(string_value = "connected")]
    #[serde(rename = "connected")]
    Connected,
    #[sea_orm(string_value = "error")]
    #[serde(rename = "error")]
    Error,
    #[sea_orm(string_value = "disconnected")]
    #[serde(rename = "disconnected")]
    Disconnected,
}

/// The lifecycle stage of a repository.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Lifecycle {
    #[sea_orm(string_value = "active")]
    #[serde(rename = "active")]
    Active,
    #[sea_orm(string_value = "sunset")]
    #[serde(rename = "sunset")]
    Sunset,
    #[sea_orm(string_value = "dead")]
    #[serde(rename = "dead")]
    Dead,
}

/// What a finding is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum FindingKind {
    #[sea_orm(string_value = "secret_detected")]
    #[serde(rename = "secret_detected")]
    SecretDetected,
    #[sea_orm(string_value = "vulnerability")]
    #[serde(rename = "vulnerability")]
    Vulnerability,
    #[sea_orm(string_value = "access_issue")]
    #[serde(rename = "access_issue")]
    AccessIssue,
    #[sea_orm(string_value = "sunset_decision")]
    #[serde(rename = "sunset_decision")]
    SunsetDecision,
}

/// The kind of access problem of an `access_issue` finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum AccessIssue {
    #[sea_orm(string_value = "permission_drift")]
    #[serde(rename = "permission_drift")]
    PermissionDrift,
    #[sea_orm(string_value = "orphaned_access")]
    #[serde(rename = "orphaned_access")]
    OrphanedAccess,
    #[sea_orm(string_value = "missing_2fa")]
    #[serde(rename = "missing_2fa")]
    Missing2fa,
}

/// The severity of a finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Severity {
    #[sea_orm(string_value = "critical")]
    #[serde(rename = "critical")]
    Critical,
    #[sea_orm(string_value = "high")]
    #[serde(rename = "high")]
    High,
    #[sea_orm(string_value = "medium")]
    #[serde(rename = "medium")]
    Medium,
    #[sea_orm(string_value = "low")]
    #[serde(rename = "low")]
    Low,
}

/// The triage status of a finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum FindingStatus {
    #[sea_orm(string_value = "open")]
    #[serde(rename = "open")]
    Open,
    #[sea_orm(string_value = "resolved")]
    #[serde(rename = "resolved")]
    Resolved,
    #[sea_orm(string_value = "ignored")]
    #[serde(rename = "ignored")]
    Ignored,
}

/// The status of a repository backup.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum BackupStatus {
    #[sea_orm(string_value = "requested")]
    #[serde(rename = "requested")]
    Requested,
    #[sea_orm(string_value = "running")]
    #[serde(rename = "running")]
    Running,
    #[sea_orm(string_value = "completed")]
    #[serde(rename = "completed")]
    Completed,
    #[sea_orm(string_value = "failed")]
    #[serde(rename = "failed")]
    Failed,
}

/// Whether a PSA link points to a ticket or a project.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum PsaLinkKind {
    #[sea_orm(string_value = "ticket")]
    #[serde(rename = "ticket")]
    Ticket,
    #[sea_orm(string_value = "project")]
    #[serde(rename = "project")]
    Project,
}

/// The delivery status of a billing report or a notification.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum DeliveryStatus {
    #[sea_orm(string_value = "pending")]
    #[serde(rename = "pending")]
    Pending,
    #[sea_orm(string_value = "sent")]
    #[serde(rename = "sent")]
    Sent,
    #[sea_orm(string_value = "failed")]
    #[serde(rename = "failed")]
    Failed,
}

/// The status of a migration agent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum AgentStatus {
    #[sea_orm(string_value = "online")]
    #[serde(rename = "online")]
    Online,
    #[sea_orm(string_value = "offline")]
    #[serde(rename = "offline")]
    Offline,
    #[sea_orm(string_value = "revoked")]
    #[serde(rename = "revoked")]
    Revoked,
}

/// A control command sent to an agent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum AgentCommand {
    #[sea_orm(string_value = "pause")]
    #[serde(rename = "pause")]
    Pause,
    #[sea_orm(string_value = "resume")]
    #[serde(rename = "resume")]
    Resume,
    #[sea_orm(string_value = "cancel")]
    #[serde(rename = "cancel")]
    Cancel,
}

/// The delivery status of an agent command.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum CommandStatus {
    #[sea_orm(string_value = "pending")]
    #[serde(rename = "pending")]
    Pending,
    #[sea_orm(string_value = "delivered")]
    #[serde(rename = "delivered")]
    Delivered,
    #[sea_orm(string_value = "acknowledged")]
    #[serde(rename = "acknowledged")]
    Acknowledged,
}

/// What a migration job migrates.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum JobKind {
    #[sea_orm(string_value = "mailbox")]
    #[serde(rename = "mailbox")]
    Mailbox,
    #[sea_orm(string_value = "file_share")]
    #[serde(rename = "file_share")]
    FileShare,
    #[sea_orm(string_value = "rockrms_import")]
    #[serde(rename = "rockrms_import")]
    RockrmsImport,
    #[sea_orm(string_value = "sharepoint")]
    #[serde(rename = "sharepoint")]
    Sharepoint,
    #[sea_orm(string_value = "onedrive")]
    #[serde(rename = "onedrive")]
    Onedrive,
}

/// The status of a migration job.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum JobStatus {
    #[sea_orm(string_value = "queued")]
    #[serde(rename = "queued")]
    Queued,
    #[sea_orm(string_value = "running")]
    #[serde(rename = "running")]
    Running,
    #[sea_orm(string_value = "paused")]
    #[serde(rename = "paused")]
    Paused,
    #[sea_orm(string_value = "completed")]
    #[serde(rename = "completed")]
    Completed,
    #[sea_orm(string_value = "failed")]
    #[serde(rename = "failed")]
    Failed,
    #[sea_orm(string_value = "cancelled")]
    #[serde(rename = "cancelled")]
    Cancelled,
}

/// What a notification is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum NotificationKind {
    #[sea_orm(string_value = "job_completed")]
    #[serde(rename = "job_completed")]
    JobCompleted,
    #[sea_orm(string_value = "job_failed")]
    #[serde(rename = "job_failed")]
    JobFailed,
    #[sea_orm(string_value = "credentials_expiring")]
    #[serde(rename = "credentials_expiring")]
    CredentialsExpiring,
}
