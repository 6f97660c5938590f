use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A migration project of a tenant with its PSA references and storage credentials.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub psa_ticket_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub psa_project_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub storage_account: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub storage_container: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub azure_tenant: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub refresh_token_encrypted: Option<String>,
    pub credentials_connected_at: Option<DateTimeUtc>,
    pub credentials_expires_at: Option<DateTimeUtc>,
    /// Why the storage authorization last failed (cleared by the next success).
    #[sea_orm(column_type = "Text")]
    pub storage_error: Option<String>,
    pub storage_error_at: Option<DateTimeUtc>,
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
    #[sea_orm(has_many = "super::jobs::Entity")]
    Jobs,
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

impl Related<super::jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jobs.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
