//! The asset a repository becomes in the CMDB: the body of `PUT /assets/{external_id}`.

use chrono::{DateTime, Utc};
use entities::enums::Lifecycle;
use entities::{clients, repositories, tenants};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The body of `PUT /assets/{external_id}`.
#[derive(Serialize, Debug)]
pub struct Asset {
    pub external_id: String,
    pub asset_type: &'static str,
    pub source: &'static str,
    pub tenant: AssetTenant,
    pub client: Option<AssetClient>,
    pub name: String,
    pub full_name: String,
    pub url: String,
    pub app_type: Option<String>,
    pub tech_stack: Vec<String>,
    pub health_score: Option<i32>,
    pub debt_score: Option<i32>,
    pub last_commit_at: Option<DateTime<Utc>>,
    /// Commits per week.
    pub commit_frequency: Option<f64>,
    pub hosting_platform: Option<String>,
    pub data_classification: Option<String>,
    pub lifecycle: &'static str,
}

/// The Hub tenant the asset belongs to.
#[derive(Serialize, Debug)]
pub struct AssetTenant {
    pub id: String,
    pub name: String,
}

/// The client the application is linked to.
#[derive(Serialize, Debug)]
pub struct AssetClient {
    pub id: Uuid,
    pub name: String,
    pub psa_client_id: Option<String>,
    pub crm_account_id: Option<String>,
}

/// The stable CMDB id of a repository's asset.
pub fn external_id(repository: Uuid) -> String {
    format!("code-{repository}")
}

impl Asset {
    pub fn of(
        repo: &repositories::Model,
        tenant: &tenants::Model,
        client: Option<&clients::Model>,
    ) -> Self {
        let tech_stack = repo
            .tech_stack
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Asset {
            external_id: external_id(repo.id),
            asset_type: "software_application",
            source: "the-one-code",
            tenant: AssetTenant {
                id: tenant.hub_tenant_id.clone(),
                name: tenant.name.clone(),
            },
            client: client.map(|c| AssetClient {
                id: c.id,
                name: c.name.clone(),
                psa_client_id: c.psa_client_id.clone(),
                crm_account_id: c.crm_account_id.clone(),
            }),
            name: repo.name.clone(),
            full_name: repo.full_name.clone(),
            url: repo.url.clone(),
            app_type: repo.app_type.clone(),
            tech_stack,
            health_score: repo.health_score,
            debt_score: repo.debt_score,
            last_commit_at: repo.last_commit_at,
            commit_frequency: repo.commit_frequency,
            hosting_platform: repo.hosting_platform.clone(),
            data_classification: repo.data_classification.clone(),
            lifecycle: match repo.lifecycle {
                Lifecycle::Active => "active",
                Lifecycle::Sunset => "sunset",
                Lifecycle::Dead => "dead",
            },
        }
    }

    /// SHA-256 of the body as sent: any change to what the CMDB would see sends it again.
    pub fn hash(&self) -> String {
        let body = serde_json::to_vec(self).expect("an asset serializes");
        hex::encode(Sha256::digest(body))
    }
}
