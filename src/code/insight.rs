//! What PSA and CRM work items are made from: a Code row with its repository and client, plus the
//! helpers both upstreams share (idempotency keys, links back into The One Code, endpoints, the
//! wire references and the technician-or-admin rule).

use entities::enums::Product;
use entities::{clients, organizations, repositories};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

use crate::auth::{Access, Principal, User};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::paging::global_id;

/// The user, if they may create PSA and CRM work items: Code access and the technician or admin
/// role (viewers read only).
pub fn actor(principal: &Principal) -> ApiResult<&User> {
    principal.may(
        Product::Code,
        Access::Operate,
        "create PSA and CRM work items",
    )
}

/// The key sent as `Idempotency-Key` and stored unique per tenant: the same (tenant, source,
/// scope) always derives the same key, so a repeated create is recognised here and upstream.
pub fn idempotency_key(scope: &str, tenant: Uuid, source: Uuid) -> String {
    let digest = Sha256::digest(format!("{scope}|{tenant}|{source}"));
    format!("code-{scope}-{}", &hex::encode(digest)[..32])
}

/// `{FRONTEND_URL}/{section}/{global id}`: where the object is in The One Code.
pub fn link_back(frontend_url: &str, section: &str, type_name: &str, id: Uuid) -> String {
    format!(
        "{}/{section}/{}",
        frontend_url.trim_end_matches('/'),
        global_id(type_name, id).as_str()
    )
}

/// `base` with `segments` appended (each percent-encoded); a base that is not a URL is a
/// configuration error naming its variable.
pub fn endpoint(base: &str, variable: &str, segments: &[&str]) -> ApiResult<Url> {
    let bad = || {
        ApiError::new(
            Code::IntegrationNotConfigured,
            format!("{variable} is not a valid http(s) URL"),
        )
    };
    let mut url = Url::parse(base).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad());
    }
    url.path_segments_mut()
        .map_err(|_| bad())?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// A repository with the client it belongs to (its own, else its organization's).
pub struct RepoContext {
    pub repo: repositories::Model,
    pub client: Option<clients::Model>,
}

/// The client of `repo`: `repo.client_id`, else its organization's (one statement).
pub async fn client_of(
    db: &DatabaseConnection,
    repo: &repositories::Model,
) -> ApiResult<Option<clients::Model>> {
    let tenant = repo.tenant_id;
    if let Some(client) = repo.client_id {
        return Ok(clients::Entity::find_by_id(client)
            .filter(clients::Column::TenantId.eq(tenant))
            .one(db)
            .await?);
    }
    let found = organizations::Entity::find_by_id(repo.organization_id)
        .filter(organizations::Column::TenantId.eq(tenant))
        .find_also_related(clients::Entity)
        .one(db)
        .await?;
    Ok(found
        .and_then(|(_, client)| client)
        .filter(|c| c.tenant_id == tenant))
}

/// The repository `id` of `tenant` with its client, or `NOT_FOUND`.
pub async fn repository_context(
    db: &DatabaseConnection,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<RepoContext> {
    let repo = repositories::Entity::find_by_id(id)
        .filter(repositories::Column::TenantId.eq(tenant))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("repository"))?;
    let client = client_of(db, &repo).await?;
    Ok(RepoContext { repo, client })
}

/// The repository as sent upstream.
#[derive(Serialize, Debug)]
pub struct RepositoryRef {
    pub full_name: String,
    pub url: String,
}

impl From<&repositories::Model> for RepositoryRef {
    fn from(repo: &repositories::Model) -> Self {
        RepositoryRef {
            full_name: repo.full_name.clone(),
            url: repo.url.clone(),
        }
    }
}

/// An identifier in an upstream answer: a non-empty string (anything else is a malformed answer).
#[derive(Debug, Clone)]
pub struct UpstreamId(pub String);

impl<'de> Deserialize<'de> for UpstreamId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.len() > 200 {
            return Err(serde::de::Error::custom(
                "an id must be 1 to 200 characters",
            ));
        }
        Ok(UpstreamId(trimmed.to_string()))
    }
}

/// Formats hours without a trailing `.0` (120, 82.5).
pub fn hours(h: f64) -> String {
    let rounded = (h * 100.0).round() / 100.0;
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_scoped() {
        let (t, s) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(
            idempotency_key("psa-ticket", t, s),
            idempotency_key("psa-ticket", t, s)
        );
        assert_ne!(
            idempotency_key("psa-ticket", t, s),
            idempotency_key("psa-project", t, s)
        );
        assert_ne!(
            idempotency_key("psa-ticket", t, s),
            idempotency_key("psa-ticket", Uuid::now_v7(), s)
        );
        assert!(idempotency_key("psa-ticket", t, s).starts_with("code-psa-ticket-"));
    }

    #[test]
    fn endpoints_append_encoded_segments() {
        let url = endpoint(
            "https://psa.example/api/",
            "PSA_API_URL",
            &["tickets", "T 1/2"],
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://psa.example/api/tickets/T%201%2F2");
        let url = endpoint("http://psa.example", "PSA_API_URL", &["tickets"]).unwrap();
        assert_eq!(url.as_str(), "http://psa.example/tickets");
        assert!(endpoint("not a url", "PSA_API_URL", &["tickets"]).is_err());
        assert!(endpoint("ftp://psa.example", "PSA_API_URL", &["tickets"]).is_err());
    }

    #[test]
    fn hours_print_without_noise() {
        assert_eq!(hours(120.0), "120");
        assert_eq!(hours(82.5), "82.5");
        assert_eq!(hours(1.0 / 3.0), "0.33");
    }
}
