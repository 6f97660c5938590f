//! CRM: opportunities from Code insights, valued at effort hours × the tenant's hourly rate.
//!
//! Idempotent like PSA creates: the `Idempotency-Key` derived from (tenant, source, source row)
//! is sent upstream and stored unique, so a repeat returns the stored opportunity without a call.
//! Nothing is written before CRM answers.

mod insights;

use chrono::Utc;
use entities::{clients, crm_opportunities, findings, tenants};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::insight::{RepositoryRef, UpstreamId, endpoint, hours, idempotency_key};
use crate::auth::User;
use crate::kernel::errors::{ApiError, ApiResult};
use crate::kernel::paging::decode_global_id;
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

pub use insights::{
    DEFAULT_MODERNIZATION_HOURS, HOURS_PER_CRITICAL_FINDING, HOURS_PER_DEBT_POINT,
    MIN_CRITICAL_FINDINGS, MIN_DEBT_SCORE, Source,
};

/// The client as CRM knows it.
#[derive(Serialize, Debug)]
struct ClientRef {
    name: String,
    crm_account_id: Option<String>,
}

impl From<&clients::Model> for ClientRef {
    fn from(client: &clients::Model) -> Self {
        ClientRef {
            name: client.name.clone(),
            crm_account_id: client.crm_account_id.clone(),
        }
    }
}

/// `POST {CRM_API_URL}/opportunities` (docs/psa-crm.md).
#[derive(Serialize, Debug)]
struct OpportunityRequest {
    name: String,
    source: &'static str,
    description: String,
    client: Option<ClientRef>,
    effort_hours: f64,
    hourly_rate: f64,
    estimated_value: f64,
    estimated_value_cents: i64,
    repository: RepositoryRef,
    source_id: String,
    source_url: String,
}

/// The answer to a create: `{"id": "..."}` (other fields are ignored).
#[derive(Deserialize, Debug)]
struct Created {
    id: UpstreamId,
}

#[derive(Clone)]
pub struct CrmService {
    db: DatabaseConnection,
    upstream: UpstreamClient,
    frontend_url: String,
}

impl CrmService {
    pub fn new(db: DatabaseConnection, upstream: UpstreamClient, frontend_url: String) -> Self {
        CrmService {
            db,
            upstream,
            frontend_url,
        }
    }

    /// Creates (or returns the existing) opportunity for `source`/`id`; `true` when this call
    /// created it.
    pub async fn create(
        &self,
        user: &User,
        source: Source,
        id: &str,
    ) -> ApiResult<(crm_opportunities::Model, bool)> {
        let tenant = user.tenant_id;
        let source_id = self.source_row(tenant, source, id).await?;
        let key = idempotency_key(&format!("crm-{}", source.key()), tenant, source_id);
        if let Some(existing) = self.by_key(tenant, &key).await? {
            return Ok((existing, false));
        }
        let insight =
            insights::build(&self.db, tenant, source, source_id, &self.frontend_url).await?;
        let rate_cents = self.hourly_rate_cents(tenant).await?;
        let value_cents = (insight.hours * rate_cents as f64).round() as i64;
        let description = format!(
            "{}\n\nEstimated effort: {} hours ({}).\nEstimated value: {} hours × {:.2} per hour = {:.2}.\n\nIn The One Code: {}",
            insight.description,
            hours(insight.hours),
            insight.hours_basis,
            hours(insight.hours),
            rate_cents as f64 / 100.0,
            value_cents as f64 / 100.0,
            insight.source_url
        );
        let body = OpportunityRequest {
            name: insight.name.clone(),
            source: source.key(),
            description: description.clone(),
            client: insight.context.client.as_ref().map(Into::into),
            effort_hours: insight.hours,
            hourly_rate: rate_cents as f64 / 100.0,
            estimated_value: value_cents as f64 / 100.0,
            estimated_value_cents: value_cents,
            repository: (&insight.context.repo).into(),
            source_id: insight.source_global_id.clone(),
            source_url: insight.source_url.clone(),
        };
        let created = self.send(&key, &body).await?;
        let now = Utc::now();
        let row = crm_opportunities::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            source_kind: Set(source.key().to_string()),
            source_id: Set(source_id),
            client_id: Set(insight.context.client.as_ref().map(|c| c.id)),
            crm_id: Set(created.id.0),
            name: Set(insight.name),
            estimated_value_cents: Set(value_cents),
            description: Set(description),
            idempotency_key: Set(key.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        self.store(tenant, &key, row).await
    }

    /// The row the opportunity is about: the recommendation, or the repository (a Finding ID
    /// stands for its repository, so the button works from a finding too).
    async fn source_row(&self, tenant: Uuid, source: Source, id: &str) -> ApiResult<Uuid> {
        let (type_name, uuid) = decode_global_id(id)?;
        match (source, type_name.as_str()) {
            (Source::MigrationRecommendation, "Recommendation") => Ok(uuid),
            (Source::MigrationRecommendation, _) => Err(ApiError::bad_input(
                "MIGRATION_RECOMMENDATION takes a Recommendation ID",
            )),
            (_, "Repository") => Ok(uuid),
            (_, "Finding") => findings::Entity::find_by_id(uuid)
                .filter(findings::Column::TenantId.eq(tenant))
                .one(&self.db)
                .await?
                .map(|f| f.repository_id)
                .ok_or_else(|| ApiError::not_found("finding")),
            (source, _) => Err(ApiError::bad_input(format!(
                "{} takes a Repository ID (or a Finding ID, for its repository)",
                source.name()
            ))),
        }
    }

    async fn hourly_rate_cents(&self, tenant: Uuid) -> ApiResult<i64> {
        let tenant = tenants::Entity::find_by_id(tenant)
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("tenant"))?;
        match tenant.crm_hourly_rate_cents {
            Some(rate) if rate > 0 => Ok(rate),
            _ => Err(ApiError::bad_input(
                "no CRM hourly rate is set, so the opportunity cannot be valued: an admin must set \
                 it first (setCrmHourlyRate, Integrations → CRM)",
            )),
        }
    }

    async fn send(&self, key: &str, body: &OpportunityRequest) -> ApiResult<Created> {
        self.upstream.require(Integration::Crm)?;
        let config = self.upstream.config();
        let base = config.crm_api_url.as_deref().unwrap_or_default();
        let url = endpoint(base, "CRM_API_URL", &["opportunities"])?;
        let service_key = config.crm_service_key.clone().unwrap_or_default();
        self.upstream
            .send_json(Integration::Crm, Retry::Safe, |http| {
                http.post(url.clone())
                    .bearer_auth(&service_key)
                    .header("Idempotency-Key", key)
                    .json(body)
            })
            .await
    }

    async fn by_key(&self, tenant: Uuid, key: &str) -> ApiResult<Option<crm_opportunities::Model>> {
        Ok(crm_opportunities::Entity::find()
            .filter(crm_opportunities::Column::TenantId.eq(tenant))
            .filter(crm_opportunities::Column::IdempotencyKey.eq(key))
            .one(&self.db)
            .await?)
    }

    /// Inserts unless a concurrent create stored the key first; returns the stored row.
    async fn store(
        &self,
        tenant: Uuid,
        key: &str,
        row: crm_opportunities::ActiveModel,
    ) -> ApiResult<(crm_opportunities::Model, bool)> {
        let ours = row.id.try_as_ref().copied();
        crm_opportunities::Entity::insert(row)
            .on_conflict_do_nothing_on([
                crm_opportunities::Column::TenantId,
                crm_opportunities::Column::IdempotencyKey,
            ])
            .exec_without_returning(&self.db)
            .await?;
        let stored = self.by_key(tenant, key).await?.ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "crm opportunity {key} neither inserted nor found"
            ))
        })?;
        let created = Some(stored.id) == ours;
        Ok((stored, created))
    }
}
