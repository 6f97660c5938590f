//! A job: its size, progress and times by status, its configuration by kind, and the control
//! command that paused or cancelled it.

use chrono::{DateTime, Duration, Utc};
use entities::enums::{AgentCommand, CommandStatus, JobKind, JobStatus};
use entities::{agent_commands, jobs};
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use serde_json::json;
use uuid::Uuid;

use super::events::{self, Run};
use crate::catalogue::{CATALOGUE, JobSpec};
use crate::generate::Demo;
use crate::random::{between, days_ago, id_at};
use crate::text::{fill, round2, thousands};

/// Bytes as the GB the API reports, to two decimals.
pub(super) fn gb(bytes: i64) -> f64 {
    round2(bytes as f64 / 1e9)
}

pub(super) fn build(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    spec: &JobSpec,
    project_ids: &[Uuid],
    agent_ids: &[Uuid],
) {
    let project = &CATALOGUE.projects[spec.project_index];
    let agent = spec.agent_index.map(|a| &CATALOGUE.agents[a]);

    // Sizes: items and bytes per item by kind.
    let (items_total, bytes_per_item): (i64, i64) = match spec.kind {
        JobKind::Mailbox => (
            i64::from(spec.mailboxes) * rng.random_range(6_000..18_000),
            rng.random_range(60_000..110_000),
        ),
        JobKind::FileShare => (
            rng.random_range(80_000..900_000),
            rng.random_range(800_000..2_500_000),
        ),
        JobKind::Onedrive => (
            rng.random_range(30_000..400_000),
            rng.random_range(500_000..1_500_000),
        ),
        JobKind::Sharepoint => (
            rng.random_range(20_000..250_000),
            rng.random_range(1_000_000..3_000_000),
        ),
        JobKind::RockrmsImport => (
            rng.random_range(40_000..260_000),
            rng.random_range(3_000..12_000),
        ),
    };
    let bytes_total = items_total * bytes_per_item;
    let fraction = match spec.status {
        JobStatus::Queued => 0.0,
        JobStatus::Completed => 1.0,
        JobStatus::Running => rng.random_range(0.2..0.85),
        JobStatus::Paused => rng.random_range(0.3..0.7),
        JobStatus::Failed => rng.random_range(0.05..0.6),
        JobStatus::Cancelled => rng.random_range(0.1..0.5),
    };
    let items_done = (items_total as f64 * fraction) as i64;
    let bytes_done = if spec.status == JobStatus::Completed {
        bytes_total
    } else {
        items_done * bytes_per_item
    };

    // Times.
    let (created, started, ended) = match spec.status {
        JobStatus::Queued => (days_ago(rng, now, 0, 1), None, None),
        JobStatus::Running => {
            let created = days_ago(rng, now, 1, 6);
            (
                created,
                Some(created + Duration::minutes(rng.random_range(5..90))),
                None,
            )
        }
        JobStatus::Paused => {
            let created = days_ago(rng, now, 2, 10);
            let started = created + Duration::minutes(rng.random_range(5..90));
            (
                created,
                Some(started),
                Some(between(rng, started + Duration::hours(2), now)),
            )
        }
        JobStatus::Completed => {
            let created = days_ago(rng, now, 10, 40);
            let started = created + Duration::minutes(rng.random_range(5..120));
            (
                created,
                Some(started),
                Some(started + Duration::minutes(rng.random_range(120..4_320))),
            )
        }
        JobStatus::Failed => {
            let created = days_ago(rng, now, 2, 14);
            let started = created + Duration::minutes(rng.random_range(5..120));
            (
                created,
                Some(started),
                Some(started + Duration::minutes(rng.random_range(60..1_200))),
            )
        }
        JobStatus::Cancelled => {
            let created = days_ago(rng, now, 20, 30);
            let started = created + Duration::minutes(rng.random_range(5..120));
            (
                created,
                Some(started),
                Some(started + Duration::minutes(rng.random_range(60..1_800))),
            )
        }
    };
    // Paused jobs have no finish time; `ended` is when they were paused.
    let finished = match spec.status {
        JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled => ended,
        _ => None,
    };
    let updated = match spec.status {
        JobStatus::Running => now - Duration::seconds(rng.random_range(5..120)),
        _ => ended.unwrap_or(created),
    };
    let error = spec
        .error
        .as_ref()
        .map(|e| fill(e, &[("done", &thousands(items_done))]));

    let config = match spec.kind {
        JobKind::Mailbox => json!({
            "source": spec.source,
            "target": spec.target,
            "mailboxes": spec.mailboxes,
            "include_archives": true,
            "skip_larger_than_mb": 150,
        }),
        JobKind::FileShare => json!({
            "source_path": spec.source,
            "target_url": spec.target,
            "preserve_permissions": true,
            "skip_extensions": [".tmp", ".lnk", "thumbs.db"],
        }),
        JobKind::Onedrive => json!({
            "source": spec.source,
            "target": spec.target,
            "map_users_by": "upn",
        }),
        JobKind::Sharepoint => json!({
            "source_url": spec.source,
            "target_url": spec.target,
            "keep_versions": 10,
            "migrate_permissions": true,
        }),
        JobKind::RockrmsImport => json!({
            "source": spec.source,
            "rock_url": spec.target,
            "batch_size": 500,
            "match_people_by": ["email", "name_and_birthdate"],
        }),
    };

    let job_id = id_at(created);
    demo.jobs.push(jobs::ActiveModel {
        id: Set(job_id),
        tenant_id: Set(tenant),
        project_id: Set(project_ids[spec.project_index]),
        agent_id: Set(spec.agent_index.map(|a| agent_ids[a])),
        kind: Set(spec.kind),
        name: Set(spec.name.clone()),
        status: Set(spec.status),
        psa_ticket_id: Set(project.psa_ticket_id.clone()),
        psa_project_id: Set(project.psa_project_id.clone()),
        // A queued job has not been scanned yet, so its size is unknown.
        items_total: Set((spec.status != JobStatus::Queued).then_some(items_total)),
        items_done: Set(items_done),
        bytes_total: Set((spec.status != JobStatus::Queued).then_some(bytes_total)),
        bytes_done: Set(bytes_done),
        gb_transferred: Set(gb(bytes_done)),
        mailbox_count: Set(spec.mailboxes),
        error: Set(error.clone()),
        config: Set(config),
        secret_encrypted: Set(None),
        started_at: Set(started),
        finished_at: Set(finished),
        created_at: Set(created),
        updated_at: Set(updated),
    });

    events::build(
        rng,
        demo,
        tenant,
        now,
        Run {
            spec,
            project,
            agent,
            job_id,
            created,
            started,
            ended,
            items_total,
            bytes_total,
            bytes_per_item,
            fraction,
            items_done,
            bytes_done,
            error,
        },
    );

    // The control command that paused or cancelled an agent's job, acknowledged.
    let command = match spec.status {
        JobStatus::Paused => Some(AgentCommand::Pause),
        JobStatus::Cancelled => Some(AgentCommand::Cancel),
        _ => None,
    };
    if let (Some(command), Some(agent), Some(at)) = (command, spec.agent_index, ended) {
        let issued = at - Duration::seconds(rng.random_range(5..40));
        demo.agent_commands.push(agent_commands::ActiveModel {
            id: Set(id_at(issued)),
            tenant_id: Set(tenant),
            agent_id: Set(agent_ids[agent]),
            job_id: Set(Some(job_id)),
            command: Set(command),
            status: Set(CommandStatus::Acknowledged),
            acknowledged_at: Set(Some(at)),
            created_at: Set(issued),
            updated_at: Set(at),
        });
    }
}
