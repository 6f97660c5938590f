//! The Integrations page's data: status per upstream, and the records of what was sent.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::enums::{self, OrgStatus, Provider};
use entities::{
    billing_reports, cmdb_sync_runs, crm_opportunities, integration_health, organizations,
    outbox_events, projects, psa_links,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::config::IntegrationsConfig;
use crate::kernel::errors::ApiResult;
use crate::kernel::lists::list_page;
use crate::kernel::paging::{Listed, Window};
use crate::upstream::integration::Integration;

/// One row of the status page, as one tenant sees it.
pub struct IntegrationStatus {
    pub integration: Integration,
    pub missing: Vec<&'static str>,
    /// What is wrong, when the integration is in error.
    pub error: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
}

impl IntegrationStatus {
    /// `NOT_CONFIGURED` when a variable is missing, `ERROR` when something failed, `CONNECTED`
    /// otherwise.
    pub fn state(&self) -> &'static str {
        if !self.missing.is_empty() {
            "NOT_CONFIGURED"
        } else if self.error.is_some() {
            "ERROR"
        } else {
            "CONNECTED"
        }
    }

    /// A deployment-wide upstream: the last recorded outcome of any call (its messages are
    /// written by the clients and name no tenant's objects).
    fn shared(
        integration: Integration,
        missing: Vec<&'static str>,
        health: Option<integration_health::Model>,
    ) -> Self {
        let error = health
            .as_ref()
            .filter(|h| h.status == "error")
            .map(|h| h.last_error.clone().unwrap_or_else(|| "failed".into()));
        IntegrationStatus {
            integration,
            missing,
            error,
            last_success_at: health.as_ref().and_then(|h| h.last_success_at),
            last_failure_at: health.as_ref().and_then(|h| h.last_failure_at),
        }
    }
}

/// The source-control provider of a per-tenant integration.
fn provider_of(integration: Integration) -> Option<Provider> {
    match integration {
        Integration::Github => Some(Provider::Github),
        Integration::Gitlab => Some(Provider::Gitlab),
        Integration::AzureDevops => Some(Provider::AzureDevops),
        _ => None,
    }
}

#[derive(Clone)]
pub struct IntegrationsService {
    db: DatabaseConnection,
    config: IntegrationsConfig,
}

impl IntegrationsService {
    pub fn new(db: DatabaseConnection, config: IntegrationsConfig) -> Self {
        IntegrationsService { db, config }
    }

    /// Every integration's status as `tenant` sees it: the source-control providers and Azure
    /// Storage from the tenant's own organizations and projects, the deployment-wide upstreams
    /// from their last recorded outcome (three statements).
    pub async fn statuses(&self, tenant: Uuid) -> ApiResult<Vec<IntegrationStatus>> {
        let mut health: HashMap<String, integration_health::Model> =
            integration_health::Entity::find()
                .all(&self.db)
                .await?
                .into_iter()
                .map(|h| (h.integration.clone(), h))
                .collect();
        let orgs = self.organizations(tenant).await?;
        let projects = self.projects(tenant).await?;
        Ok(Integration::ALL
            .into_iter()
            .map(|integration| {
                let missing = integration.missing(&self.config);
                match (integration, provider_of(integration)) {
                    (_, Some(provider)) => {
                        from_organizations(integration, missing, provider, &orgs)
                    }
                    (Integration::Azure, None) => from_projects(missing, &projects),
                    _ => IntegrationStatus::shared(
                        integration,
                        missing,
                        health.remove(integration.key()),
                    ),
                }
            })
            .collect())
    }

    /// One integration's status as `tenant` sees it.
    pub async fn status(
        &self,
        tenant: Uuid,
        integration: Integration,
    ) -> ApiResult<IntegrationStatus> {
        let missing = integration.missing(&self.config);
        Ok(match (integration, provider_of(integration)) {
            (_, Some(provider)) => {
                let orgs = self.organizations(tenant).await?;
                from_organizations(integration, missing, provider, &orgs)
            }
            (Integration::Azure, None) => from_projects(missing, &self.projects(tenant).await?),
            _ => {
                let health = integration_health::Entity::find_by_id(integration.key().to_string())
                    .one(&self.db)
                    .await?;
                IntegrationStatus::shared(integration, missing, health)
            }
        })
    }

    /// The tenant's organizations that are not disconnected.
    async fn organizations(&self, tenant: Uuid) -> ApiResult<Vec<organizations::Model>> {
        Ok(organizations::Entity::find()
            .filter(organizations::Column::TenantId.eq(tenant))
            .filter(organizations::Column::Status.ne(OrgStatus::Disconnected))
            .order_by_asc(organizations::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The tenant's projects with a stored Azure Storage authorization.
    async fn projects(&self, tenant: Uuid) -> ApiResult<Vec<projects::Model>> {
        Ok(projects::Entity::find()
            .filter(projects::Column::TenantId.eq(tenant))
            .filter(projects::Column::CredentialsConnectedAt.is_not_null())
            .order_by_asc(projects::Column::Id)
            .all(&self.db)
            .await?)
    }

    pub async fn psa_links(
        &self,
        tenant: Uuid,
        kind: Option<enums::PsaLinkKind>,
        window: Window,
    ) -> ApiResult<Listed<psa_links::Model>> {
        let mut select = psa_links::Entity::find().filter(psa_links::Column::TenantId.eq(tenant));
        if let Some(kind) = kind {
            select = select.filter(psa_links::Column::Kind.eq(kind));
        }
        list_page(&self.db, select, psa_links::Column::Id, window).await
    }

    pub async fn crm_opportunities(
        &self,
        tenant: Uuid,
        window: Window,
    ) -> ApiResult<Listed<crm_opportunities::Model>> {
        let select = crm_opportunities::Entity::find()
            .filter(crm_opportunities::Column::TenantId.eq(tenant));
        list_page(&self.db, select, crm_opportunities::Column::Id, window).await
    }

    pub async fn cmdb_sync_runs(
        &self,
        tenant: Uuid,
        window: Window,
    ) -> ApiResult<Listed<cmdb_sync_runs::Model>> {
        let select =
            cmdb_sync_runs::Entity::find().filter(cmdb_sync_runs::Column::TenantId.eq(tenant));
        list_page(&self.db, select, cmdb_sync_runs::Column::Id, window).await
    }

    pub async fn billing_reports(
        &self,
        tenant: Uuid,
        window: Window,
    ) -> ApiResult<Listed<billing_reports::Model>> {
        let select =
            billing_reports::Entity::find().filter(billing_reports::Column::TenantId.eq(tenant));
        list_page(&self.db, select, billing_reports::Column::Id, window).await
    }

    pub async fn events(
        &self,
        tenant: Uuid,
        event_type: Option<String>,
        window: Window,
    ) -> ApiResult<Listed<outbox_events::Model>> {
        let mut select =
            outbox_events::Entity::find().filter(outbox_events::Column::TenantId.eq(tenant));
        if let Some(event_type) = event_type {
            select = select.filter(outbox_events::Column::EventType.eq(event_type));
        }
        list_page(&self.db, select, outbox_events::Column::EventId, window).await
    }

    /// One record of the page by id, within the tenant (`node(id:)`).
    pub async fn psa_link(&self, tenant: Uuid, id: Uuid) -> ApiResult<Option<psa_links::Model>> {
        self.one::<psa_links::Entity>(tenant, id, psa_links::Column::TenantId)
            .await
    }

    pub async fn crm_opportunity(
        &self,
        tenant: Uuid,
        id: Uuid,
    ) -> ApiResult<Option<crm_opportunities::Model>> {
        self.one::<crm_opportunities::Entity>(tenant, id, crm_opportunities::Column::TenantId)
            .await
    }

    pub async fn cmdb_sync_run(
        &self,
        tenant: Uuid,
        id: Uuid,
    ) -> ApiResult<Option<cmdb_sync_runs::Model>> {
        self.one::<cmdb_sync_runs::Entity>(tenant, id, cmdb_sync_runs::Column::TenantId)
            .await
    }

    pub async fn billing_report(
        &self,
        tenant: Uuid,
        id: Uuid,
    ) -> ApiResult<Option<billing_reports::Model>> {
        self.one::<billing_reports::Entity>(tenant, id, billing_reports::Column::TenantId)
            .await
    }

    async fn one<E>(
        &self,
        tenant: Uuid,
        id: Uuid,
        tenant_column: E::Column,
    ) -> ApiResult<Option<E::Model>>
    where
        E: EntityTrait,
        <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
    {
        Ok(E::find_by_id(id)
            .filter(tenant_column.eq(tenant))
            .one(&self.db)
            .await?)
    }
}

/// A provider as one tenant sees it: in error when one of its organizations is (the first one
/// named, with how many more).
fn from_organizations(
    integration: Integration,
    missing: Vec<&'static str>,
    provider: Provider,
    orgs: &[organizations::Model],
) -> IntegrationStatus {
    let mine: Vec<&organizations::Model> = orgs.iter().filter(|o| o.provider == provider).collect();
    let failing: Vec<&&organizations::Model> = mine
        .iter()
        .filter(|o| o.status == OrgStatus::Error)
        .collect();
    let error = failing.first().map(|org| {
        let why = org.status_error.as_deref().unwrap_or("failed");
        match failing.len() {
            1 => format!("{}: {why}", org.login),
            n => format!("{}: {why} (and {} more in error)", org.login, n - 1),
        }
    });
    IntegrationStatus {
        integration,
        missing,
        error,
        last_success_at: mine.iter().filter_map(|o| o.last_discovered_at).max(),
        last_failure_at: failing.iter().map(|o| o.updated_at).max(),
    }
}

/// Azure Storage as one tenant sees it: in error when one of its projects' last credential
/// vending failed, or its authorization has expired (it must be connected again).
fn from_projects(missing: Vec<&'static str>, projects: &[projects::Model]) -> IntegrationStatus {
    let now = Utc::now();
    let failing: Vec<(&projects::Model, String, Option<DateTime<Utc>>)> = projects
        .iter()
        .filter_map(|p| match (&p.storage_error, p.credentials_expires_at) {
            (Some(error), _) => Some((p, error.clone(), p.storage_error_at)),
            (None, Some(at)) if at <= now => Some((
                p,
                "its Azure Storage sign-in has expired: connect its storage again".into(),
                Some(at),
            )),
            _ => None,
        })
        .collect();
    let error = failing.first().map(|(p, why, _)| match failing.len() {
        1 => format!("project {:?}: {why}", p.name),
        n => format!("project {:?}: {why} (and {} more in error)", p.name, n - 1),
    });
    IntegrationStatus {
        integration: Integration::Azure,
        missing,
        error,
        last_success_at: projects
            .iter()
            .filter_map(|p| p.credentials_connected_at)
            .max(),
        last_failure_at: failing.iter().filter_map(|(_, _, at)| *at).max(),
    }
}
