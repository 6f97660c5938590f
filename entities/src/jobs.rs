use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{JobKind, JobStatus};

/// A migration job of a project, optionally assigned to an agent, with its progress counters.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub project_id: Uuid,
    pub agent_id: Option<Uuid>,
    pub kind: JobKind,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    pub status: JobStatus,
    #[sea_orm(column_type = "Text")]
    pub psa_ticket_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub psa_project_id: Option<String>,
    pub items_total: Option<i64>,
    pub items_done: i64,
    pub bytes_total: Option<i64>,
    pub bytes_done: i64,
    pub gb_transferred: f64,
    pub mailbox_count: i32,
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub config: Json,
    #[sea_orm(column_type = "Text")]
    pub secret_encrypted: Option<String>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
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
        belongs_to = "super::projects::Entity",
        from = "Column::ProjectId",
        to = "super::projects::Column::Id",
        on_delete = "Cascade"
    )]
    Project,
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::AgentId",
        to = "super::agents::Column::Id",
        on_delete = "SetNull"
    )]
    Agent,
    #[sea_orm(has_many = "super::job_events::Entity")]
    JobEvents,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::projects::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Project.def()
    }
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agent.def()
    }
}

impl Related<super::job_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::JobEvents.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
