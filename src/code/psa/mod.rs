//! PSA: tickets from findings, projects from migration recommendations, and their status.
//!
//! A create is idempotent twice over: the `Idempotency-Key` derived from (tenant, source, kind)
//! makes PSA answer a repeated create with the same ticket, and the unique `psa_links` row makes a
//! repeat here return the stored link without calling PSA. Nothing is written before PSA answers.

mod status;
mod wire;

use std::collections::HashMap;

use chrono::Utc;
use entities::enums::PsaLinkKind;
use entities::{findings, psa_links, recommendations, repositories};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::insight::{client_of, endpoint, idempotency_key, link_back};
use crate::auth::User;
use crate::kernel::batch::Siblings;
use crate::kernel::errors::{ApiError, ApiResult};
use crate::kernel::paging::global_id;
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

pub use status::{CLOSED_STATUSES, RefreshSummary};
pub use wire::priority;

#[derive(Clone)]
pub struct PsaService {
    db: DatabaseConnection,
    upstream: UpstreamClient,
    frontend_url: String,
}

impl PsaService {
    pub fn new(db: DatabaseConnection, upstream: UpstreamClient, frontend_url: String) -> Self {
        PsaService {
            db,
            upstream,
            frontend_url,
        }
    }

    /// Creates (or returns the existing) ticket for a finding; `true` when this call created it.
    pub async fn create_ticket(
        &self,
        user: &User,
        finding: Uuid,
    ) -> ApiResult<(psa_links::Model, bool)> {
        let tenant = user.tenant_id;
        let key = idempotency_key("psa-ticket", tenant, finding);
        if let Some(link) = self.by_key(tenant, &key).await? {
            return Ok((link, false));
        }
        let (finding, repo) = findings::Entity::find_by_id(finding)
            .filter(findings::Column::TenantId.eq(tenant))
            .find_also_related(repositories::Entity)
            .one(&self.db)
            .await?
            .and_then(|(f, r)| Some((f, r?)))
            .ok_or_else(|| ApiError::not_found("finding"))?;
        let client = client_of(&self.db, &repo).await?;
        let body = wire::ticket(
            &finding,
            &repo,
            client.as_ref(),
            global_id("Finding", finding.id),
            link_back(&self.frontend_url, "findings", "Finding", finding.id),
        );
        let created = self.create(&["tickets"], &key, &body).await?;
        let link = self.new_link(tenant, PsaLinkKind::Ticket, &key, body.title, created);
        self.store(
            tenant,
            &key,
            psa_links::ActiveModel {
                finding_id: Set(Some(finding.id)),
                ..link
            },
        )
        .await
    }

    /// Creates (or returns the existing) project for a migration recommendation.
    pub async fn create_project(
        &self,
        user: &User,
        recommendation: Uuid,
    ) -> ApiResult<(psa_links::Model, bool)> {
        let tenant = user.tenant_id;
        let key = idempotency_key("psa-project", tenant, recommendation);
        if let Some(link) = self.by_key(tenant, &key).await? {
            return Ok((link, false));
        }
        let (rec, repo) = recommendations::Entity::find_by_id(recommendation)
            .filter(recommendations::Column::TenantId.eq(tenant))
            .find_also_related(repositories::Entity)
            .one(&self.db)
            .await?
            .and_then(|(r, repo)| Some((r, repo?)))
            .ok_or_else(|| ApiError::not_found("recommendation"))?;
        let client = client_of(&self.db, &repo).await?;
        let body = wire::project(
            &rec,
            &repo,
            client.as_ref(),
            global_id("Recommendation", rec.id),
            link_back(
                &self.frontend_url,
                "recommendations",
                "Recommendation",
                rec.id,
            ),
        );
        let created = self.create(&["projects"], &key, &body).await?;
        let link = self.new_link(tenant, PsaLinkKind::Project, &key, body.title, created);
        self.store(
            tenant,
            &key,
            psa_links::ActiveModel {
                recommendation_id: Set(Some(rec.id)),
                ..link
            },
        )
        .await
    }

    /// The finding of each link on the page, in one statement for the page; the findings share
    /// one `Siblings`, so their own references load once for the level too.
    pub async fn link_finding(
        &self,
        siblings: &Siblings,
        link: &psa_links::Model,
    ) -> ApiResult<Option<(findings::Model, Siblings)>> {
        let tenant = link.tenant_id;
        let db = &self.db;
        let loaded = siblings
            .load("psa-link/finding".into(), |ids| async move {
                let rows = psa_links::Entity::find()
                    .filter(psa_links::Column::TenantId.eq(tenant))
                    .filter(psa_links::Column::Id.is_in(ids.iter().copied()))
                    .find_also_related(findings::Entity)
                    .all(db)
                    .await?;
                let by_link: HashMap<Uuid, findings::Model> = rows
                    .into_iter()
                    .filter_map(|(l, f)| f.filter(|f| f.tenant_id == tenant).map(|f| (l.id, f)))
                    .collect();
                let level = Siblings::new(by_link.values().map(|f| f.id).collect());
                Ok((by_link, level))
            })
            .await?;
        let (by_link, level) = &*loaded;
        Ok(by_link.get(&link.id).map(|f| (f.clone(), level.clone())))
    }

    /// The recommendation of each link on the page, in one statement for the page.
    pub async fn link_recommendation(
        &self,
        siblings: &Siblings,
        link: &psa_links::Model,
    ) -> ApiResult<Option<(recommendations::Model, Siblings)>> {
        let tenant = link.tenant_id;
        let db = &self.db;
        let loaded = siblings
            .load("psa-link/recommendation".into(), |ids| async move {
                let rows = psa_links::Entity::find()
                    .filter(psa_links::Column::TenantId.eq(tenant))
                    .filter(psa_links::Column::Id.is_in(ids.iter().copied()))
                    .find_also_related(recommendations::Entity)
                    .all(db)
                    .await?;
                let by_link: HashMap<Uuid, recommendations::Model> = rows
                    .into_iter()
                    .filter_map(|(l, r)| r.filter(|r| r.tenant_id == tenant).map(|r| (l.id, r)))
                    .collect();
                let level = Siblings::new(by_link.values().map(|r| r.id).collect());
                Ok((by_link, level))
            })
            .await?;
        let (by_link, level) = &*loaded;
        Ok(by_link.get(&link.id).map(|r| (r.clone(), level.clone())))
    }

    async fn by_key(&self, tenant: Uuid, key: &str) -> ApiResult<Option<psa_links::Model>> {
        Ok(psa_links::Entity::find()
            .filter(psa_links::Column::TenantId.eq(tenant))
            .filter(psa_links::Column::IdempotencyKey.eq(key))
            .one(&self.db)
            .await?)
    }

    /// POSTs a create with its `Idempotency-Key` (so it may be retried) and decodes the answer.
    async fn create(
        &self,
        path: &[&str],
        key: &str,
        body: &impl serde::Serialize,
    ) -> ApiResult<wire::Created> {
        self.upstream.require(Integration::Psa)?;
        let (url, service_key) = self.endpoint(path)?;
        self.upstream
            .send_json(Integration::Psa, Retry::Safe, |http| {
                http.post(url.clone())
                    .bearer_auth(&service_key)
                    .header("Idempotency-Key", key)
                    .json(body)
            })
            .await
    }

    fn endpoint(&self, path: &[&str]) -> ApiResult<(url::Url, String)> {
        let config = self.upstream.config();
        let base = config.psa_api_url.as_deref().unwrap_or_default();
        let url = endpoint(base, "PSA_API_URL", path)?;
        Ok((url, config.psa_service_key.clone().unwrap_or_default()))
    }

    fn new_link(
        &self,
        tenant: Uuid,
        kind: PsaLinkKind,
        key: &str,
        title: String,
        created: wire::Created,
    ) -> psa_links::ActiveModel {
        let now = Utc::now();
        let status = created
            .status
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        psa_links::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            kind: Set(kind),
            finding_id: Set(None),
            recommendation_id: Set(None),
            psa_id: Set(created.id.0),
            title: Set(title),
            status_checked_at: Set(status.as_ref().map(|_| now)),
            psa_status: Set(status),
            idempotency_key: Set(key.to_string()),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }

    /// Inserts the link unless one with its key exists (a concurrent create won): either way
    /// the stored row is returned, with `true` when it is the one this call inserted.
    async fn store(
        &self,
        tenant: Uuid,
        key: &str,
        link: psa_links::ActiveModel,
    ) -> ApiResult<(psa_links::Model, bool)> {
        let ours = link.id.try_as_ref().copied();
        psa_links::Entity::insert(link)
            .on_conflict_do_nothing_on([
                psa_links::Column::TenantId,
                psa_links::Column::IdempotencyKey,
            ])
            .exec_without_returning(&self.db)
            .await?;
        let stored = self.by_key(tenant, key).await?.ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("psa link {key} neither inserted nor found"))
        })?;
        let created = Some(stored.id) == ours;
        Ok((stored, created))
    }
}
