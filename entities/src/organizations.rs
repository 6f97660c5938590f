use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{OrgStatus, Provider};

/// A source-control organization (GitHub, GitLab, Azure DevOps) connected by a tenant.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: Option<Uuid>,
    pub provider: Provider,
    #[sea_orm(column_type = "Text")]
    pub login: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub external_id: Option<String>,
    pub status: OrgStatus,
    #[sea_orm(column_type = "Text")]
    pub status_error: Option<String>,
    /// The code (DESIGN.md §5) of `status_error`.
    pub status_error_code: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub base_permission: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub credentials_encrypted: Option<String>,
    pub repo_count: i32,
    pub connected_at: Option<DateTimeUtc>,
    pub last_discovered_at: Option<DateTimeUtc>,
    pub next_retry_at: Option<DateTimeUtc>,
    /// A discovery run is queued or running since then (cleared when it ends).
    pub discovery_queued_at: Option<DateTimeUtc>,
    /// What the last finished discovery run found (counts, `finished_at`).
    pub last_discovery: Option<Json>,
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
        belongs_to = "super::clients::Entity",
        from = "Column::ClientId",
        to = "super::clients::Column::Id",
        on_delete = "SetNull"
    )]
    Client,
    #[sea_orm(has_many = "super::repositories::Entity")]
    Repositories,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::clients::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::repositories::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Repositories.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
