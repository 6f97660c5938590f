//! Filters the Migrate lists accept.

use async_graphql::{ID, InputObject};

use super::types::{AgentStatus, JobKind, JobStatus};

/// Narrows a list of projects.
#[derive(InputObject, Default, Debug)]
pub struct ProjectFilter {
    /// Name contains this text (case-insensitive).
    pub name_contains: Option<String>,
}

/// Narrows a list of agents.
#[derive(InputObject, Default, Debug)]
pub struct AgentFilter {
    /// Only this status.
    pub status: Option<AgentStatus>,
}

/// Narrows a list of jobs.
#[derive(InputObject, Default, Debug)]
pub struct JobFilter {
    /// Only jobs of this project.
    pub project_id: Option<ID>,
    /// Only jobs assigned to this agent.
    pub agent_id: Option<ID>,
    /// Only these statuses.
    pub status: Option<Vec<JobStatus>>,
    /// Only this kind.
    pub kind: Option<JobKind>,
}
