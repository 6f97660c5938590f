//! The Integrations page's data: status per upstream, and the records of what was sent.

use std::collections::HashMap;

use entities::enums;
use entities::{
    billing_reports, cmdb_sync_runs, crm_opportunities, integration_health, outbox_events,
    psa_links,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::config::IntegrationsConfig;
use crate::kernel::errors::ApiResult;
use crate::kernel::lists::list_page;
use crate::kernel::paging::{Listed, Window};
use crate::upstream::integration::Integration;

/// One row of the status page.
pub struct IntegrationStatus {
    pub integration: Integration,
    pub missing: Vec<&'static str>,
    pub health: Option<integration_health::Model>,
}

impl IntegrationStatus {
    /// `NOT_CONFIGURED` when a variable is missing, `ERROR` when the last call or probe failed,
    /// `CONNECTED` otherwise.
    pub fn state(&self) -> &'static str {
        if !self.missing.is_empty() {
            "NOT_CONFIGURED"
        } else if self.health.as_ref().is_some_and(|h| h.status == "error") {
            "ERROR"
        } else {
            "CONNECTED"
        }
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

    /// Every integration's status (one statement for the recorded outcomes).
    pub async fn statuses(&self) -> ApiResult<Vec<IntegrationStatus>> {
        let mut health: HashMap<String, integration_health::Model> =
            integration_health::Entity::find()
                .all(&self.db)
                .await?
                .into_iter()
                .map(|h| (h.integration.clone(), h))
                .collect();
        Ok(Integration::ALL
            .into_iter()
            .map(|integration| IntegrationStatus {
                integration,
                missing: integration.missing(&self.config),
                health: health.remove(integration.key()),
            })
            .collect())
    }

    /// One integration's status.
    pub async fn status(&self, integration: Integration) -> ApiResult<IntegrationStatus> {
        let health = integration_health::Entity::find_by_id(integration.key().to_string())
            .one(&self.db)
            .await?;
        Ok(IntegrationStatus {
            integration,
            missing: integration.missing(&self.config),
            health,
        })
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
