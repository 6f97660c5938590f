//! Code actions that create work in other products: PSA tickets and projects, CRM opportunities.
//! Thin resolvers: check who asks, decode the input, one service call.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use super::crm;
use super::insight::actor;
use crate::code::crm::CrmService;
use crate::code::psa::PsaService;
use crate::graphql::{principal, service};
use crate::integrations::types::{CrmOpportunity, PsaLink};
use crate::kernel::batch::Siblings;
use crate::kernel::paging::expect_id;

/// What a CRM opportunity is made from; each source has a precondition.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "crm::Source")]
pub enum CrmOpportunitySource {
    /// A migration recommendation (`id`: a Recommendation ID); valued at its effort estimate.
    MigrationRecommendation,
    /// A repository with high technical debt (debt score ≥ 60; `id`: a Repository ID, or a
    /// Finding ID for its repository).
    TechnicalDebt,
    /// A repository with at least 2 open critical findings (`id`: a Repository ID, or a Finding
    /// ID for its repository).
    CriticalVulnerabilities,
    /// A sunset or dead application (`id`: a Repository ID, or a Finding ID for its repository).
    SunsetApplication,
}

/// Input of `createTicketFromFinding`.
#[derive(InputObject)]
pub struct CreateTicketFromFindingInput {
    /// The finding (secret detected, vulnerability, access issue or sunset decision).
    pub finding_id: ID,
}

/// Result of `createTicketFromFinding`.
#[derive(SimpleObject)]
pub struct CreateTicketFromFindingPayload {
    /// The ticket's link (the existing one when the finding already had a ticket).
    pub psa_link: PsaLink,
    /// False when the ticket already existed and was returned without calling PSA.
    pub created: bool,
}

/// Input of `createPsaProjectFromRecommendation`.
#[derive(InputObject)]
pub struct CreatePsaProjectFromRecommendationInput {
    /// The migration recommendation.
    pub recommendation_id: ID,
}

/// Result of `createPsaProjectFromRecommendation`.
#[derive(SimpleObject)]
pub struct CreatePsaProjectFromRecommendationPayload {
    /// The project's link (the existing one when the recommendation already had a project).
    pub psa_link: PsaLink,
    /// False when the project already existed and was returned without calling PSA.
    pub created: bool,
}

/// Input of `refreshPsaStatus`.
#[derive(InputObject)]
pub struct RefreshPsaStatusInput {
    /// The ticket's link.
    pub psa_link_id: ID,
}

/// Result of `refreshPsaStatus`.
#[derive(SimpleObject)]
pub struct RefreshPsaStatusPayload {
    /// The link with the status PSA reports now.
    pub psa_link: PsaLink,
}

/// Input of `createCrmOpportunity`.
#[derive(InputObject)]
pub struct CreateCrmOpportunityInput {
    /// What the opportunity is made from.
    pub source: CrmOpportunitySource,
    /// The recommendation or repository (see the source).
    pub id: ID,
}

/// Result of `createCrmOpportunity`.
#[derive(SimpleObject)]
pub struct CreateCrmOpportunityPayload {
    /// The opportunity (the existing one when this insight already had one).
    pub crm_opportunity: CrmOpportunity,
    /// False when the opportunity already existed and was returned without calling CRM.
    pub created: bool,
}

fn link(row: entities::psa_links::Model) -> PsaLink {
    let siblings = Siblings::single(row.id);
    PsaLink(row, siblings)
}

#[derive(Default)]
pub struct CodeActionsMutation;

#[Object]
impl CodeActionsMutation {
    /// Creates a PSA ticket from a finding (technicians and admins). Repeating it returns the
    /// same ticket.
    async fn create_ticket_from_finding(
        &self,
        ctx: &Context<'_>,
        input: CreateTicketFromFindingInput,
    ) -> Result<CreateTicketFromFindingPayload> {
        let user = actor(principal(ctx))?;
        let finding = expect_id(&input.finding_id, "Finding")?;
        let (row, created) = service::<PsaService>(ctx)
            .create_ticket(user, finding)
            .await?;
        Ok(CreateTicketFromFindingPayload {
            psa_link: link(row),
            created,
        })
    }

    /// Creates a PSA project from a migration recommendation, with every step and the effort
    /// estimate (technicians and admins). Repeating it returns the same project.
    async fn create_psa_project_from_recommendation(
        &self,
        ctx: &Context<'_>,
        input: CreatePsaProjectFromRecommendationInput,
    ) -> Result<CreatePsaProjectFromRecommendationPayload> {
        let user = actor(principal(ctx))?;
        let rec = expect_id(&input.recommendation_id, "Recommendation")?;
        let (row, created) = service::<PsaService>(ctx).create_project(user, rec).await?;
        Ok(CreatePsaProjectFromRecommendationPayload {
            psa_link: link(row),
            created,
        })
    }

    /// Reads a ticket's current status from PSA now (the timer does it every 15 minutes).
    async fn refresh_psa_status(
        &self,
        ctx: &Context<'_>,
        input: RefreshPsaStatusInput,
    ) -> Result<RefreshPsaStatusPayload> {
        let user = actor(principal(ctx))?;
        let link_id = expect_id(&input.psa_link_id, "PsaLink")?;
        let row = service::<PsaService>(ctx).refresh(user, link_id).await?;
        Ok(RefreshPsaStatusPayload {
            psa_link: link(row),
        })
    }

    /// Creates a CRM opportunity from a Code insight, valued at effort hours × the tenant's
    /// hourly rate (technicians and admins). Repeating it returns the same opportunity.
    async fn create_crm_opportunity(
        &self,
        ctx: &Context<'_>,
        input: CreateCrmOpportunityInput,
    ) -> Result<CreateCrmOpportunityPayload> {
        let user = actor(principal(ctx))?;
        let source = input.source.into();
        let (row, created) = service::<CrmService>(ctx)
            .create(user, source, &input.id)
            .await?;
        Ok(CreateCrmOpportunityPayload {
            crm_opportunity: CrmOpportunity(row),
            created,
        })
    }
}
