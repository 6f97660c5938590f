//! The current PSA status of Code-created tickets: the `psa-status-refresh` timer and
//! `refreshPsaStatus`. PSA offers no status read for projects.

use chrono::{DateTime, Duration, Utc};
use entities::enums::PsaLinkKind;
use entities::psa_links;
use futures::StreamExt;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::PsaService;
use super::wire;
use crate::auth::User;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::upstream::client::Retry;
use crate::upstream::integration::Integration;

/// PSA statuses (compared case-insensitively) after which a ticket is no longer refreshed.
pub const CLOSED_STATUSES: [&str; 6] = [
    "closed",
    "resolved",
    "completed",
    "done",
    "cancelled",
    "canceled",
];

/// A ticket checked more recently than this is skipped by the timer.
const FRESH_FOR_MINUTES: i64 = 5;
/// Tickets read per statement, and PSA calls in flight, during a timer run.
const BATCH: u64 = 100;
const IN_FLIGHT: usize = 4;

/// What one timer run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RefreshSummary {
    pub checked: usize,
    pub changed: usize,
    pub failed: usize,
    /// Set when the run stopped early (PSA not configured, or refusing our key).
    pub stopped: Option<String>,
}

impl PsaService {
    /// Reads a ticket's current status from PSA and stores it (projects have no status to read).
    pub async fn refresh(&self, user: &User, link: Uuid) -> ApiResult<psa_links::Model> {
        let link = psa_links::Entity::find_by_id(link)
            .filter(psa_links::Column::TenantId.eq(user.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("PSA link"))?;
        if link.kind != PsaLinkKind::Ticket {
            return Err(ApiError::bad_input(
                "only tickets have a PSA status to refresh; PSA offers no status for projects",
            ));
        }
        let status = self.ticket_status(&link.psa_id).await?;
        self.store_status(link, status).await
    }

    /// The timer: refreshes every open ticket (of every tenant) not checked in the last minutes
    /// before `tick`. One ticket failing does not stop the run; PSA refusing our key does.
    pub async fn refresh_open_tickets(&self, tick: DateTime<Utc>) -> ApiResult<RefreshSummary> {
        let mut summary = RefreshSummary::default();
        if let Err(error) = self.upstream.require(Integration::Psa) {
            summary.stopped = Some(error.message().to_string());
            return Ok(summary);
        }
        let stale_before = tick - Duration::minutes(FRESH_FOR_MINUTES);
        let open = Condition::any()
            .add(psa_links::Column::PsaStatus.is_null())
            .add(
                Expr::expr(Func::lower(Expr::col(psa_links::Column::PsaStatus)))
                    .is_not_in(CLOSED_STATUSES),
            );
        let stale = Condition::any()
            .add(psa_links::Column::StatusCheckedAt.is_null())
            .add(psa_links::Column::StatusCheckedAt.lt(stale_before));
        let mut after: Option<Uuid> = None;
        loop {
            let mut select = psa_links::Entity::find()
                .filter(psa_links::Column::Kind.eq(PsaLinkKind::Ticket))
                .filter(open.clone())
                .filter(stale.clone());
            if let Some(after) = after {
                select = select.filter(psa_links::Column::Id.gt(after));
            }
            let batch = select
                .order_by_asc(psa_links::Column::Id)
                .limit(BATCH)
                .all(&self.db)
                .await?;
            let full = batch.len() as u64 == BATCH;
            after = batch.last().map(|l| l.id);
            // Stored as they come; dropping the stream at an auth failure cancels the rest.
            let mut outcomes = futures::stream::iter(batch)
                .map(|link| async move {
                    let status = self.ticket_status(&link.psa_id).await;
                    (link, status)
                })
                .buffer_unordered(IN_FLIGHT);
            while let Some((link, outcome)) = outcomes.next().await {
                summary.checked += 1;
                match outcome {
                    Ok(status) => {
                        let before = link.psa_status.clone();
                        let stored = self.store_status(link, status).await?;
                        summary.changed += usize::from(before != stored.psa_status);
                    }
                    Err(error) if error.code() == Code::UpstreamAuthFailed => {
                        summary.failed += 1;
                        summary.stopped = Some(error.message().to_string());
                        break;
                    }
                    Err(error) => {
                        summary.failed += 1;
                        tracing::warn!(psa_id = %link.psa_id, error = error.message(), "PSA status refresh failed for a ticket");
                    }
                }
            }
            if !full || summary.stopped.is_some() {
                return Ok(summary);
            }
        }
    }

    async fn ticket_status(&self, psa_id: &str) -> ApiResult<String> {
        self.upstream.require(Integration::Psa)?;
        let (url, service_key) = self.endpoint(&["tickets", psa_id])?;
        let state: wire::TicketState = self
            .upstream
            .send_json(Integration::Psa, Retry::Safe, |http| {
                http.get(url.clone()).bearer_auth(&service_key)
            })
            .await?;
        Ok(state.status.0)
    }

    async fn store_status(
        &self,
        mut link: psa_links::Model,
        status: String,
    ) -> ApiResult<psa_links::Model> {
        let now = Utc::now();
        psa_links::Entity::update_many()
            .col_expr(psa_links::Column::PsaStatus, Expr::value(status.clone()))
            .col_expr(psa_links::Column::StatusCheckedAt, Expr::value(now))
            .col_expr(psa_links::Column::UpdatedAt, Expr::value(now))
            .filter(psa_links::Column::Id.eq(link.id))
            .filter(psa_links::Column::TenantId.eq(link.tenant_id))
            .exec(&self.db)
            .await?;
        link.psa_status = Some(status);
        link.status_checked_at = Some(now);
        link.updated_at = now;
        Ok(link)
    }
}
