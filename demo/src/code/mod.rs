//! The One Code: organizations, their repositories, findings and recommendations.

mod findings;
mod kinds;
mod recommendations;
mod repositories;
mod reviews;

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use entities::enums::{OrgStatus, Provider};
use entities::organizations;
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::catalogue::CATALOGUE;
use crate::generate::Demo;
use crate::random::{days_ago, id_at};

pub(crate) use recommendations::KEYS as RECOMMENDATIONS;
pub(crate) use repositories::Repo;

/// Each organization of `organizations.toml`, then its repositories with their findings and
/// recommendations.
pub(crate) fn build(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    client_ids: &[Uuid],
) {
    let mut finding_seq = 0usize;
    for org in &CATALOGUE.organizations {
        let connected = days_ago(rng, now, 60, 380);
        let org_id = id_at(connected);
        let discovered = now - Duration::minutes(rng.random_range(20..600));
        let external_id = match org.provider {
            // An installation's account is connected in one tenant only (a unique index): the
            // demo's made-up accounts are per tenant.
            Provider::Github => format!(
                "demo:{tenant}:{}",
                rng.random_range(10_000_000..160_000_000u64)
            ),
            Provider::Gitlab => rng.random_range(4_000_000..90_000_000u64).to_string(),
            Provider::AzureDevops => uuid::Builder::from_random_bytes(rng.random())
                .into_uuid()
                .to_string(),
        };
        let client_id = client_ids[org.client_index];
        demo.organizations.push(organizations::ActiveModel {
            id: Set(org_id),
            tenant_id: Set(tenant),
            client_id: Set(Some(client_id)),
            provider: Set(org.provider),
            login: Set(org.login.clone()),
            name: Set(org.name.clone()),
            external_id: Set(Some(external_id)),
            status: Set(if org.status_error.is_some() {
                OrgStatus::Error
            } else {
                OrgStatus::Connected
            }),
            status_error: Set(org.status_error.clone()),
            status_error_code: Set(org
                .status_error
                .as_ref()
                .map(|_| "UPSTREAM_UNAVAILABLE".to_string())),
            base_permission: Set(org.base_permission.clone()),
            // Demo organizations hold no upstream credentials.
            credentials_encrypted: Set(None),
            repo_count: Set(org.repos as i32),
            connected_at: Set(Some(connected)),
            last_discovered_at: Set(Some(if org.status_error.is_some() {
                discovered - Duration::days(4)
            } else {
                discovered
            })),
            next_retry_at: Set(org
                .status_error
                .as_ref()
                .map(|_| now + Duration::minutes(rng.random_range(10..120)))),
            discovery_queued_at: Set(None),
            last_discovery: Set(None),
            created_at: Set(connected),
            updated_at: Set(discovered),
        });

        let mut names = HashSet::new();
        for index in 0..org.repos {
            let at = repositories::Place {
                tenant,
                org,
                org_id,
                client_id,
                discovered: connected + Duration::seconds(index as i64),
            };
            let repo = repositories::build(rng, demo, now, &at, &mut names);
            let open = findings::build(rng, demo, tenant, now, &repo, &mut finding_seq);
            recommendations::build(rng, demo, tenant, now, &repo, open);
        }
    }
}
