//! Daily usage reports to Hub billing (`POST {HUB_BILLING_API_URL}/usage`, Bearer
//! `HUB_BILLING_SERVICE_KEY`, `Idempotency-Key`). The `hub-billing` tick computes each tenant's
//! quantities for the UTC day that just ended, records them in `billing_reports` (one row per
//! tenant/product/metric/period: the record) and fans out one delivery task per row. A delivery
//! retries with backoff by re-queueing itself, always with the same `Idempotency-Key`. Wire shape
//! and rules: docs/cmdb-billing.md.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use entities::enums::{DeliveryStatus, Product};
use entities::{billing_reports, tenants};
use jobs::QueueTask;
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

mod usage;

use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

/// Timer `hub-billing` (01:15 UTC): reports the day that just ended.
#[derive(Serialize, Deserialize)]
pub struct BillingTick {
    pub tick: DateTime<Utc>,
}

impl QueueTask for BillingTick {
    const NAME: &'static str = "hub-billing";
    const MAX_ATTEMPTS: usize = 5;
}

/// Delivers one `billing_reports` row. Upstream failures re-queue the task with a delay (apalis
/// alone would retry at once); `MAX_ATTEMPTS` covers only failures of our own (the database).
#[derive(Serialize, Deserialize, Clone)]
pub struct BillingDelivery {
    pub tenant_id: Uuid,
    pub product: Product,
    pub metric: String,
    pub period: String,
}

impl QueueTask for BillingDelivery {
    const NAME: &'static str = "hub-billing-delivery";
    const MAX_ATTEMPTS: usize = 5;
}

impl BillingDelivery {
    /// The `Idempotency-Key` sent to Hub, and the queue key of the first delivery task.
    pub fn key(&self) -> String {
        let product = match self.product {
            Product::Code => "code",
            Product::Migrate => "migrate",
        };
        format!(
            "hub-billing:{}:{product}:{}:{}",
            self.tenant_id, self.metric, self.period
        )
    }
}

pub const REPOS_PROTECTED: &str = "repos_protected";
pub const GB_TRANSFERRED: &str = "gb_transferred";
pub const MAILBOXES: &str = "mailboxes";

/// The most days one tick reports: the day that just ended and the missed days before it (a
/// deployment down longer loses the older days, with a warning).
pub const MAX_CATCH_UP_DAYS: i64 = 31;

/// The day a tick reports: the UTC day that ended at (or before) the tick.
pub fn period_of(tick: DateTime<Utc>) -> NaiveDate {
    tick.date_naive() - TimeDelta::days(1)
}

#[derive(Clone)]
pub struct BillingService {
    db: DatabaseConnection,
    upstream: UpstreamClient,
    queue: jobs::Queue,
}

impl BillingService {
    pub fn new(db: DatabaseConnection, upstream: UpstreamClient, queue: jobs::Queue) -> Self {
        BillingService {
            db,
            upstream,
            queue,
        }
    }

    /// The tick: records the reports of its period and of every day missed since the last
    /// period recorded (at most `MAX_CATCH_UP_DAYS`), a row that exists kept as it is (the
    /// first tick of a period wins), and queues their deliveries. Nothing when Hub billing is
    /// not configured. Returns the number of reports recorded or confirmed.
    pub async fn tick(&self, tick: DateTime<Utc>) -> ApiResult<usize> {
        if self.upstream.require(Integration::Hub).is_err() {
            tracing::info!("Hub billing is not configured: no usage reported");
            return Ok(0);
        }
        let mut reported = 0;
        for period in self.periods(period_of(tick)).await? {
            reported += self.report(period).await?;
        }
        Ok(reported)
    }

    /// The periods a tick of `period` reports: the days after the last one recorded up to
    /// `period` (only `period` when nothing was ever recorded: no history is invented).
    async fn periods(&self, period: NaiveDate) -> ApiResult<Vec<NaiveDate>> {
        let last: Option<String> = billing_reports::Entity::find()
            .select_only()
            .column_as(billing_reports::Column::Period.max(), "last")
            .filter(billing_reports::Column::Period.lte(period.to_string()))
            .into_tuple()
            .one(&self.db)
            .await?
            .flatten();
        let last = last.and_then(|p| NaiveDate::parse_from_str(&p, "%Y-%m-%d").ok());
        let Some(last) = last.filter(|last| *last < period) else {
            return Ok(vec![period]);
        };
        let oldest = period - TimeDelta::days(MAX_CATCH_UP_DAYS - 1);
        let first = (last + TimeDelta::days(1)).max(oldest);
        if first > last + TimeDelta::days(1) {
            tracing::warn!(%last, %first, "billing: days older than the catch-up window are not reported");
        }
        Ok(first.iter_days().take_while(|day| *day <= period).collect())
    }

    /// Records one period's reports and queues their deliveries.
    async fn report(&self, period: NaiveDate) -> ApiResult<usize> {
        let reports = usage::usage(&self.db, period).await?;
        let now = Utc::now();
        let rows: Vec<billing_reports::ActiveModel> = reports
            .iter()
            .map(|(report, quantity)| billing_reports::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(report.tenant_id),
                product: Set(report.product),
                metric: Set(report.metric.clone()),
                quantity: Set(*quantity),
                period: Set(report.period.clone()),
                status: Set(DeliveryStatus::Pending),
                attempts: Set(0),
                last_error: Set(None),
                reported_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .collect();
        for chunk in rows.chunks(500) {
            billing_reports::Entity::insert_many(chunk.to_vec())
                .on_conflict_do_nothing_on([
                    billing_reports::Column::TenantId,
                    billing_reports::Column::Product,
                    billing_reports::Column::Metric,
                    billing_reports::Column::Period,
                ])
                .exec_without_returning(&self.db)
                .await?;
        }
        for (report, _) in &reports {
            let key = report.key();
            self.queue.push(report.clone(), Some(&key)).await?;
        }
        Ok(reports.len())
    }

    /// Delivers one report. A report already sent (or given up) is left alone; a failure that
    /// may pass is retried later by a re-queued task, a rejection is final.
    pub async fn deliver(&self, task: &BillingDelivery) -> ApiResult<()> {
        let Some(row) = billing_reports::Entity::find()
            .filter(billing_reports::Column::TenantId.eq(task.tenant_id))
            .filter(billing_reports::Column::Product.eq(task.product))
            .filter(billing_reports::Column::Metric.eq(&task.metric))
            .filter(billing_reports::Column::Period.eq(&task.period))
            .one(&self.db)
            .await?
        else {
            tracing::warn!(key = %task.key(), "billing report to deliver is missing");
            return Ok(());
        };
        if row.status != DeliveryStatus::Pending {
            return Ok(());
        }
        let tenant = tenants::Entity::find_by_id(row.tenant_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("tenant"))?;
        let attempts = row.attempts + 1;
        let config = self.upstream.config();
        let max_attempts = std::cmp::max(config.hub_billing_max_attempts, 1);
        match self.post(task, &tenant.hub_tenant_id, row.quantity).await {
            Ok(()) => {
                self.store(row.id, DeliveryStatus::Sent, attempts, None)
                    .await
            }
            Err(error) => {
                let message = error.message().to_string();
                let last = attempts >= max_attempts
                    || matches!(
                        error.code(),
                        Code::UpstreamRejected | Code::IntegrationNotConfigured
                    );
                if last {
                    tracing::error!(key = %task.key(), attempts, %message, "billing report given up");
                    return self
                        .store(row.id, DeliveryStatus::Failed, attempts, Some(message))
                        .await;
                }
                self.store(row.id, DeliveryStatus::Pending, attempts, Some(message))
                    .await?;
                let delay = self.backoff(attempts);
                let key = format!("{}#{}", task.key(), attempts + 1);
                tracing::warn!(key = %task.key(), attempts, ?delay, "billing report will be retried");
                self.queue
                    .push_after(task.clone(), Some(&key), delay)
                    .await?;
                Ok(())
            }
        }
    }

    /// `POST {HUB_BILLING_API_URL}/usage`; the answer must be a JSON object.
    async fn post(&self, task: &BillingDelivery, hub_tenant: &str, quantity: f64) -> ApiResult<()> {
        let config = self.upstream.config();
        let base = config.hub_billing_api_url.as_deref().unwrap_or_default();
        let service_key = config
            .hub_billing_service_key
            .as_deref()
            .unwrap_or_default();
        let url = format!("{}/usage", base.trim_end_matches('/'));
        let quantity = if task.metric == GB_TRANSFERRED {
            json!(quantity)
        } else {
            json!(quantity.round() as i64)
        };
        let body = json!({
            "tenant": hub_tenant,
            "product": task.product,
            "metric": task.metric,
            "quantity": quantity,
            "period": task.period,
        });
        let key = task.key();
        let answer: Map<String, Value> = self
            .upstream
            .send_json(Integration::Hub, Retry::Safe, |http| {
                http.post(&url)
                    .bearer_auth(service_key)
                    .header("Idempotency-Key", &key)
                    .json(&body)
            })
            .await?;
        tracing::info!(%key, hub_id = ?answer.get("id"), "usage reported to Hub billing");
        Ok(())
    }

    /// Updates a pending report's delivery state (never one already settled).
    async fn store(
        &self,
        id: Uuid,
        status: DeliveryStatus,
        attempts: i32,
        error: Option<String>,
    ) -> ApiResult<()> {
        let now = Utc::now();
        let mut update = billing_reports::Entity::update_many()
            .col_expr(billing_reports::Column::Status, Expr::value(status))
            .col_expr(billing_reports::Column::Attempts, Expr::value(attempts))
            .col_expr(billing_reports::Column::LastError, Expr::value(error))
            .col_expr(billing_reports::Column::UpdatedAt, Expr::value(now));
        if status == DeliveryStatus::Sent {
            update = update.col_expr(billing_reports::Column::ReportedAt, Expr::value(now));
        }
        update
            .filter(billing_reports::Column::Id.eq(id))
            .filter(billing_reports::Column::Status.eq(DeliveryStatus::Pending))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped, ±25 % jitter.
    fn backoff(&self, attempts: i32) -> Duration {
        let config = self.upstream.config();
        let base = config.hub_billing_retry_base_ms as f64;
        let exp = base * 2f64.powi((attempts - 1).clamp(0, 30));
        let capped = exp.min(config.hub_billing_retry_max_ms as f64);
        let jitter = rand::rng().random_range(0.75..1.25);
        Duration::from_millis((capped * jitter) as u64)
    }
}

/// Registers the delivery task and the `hub-billing` timer.
pub fn register(runner: jobs::Runner, billing: &BillingService) -> anyhow::Result<jobs::Runner> {
    let (for_tick, for_delivery) = (billing.clone(), billing.clone());
    runner
        .task(move |task: BillingTick| {
            let billing = for_tick.clone();
            async move {
                let reports = billing.tick(task.tick).await.map_err(task_error)?;
                tracing::info!(reports, period = %period_of(task.tick), "billing reports queued");
                Ok(())
            }
        })
        .task(move |task: BillingDelivery| {
            let billing = for_delivery.clone();
            async move { billing.deliver(&task).await.map_err(task_error) }
        })
        .cron(BillingTick::NAME, |tick| BillingTick { tick })
}

fn task_error(error: ApiError) -> jobs::BoxDynError {
    jobs::BoxDynError::from(error.into_anyhow())
}
