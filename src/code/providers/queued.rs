//! Discovery on the queue: `rediscoverOrganization` (and a GitHub connect) mark the
//! organization and queue task `organization-discovery`, which runs the same discovery and audit
//! as the timer and keeps its outcome on the organization (docs/providers.md).

use chrono::{DateTime, TimeDelta, Utc};
use entities::enums::OrgStatus;
use entities::organizations;
use jobs::QueueTask;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{
    OrganizationDiscovery, ProviderService, QUEUED_STALE_MINUTES, RunOutcome, admin_of_code,
};
use crate::auth::User;
use crate::kernel::errors::{ApiError, ApiResult, Code};

impl ProviderService {
    /// `rediscoverOrganization`: queues a discovery and audit run (one at a time per
    /// organization) and answers at once; the organization shows the run's progress
    /// (`discovering`) and outcome (`status`, `lastDiscovery`).
    pub async fn rediscover(&self, user: &User, id: Uuid) -> ApiResult<organizations::Model> {
        admin_of_code(user)?;
        let org = organizations::Entity::find_by_id(id)
            .filter(organizations::Column::TenantId.eq(user.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        if org.status == OrgStatus::Disconnected || org.credentials_encrypted.is_none() {
            return Err(ApiError::new(
                Code::Conflict,
                "the organization is disconnected: connect it again",
            ));
        }
        let now = Utc::now();
        let stale = now - TimeDelta::minutes(QUEUED_STALE_MINUTES);
        let marked = organizations::Entity::update_many()
            .col_expr(
                organizations::Column::DiscoveryQueuedAt,
                sea_orm::sea_query::Expr::value(Some(now)),
            )
            .filter(organizations::Column::Id.eq(org.id))
            .filter(organizations::Column::Status.ne(OrgStatus::Disconnected))
            .filter(
                Condition::any()
                    .add(organizations::Column::DiscoveryQueuedAt.is_null())
                    .add(organizations::Column::DiscoveryQueuedAt.lt(stale)),
            )
            .exec(&self.db)
            .await?;
        let org = organizations::Entity::find_by_id(org.id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        if marked.rows_affected == 1 {
            self.push_discovery(&org).await?;
        }
        Ok(org)
    }

    /// Queues the discovery run `org.discovery_queued_at` announces (keyed by it, so a second
    /// push of the same mark queues nothing). A push that fails clears the mark.
    pub(super) async fn push_discovery(&self, org: &organizations::Model) -> ApiResult<()> {
        let at = org.discovery_queued_at.unwrap_or_else(Utc::now);
        let key = format!(
            "{}:{}:{}",
            OrganizationDiscovery::NAME,
            org.id,
            at.timestamp_micros()
        );
        let task = OrganizationDiscovery { org_id: org.id };
        if let Err(error) = self.queue.push(task, Some(&key)).await {
            self.record_run(org.id, None, true).await?;
            return Err(ApiError::from(error));
        }
        Ok(())
    }

    /// The queued run: the same discovery and audit as the timer's, its outcome kept on the
    /// organization. A failure is recorded there (status, error, retry time), not retried by
    /// the queue: the timer retries it at `next_retry_at`.
    pub async fn discover_queued(&self, task: OrganizationDiscovery) -> ApiResult<()> {
        let Some(org) = organizations::Entity::find_by_id(task.org_id)
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        let outcome = match self.run(&org).await {
            Ok((_, outcome)) => Some(outcome),
            Err(error) => {
                tracing::info!(org = %org.id, code = error.code().as_str(), message = error.message(), "queued discovery failed");
                None
            }
        };
        self.record_run(org.id, outcome, true).await
    }

    /// Keeps what a run found (a failure is recorded by the run itself) and, with
    /// `clear_mark`, ends the organization's queued-run mark.
    pub(super) async fn record_run(
        &self,
        org: Uuid,
        outcome: Option<RunOutcome>,
        clear_mark: bool,
    ) -> ApiResult<()> {
        use sea_orm::sea_query::Expr;
        if outcome.is_none() && !clear_mark {
            return Ok(());
        }
        let mut update =
            organizations::Entity::update_many().filter(organizations::Column::Id.eq(org));
        if clear_mark {
            update = update.col_expr(
                organizations::Column::DiscoveryQueuedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
        }
        if let Some(outcome) = outcome {
            update = update.col_expr(
                organizations::Column::LastDiscovery,
                Expr::value(outcome.to_json(Utc::now())),
            );
        }
        update.exec(&self.db).await?;
        Ok(())
    }
}
