//! Pause, resume and cancel: a command row for the job's agent and `agent.command.*` on the Bus
//! when issued; the agent receives it on its next heartbeat, and its acknowledgement changes the
//! job's status.

use chrono::Utc;
use entities::enums::{AgentCommand, AgentStatus, CommandStatus, JobStatus};
use entities::{agent_commands, agents, jobs};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use super::jobs::{JobService, record, save, transition, user_job};
use super::status;
use crate::auth::{Agent, User};
use crate::integrations::bus::{
    self,
    events::{AgentCommandCancel, AgentCommandPause, AgentCommandResume},
};
use crate::kernel::errors::{ApiError, ApiResult, Code};

/// The status a command leads to once acknowledged.
pub fn target(command: AgentCommand) -> JobStatus {
    match command {
        AgentCommand::Pause => JobStatus::Paused,
        AgentCommand::Resume => JobStatus::Running,
        AgentCommand::Cancel => JobStatus::Cancelled,
    }
}

pub fn command_name(command: AgentCommand) -> &'static str {
    match command {
        AgentCommand::Pause => "pause",
        AgentCommand::Resume => "resume",
        AgentCommand::Cancel => "cancel",
    }
}

/// The job's agent, if it can still receive commands (assigned and not revoked).
async fn reachable_agent(
    txn: &DatabaseTransaction,
    job: &jobs::Model,
) -> ApiResult<Option<agents::Model>> {
    let Some(agent_id) = job.agent_id else {
        return Ok(None);
    };
    Ok(agents::Entity::find_by_id(agent_id)
        .filter(agents::Column::TenantId.eq(job.tenant_id))
        .filter(agents::Column::Status.ne(AgentStatus::Revoked))
        .one(txn)
        .await?)
}

async fn emit(
    txn: &DatabaseTransaction,
    command: &agent_commands::Model,
    job_id: Uuid,
) -> ApiResult<()> {
    let (agent_id, command_id, tenant) = (command.agent_id, command.id, command.tenant_id);
    match command.command {
        AgentCommand::Pause => {
            let event = AgentCommandPause {
                agent_id,
                job_id,
                command_id,
            };
            bus::enqueue(txn, tenant, &event).await?
        }
        AgentCommand::Resume => {
            let event = AgentCommandResume {
                agent_id,
                job_id,
                command_id,
            };
            bus::enqueue(txn, tenant, &event).await?
        }
        AgentCommand::Cancel => {
            let event = AgentCommandCancel {
                agent_id,
                job_id,
                command_id,
            };
            bus::enqueue(txn, tenant, &event).await?
        }
    };
    Ok(())
}

impl JobService {
    /// Issues `command` for a job: checked against the status machine, queued for the job's
    /// agent, announced on the Bus. A cancel of a job no agent can hear (unassigned, or its agent
    /// revoked) cancels it at once, without a command.
    pub async fn command(
        &self,
        user: &User,
        job_id: Uuid,
        command: AgentCommand,
    ) -> ApiResult<(jobs::Model, Option<agent_commands::Model>)> {
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let job = user_job(&txn, user.tenant_id, job_id).await?;
        status::check(job.status, target(command))?;
        let Some(agent) = reachable_agent(&txn, &job).await? else {
            if command != AgentCommand::Cancel {
                return Err(ApiError::new(
                    Code::Conflict,
                    "the job has no agent that could receive the command (unassigned or revoked)",
                ));
            }
            let saved = save(&txn, &job, transition(&job, JobStatus::Cancelled)?).await?;
            let message = "cancelled (no agent to tell)";
            record(
                &txn,
                &saved,
                "status",
                message,
                json!({ "by": user.user_id }),
            )
            .await?;
            txn.commit().await?;
            self.live.job_changed(&saved).await;
            return Ok((saved, None));
        };
        let waiting = agent_commands::Entity::find()
            .filter(agent_commands::Column::TenantId.eq(user.tenant_id))
            .filter(agent_commands::Column::JobId.eq(job.id))
            .filter(agent_commands::Column::Command.eq(command))
            .filter(agent_commands::Column::Status.ne(CommandStatus::Acknowledged))
            .one(&txn)
            .await?;
        if waiting.is_some() {
            return Err(ApiError::new(
                Code::Conflict,
                format!(
                    "a {} command for this job is already waiting for the agent",
                    command_name(command)
                ),
            ));
        }
        let now = Utc::now();
        let row = agent_commands::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(user.tenant_id),
            agent_id: Set(agent.id),
            job_id: Set(Some(job.id)),
            command: Set(command),
            status: Set(CommandStatus::Pending),
            acknowledged_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let issued = agent_commands::Entity::insert(row)
            .exec_with_returning(&txn)
            .await?;
        emit(&txn, &issued, job.id).await?;
        let message = format!("{} requested", command_name(command));
        let data = json!({ "commandId": issued.id, "by": user.user_id });
        record(&txn, &job, "command", &message, data).await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        self.live.job_changed(&job).await;
        Ok((job, Some(issued)))
    }

    /// The agent acknowledges one of its commands: the job takes the command's status when the
    /// machine allows it (a job that finished meanwhile stays as it is). Acknowledging twice is
    /// a no-op; another agent's command is `NOT_FOUND`.
    pub async fn acknowledge(
        &self,
        agent: &Agent,
        id: Uuid,
    ) -> ApiResult<(agent_commands::Model, Option<jobs::Model>)> {
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let command = agent_commands::Entity::find_by_id(id)
            .filter(agent_commands::Column::TenantId.eq(agent.tenant_id))
            .filter(agent_commands::Column::AgentId.eq(agent.agent_id))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("command"))?;
        let job = match command.job_id {
            Some(job_id) => {
                jobs::Entity::find_by_id(job_id)
                    .filter(jobs::Column::TenantId.eq(agent.tenant_id))
                    .one(&txn)
                    .await?
            }
            None => None,
        };
        if command.status == CommandStatus::Acknowledged {
            return Ok((command, job));
        }
        let now = Utc::now();
        let mut row = command.into_active_model();
        row.status = Set(CommandStatus::Acknowledged);
        row.acknowledged_at = Set(Some(now));
        row.updated_at = Set(now);
        let command = agent_commands::Entity::update(row).exec(&txn).await?;
        let name = command_name(command.command);
        let job = match job {
            Some(job) if status::allowed(job.status, target(command.command)) => {
                let saved = save(&txn, &job, transition(&job, target(command.command))?).await?;
                let message = format!("{} (acknowledged by the agent)", status::name(saved.status));
                record(
                    &txn,
                    &saved,
                    "status",
                    &message,
                    json!({ "commandId": command.id }),
                )
                .await?;
                Some(saved)
            }
            Some(job) => {
                let message = format!(
                    "{name} acknowledged; the job was already {}, nothing changed",
                    status::name(job.status)
                );
                record(
                    &txn,
                    &job,
                    "command",
                    &message,
                    json!({ "commandId": command.id }),
                )
                .await?;
                Some(job)
            }
            None => None,
        };
        txn.commit().await?;
        if let Some(job) = &job {
            self.live.job_changed(job).await;
        }
        Ok((command, job))
    }
}
