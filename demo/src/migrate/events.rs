//! A job's events, in time order: created or queued, started, scanned, progress, warnings,
//! and how it ended.

use chrono::{DateTime, Duration, Utc};
use entities::enums::{AgentStatus, JobKind, JobStatus};
use entities::job_events;
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveEnum;
use sea_orm::ActiveValue::Set;
use serde_json::{Value, json};
use uuid::Uuid;

use super::jobs::gb;
use crate::catalogue::{AgentSpec, JobSpec, ProjectSpec};
use crate::generate::Demo;
use crate::random::{between, id_at};
use crate::text::thousands;

/// What the job row says happened, for its events to tell.
pub(super) struct Run<'a> {
    pub spec: &'a JobSpec,
    pub project: &'a ProjectSpec,
    pub agent: Option<&'a AgentSpec>,
    pub job_id: Uuid,
    pub created: DateTime<Utc>,
    pub started: Option<DateTime<Utc>>,
    /// Finished, or paused.
    pub ended: Option<DateTime<Utc>>,
    pub items_total: i64,
    pub bytes_total: i64,
    pub bytes_per_item: i64,
    pub fraction: f64,
    pub items_done: i64,
    pub bytes_done: i64,
    pub error: Option<String>,
}

pub(super) fn build(rng: &mut StdRng, demo: &mut Demo, tenant: Uuid, now: DateTime<Utc>, run: Run) {
    let Run {
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
        ref error,
    } = run;
    let where_ = agent.map_or("the cloud worker".to_string(), |a| a.hostname.clone());
    let mut events: Vec<(DateTime<Utc>, &str, String, Value)> = vec![(
        created,
        "created",
        format!("Job created for {}", project.name),
        json!({ "kind": spec.kind.to_value(), "source": spec.source, "target": spec.target }),
    )];
    match (spec.status, agent) {
        (JobStatus::Queued, Some(a)) if a.status == AgentStatus::Offline => events.push((
            created + Duration::seconds(2),
            "waiting",
            format!("Waiting for agent {} to come online", a.hostname),
            json!({ "agent": a.hostname }),
        )),
        (JobStatus::Queued, _) => events.push((
            created + Duration::seconds(2),
            "queued",
            format!("Queued for {where_}"),
            json!({}),
        )),
        _ => {}
    }
    if let Some(started) = started {
        let end = ended.unwrap_or(now - Duration::minutes(1));
        events.push((
            started,
            "started",
            format!("Started on {where_}; scanning the source"),
            json!({ "agent": agent.map(|a| &a.hostname) }),
        ));
        events.push((
            started + (end - started) / 20,
            "scanned",
            format!(
                "Found {} items ({} GB) to copy",
                thousands(items_total),
                gb(bytes_total)
            ),
            json!({ "items_total": items_total, "bytes_total": bytes_total }),
        ));
        for step in [0.25, 0.5, 0.75] {
            if step < fraction {
                let done = (items_total as f64 * step) as i64;
                events.push((
                    started
                        + Duration::seconds(
                            ((end - started).num_seconds() as f64 * step / fraction) as i64 * 9
                                / 10,
                        ),
                    "progress",
                    format!(
                        "{} of {} items, {} GB",
                        thousands(done),
                        thousands(items_total),
                        gb(done * bytes_per_item)
                    ),
                    json!({ "items_done": done, "bytes_done": done * bytes_per_item }),
                ));
            }
        }
        if matches!(spec.kind, JobKind::FileShare | JobKind::Sharepoint) {
            let skipped = rng.random_range(3..60);
            events.push((
                between(rng, started, end),
                "warning",
                format!("{skipped} items skipped: path longer than 400 characters"),
                json!({ "skipped": skipped, "reason": "path_too_long" }),
            ));
        }
        let hours = (end - started).num_minutes() as f64 / 60.0;
        let last = match spec.status {
            JobStatus::Completed => Some((
                "completed",
                format!(
                    "Completed: {} items, {} GB in {:.1} h",
                    thousands(items_total),
                    gb(bytes_total),
                    hours
                ),
            )),
            JobStatus::Failed => Some(("failed", error.clone().unwrap_or_default())),
            JobStatus::Paused => Some(("paused", "Paused by a technician".to_string())),
            JobStatus::Cancelled if agent.is_some_and(|a| a.status == AgentStatus::Revoked) => {
                Some((
                    "cancelled",
                    "Cancelled by a technician: the laptop running the agent was reported lost"
                        .to_string(),
                ))
            }
            JobStatus::Cancelled => Some((
                "cancelled",
                "Cancelled by a technician: replaced by a re-scoped job".to_string(),
            )),
            _ => None,
        };
        if let Some((kind, message)) = last {
            events.push((
                end,
                kind,
                message,
                json!({ "items_done": items_done, "bytes_done": bytes_done }),
            ));
        }
    }
    events.sort_by_key(|e| e.0);
    for (at, kind, message, data) in events {
        demo.job_events.push(job_events::ActiveModel {
            id: Set(id_at(at)),
            tenant_id: Set(tenant),
            job_id: Set(job_id),
            kind: Set(kind.to_string()),
            message: Set(message),
            data: Set(data),
            created_at: Set(at),
        });
    }
}
