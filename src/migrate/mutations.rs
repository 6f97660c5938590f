//! Migrate's root mutation fields: one service call each. Projects and jobs need a technician or
//! an admin with Migrate access; agents and their keys need an admin. Agents get `FORBIDDEN`.

use async_graphql::{Context, Object, Result};
use entities::enums::AgentCommand as Command;

use super::credentials::types::{
    ConnectProjectStorageInput, ConnectProjectStoragePayload, DisconnectProjectStorageInput,
    DisconnectProjectStoragePayload,
};
use super::payloads::*;
use super::rules::{migrate_admin, operator};
use super::types::{Agent, AgentCommand, Job, Project};
use crate::graphql::{principal, service};
use crate::kernel::batch::Siblings;
use crate::kernel::paging::expect_id;
use crate::migrate::AgentService;
use crate::migrate::CredentialService;
use crate::migrate::JobService;
use crate::migrate::ProjectService;

fn job(row: entities::jobs::Model) -> Job {
    Job {
        siblings: Siblings::single(row.id),
        row,
    }
}

fn project(row: entities::projects::Model) -> Project {
    Project {
        siblings: Siblings::single(row.id),
        row,
    }
}

async fn command(
    ctx: &Context<'_>,
    input: JobCommandInput,
    kind: Command,
) -> Result<JobCommandPayload> {
    let user = operator(principal(ctx))?;
    let (row, issued) = service::<JobService>(ctx)
        .command(user, expect_id(&input.job_id, "Job")?, kind)
        .await?;
    Ok(JobCommandPayload {
        job: job(row),
        command: issued.map(|row| AgentCommand { row }),
    })
}

#[derive(Default)]
pub struct MigrateMutation;

#[Object]
impl MigrateMutation {
    /// Creates a migration project; names are unique in the tenant.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> Result<CreateProjectPayload> {
        let user = operator(principal(ctx))?;
        let row = service::<ProjectService>(ctx)
            .create(user, input.into_new()?)
            .await?;
        Ok(CreateProjectPayload {
            project: project(row),
        })
    }

    /// Changes a project's fields.
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        input: UpdateProjectInput,
    ) -> Result<UpdateProjectPayload> {
        let user = operator(principal(ctx))?;
        let row = service::<ProjectService>(ctx)
            .update(user, input.into_changes()?)
            .await?;
        Ok(UpdateProjectPayload {
            project: project(row),
        })
    }

    /// Starts connecting an Azure Storage account and container to a project: returns the
    /// Microsoft sign-in URL. The connection (a refresh token, stored encrypted and never
    /// returned) is made when the sign-in comes back to `/auth/azure/callback`.
    async fn connect_project_storage(
        &self,
        ctx: &Context<'_>,
        input: ConnectProjectStorageInput,
    ) -> Result<ConnectProjectStoragePayload> {
        let user = operator(principal(ctx))?;
        let auth = service::<CredentialService>(ctx)
            .connect(user, input)
            .await?;
        Ok(ConnectProjectStoragePayload {
            authorization_url: auth.url,
            expires_at: auth.expires_at,
            project: project(auth.project),
        })
    }

    /// Forgets a project's stored Azure authorization; agents get no more upload credentials
    /// for its jobs until it is connected again.
    async fn disconnect_project_storage(
        &self,
        ctx: &Context<'_>,
        input: DisconnectProjectStorageInput,
    ) -> Result<DisconnectProjectStoragePayload> {
        let user = operator(principal(ctx))?;
        let id = expect_id(&input.project_id, "Project")?;
        let row = service::<CredentialService>(ctx)
            .disconnect(user, id)
            .await?;
        Ok(DisconnectProjectStoragePayload {
            project: project(row),
        })
    }

    /// Registers a desktop agent (admins) and returns its API key, this once; emits
    /// `agent.registered`.
    async fn register_agent(
        &self,
        ctx: &Context<'_>,
        input: RegisterAgentInput,
    ) -> Result<RegisterAgentPayload> {
        let user = migrate_admin(principal(ctx))?;
        let issued = service::<AgentService>(ctx).register(user, input).await?;
        Ok(RegisterAgentPayload {
            agent: Agent { row: issued.agent },
            api_key: issued.api_key,
        })
    }

    /// Gives an agent a new API key (admins), returned this once; the old key stops working.
    async fn rotate_agent_key(
        &self,
        ctx: &Context<'_>,
        input: RotateAgentKeyInput,
    ) -> Result<RotateAgentKeyPayload> {
        let user = migrate_admin(principal(ctx))?;
        let id = expect_id(&input.agent_id, "Agent")?;
        let issued = service::<AgentService>(ctx).rotate_key(user, id).await?;
        Ok(RotateAgentKeyPayload {
            agent: Agent { row: issued.agent },
            api_key: issued.api_key,
        })
    }

    /// Revokes an agent (admins): its key is refused from now on.
    async fn revoke_agent(
        &self,
        ctx: &Context<'_>,
        input: RevokeAgentInput,
    ) -> Result<RevokeAgentPayload> {
        let user = migrate_admin(principal(ctx))?;
        let id = expect_id(&input.agent_id, "Agent")?;
        let row = service::<AgentService>(ctx).revoke(user, id).await?;
        Ok(RevokeAgentPayload {
            agent: Agent { row },
        })
    }

    /// Creates a queued job; emits `job.created`.
    async fn create_job(
        &self,
        ctx: &Context<'_>,
        input: CreateJobInput,
    ) -> Result<CreateJobPayload> {
        let user = operator(principal(ctx))?;
        let row = service::<JobService>(ctx)
            .create(user, input.into_new()?)
            .await?;
        Ok(CreateJobPayload { job: job(row) })
    }

    /// Assigns a queued job to an agent.
    async fn assign_job(
        &self,
        ctx: &Context<'_>,
        input: AssignJobInput,
    ) -> Result<AssignJobPayload> {
        let user = operator(principal(ctx))?;
        let row = service::<JobService>(ctx)
            .assign(
                user,
                expect_id(&input.job_id, "Job")?,
                expect_id(&input.agent_id, "Agent")?,
            )
            .await?;
        Ok(AssignJobPayload { job: job(row) })
    }

    /// Stores a new Mission integration key for a RockRMS import (after Mission rotated it).
    async fn update_job_mission_key(
        &self,
        ctx: &Context<'_>,
        input: UpdateJobMissionKeyInput,
    ) -> Result<UpdateJobMissionKeyPayload> {
        let user = operator(principal(ctx))?;
        let jobs = &service::<JobService>(ctx);
        let row = jobs
            .update_mission_key(
                user,
                expect_id(&input.job_id, "Job")?,
                &input.mission_integration_key,
            )
            .await?;
        Ok(UpdateJobMissionKeyPayload { job: job(row) })
    }

    /// Asks the job's agent to pause a running job (`agent.command.pause`); the job is paused
    /// when the agent acknowledges.
    async fn pause_job(
        &self,
        ctx: &Context<'_>,
        input: JobCommandInput,
    ) -> Result<JobCommandPayload> {
        command(ctx, input, Command::Pause).await
    }

    /// Asks the job's agent to resume a paused job (`agent.command.resume`); the job runs again
    /// when the agent acknowledges.
    async fn resume_job(
        &self,
        ctx: &Context<'_>,
        input: JobCommandInput,
    ) -> Result<JobCommandPayload> {
        command(ctx, input, Command::Resume).await
    }

    /// Cancels a queued, running or paused job: through its agent (`agent.command.cancel`,
    /// cancelled when acknowledged), or at once when no agent can be told.
    async fn cancel_job(
        &self,
        ctx: &Context<'_>,
        input: JobCommandInput,
    ) -> Result<JobCommandPayload> {
        command(ctx, input, Command::Cancel).await
    }
}
