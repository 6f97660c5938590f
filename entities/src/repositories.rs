use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::Lifecycle;

/// A repository discovered in an organization, with its profile and scores.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "repositories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub organization_id: Uuid,
    pub client_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub full_name: String,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    #[sea_orm(column_type = "Text")]
    pub default_branch: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub visibility: Option<String>,
    pub archived: bool,
    #[sea_orm(column_type = "Text")]
    pub app_type: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub tech_stack: Json,
    pub health_score: Option<i32>,
    pub debt_score: Option<i32>,
    pub last_commit_at: Option<DateTimeUtc>,
    pub commit_frequency: Option<f64>,
    #[sea_orm(column_type = "Text")]
    pub hosting_platform: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub data_classification: Option<String>,
    pub lifecycle: Lifecycle,
    /// Set by hand (`updateRepositoryProfile`): inference leaves it alone until cleared.
    pub app_type_overridden: bool,
    pub hosting_platform_overridden: bool,
    pub data_classification_overridden: bool,
    /// Why the lifecycle was last set (`setRepositoryLifecycle`), and when.
    #[sea_orm(column_type = "Text", nullable)]
    pub lifecycle_reason: Option<String>,
    pub lifecycle_changed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub external_id: Option<String>,
    pub missing_since: Option<DateTimeUtc>,
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
        belongs_to = "super::organizations::Entity",
        from = "Column::OrganizationId",
        to = "super::organizations::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::clients::Entity",
        from = "Column::ClientId",
        to = "super::clients::Column::Id",
        on_delete = "SetNull"
    )]
    Client,
    #[sea_orm(has_many = "super::findings::Entity")]
    Findings,
    #[sea_orm(has_many = "super::recommendations::Entity")]
    Recommendations,
    #[sea_orm(has_many = "super::documents::Entity")]
    Documents,
    #[sea_orm(has_many = "super::backups::Entity")]
    Backups,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::organizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::clients::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::findings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Findings.def()
    }
}

impl Related<super::recommendations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Recommendations.def()
    }
}

impl Related<super::documents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Documents.def()
    }
}

impl Related<super::backups::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Backups.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
