//! Demo data: fills one tenant with a realistic picture of The One Code (clients, organizations on
//! every provider, a few hundred repositories, findings of every kind and severity, migration
//! recommendations) and The One Migrate (projects, agents, jobs in every state with their events),
//! for a first look at a development server (`stack-gateway serve --demo`, `stack-gateway demo`).
//!
//! [`seed`] is idempotent: a tenant that already has organizations is left as it is. The content
//! comes from a fixed-seed RNG drawing from the tables in `demo/data/`, so every seeded tenant
//! looks the same; only the times (relative to now), the ids and the agents' API keys (random,
//! only their hashes are stored) differ. Ids are UUID v7 taken at each row's `created_at`, so id
//! order stays creation order. Everything is written in one transaction, in batches of at most
//! [`CHUNK`] rows.
//!
//! A crate of its own, not a module of the server: it is a data generator the server only calls
//! (see "Demo data" in docs/decisions.md); it depends on the entities, never on the server.

mod catalogue;
mod code;
mod generate;
mod migrate;
mod random;
mod store;
#[cfg(test)]
mod tests;
mod text;

use std::fmt;

use chrono::Utc;
use entities::organizations;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use store::insert_all;

/// The seed of the content generator: the same for every tenant, so the demo is reproducible.
const SEED: u64 = 0x0DE3_0DA7_A5EE_D001;

/// Rows per INSERT (well under SQLite's and PostgreSQL's bind-parameter limits).
pub const CHUNK: usize = 200;

/// What [`seed`] wrote (or, when `already_seeded`, what the tenant already had).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub organizations: u64,
    pub repositories: u64,
    pub findings: u64,
    pub recommendations: u64,
    pub projects: u64,
    pub agents: u64,
    pub jobs: u64,
    /// The tenant already had organizations, so nothing was written.
    pub already_seeded: bool,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.already_seeded {
            f.write_str("already has data, left as it is: ")?;
        } else {
            f.write_str("seeded ")?;
        }
        write!(
            f,
            "{} organizations, {} repositories, {} findings, {} recommendations, {} projects, \
             {} agents, {} jobs",
            self.organizations,
            self.repositories,
            self.findings,
            self.recommendations,
            self.projects,
            self.agents,
            self.jobs
        )
    }
}

/// Fills the tenant Hub calls `hub_tenant_id` (created with `tenant_name` if missing) with demo
/// data, unless it already has organizations.
pub async fn seed(
    db: &DatabaseConnection,
    hub_tenant_id: &str,
    tenant_name: &str,
) -> Result<DemoSummary, DbErr> {
    let txn = store::begin_write(db).await?;
    let tenant_id = store::ensure_tenant(&txn, hub_tenant_id, tenant_name).await?;
    let existing = organizations::Entity::find()
        .filter(organizations::Column::TenantId.eq(tenant_id))
        .count(&txn)
        .await?;
    if existing > 0 {
        let summary = store::count_existing(&txn, tenant_id).await?;
        txn.commit().await?;
        return Ok(summary);
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let demo = generate::build(&mut rng, tenant_id, Utc::now());
    let summary = DemoSummary {
        organizations: demo.organizations.len() as u64,
        repositories: demo.repositories.len() as u64,
        findings: demo.findings.len() as u64,
        recommendations: demo.recommendations.len() as u64,
        projects: demo.projects.len() as u64,
        agents: demo.agents.len() as u64,
        jobs: demo.jobs.len() as u64,
        already_seeded: false,
    };
    insert_all(&txn, demo.clients).await?;
    insert_all(&txn, demo.organizations).await?;
    insert_all(&txn, demo.repositories).await?;
    insert_all(&txn, demo.findings).await?;
    insert_all(&txn, demo.recommendations).await?;
    insert_all(&txn, demo.projects).await?;
    insert_all(&txn, demo.agents).await?;
    insert_all(&txn, demo.jobs).await?;
    insert_all(&txn, demo.job_events).await?;
    insert_all(&txn, demo.agent_commands).await?;
    txn.commit().await?;
    Ok(summary)
}
