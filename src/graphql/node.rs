//! The Relay `Node` interface and `node` / `nodes`.

use async_graphql::{Context, ID, Interface, Object, Result};
use entities::enums::Product;

use super::{principal, service};
use crate::code::CodeService;
use crate::code::ai::AiService;
use crate::code::ai::graphql::AiRunView;
use crate::code::types::{Finding, Organization, Recommendation, Repository};
use crate::integrations::IntegrationsService;
use crate::integrations::types::{BillingReport, CmdbSyncRun, CrmOpportunity, PsaLink};
use crate::kernel::batch::Siblings;
use crate::kernel::errors::{ApiError, ApiResult};
use crate::kernel::paging::decode_global_id;
use crate::migrate::MigrateService;
use crate::migrate::types::{Agent, Job, Project};
use crate::tenancy::ClientService;
use crate::tenancy::clients_graphql::Client;

/// An object with a global ID, fetchable through `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID."))]
pub enum Node {
    Organization(Organization),
    Repository(Repository),
    Finding(Finding),
    Recommendation(Recommendation),
    AiRun(AiRunView),
    Project(Project),
    Agent(Agent),
    Job(Job),
    PsaLink(PsaLink),
    CrmOpportunity(CrmOpportunity),
    CmdbSyncRun(CmdbSyncRun),
    BillingReport(BillingReport),
    Client(Client),
}

async fn find_node(ctx: &Context<'_>, id: &ID) -> ApiResult<Node> {
    let (type_name, uuid) = decode_global_id(id)?;
    let who = principal(ctx);
    let code = &service::<CodeService>(ctx);
    let migrate = &service::<MigrateService>(ctx);
    let missing = || ApiError::not_found("object");
    Ok(match type_name.as_str() {
        "Client" => {
            let tenant = who.user()?.tenant_id;
            let clients = service::<ClientService>(ctx);
            let row = clients.find(tenant, uuid).await?.ok_or_else(missing)?;
            Node::Client(Client(row))
        }
        "Organization" => {
            let tenant = who.product_user(Product::Code)?.tenant_id;
            let row = code.organization(tenant, uuid).await?.ok_or_else(missing)?;
            Node::Organization(Organization {
                row,
                siblings: Siblings::single(uuid),
            })
        }
        "Repository" => {
            let tenant = who.product_user(Product::Code)?.tenant_id;
            let row = code.repository(tenant, uuid).await?.ok_or_else(missing)?;
            Node::Repository(Repository {
                row,
                siblings: Siblings::single(uuid),
            })
        }
        "Finding" => {
            let tenant = who.product_user(Product::Code)?.tenant_id;
            Node::Finding(Finding {
                row: code.finding(tenant, uuid).await?.ok_or_else(missing)?,
                siblings: Siblings::single(uuid),
            })
        }
        "Recommendation" => {
            let tenant = who.product_user(Product::Code)?.tenant_id;
            Node::Recommendation(Recommendation {
                row: code
                    .recommendation(tenant, uuid)
                    .await?
                    .ok_or_else(missing)?,
                siblings: Siblings::single(uuid),
            })
        }
        "AiRun" => {
            let tenant = who.product_user(Product::Code)?.tenant_id;
            let row = service::<AiService>(ctx)
                .run_of(tenant, uuid)
                .await?
                .ok_or_else(missing)?;
            Node::AiRun(AiRunView { row })
        }
        "Project" => {
            let tenant = who.product_user(Product::Migrate)?.tenant_id;
            let row = migrate.project(tenant, uuid).await?.ok_or_else(missing)?;
            Node::Project(Project {
                row,
                siblings: Siblings::single(uuid),
            })
        }
        "Agent" => {
            let tenant = who.product_user(Product::Migrate)?.tenant_id;
            let row = migrate.agent(tenant, uuid).await?.ok_or_else(missing)?;
            Node::Agent(Agent { row })
        }
        "Job" => {
            let tenant = who.product_user(Product::Migrate)?.tenant_id;
            let row = migrate.job(tenant, uuid).await?.ok_or_else(missing)?;
            Node::Job(Job {
                row,
                siblings: Siblings::single(uuid),
            })
        }
        "PsaLink" | "CrmOpportunity" | "CmdbSyncRun" | "BillingReport" => {
            // Like their lists on the Integrations page: any signed-in user of the tenant.
            let tenant = who.user()?.tenant_id;
            let integrations = &service::<IntegrationsService>(ctx);
            match type_name.as_str() {
                "PsaLink" => {
                    let row = integrations.psa_link(tenant, uuid).await?;
                    Node::PsaLink(PsaLink(row.ok_or_else(missing)?, Siblings::single(uuid)))
                }
                "CrmOpportunity" => {
                    let row = integrations.crm_opportunity(tenant, uuid).await?;
                    Node::CrmOpportunity(CrmOpportunity(row.ok_or_else(missing)?))
                }
                "CmdbSyncRun" => {
                    let row = integrations.cmdb_sync_run(tenant, uuid).await?;
                    Node::CmdbSyncRun(CmdbSyncRun(row.ok_or_else(missing)?))
                }
                _ => {
                    let row = integrations.billing_report(tenant, uuid).await?;
                    Node::BillingReport(BillingReport(row.ok_or_else(missing)?))
                }
            }
        }
        _ => {
            who.user()?;
            return Err(missing());
        }
    })
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global ID. Another tenant's object is `NOT_FOUND`, like a
    /// missing one.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Node> {
        Ok(find_node(ctx, &id).await?)
    }

    /// Fetches several objects by global ID (at most 100), in order.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > 100 {
            return Err(ApiError::bad_input("at most 100 ids").into());
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(find_node(ctx, id).await.ok());
        }
        Ok(out)
    }
}
