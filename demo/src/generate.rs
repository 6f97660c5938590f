//! The rows of one tenant's demo, built in memory from the seeded generator before any is written.

use chrono::{DateTime, Utc};
use entities::{
    agent_commands, agents, clients, findings, job_events, jobs, organizations, projects,
    recommendations, repositories,
};
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::catalogue::CATALOGUE;
use crate::random::{days_ago, id_at};

#[derive(Default)]
pub(crate) struct Demo {
    pub clients: Vec<clients::ActiveModel>,
    pub organizations: Vec<organizations::ActiveModel>,
    pub repositories: Vec<repositories::ActiveModel>,
    pub findings: Vec<findings::ActiveModel>,
    pub recommendations: Vec<recommendations::ActiveModel>,
    pub projects: Vec<projects::ActiveModel>,
    pub agents: Vec<agents::ActiveModel>,
    pub jobs: Vec<jobs::ActiveModel>,
    pub job_events: Vec<job_events::ActiveModel>,
    pub agent_commands: Vec<agent_commands::ActiveModel>,
}

/// Everything, in a fixed order of draws: the same `rng` seed gives the same rows.
pub(crate) fn build(rng: &mut StdRng, tenant: Uuid, now: DateTime<Utc>) -> Demo {
    let mut demo = Demo::default();
    let client_ids = build_clients(rng, &mut demo, tenant, now);
    crate::code::build(rng, &mut demo, tenant, now, &client_ids);
    crate::migrate::build(rng, &mut demo, tenant, now, &client_ids);
    demo
}

/// The clients, in the order of `clients.toml`; returns their ids in that order.
fn build_clients(rng: &mut StdRng, demo: &mut Demo, tenant: Uuid, now: DateTime<Utc>) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for client in &CATALOGUE.clients {
        let at = days_ago(rng, now, 400, 500);
        let id = id_at(at);
        ids.push(id);
        demo.clients.push(clients::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            name: Set(client.name.clone()),
            psa_client_id: Set(client.psa_client_id.clone()),
            crm_account_id: Set(client.crm_account_id.clone()),
            archived_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        });
    }
    ids
}
