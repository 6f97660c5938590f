//! Root fields of the Integrations page.

use async_graphql::{Context, Object, Result};

use super::types::{
    BillingReport, BillingReportConnection, BusEvent, BusEventConnection, CmdbSyncRun,
    CmdbSyncRunConnection, CrmOpportunity, CrmOpportunityConnection, Integration, PsaLink,
    PsaLinkConnection, PsaLinkKind,
};
use crate::graphql::{principal, service};
use crate::integrations::IntegrationsService;
use crate::kernel::paging::window;

#[derive(Default)]
pub struct IntegrationsQuery;

#[Object]
impl IntegrationsQuery {
    /// Status of every integration (Integrations page).
    async fn integrations(&self, ctx: &Context<'_>) -> Result<Vec<Integration>> {
        let user = principal(ctx).user()?;
        Ok(service::<IntegrationsService>(ctx)
            .statuses(user.tenant_id)
            .await?
            .into_iter()
            .map(Integration)
            .collect())
    }

    /// PSA tickets and projects created from Code findings and recommendations.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn psa_links(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        kind: Option<PsaLinkKind>,
    ) -> Result<PsaLinkConnection> {
        let user = principal(ctx).user()?;
        let listed = service::<IntegrationsService>(ctx)
            .psa_links(
                user.tenant_id,
                kind.map(Into::into),
                window(first, after, last, before)?,
            )
            .await?;
        Ok(PsaLinkConnection::build(listed, PsaLink))
    }

    /// CRM opportunities created from Code insights.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn crm_opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<CrmOpportunityConnection> {
        let user = principal(ctx).user()?;
        let listed = service::<IntegrationsService>(ctx)
            .crm_opportunities(user.tenant_id, window(first, after, last, before)?)
            .await?;
        Ok(CrmOpportunityConnection::build(listed, |row, _| {
            CrmOpportunity(row)
        }))
    }

    /// Runs of the CMDB asset sync.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn cmdb_sync_runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<CmdbSyncRunConnection> {
        let user = principal(ctx).user()?;
        let listed = service::<IntegrationsService>(ctx)
            .cmdb_sync_runs(user.tenant_id, window(first, after, last, before)?)
            .await?;
        Ok(CmdbSyncRunConnection::build(listed, |row, _| {
            CmdbSyncRun(row)
        }))
    }

    /// Usage reports sent to Hub billing.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn billing_reports(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<BillingReportConnection> {
        let user = principal(ctx).user()?;
        let listed = service::<IntegrationsService>(ctx)
            .billing_reports(user.tenant_id, window(first, after, last, before)?)
            .await?;
        Ok(BillingReportConnection::build(listed, |row, _| {
            BillingReport(row)
        }))
    }

    /// Events published to The One Bus, oldest first.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(desc = "Only events of this type, e.g. `code.repo.discovered`.")] r#type: Option<
            String,
        >,
    ) -> Result<BusEventConnection> {
        let user = principal(ctx).user()?;
        let listed = service::<IntegrationsService>(ctx)
            .events(user.tenant_id, r#type, window(first, after, last, before)?)
            .await?;
        Ok(BusEventConnection::build(listed, |row, _| BusEvent(row)))
    }
}
