use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::PsaLinkKind;

/// A PSA ticket or project created for a finding or recommendation (idempotent by key).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "psa_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: PsaLinkKind,
    pub finding_id: Option<Uuid>,
    pub recommendation_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub psa_id: String,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub psa_status: Option<String>,
    pub status_checked_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub idempotency_key: String,
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
        belongs_to = "super::findings::Entity",
        from = "Column::FindingId",
        to = "super::findings::Column::Id",
        on_delete = "SetNull"
    )]
    Finding,
    #[sea_orm(
        belongs_to = "super::recommendations::Entity",
        from = "Column::RecommendationId",
        to = "super::recommendations::Column::Id",
        on_delete = "SetNull"
    )]
    Recommendation,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::findings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Finding.def()
    }
}

impl Related<super::recommendations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Recommendation.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
