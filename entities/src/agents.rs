use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::AgentStatus;

/// An on-premises migration agent registered with an API key.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub hostname: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub version: Option<String>,
    pub status: AgentStatus,
    #[sea_orm(column_type = "Text", unique)]
    pub api_key_hash: String,
    #[sea_orm(column_type = "Text")]
    pub api_key_prefix: String,
    pub last_heartbeat_at: Option<DateTimeUtc>,
    pub registered_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
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
    #[sea_orm(has_many = "super::jobs::Entity")]
    Jobs,
    #[sea_orm(has_many = "super::agent_commands::Entity")]
    AgentCommands,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jobs.def()
    }
}

impl Related<super::agent_commands::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AgentCommands.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
