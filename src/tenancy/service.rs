use chrono::Utc;
use entities::{tenants, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::auth::{Access, User};
use crate::kernel::errors::{ApiError, ApiResult};

#[derive(Clone)]
pub struct TenancyService {
    db: DatabaseConnection,
}

impl TenancyService {
    pub fn new(db: DatabaseConnection) -> Self {
        TenancyService { db }
    }

    /// The user's row and their tenant's, in one statement.
    pub async fn viewer(&self, user: &User) -> ApiResult<(users::Model, tenants::Model)> {
        let found = users::Entity::find_by_id(user.user_id)
            .filter(users::Column::TenantId.eq(user.tenant_id))
            .find_also_related(tenants::Entity)
            .one(&self.db)
            .await?;
        match found {
            Some((u, Some(t))) => Ok((u, t)),
            _ => Err(ApiError::unauthenticated()),
        }
    }

    pub async fn tenant(&self, tenant: Uuid) -> ApiResult<tenants::Model> {
        tenants::Entity::find_by_id(tenant)
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("tenant"))
    }

    /// Sets the hourly rate CRM opportunity values are computed with (admins only).
    pub async fn set_crm_hourly_rate(&self, user: &User, rate: f64) -> ApiResult<tenants::Model> {
        user.may(None, Access::Administer, "set the hourly rate")?;
        let cents = crate::kernel::money::positive_cents("input.hourlyRate", rate, 100_000.0)?;
        let mut tenant: tenants::ActiveModel = self.tenant(user.tenant_id).await?.into();
        tenant.crm_hourly_rate_cents = Set(Some(cents));
        tenant.updated_at = Set(Utc::now());
        Ok(tenant.update(&self.db).await?)
    }
}
