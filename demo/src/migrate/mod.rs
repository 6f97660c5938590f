//! The One Migrate: projects, the agents that run jobs on-premises, and the jobs.

mod events;
mod jobs;

use chrono::{DateTime, Duration, Utc};
use entities::enums::AgentStatus;
use entities::{agents, projects};
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::catalogue::CATALOGUE;
use crate::generate::Demo;
use crate::random::{days_ago, id_at, random_secret};
use crate::text::sha256_hex;

/// The projects, agents and jobs of `migrate.toml`, in its order.
pub(crate) fn build(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    client_ids: &[Uuid],
) {
    let mut project_ids = Vec::new();
    for spec in &CATALOGUE.projects {
        let at = days_ago(rng, now, 45, 90);
        let id = id_at(at);
        project_ids.push(id);
        demo.projects.push(projects::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            client_id: Set(Some(client_ids[spec.client_index])),
            name: Set(spec.name.clone()),
            description: Set(Some(spec.description.clone())),
            psa_ticket_id: Set(spec.psa_ticket_id.clone()),
            psa_project_id: Set(spec.psa_project_id.clone()),
            storage_account: Set(spec.storage_account.clone()),
            storage_container: Set(spec.storage_container.clone()),
            azure_tenant: Set(spec.azure_tenant.clone()),
            // No storage credentials in demo data: the project shows as "not connected".
            refresh_token_encrypted: Set(None),
            credentials_connected_at: Set(None),
            credentials_expires_at: Set(None),
            storage_error: Set(None),
            storage_error_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        });
    }

    let mut agent_ids = Vec::new();
    for spec in &CATALOGUE.agents {
        let registered = days_ago(rng, now, 50, 120);
        let id = id_at(registered);
        agent_ids.push(id);
        let (heartbeat, revoked) = match spec.status {
            AgentStatus::Online => (now - Duration::seconds(rng.random_range(3..90)), None),
            AgentStatus::Offline => (days_ago(rng, now, 2, 4), None),
            AgentStatus::Revoked => {
                let revoked = days_ago(rng, now, 12, 16);
                (
                    revoked - Duration::hours(rng.random_range(30..80)),
                    Some(revoked),
                )
            }
        };
        // A real key, thrown away: only its hash and prefix are stored, as for a registration.
        let key = format!("tom_agt_{}", random_secret());
        demo.agents.push(agents::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            name: Set(spec.name.clone()),
            hostname: Set(Some(spec.hostname.clone())),
            version: Set(Some(spec.version.clone())),
            status: Set(spec.status),
            api_key_hash: Set(sha256_hex(&key)),
            api_key_prefix: Set(key[..12].to_string()),
            last_heartbeat_at: Set(Some(heartbeat)),
            registered_at: Set(registered),
            revoked_at: Set(revoked),
            created_at: Set(registered),
            updated_at: Set(revoked.unwrap_or(heartbeat)),
        });
    }

    for spec in &CATALOGUE.jobs {
        jobs::build(rng, demo, tenant, now, spec, &project_ids, &agent_ids);
    }
}
