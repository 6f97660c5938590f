//! The Migrate domain's GraphQL types: thin views over the entity rows.

use async_graphql::{Context, Enum, ID, Json, Object, Result};
use chrono::{DateTime, Utc};
use entities::{agent_commands, agents, enums, job_events, jobs, projects};

use super::inputs::JobFilter;
use crate::graphql::relay::{connection, global_id};
use crate::graphql::scalars::Long;
use crate::graphql::{response_key, service};
use crate::kernel::batch::Siblings;
use crate::kernel::paging::window;
use crate::migrate::MigrateService;

/// Status of a desktop agent.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::AgentStatus")]
pub enum AgentStatus {
    /// Heartbeats are arriving.
    Online,
    /// No heartbeat lately.
    Offline,
    /// Its key was revoked.
    Revoked,
}

/// What a job migrates.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::JobKind")]
pub enum JobKind {
    /// Mailboxes.
    Mailbox,
    /// A file share.
    FileShare,
    /// A RockRMS import into The One Mission.
    #[graphql(name = "ROCKRMS_IMPORT")]
    RockrmsImport,
    /// SharePoint sites.
    Sharepoint,
    /// OneDrive accounts.
    Onedrive,
}

/// Where a job is in its life.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::JobStatus")]
pub enum JobStatus {
    /// Waiting for an agent.
    Queued,
    /// An agent is working on it.
    Running,
    /// Paused by a command.
    Paused,
    /// Finished successfully.
    Completed,
    /// Stopped by an error.
    Failed,
    /// Cancelled by a command.
    Cancelled,
}

/// A migration project.
pub struct Project {
    pub row: projects::Model,
    pub siblings: Siblings,
}

/// A migration project.
#[Object]
impl Project {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("Project", self.row.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// Description.
    async fn description(&self) -> Option<&str> {
        self.row.description.as_deref()
    }
    /// The client the migration is for.
    async fn client_id(&self) -> Option<ID> {
        self.row.client_id.map(|id| global_id("Client", id))
    }
    /// PSA ticket this project is linked to (display only).
    async fn psa_ticket_id(&self) -> Option<&str> {
        self.row.psa_ticket_id.as_deref()
    }
    /// PSA project this project is linked to (display only).
    async fn psa_project_id(&self) -> Option<&str> {
        self.row.psa_project_id.as_deref()
    }
    /// Azure Storage account the agents upload to.
    async fn storage_account(&self) -> Option<&str> {
        self.row.storage_account.as_deref()
    }
    /// Blob container the agents upload to.
    async fn storage_container(&self) -> Option<&str> {
        self.row.storage_container.as_deref()
    }
    /// Whether an Azure Storage account is connected (the token itself is never returned).
    async fn storage_connected(&self) -> bool {
        self.row.refresh_token_encrypted.is_some()
    }
    /// When the stored Azure credentials expire.
    async fn credentials_expires_at(&self) -> Option<DateTime<Utc>> {
        self.row.credentials_expires_at
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// The project's jobs.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<JobFilter>,
    ) -> Result<JobConnection> {
        let window = window(first, after, last, before)?;
        let listed = service::<MigrateService>(ctx)
            .project_jobs(
                &self.siblings.in_field(response_key(ctx)),
                &self.row,
                filter.unwrap_or_default(),
                window,
            )
            .await?;
        Ok(JobConnection::build(listed, |row, siblings| Job {
            row,
            siblings,
        }))
    }
}

/// A desktop agent that runs jobs.
pub struct Agent {
    pub row: agents::Model,
}

/// A desktop agent that runs jobs.
#[Object]
impl Agent {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("Agent", self.row.id)
    }
    /// Name given at registration.
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// Host it runs on.
    async fn hostname(&self) -> Option<&str> {
        self.row.hostname.as_deref()
    }
    /// Agent version.
    async fn version(&self) -> Option<&str> {
        self.row.version.as_deref()
    }
    /// Online, offline or revoked.
    async fn status(&self) -> AgentStatus {
        self.row.status.into()
    }
    /// First characters of its API key, to tell keys apart (the key itself is shown once).
    async fn api_key_prefix(&self) -> &str {
        &self.row.api_key_prefix
    }
    /// Last heartbeat.
    async fn last_heartbeat_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_heartbeat_at
    }
    /// Registered (or last re-registered).
    async fn registered_at(&self) -> DateTime<Utc> {
        self.row.registered_at
    }
    /// When its key was revoked.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.row.revoked_at
    }
}

/// A migration job.
pub struct Job {
    pub row: jobs::Model,
    pub siblings: Siblings,
}

/// A migration job.
#[Object]
impl Job {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("Job", self.row.id)
    }
    /// What it migrates.
    async fn kind(&self) -> JobKind {
        self.row.kind.into()
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// Status.
    async fn status(&self) -> JobStatus {
        self.row.status.into()
    }
    /// PSA ticket (display only).
    async fn psa_ticket_id(&self) -> Option<&str> {
        self.row.psa_ticket_id.as_deref()
    }
    /// PSA project (display only).
    async fn psa_project_id(&self) -> Option<&str> {
        self.row.psa_project_id.as_deref()
    }
    /// Items to migrate, when known.
    async fn items_total(&self) -> Option<Long> {
        self.row.items_total.map(Long)
    }
    /// Items migrated so far.
    async fn items_done(&self) -> Long {
        Long(self.row.items_done)
    }
    /// Bytes to migrate, when known.
    async fn bytes_total(&self) -> Option<Long> {
        self.row.bytes_total.map(Long)
    }
    /// Bytes migrated so far.
    async fn bytes_done(&self) -> Long {
        Long(self.row.bytes_done)
    }
    /// Gigabytes transferred (billed per GB).
    async fn gb_transferred(&self) -> f64 {
        self.row.gb_transferred
    }
    /// Mailboxes migrated (billed per mailbox).
    async fn mailbox_count(&self) -> i32 {
        self.row.mailbox_count
    }
    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.row.error.as_deref()
    }
    /// Non-secret settings for the agent.
    async fn config(&self) -> Json<serde_json::Value> {
        Json(self.row.config.clone())
    }
    /// Whether a Mission integration key is stored (the key itself is never returned).
    async fn mission_key_set(&self) -> bool {
        self.row.secret_encrypted.is_some()
    }
    /// Started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.row.started_at
    }
    /// Finished (completed, failed or cancelled).
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.row.finished_at
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// The job's project.
    async fn project(&self, ctx: &Context<'_>) -> Result<Project> {
        let row = service::<MigrateService>(ctx)
            .job_project(&self.siblings, &self.row)
            .await?;
        Ok(Project {
            siblings: Siblings::single(row.id),
            row,
        })
    }
    /// The agent assigned to it.
    async fn agent(&self, ctx: &Context<'_>) -> Result<Option<Agent>> {
        let row = service::<MigrateService>(ctx)
            .job_agent(&self.siblings, &self.row)
            .await?;
        Ok(row.map(|row| Agent { row }))
    }
    /// What happened to the job, oldest first.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<JobEventConnection> {
        let window = window(first, after, last, before)?;
        let listed = service::<MigrateService>(ctx)
            .job_events(
                &self.siblings.in_field(response_key(ctx)),
                &self.row,
                window,
            )
            .await?;
        Ok(JobEventConnection::build(listed, |row, _| JobEvent { row }))
    }
}

/// Something that happened to a job.
pub struct JobEvent {
    pub row: job_events::Model,
}

/// Something that happened to a job.
#[Object]
impl JobEvent {
    /// Global ID.
    async fn id(&self) -> ID {
        global_id("JobEvent", self.row.id)
    }
    /// `status`, `progress`, `command`, `assignment`, `configuration`, `error` or `log`.
    async fn kind(&self) -> &str {
        &self.row.kind
    }
    /// Human-readable message.
    async fn message(&self) -> &str {
        &self.row.message
    }
    /// Details.
    async fn data(&self) -> Json<serde_json::Value> {
        Json(self.row.data.clone())
    }
    /// When.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

/// A control command for an agent.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::AgentCommand")]
pub enum AgentCommandKind {
    /// Pause the job.
    Pause,
    /// Resume the paused job.
    Resume,
    /// Cancel the job.
    Cancel,
}

/// Where a command is on its way to the agent.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::CommandStatus")]
pub enum AgentCommandStatus {
    /// Waiting for the agent's next heartbeat.
    Pending,
    /// Handed to the agent, not yet acknowledged.
    Delivered,
    /// The agent acknowledged it (and the job's status changed).
    Acknowledged,
}

/// A command queued for an agent, delivered on its heartbeat.
pub struct AgentCommand {
    pub row: agent_commands::Model,
}

/// A command queued for an agent, delivered on its heartbeat.
#[Object]
impl AgentCommand {
    /// Global ID.
    async fn id(&self) -> ID {
        global_id("AgentCommand", self.row.id)
    }
    /// What the agent is told to do.
    async fn command(&self) -> AgentCommandKind {
        self.row.command.into()
    }
    /// Pending, delivered or acknowledged.
    async fn status(&self) -> AgentCommandStatus {
        self.row.status.into()
    }
    /// When the agent acknowledged it.
    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.row.acknowledged_at
    }
    /// Issued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

connection!(
    ProjectConnection,
    ProjectEdge,
    Project,
    "A page of projects."
);
connection!(AgentConnection, AgentEdge, Agent, "A page of agents.");
connection!(JobConnection, JobEdge, Job, "A page of jobs.");
connection!(
    JobEventConnection,
    JobEventEdge,
    JobEvent,
    "A page of job events."
);
