use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{AccessIssue, FindingKind, FindingStatus, Severity};

/// A security or access finding on a repository, deduplicated by fingerprint.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub repository_id: Uuid,
    pub kind: FindingKind,
    pub access_issue: Option<AccessIssue>,
    pub severity: Severity,
    pub status: FindingStatus,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    #[sea_orm(column_type = "Text")]
    pub file_path: Option<String>,
    pub line: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub cve_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub package_name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub package_version: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub secret_type: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub remediation: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub fingerprint: String,
    #[sea_orm(column_type = "Text")]
    pub tool: Option<String>,
    /// The scan source that last reported it (tool, category, upload's source; see
    /// docs/scans.md); `None` for access-audit findings and for scan findings stored before
    /// sources, which count as their bare tool.
    #[sea_orm(column_type = "Text", nullable)]
    pub scan_source: Option<String>,
    pub first_seen_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TenantId",
        to = "super::tenants::Column::Id",
        on_delete = "Cascade"
    )]
    Tenant,
    #[sea_orm(
        belongs_to = "super::repositories::Entity",
        from = "Column::RepositoryId",
        to = "super::repositories::Column::Id",
        on_delete = "Cascade"
    )]
    Repository,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::repositories::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Repository.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
