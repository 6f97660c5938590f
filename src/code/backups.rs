//! Manual repository backups: recorded here, announced on the Bus as `code.backup.requested`,
//! run by the tenant's backup runner, which reports on them (`backups_report.rs`). A backup
//! in flight (requested or running) with no report for `BACKUP_REPORT_TIMEOUT_MS` is failed
//! (timer `backup-timeout`, and before a new request checks for one in flight).

use chrono::{DateTime, TimeDelta, Utc};
use entities::enums::{BackupStatus, Product};
use entities::{backups, organizations, repositories};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter,
};
use uuid::Uuid;

use crate::auth::{Access, User};
use crate::integrations::bus::{self, events::BackupRequested};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::lists::list_page;
use crate::kernel::paging::{Listed, Window};

#[derive(Clone)]
pub struct BackupService {
    pub(super) db: DatabaseConnection,
    bus_wake: std::sync::Arc<tokio::sync::Notify>,
    /// `BACKUP_REPORT_TIMEOUT_MS`.
    pub(super) timeout: std::time::Duration,
}

/// The states of a backup in flight.
pub(super) const IN_FLIGHT: [BackupStatus; 2] = [BackupStatus::Requested, BackupStatus::Running];

/// "60 minutes", "90 seconds", "1500 ms": the timeout as the failure reason says it.
fn spoken(timeout: std::time::Duration) -> String {
    let ms = timeout.as_millis();
    match ms {
        ms if ms % 60_000 == 0 => format!("{} minutes", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{} seconds", ms / 1_000),
        ms => format!("{ms} ms"),
    }
}

fn in_progress_conflict() -> ApiError {
    ApiError::new(
        Code::Conflict,
        "a backup of this repository is already in progress",
    )
}

impl BackupService {
    pub fn new(
        db: DatabaseConnection,
        bus_wake: std::sync::Arc<tokio::sync::Notify>,
        timeout: std::time::Duration,
    ) -> Self {
        BackupService {
            db,
            bus_wake,
            timeout,
        }
    }

    /// Fails the backups in flight (of one tenant or all, of one repository or all) whose last
    /// report (or request) is older than the timeout at `now`. Returns how many.
    pub(super) async fn expire(
        &self,
        conn: &impl ConnectionTrait,
        tenant: Option<Uuid>,
        repository: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> ApiResult<u64> {
        let cutoff = now - TimeDelta::from_std(self.timeout).unwrap_or(TimeDelta::MAX);
        let silent = Condition::any()
            .add(backups::Column::LastReportAt.lt(cutoff))
            .add(
                Condition::all()
                    .add(backups::Column::LastReportAt.is_null())
                    .add(backups::Column::CreatedAt.lt(cutoff)),
            );
        let reason = format!(
            "no report from the backup runner within {} (BACKUP_REPORT_TIMEOUT_MS)",
            spoken(self.timeout)
        );
        let mut update = backups::Entity::update_many()
            .col_expr(backups::Column::Status, Expr::value(BackupStatus::Failed))
            .col_expr(backups::Column::Error, Expr::value(reason))
            .col_expr(backups::Column::FinishedAt, Expr::value(now))
            .col_expr(backups::Column::UpdatedAt, Expr::value(now))
            .filter(backups::Column::Status.is_in(IN_FLIGHT))
            .filter(silent);
        if let Some(tenant) = tenant {
            update = update.filter(backups::Column::TenantId.eq(tenant));
        }
        if let Some(repository) = repository {
            update = update.filter(backups::Column::RepositoryId.eq(repository));
        }
        Ok(update.exec(conn).await?.rows_affected)
    }

    /// Timer `backup-timeout`: fails every silent backup of every tenant.
    pub async fn expire_silent(&self) -> ApiResult<u64> {
        self.expire(&self.db, None, None, Utc::now()).await
    }

    /// Records a backup request for a repository of the user's tenant and writes
    /// `code.backup.requested` in the same transaction. One backup in progress per repository.
    pub async fn request(&self, user: &User, repository_id: Uuid) -> ApiResult<backups::Model> {
        user.may(Product::Code, Access::Operate, "request backups")?;
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let (repo, org) = repositories::Entity::find_by_id(repository_id)
            .filter(repositories::Column::TenantId.eq(user.tenant_id))
            .find_also_related(organizations::Entity)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("repository"))?;
        let org =
            org.ok_or_else(|| anyhow::anyhow!("repository {} has no organization", repo.id))?;
        // A backup gone silent is failed first: only one really in flight refuses the request.
        self.expire(&txn, Some(user.tenant_id), Some(repo.id), Utc::now())
            .await?;
        let in_progress = backups::Entity::find()
            .filter(backups::Column::TenantId.eq(user.tenant_id))
            .filter(backups::Column::RepositoryId.eq(repo.id))
            .filter(backups::Column::Status.is_in(IN_FLIGHT))
            .one(&txn)
            .await?;
        if in_progress.is_some() {
            return Err(in_progress_conflict());
        }
        let now = Utc::now();
        let backup = backups::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(user.tenant_id),
            repository_id: Set(repo.id),
            status: Set(BackupStatus::Requested),
            requested_by: Set(Some(user.user_id)),
            started_at: Set(None),
            finished_at: Set(None),
            error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            runner_id: Set(None),
            message: Set(None),
            last_report_at: Set(None),
        };
        let backup = match backups::Entity::insert(backup)
            .exec_with_returning(&txn)
            .await
        {
            Ok(row) => row,
            // Another request for the repository committed meanwhile (PostgreSQL).
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                return Err(in_progress_conflict());
            }
            Err(e) => return Err(e.into()),
        };
        let event = BackupRequested {
            job_id: backup.id,
            repo_id: repo.id,
            org_id: org.id,
        };
        bus::enqueue(&txn, user.tenant_id, &event).await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        Ok(backup)
    }

    pub async fn list(
        &self,
        tenant: Uuid,
        repository: Option<Uuid>,
        window: Window,
    ) -> ApiResult<Listed<backups::Model>> {
        let mut select = backups::Entity::find().filter(backups::Column::TenantId.eq(tenant));
        if let Some(repo) = repository {
            select = select.filter(backups::Column::RepositoryId.eq(repo));
        }
        list_page(&self.db, select, backups::Column::Id, window).await
    }
}
