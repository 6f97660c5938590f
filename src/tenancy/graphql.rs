//! `viewer` and tenant settings.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entities::enums;
use entities::{tenants, users};

use crate::graphql::relay::global_id;
use crate::graphql::{principal, service};
use crate::tenancy::TenancyService;

/// A role in the tenant.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::Role")]
pub enum Role {
    /// Manages integrations and settings.
    Admin,
    /// Works findings, tickets and jobs.
    Technician,
    /// Reads only.
    Viewer,
}

/// A product of The One Stack the user may use here.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::Product")]
pub enum Product {
    /// The One Code.
    Code,
    /// The One Migrate.
    Migrate,
}

/// The tenant (a Hub customer).
pub struct Tenant(pub tenants::Model);

/// The tenant (a Hub customer).
#[Object]
impl Tenant {
    /// Global ID.
    async fn id(&self) -> ID {
        global_id("Tenant", self.0.id)
    }
    /// Name, as Hub knows it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Hourly rate used to value CRM opportunities; null until an admin sets it.
    async fn crm_hourly_rate(&self) -> Option<f64> {
        self.0.crm_hourly_rate_cents.map(|c| c as f64 / 100.0)
    }
}

/// The signed-in user.
pub struct Viewer {
    user: users::Model,
    tenant: tenants::Model,
    roles: Vec<Role>,
    products: Vec<Product>,
}

/// The signed-in user.
#[Object]
impl Viewer {
    /// Global ID.
    async fn id(&self) -> ID {
        global_id("User", self.user.id)
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.user.name
    }
    /// E-mail address.
    async fn email(&self) -> &str {
        &self.user.email
    }
    /// Roles from the Hub token this request is authenticated with.
    async fn roles(&self) -> &[Role] {
        &self.roles
    }
    /// Products the user may use.
    async fn products(&self) -> &[Product] {
        &self.products
    }
    /// The user's tenant.
    async fn tenant(&self) -> Tenant {
        Tenant(self.tenant.clone())
    }
}

#[derive(Default)]
pub struct TenancyQuery;

#[Object]
impl TenancyQuery {
    /// The signed-in user and their tenant.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let user = principal(ctx).user()?;
        let (row, tenant) = service::<TenancyService>(ctx).viewer(user).await?;
        let roles = user.roles.iter().map(|r| (*r).into()).collect();
        let products = user.products.iter().map(|p| (*p).into()).collect();
        Ok(Viewer {
            user: row,
            tenant,
            roles,
            products,
        })
    }
}

/// Input of `setCrmHourlyRate`.
#[derive(InputObject)]
pub struct SetCrmHourlyRateInput {
    /// Hourly rate in the tenant's currency: greater than 0, at most 100000, in whole cents
    /// (at most 2 decimals).
    pub hourly_rate: f64,
}

/// Result of `setCrmHourlyRate`.
#[derive(SimpleObject)]
pub struct SetCrmHourlyRatePayload {
    /// The tenant with its new rate.
    pub tenant: Tenant,
}

#[derive(Default)]
pub struct TenancyMutation;

#[Object]
impl TenancyMutation {
    /// Sets the hourly rate CRM opportunity values are computed with (admins only).
    async fn set_crm_hourly_rate(
        &self,
        ctx: &Context<'_>,
        input: SetCrmHourlyRateInput,
    ) -> Result<SetCrmHourlyRatePayload> {
        let user = principal(ctx).user()?;
        let tenant = service::<TenancyService>(ctx)
            .set_crm_hourly_rate(user, input.hourly_rate)
            .await?;
        Ok(SetCrmHourlyRatePayload {
            tenant: Tenant(tenant),
        })
    }
}
