//! CMDB asset sync: every repository's application profile is upserted as a Software Application
//! asset (`PUT {CMDB_API_URL}/assets/{external_id}`, Bearer `CMDB_SERVICE_KEY`). A profile equal
//! to the last one the CMDB accepted (its hash is in `cmdb_assets`) is not sent again. Each run is
//! recorded in `cmdb_sync_runs`; the wire shape is in docs/cmdb-billing.md.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entities::enums::Product;
use entities::{clients, cmdb_assets, cmdb_sync_runs, repositories, tenants};
use jobs::QueueTask;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

mod asset;
pub mod graphql;
mod task;

pub use asset::{Asset, AssetClient, AssetTenant, external_id};
pub use task::{CmdbSync, CmdbSyncTick, register};

use crate::auth::{Access, User};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

/// A run still unfinished after this long (minutes) is taken as dead: it is closed as failed
/// (`close_abandoned`) and `syncCmdbNow` starts a new one.
const STALE_RUN: i64 = 60;
/// The error an abandoned run is closed with.
const ABANDONED: &str = "the run did not finish within 60 minutes: its task stopped before it could record the end (see the server log); the next run syncs what it missed";
/// Consecutive "CMDB unavailable" failures after which a run stops (the CMDB is down; the next
/// run picks the rest up).
const MAX_CONSECUTIVE_UNAVAILABLE: u32 = 5;
/// Counters are written back every this many assets, so a long run shows progress.
const PROGRESS_EVERY: usize = 25;

/// What one run did.
#[derive(Default)]
struct Tally {
    synced: i32,
    failed: i32,
    skipped: i32,
    error: Option<String>,
}

#[derive(Clone)]
pub struct CmdbService {
    db: DatabaseConnection,
    upstream: UpstreamClient,
    queue: jobs::Queue,
}

impl CmdbService {
    pub fn new(db: DatabaseConnection, upstream: UpstreamClient, queue: jobs::Queue) -> Self {
        CmdbService {
            db,
            upstream,
            queue,
        }
    }

    /// `syncCmdbNow`: a tenant admin with Code access starts a run for their tenant. The run is
    /// queued and returned unfinished; a run already under way is returned instead of a second.
    pub async fn sync_now(&self, user: &User) -> ApiResult<cmdb_sync_runs::Model> {
        user.may(Product::Code, Access::Administer, "run a CMDB sync")?;
        self.upstream.require(Integration::Cmdb)?;
        let tenant = user.tenant_id;
        self.close_abandoned(Some(tenant)).await?;
        let running = cmdb_sync_runs::Entity::find()
            .filter(cmdb_sync_runs::Column::TenantId.eq(tenant))
            .filter(cmdb_sync_runs::Column::FinishedAt.is_null())
            .filter(cmdb_sync_runs::Column::StartedAt.gt(Utc::now() - Duration::minutes(STALE_RUN)))
            .order_by_desc(cmdb_sync_runs::Column::Id)
            .one(&self.db)
            .await?;
        if let Some(run) = running {
            return Ok(run);
        }
        let run = self.open_run(tenant, Uuid::now_v7(), "manual").await?;
        let task = CmdbSync {
            tenant_id: tenant,
            run_id: run.id,
            trigger: "manual".into(),
        };
        let key = format!("cmdb-sync:{}", run.id);
        if let Err(error) = self.queue.push(task, Some(&key)).await {
            let tally = Tally {
                error: Some("the sync could not be queued".into()),
                ..Tally::default()
            };
            self.write(run.id, &tally, true).await?;
            return Err(ApiError::Internal(error));
        }
        Ok(run)
    }

    /// The timer: one run per tenant with repositories. Nothing when the CMDB is not
    /// configured. Returns how many runs were queued.
    pub async fn tick(&self, tick: DateTime<Utc>) -> ApiResult<usize> {
        if self.upstream.require(Integration::Cmdb).is_err() {
            tracing::debug!("CMDB is not configured: no sync");
            return Ok(0);
        }
        let closed = self.close_abandoned(None).await?;
        if closed > 0 {
            tracing::warn!(closed, "CMDB runs abandoned by their task closed as failed");
        }
        let tenants: Vec<Uuid> = repositories::Entity::find()
            .select_only()
            .column(repositories::Column::TenantId)
            .distinct()
            .into_tuple()
            .all(&self.db)
            .await?;
        for tenant in &tenants {
            let task = CmdbSync {
                tenant_id: *tenant,
                run_id: Uuid::now_v7(),
                trigger: "timer".into(),
            };
            let key = format!("{}:{tenant}", jobs::tick_key(CmdbSyncTick::NAME, tick));
            self.queue.push(task, Some(&key)).await?;
        }
        Ok(tenants.len())
    }

    /// Runs one sync to the end and records it. Failures are counted on the run, never
    /// returned: a task re-run would only repeat them.
    pub async fn run(&self, task: &CmdbSync) -> ApiResult<cmdb_sync_runs::Model> {
        let run = self
            .open_run(task.tenant_id, task.run_id, &task.trigger)
            .await?;
        if run.finished_at.is_some() {
            return Ok(run);
        }
        let tally = match self.sync(&run).await {
            Ok(tally) => tally,
            Err(error) => {
                let message = match &error {
                    ApiError::Coded(_, message) => message.clone(),
                    ApiError::Internal(inner) => {
                        tracing::error!(error = ?inner, run = %run.id, "CMDB sync failed");
                        "internal error".into()
                    }
                };
                Tally {
                    error: Some(message),
                    ..Tally::default()
                }
            }
        };
        self.write(run.id, &tally, true).await
    }

    async fn sync(&self, run: &cmdb_sync_runs::Model) -> ApiResult<Tally> {
        self.upstream.require(Integration::Cmdb)?;
        let tenant_id = run.tenant_id;
        let tenant = tenants::Entity::find_by_id(tenant_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("tenant"))?;
        let clients: HashMap<Uuid, clients::Model> = clients::Entity::find()
            .filter(clients::Column::TenantId.eq(tenant_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let sent: HashMap<Uuid, String> = cmdb_assets::Entity::find()
            .filter(cmdb_assets::Column::TenantId.eq(tenant_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| (a.repository_id, a.profile_hash))
            .collect();
        let repos = repositories::Entity::find()
            .filter(repositories::Column::TenantId.eq(tenant_id))
            .order_by_asc(repositories::Column::Id)
            .all(&self.db)
            .await?;
        let mut tally = Tally::default();
        let mut unavailable = 0;
        for (done, repo) in repos.iter().enumerate() {
            if done > 0 && done % PROGRESS_EVERY == 0 {
                self.write(run.id, &tally, false).await?;
            }
            let client = repo.client_id.and_then(|id| clients.get(&id));
            let asset = Asset::of(repo, &tenant, client);
            let hash = asset.hash();
            if sent.get(&repo.id) == Some(&hash) {
                tally.skipped += 1;
                continue;
            }
            match self.put(&asset).await {
                Ok(()) => {
                    self.remember(tenant_id, repo.id, hash).await?;
                    tally.synced += 1;
                    unavailable = 0;
                }
                Err(error) => {
                    tally.failed += 1;
                    tally.error = Some(error.message().to_string());
                    match error.code() {
                        // Every other asset would fail the same way.
                        Code::UpstreamAuthFailed | Code::IntegrationNotConfigured => break,
                        Code::UpstreamUnavailable | Code::RateLimited => {
                            unavailable += 1;
                            if unavailable >= MAX_CONSECUTIVE_UNAVAILABLE {
                                tally.error = Some(format!(
                                    "stopped after {unavailable} consecutive failures: {}",
                                    error.message()
                                ));
                                break;
                            }
                        }
                        _ => unavailable = 0,
                    }
                }
            }
        }
        Ok(tally)
    }

    /// `PUT {CMDB_API_URL}/assets/{external_id}`: an upsert, so safe to retry.
    async fn put(&self, asset: &Asset) -> ApiResult<()> {
        let config = self.upstream.config();
        let base = config.cmdb_api_url.as_deref().unwrap_or_default();
        let key = config.cmdb_service_key.as_deref().unwrap_or_default();
        let url = format!(
            "{}/assets/{}",
            base.trim_end_matches('/'),
            asset.external_id
        );
        self.upstream
            .send(Integration::Cmdb, Retry::Safe, |http| {
                http.put(&url).bearer_auth(key).json(asset)
            })
            .await
            .map(|_| ())
    }

    /// Records the hash of the profile the CMDB accepted.
    async fn remember(&self, tenant: Uuid, repository: Uuid, hash: String) -> ApiResult<()> {
        let now = Utc::now();
        cmdb_assets::Entity::insert(cmdb_assets::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            repository_id: Set(repository),
            profile_hash: Set(hash),
            synced_at: Set(now),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(cmdb_assets::Column::RepositoryId)
                .update_columns([
                    cmdb_assets::Column::ProfileHash,
                    cmdb_assets::Column::SyncedAt,
                    cmdb_assets::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    /// Closes as failed the unfinished runs (of `tenant`, or of every tenant) started more than
    /// `STALE_RUN` minutes ago. A run whose task gave up (every attempt failed before it could
    /// write the end, e.g. the database was unreachable) would otherwise show RUNNING for ever. A
    /// run that was only slow and still finishes overwrites this with its own end.
    async fn close_abandoned(&self, tenant: Option<Uuid>) -> ApiResult<u64> {
        let now = Utc::now();
        let mut update = cmdb_sync_runs::Entity::update_many()
            .col_expr(cmdb_sync_runs::Column::FinishedAt, Expr::value(now))
            .col_expr(cmdb_sync_runs::Column::Error, Expr::value(ABANDONED))
            .col_expr(cmdb_sync_runs::Column::UpdatedAt, Expr::value(now))
            .filter(cmdb_sync_runs::Column::FinishedAt.is_null())
            .filter(cmdb_sync_runs::Column::StartedAt.lt(now - Duration::minutes(STALE_RUN)));
        if let Some(tenant) = tenant {
            update = update.filter(cmdb_sync_runs::Column::TenantId.eq(tenant));
        }
        Ok(update.exec(&self.db).await?.rows_affected)
    }

    /// The run `id`, created (unfinished, counters at zero) if it does not exist yet.
    async fn open_run(
        &self,
        tenant: Uuid,
        id: Uuid,
        trigger: &str,
    ) -> ApiResult<cmdb_sync_runs::Model> {
        let now = Utc::now();
        cmdb_sync_runs::Entity::insert(cmdb_sync_runs::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            trigger: Set(trigger.to_string()),
            started_at: Set(now),
            finished_at: Set(None),
            synced: Set(0),
            failed: Set(0),
            skipped: Set(0),
            error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .on_conflict_do_nothing_on([cmdb_sync_runs::Column::Id])
        .exec_without_returning(&self.db)
        .await?;
        cmdb_sync_runs::Entity::find_by_id(id)
            .filter(cmdb_sync_runs::Column::TenantId.eq(tenant))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("CMDB sync run"))
    }

    /// Writes the counters (and, when `finish`, the end time and error) of run `id`.
    async fn write(
        &self,
        id: Uuid,
        tally: &Tally,
        finish: bool,
    ) -> ApiResult<cmdb_sync_runs::Model> {
        let now = Utc::now();
        let mut row = cmdb_sync_runs::ActiveModel {
            id: Set(id),
            synced: Set(tally.synced),
            failed: Set(tally.failed),
            skipped: Set(tally.skipped),
            updated_at: Set(now),
            ..Default::default()
        };
        if finish {
            row.finished_at = Set(Some(now));
            row.error = Set(tally.error.clone());
        }
        Ok(cmdb_sync_runs::Entity::update(row).exec(&self.db).await?)
    }
}
