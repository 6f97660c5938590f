//! Manual repository backups: recorded here, announced on the Bus as `code.backup.requested`.

use chrono::Utc;
use entities::enums::{BackupStatus, Product};
use entities::{backups, organizations, repositories};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::{Access, User};
use crate::integrations::bus::{self, events::BackupRequested};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::lists::list_page;
use crate::kernel::paging::{Listed, Window};

#[derive(Clone)]
pub struct BackupService {
    db: DatabaseConnection,
    bus_wake: std::sync::Arc<tokio::sync::Notify>,
}

impl BackupService {
    pub fn new(db: DatabaseConnection, bus_wake: std::sync::Arc<tokio::sync::Notify>) -> Self {
        BackupService { db, bus_wake }
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
        let in_progress = backups::Entity::find()
            .filter(backups::Column::TenantId.eq(user.tenant_id))
            .filter(backups::Column::RepositoryId.eq(repo.id))
            .filter(backups::Column::Status.is_in([BackupStatus::Requested, BackupStatus::Running]))
            .one(&txn)
            .await?;
        if in_progress.is_some() {
            return Err(ApiError::new(
                Code::Conflict,
                "a backup of this repository is already in progress",
            ));
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
        };
        let backup = backups::Entity::insert(backup)
            .exec_with_returning(&txn)
            .await?;
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
