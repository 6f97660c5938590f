//! Inputs and payloads of Migrate's mutations.

use async_graphql::{ID, InputObject, Json, MaybeUndefined, SimpleObject};

use super::jobs::NewJob;
use super::projects::{NewProject, ProjectChanges};
use super::types::{Agent, AgentCommand, Job, JobKind, Project};
use crate::graphql::change;
use crate::kernel::errors::ApiResult;
use crate::kernel::paging::expect_id;

/// Input of `createProject`.
#[derive(InputObject)]
pub struct CreateProjectInput {
    /// Name, unique in the tenant (1–200 characters).
    pub name: String,
    /// Description (at most 2000 characters).
    pub description: Option<String>,
    /// The client the migration is for.
    pub client_id: Option<ID>,
    /// PSA ticket to show beside the project (display only; no PSA call is made).
    pub psa_ticket_id: Option<String>,
    /// PSA project to show beside the project (display only; no PSA call is made).
    pub psa_project_id: Option<String>,
    /// Azure Storage account the agents upload to (3–24 lowercase letters and digits).
    pub storage_account: Option<String>,
    /// Blob container the agents upload to (3–63 lowercase letters, digits and hyphens).
    pub storage_container: Option<String>,
}

/// Input of `updateProject`: fields left out stay as they are; `null` clears an optional one.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    /// The project to change.
    pub project_id: ID,
    /// New name, unique in the tenant.
    pub name: Option<String>,
    /// New description.
    pub description: MaybeUndefined<String>,
    /// New client.
    pub client_id: MaybeUndefined<ID>,
    /// New PSA ticket reference.
    pub psa_ticket_id: MaybeUndefined<String>,
    /// New PSA project reference.
    pub psa_project_id: MaybeUndefined<String>,
    /// New Azure Storage account.
    pub storage_account: MaybeUndefined<String>,
    /// New blob container.
    pub storage_container: MaybeUndefined<String>,
}

impl CreateProjectInput {
    pub fn into_new(self) -> ApiResult<NewProject> {
        Ok(NewProject {
            client: self
                .client_id
                .map(|id| expect_id(&id, "Client"))
                .transpose()?,
            name: self.name,
            description: self.description,
            psa_ticket_id: self.psa_ticket_id,
            psa_project_id: self.psa_project_id,
            storage_account: self.storage_account,
            storage_container: self.storage_container,
        })
    }
}

impl UpdateProjectInput {
    pub fn into_changes(self) -> ApiResult<ProjectChanges> {
        let project = expect_id(&self.project_id, "Project")?;
        let client = match change(self.client_id) {
            Some(Some(id)) => Some(Some(expect_id(&id, "Client")?)),
            Some(None) => Some(None),
            None => None,
        };
        Ok(ProjectChanges {
            project,
            client,
            name: self.name,
            description: change(self.description),
            psa_ticket_id: change(self.psa_ticket_id),
            psa_project_id: change(self.psa_project_id),
            storage_account: change(self.storage_account),
            storage_container: change(self.storage_container),
        })
    }
}

/// Result of `createProject`.
#[derive(SimpleObject)]
pub struct CreateProjectPayload {
    /// The new project.
    pub project: Project,
}

/// Result of `updateProject`.
#[derive(SimpleObject)]
pub struct UpdateProjectPayload {
    /// The changed project.
    pub project: Project,
}

/// Input of `registerAgent`.
#[derive(InputObject)]
pub struct RegisterAgentInput {
    /// A name to tell the agent by (1–100 characters).
    pub name: String,
    /// Host it will run on.
    pub hostname: Option<String>,
    /// Agent version.
    pub version: Option<String>,
}

/// Result of `registerAgent`.
#[derive(SimpleObject)]
pub struct RegisterAgentPayload {
    /// The new agent (offline until it first calls in).
    pub agent: Agent,
    /// The agent's API key, shown this once: only its hash is kept.
    pub api_key: String,
}

/// Input of `rotateAgentKey`.
#[derive(InputObject)]
pub struct RotateAgentKeyInput {
    /// The agent whose key to replace.
    pub agent_id: ID,
}

/// Result of `rotateAgentKey`.
#[derive(SimpleObject)]
pub struct RotateAgentKeyPayload {
    /// The agent.
    pub agent: Agent,
    /// The new API key, shown this once; the old one no longer works.
    pub api_key: String,
}

/// Input of `revokeAgent`.
#[derive(InputObject)]
pub struct RevokeAgentInput {
    /// The agent to revoke.
    pub agent_id: ID,
}

/// Result of `revokeAgent`.
#[derive(SimpleObject)]
pub struct RevokeAgentPayload {
    /// The revoked agent.
    pub agent: Agent,
}

/// Input of `createJob`.
#[derive(InputObject)]
pub struct CreateJobInput {
    /// The project the job belongs to.
    pub project_id: ID,
    /// What the job migrates.
    pub kind: JobKind,
    /// Name (1–200 characters).
    pub name: String,
    /// The agent to run it; unassigned jobs wait for `assignJob`.
    pub agent_id: Option<ID>,
    /// PSA ticket to show beside the job (display only; carried in `job.completed`).
    pub psa_ticket_id: Option<String>,
    /// PSA project to show beside the job (display only; carried in `job.completed`).
    pub psa_project_id: Option<String>,
    /// Non-secret settings for the agent: a JSON object (at most 64 KiB).
    pub config: Json<serde_json::Value>,
    /// The Mission integration key of a RockRMS import (stored encrypted, never returned).
    pub mission_integration_key: Option<String>,
}

impl CreateJobInput {
    pub fn into_new(self) -> ApiResult<NewJob> {
        Ok(NewJob {
            project: expect_id(&self.project_id, "Project")?,
            agent: self
                .agent_id
                .map(|id| expect_id(&id, "Agent"))
                .transpose()?,
            kind: self.kind.into(),
            name: self.name,
            psa_ticket_id: self.psa_ticket_id,
            psa_project_id: self.psa_project_id,
            config: self.config.0,
            mission_integration_key: self.mission_integration_key,
        })
    }
}

/// Result of `createJob`.
#[derive(SimpleObject)]
pub struct CreateJobPayload {
    /// The new job (queued).
    pub job: Job,
}

/// Input of `assignJob`.
#[derive(InputObject)]
pub struct AssignJobInput {
    /// A queued job.
    pub job_id: ID,
    /// The agent to run it.
    pub agent_id: ID,
}

/// Result of `assignJob`.
#[derive(SimpleObject)]
pub struct AssignJobPayload {
    /// The job with its agent.
    pub job: Job,
}

/// Input of `updateJobMissionKey`.
#[derive(InputObject)]
pub struct UpdateJobMissionKeyInput {
    /// A RockRMS import job that has not finished.
    pub job_id: ID,
    /// The new Mission integration key (stored encrypted, never returned).
    pub mission_integration_key: String,
}

/// Result of `updateJobMissionKey`.
#[derive(SimpleObject)]
pub struct UpdateJobMissionKeyPayload {
    /// The job.
    pub job: Job,
}

/// Input of `pauseJob`, `resumeJob` and `cancelJob`.
#[derive(InputObject)]
pub struct JobCommandInput {
    /// The job to command.
    pub job_id: ID,
}

/// Result of `pauseJob`, `resumeJob` and `cancelJob`.
#[derive(SimpleObject)]
pub struct JobCommandPayload {
    /// The job; its status changes when the agent acknowledges the command.
    pub job: Job,
    /// The command queued for the job's agent; null when the job was cancelled directly (it had
    /// no agent, or its agent was revoked).
    pub command: Option<AgentCommand>,
}
