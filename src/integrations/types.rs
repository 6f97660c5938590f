//! GraphQL views of the integration records.

use async_graphql::{Enum, ID, Json, Object};
use chrono::{DateTime, Utc};
use entities::{
    billing_reports, cmdb_sync_runs, crm_opportunities, enums, outbox_events, psa_links,
};

use super::service::IntegrationStatus;
use crate::code::psa::PsaService;
use crate::graphql::relay::{connection, global_id};
use crate::tenancy::graphql::Product;
use crate::upstream::integration::Integration as Upstream;

/// An upstream the gateway talks to.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "Upstream")]
pub enum IntegrationName {
    /// Hub SSO and billing.
    Hub,
    /// PSA tickets and projects.
    Psa,
    /// CRM opportunities.
    Crm,
    /// CMDB asset sync.
    Cmdb,
    /// The One AI Platform.
    AiPlatform,
    /// The One Bus.
    Bus,
    /// AWS SES e-mail.
    Ses,
    /// Azure Storage: OAuth connections of Migrate projects and SAS vending.
    Azure,
    /// GitHub, through the GitHub App: organizations' discovery and access audit.
    Github,
    /// GitLab, through its OAuth application: connected groups' discovery.
    Gitlab,
    /// Azure DevOps, through an Entra app registration (Microsoft OAuth): connected
    /// organizations' discovery and access audit.
    AzureDevops,
}

/// Connection state of an integration.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum IntegrationState {
    /// Configured and working.
    Connected,
    /// Required environment variables are missing.
    NotConfigured,
    /// Configured but returning errors.
    Error,
}

/// One integration on the status page.
pub struct Integration(pub IntegrationStatus);

/// One integration on the status page.
#[Object]
impl Integration {
    /// Which upstream.
    async fn name(&self) -> IntegrationName {
        self.0.integration.into()
    }
    /// Connected, not configured or in error.
    async fn status(&self) -> IntegrationState {
        match self.0.state() {
            "NOT_CONFIGURED" => IntegrationState::NotConfigured,
            "ERROR" => IntegrationState::Error,
            _ => IntegrationState::Connected,
        }
    }
    /// Environment variables that must be set for it to work.
    async fn missing_variables(&self) -> &[&'static str] {
        &self.0.missing
    }
    /// What is wrong, when in error. GitHub, GitLab, Azure DevOps and Azure Storage show this
    /// tenant's own organizations and projects; the deployment-wide upstreams their last call
    /// (a later success clears it; `lastFailureAt` keeps when it last failed).
    async fn last_error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// Last successful call or probe (for the providers: this tenant's last discovery; for
    /// Azure Storage: its last connection).
    async fn last_success_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_success_at
    }
    /// Last failure (for the providers: when this tenant's organization went into error).
    async fn last_failure_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_failure_at
    }
}

/// Kind of a Code-created PSA work item.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::PsaLinkKind")]
pub enum PsaLinkKind {
    /// A ticket created from a finding.
    Ticket,
    /// A project created from a migration recommendation.
    Project,
}

/// Whether a report or e-mail went out.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Not sent yet (or being retried).
    Pending,
    /// Accepted by the upstream.
    Sent,
    /// Given up after retries.
    Failed,
}

/// A PSA ticket or project created from The One Code, with the links it is listed with (their
/// findings and recommendations load once for the page).
pub struct PsaLink(pub psa_links::Model, pub crate::kernel::batch::Siblings);

/// A PSA ticket or project created from The One Code.
#[Object]
impl PsaLink {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("PsaLink", self.0.id)
    }
    /// Ticket or project.
    async fn kind(&self) -> PsaLinkKind {
        self.0.kind.into()
    }
    /// The ticket or project id in PSA.
    async fn psa_id(&self) -> &str {
        &self.0.psa_id
    }
    /// Title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Current PSA status, as last refreshed.
    async fn psa_status(&self) -> Option<&str> {
        self.0.psa_status.as_deref()
    }
    /// When the status was last refreshed.
    async fn status_checked_at(&self) -> Option<DateTime<Utc>> {
        self.0.status_checked_at
    }
    /// The finding that generated it.
    async fn finding_id(&self) -> Option<ID> {
        self.0.finding_id.map(|id| global_id("Finding", id))
    }
    /// The recommendation that generated it.
    async fn recommendation_id(&self) -> Option<ID> {
        self.0
            .recommendation_id
            .map(|id| global_id("Recommendation", id))
    }
    /// The finding that generated it (tickets), unless it was deleted since.
    async fn finding(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<crate::code::types::Finding>> {
        if self.0.finding_id.is_none() {
            return Ok(None);
        }
        crate::graphql::principal(ctx).product_user(enums::Product::Code)?;
        let psa = &crate::graphql::service::<PsaService>(ctx);
        let found = psa.link_finding(&self.1, &self.0).await?;
        Ok(found.map(|(row, siblings)| crate::code::types::Finding { row, siblings }))
    }
    /// The migration recommendation that generated it (projects), unless it was deleted since.
    async fn recommendation(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<crate::code::types::Recommendation>> {
        if self.0.recommendation_id.is_none() {
            return Ok(None);
        }
        crate::graphql::principal(ctx).product_user(enums::Product::Code)?;
        let psa = &crate::graphql::service::<PsaService>(ctx);
        let found = psa.link_recommendation(&self.1, &self.0).await?;
        Ok(found.map(|(row, siblings)| crate::code::types::Recommendation { row, siblings }))
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A CRM opportunity created from a Code insight.
pub struct CrmOpportunity(pub crm_opportunities::Model);

/// A CRM opportunity created from a Code insight.
#[Object]
impl CrmOpportunity {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("CrmOpportunity", self.0.id)
    }
    /// The opportunity id in CRM.
    async fn crm_id(&self) -> &str {
        &self.0.crm_id
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it came from, as stored (`migration_recommendation`, `technical_debt`,
    /// `critical_vulnerabilities`, `sunset_application`).
    async fn source_kind(&self) -> &str {
        &self.0.source_kind
    }
    /// What it came from.
    async fn source(&self) -> async_graphql::Result<crate::code::actions::CrmOpportunitySource> {
        let source = crate::code::crm::Source::parse(&self.0.source_kind).ok_or_else(|| {
            crate::kernel::errors::ApiError::Internal(anyhow::anyhow!(
                "unknown CRM source kind {:?}",
                self.0.source_kind
            ))
        })?;
        Ok(source.into())
    }
    /// The recommendation or repository it came from.
    async fn source_id(&self) -> ID {
        let type_name = match crate::code::crm::Source::parse(&self.0.source_kind) {
            Some(crate::code::crm::Source::MigrationRecommendation) => "Recommendation",
            _ => "Repository",
        };
        global_id(type_name, self.0.source_id)
    }
    /// Estimated value: effort hours × the tenant's hourly rate.
    async fn estimated_value(&self) -> f64 {
        self.0.estimated_value_cents as f64 / 100.0
    }
    /// Description sent to CRM.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Where a CMDB sync run stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum CmdbSyncStatus {
    /// Queued or under way.
    Running,
    /// Finished with every changed asset upserted.
    Succeeded,
    /// Finished with failed assets, or stopped early (see `error`).
    Failed,
}

/// One run of the CMDB asset sync.
pub struct CmdbSyncRun(pub cmdb_sync_runs::Model);

/// One run of the CMDB asset sync.
#[Object]
impl CmdbSyncRun {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("CmdbSyncRun", self.0.id)
    }
    /// `timer` or `manual`.
    async fn trigger(&self) -> &str {
        &self.0.trigger
    }
    /// Running, succeeded or failed.
    async fn status(&self) -> CmdbSyncStatus {
        if self.0.finished_at.is_none() {
            CmdbSyncStatus::Running
        } else if self.0.failed > 0 || self.0.error.is_some() {
            CmdbSyncStatus::Failed
        } else {
            CmdbSyncStatus::Succeeded
        }
    }
    /// Started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// Finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Assets upserted.
    async fn synced(&self) -> i32 {
        self.0.synced
    }
    /// Assets that failed.
    async fn failed(&self) -> i32 {
        self.0.failed
    }
    /// Assets unchanged since the last sync (not re-sent).
    async fn skipped(&self) -> i32 {
        self.0.skipped
    }
    /// The run's last error: the one that stopped it, or the last asset that failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

/// A usage report to Hub billing.
pub struct BillingReport(pub billing_reports::Model);

/// A usage report to Hub billing.
#[Object]
impl BillingReport {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("BillingReport", self.0.id)
    }
    /// Product billed.
    async fn product(&self) -> Product {
        self.0.product.into()
    }
    /// Metric (`repos_protected`, `gb_transferred`, `mailboxes`).
    async fn metric(&self) -> &str {
        &self.0.metric
    }
    /// Quantity reported.
    async fn quantity(&self) -> f64 {
        self.0.quantity
    }
    /// Day reported (YYYY-MM-DD, UTC).
    async fn period(&self) -> &str {
        &self.0.period
    }
    /// Delivery state.
    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }
    /// Attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Last delivery error.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When Hub accepted it.
    async fn reported_at(&self) -> Option<DateTime<Utc>> {
        self.0.reported_at
    }
}

/// An event published (or to be published) to The One Bus.
pub struct BusEvent(pub outbox_events::Model);

/// An event published (or to be published) to The One Bus.
#[Object]
impl BusEvent {
    /// The event id (stable across redeliveries; the CloudEvents `id`).
    async fn id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }
    /// Event name, e.g. `code.repo.discovered`.
    async fn r#type(&self) -> &str {
        &self.0.event_type
    }
    /// The payload, exactly as sent.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
    /// Written to the outbox.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Accepted by the Bus.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    /// Delivery attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Last delivery error.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
}

connection!(
    PsaLinkConnection,
    PsaLinkEdge,
    PsaLink,
    "A page of PSA links."
);
connection!(
    CrmOpportunityConnection,
    CrmOpportunityEdge,
    CrmOpportunity,
    "A page of CRM opportunities."
);
connection!(
    CmdbSyncRunConnection,
    CmdbSyncRunEdge,
    CmdbSyncRun,
    "A page of CMDB sync runs."
);
connection!(
    BillingReportConnection,
    BillingReportEdge,
    BillingReport,
    "A page of billing reports."
);
connection!(
    BusEventConnection,
    BusEventEdge,
    BusEvent,
    "A page of Bus events."
);
