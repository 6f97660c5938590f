use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A customer tenant mirrored from the hub; root of every tenant-owned row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "Text", unique)]
    pub hub_tenant_id: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    pub crm_hourly_rate_cents: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub notification_email: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
