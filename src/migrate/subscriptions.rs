//! Migrate's live views over `graphql-transport-ws`: one job's progress, a project's jobs, agent
//! status. Each checks the principal's tenant when it starts (another tenant's job, project or
//! agent is `NOT_FOUND`) and again on every event, so nothing of another tenant ever arrives.

use std::future::ready;

use async_graphql::{Context, ID, Result, Subscription};
use chrono::{DateTime, Utc};
use entities::enums::Product;
use entities::jobs;
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use super::status::is_terminal;
use super::types::{Agent, Job};
use crate::graphql::{principal, service};
use crate::kernel::batch::Siblings;
use crate::kernel::errors::ApiError;
use crate::kernel::paging::expect_id;
use crate::live::{LiveEvent, LiveHub, agents_topic, job_topic, project_topic};
use crate::migrate::{AgentService, MigrateService};

#[derive(Default)]
pub struct MigrateSubscription;

/// The job rows of a topic's events that belong to `tenant`.
fn job_rows(
    receiver: tokio::sync::broadcast::Receiver<LiveEvent>,
    tenant: Uuid,
) -> impl Stream<Item = jobs::Model> {
    BroadcastStream::new(receiver).filter_map(move |event| {
        ready(match event {
            Ok(LiveEvent::Job(job)) if job.tenant_id == tenant => Some((*job).clone()),
            _ => None,
        })
    })
}

fn job_view(row: jobs::Model) -> Job {
    Job {
        siblings: Siblings::single(row.id),
        row,
    }
}

#[Subscription]
impl MigrateSubscription {
    /// One job's progress: its current state at once, then each change (status, items, bytes);
    /// the stream ends after the job completes, fails or is cancelled.
    async fn job_progress(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
    ) -> Result<impl Stream<Item = Job> + use<>> {
        let tenant = principal(ctx).product_user(Product::Migrate)?.tenant_id;
        let id = expect_id(&job_id, "Job")?;
        // Listen before reading, so no change between the read and the subscription is lost.
        let receiver = service::<LiveHub>(ctx).subscribe(job_topic(id));
        let current = service::<MigrateService>(ctx)
            .job(tenant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("job"))?;
        let rows = futures::stream::once(ready(current))
            .chain(job_rows(receiver, tenant))
            .filter(move |row| ready(row.id == id));
        // Never step back to an older snapshot (one committed before the first read can arrive
        // after it), and stop after the terminal status.
        let mut seen: Option<DateTime<Utc>> = None;
        let fresh = rows
            .filter(move |row| {
                let newer = seen.is_none_or(|at| row.updated_at >= at);
                if newer {
                    seen = Some(row.updated_at);
                }
                ready(newer)
            })
            // A terminal row is followed at once by the end marker (`None`).
            .flat_map(|row| {
                let end = is_terminal(row.status).then_some(None);
                futures::stream::iter(std::iter::once(Some(row)).chain(end))
            })
            .take_while(|row| ready(row.is_some()))
            .filter_map(ready);
        Ok(fresh.map(job_view))
    }

    /// Every change to the jobs of one project (created, assigned, progress, status).
    async fn project_jobs(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
    ) -> Result<impl Stream<Item = Job> + use<>> {
        let tenant = principal(ctx).product_user(Product::Migrate)?.tenant_id;
        let id = expect_id(&project_id, "Project")?;
        let receiver = service::<LiveHub>(ctx).subscribe(project_topic(id));
        service::<MigrateService>(ctx)
            .project(tenant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("project"))?;
        Ok(job_rows(receiver, tenant)
            .filter(move |row| ready(row.project_id == id))
            .map(job_view))
    }

    /// Agents going online, offline or revoked (one agent, or every agent of the tenant).
    async fn agent_status(
        &self,
        ctx: &Context<'_>,
        agent_id: Option<ID>,
    ) -> Result<impl Stream<Item = Agent> + use<>> {
        let tenant = principal(ctx).product_user(Product::Migrate)?.tenant_id;
        let only = agent_id
            .as_ref()
            .map(|id| expect_id(id, "Agent"))
            .transpose()?;
        let receiver = service::<LiveHub>(ctx).subscribe(agents_topic(tenant));
        // The statuses now, so a heartbeat that changes nothing is not reported as a change.
        let mut known = service::<AgentService>(ctx).statuses(tenant, only).await?;
        if let Some(id) = only
            && !known.contains_key(&id)
        {
            return Err(ApiError::not_found("agent").into());
        }
        let changes = BroadcastStream::new(receiver).filter_map(move |event| {
            ready(match event {
                Ok(LiveEvent::Agent(agent))
                    if agent.tenant_id == tenant
                        && only.is_none_or(|id| id == agent.id)
                        && known.insert(agent.id, agent.status) != Some(agent.status) =>
                {
                    Some(Agent {
                        row: (*agent).clone(),
                    })
                }
                _ => None,
            })
        });
        Ok(changes)
    }
}
