//! Migrate's root query fields: one service call each.

use async_graphql::{Context, ID, Object, Result};
use entities::enums::Product;

use super::credentials::types::JobCredentials;

use super::inputs::{AgentFilter, JobFilter, ProjectFilter};
use super::order::JobOrder;
use super::rules::operator;
use super::types::{Agent, AgentConnection, Job, JobConnection, Project, ProjectConnection};
use crate::auth::Principal;
use crate::graphql::{principal, service};
use crate::kernel::paging::{expect_id, window};
use crate::migrate::CredentialService;
use crate::migrate::MigrateService;

#[derive(Default)]
pub struct MigrateQuery;

#[Object]
impl MigrateQuery {
    /// Migration projects.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ProjectFilter>,
    ) -> Result<ProjectConnection> {
        let user = principal(ctx).product_user(Product::Migrate)?;
        let listed = service::<MigrateService>(ctx)
            .projects(
                user.tenant_id,
                filter.unwrap_or_default(),
                window(first, after, last, before)?,
            )
            .await?;
        Ok(ProjectConnection::build(listed, |row, siblings| Project {
            row,
            siblings,
        }))
    }

    /// Desktop agents.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn agents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AgentFilter>,
    ) -> Result<AgentConnection> {
        let user = principal(ctx).product_user(Product::Migrate)?;
        let listed = service::<MigrateService>(ctx)
            .agents(
                user.tenant_id,
                filter.unwrap_or_default(),
                window(first, after, last, before)?,
            )
            .await?;
        Ok(AgentConnection::build(listed, |row, _| Agent { row }))
    }

    /// Migration jobs of every project.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<JobFilter>,
        #[graphql(desc = "Sort order; id order (oldest first) when omitted.")] order_by: Option<
            JobOrder,
        >,
    ) -> Result<JobConnection> {
        let user = principal(ctx).product_user(Product::Migrate)?;
        let listed = service::<MigrateService>(ctx)
            .jobs(
                user.tenant_id,
                filter.unwrap_or_default(),
                order_by.map(|o| o.sort()),
                window(first, after, last, before)?,
            )
            .await?;
        Ok(JobConnection::build(listed, |row, siblings| Job {
            row,
            siblings,
        }))
    }

    /// A one-hour, create/write-only SAS on the job's project container, for uploading the
    /// job's data. Agents get it for their own jobs; technicians and admins for any job of the
    /// tenant. Finished jobs get `CONFLICT`; a project with no connected storage account
    /// `INTEGRATION_NOT_CONFIGURED`.
    async fn job_credentials(&self, ctx: &Context<'_>, job_id: ID) -> Result<JobCredentials> {
        let id = expect_id(&job_id, "Job")?;
        let credentials = &service::<CredentialService>(ctx);
        let vended = match principal(ctx) {
            Principal::Agent(agent) => credentials.for_agent(agent, id).await?,
            other => credentials.for_user(operator(other)?, id).await?,
        };
        Ok(vended.into())
    }
}
