//! Backup runners: the services that run a tenant's repository backups. Each has its own token
//! (`sgbr_` + 256 random bits, shown once, stored as SHA-256), created and revoked by the
//! tenant's Code admins; the runner lists requested backups and reports on them over
//! `/api/code/backup-runner/…` (docs/backups.md).

use chrono::Utc;
use entities::backup_runners;
use entities::enums::Product;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
};
use uuid::Uuid;

use crate::auth::service::{hash_secret, random_secret};
use crate::auth::{Access, User};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::lists::list_page;
use crate::kernel::paging::{Listed, Window};

/// What every backup runner token starts with.
pub const TOKEN_PREFIX: &str = "sgbr_";
/// Characters of a token kept in the clear to tell tokens apart.
const SHOWN_PREFIX: usize = 12;
/// Longest runner name.
const NAME_MAX: usize = 100;

/// An authenticated backup runner.
#[derive(Clone, Copy, Debug)]
pub struct Runner {
    pub tenant_id: Uuid,
    pub runner_id: Uuid,
}

/// A new runner and its token (shown once).
pub struct IssuedRunner {
    pub runner: backup_runners::Model,
    pub token: String,
}

/// `sgbr_` and 43 URL-safe base64 characters.
fn well_formed(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[derive(Clone)]
pub struct BackupRunnerService {
    db: DatabaseConnection,
}

impl BackupRunnerService {
    pub fn new(db: DatabaseConnection) -> Self {
        BackupRunnerService { db }
    }

    /// Creates a runner (Code admins) and returns its token once.
    pub async fn create(&self, user: &User, name: &str) -> ApiResult<IssuedRunner> {
        user.may(Product::Code, Access::Administer, "manage backup runners")?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX {
            return Err(ApiError::bad_input(format!(
                "name must be 1 to {NAME_MAX} characters"
            )));
        }
        let token = format!("{TOKEN_PREFIX}{}", random_secret());
        let now = Utc::now();
        let row = backup_runners::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(user.tenant_id),
            name: Set(name.to_string()),
            token_hash: Set(hash_secret(&token)),
            token_prefix: Set(token[..SHOWN_PREFIX].to_string()),
            created_by: Set(Some(user.user_id)),
            last_seen_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let runner = backup_runners::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await?;
        Ok(IssuedRunner { runner, token })
    }

    /// Revokes a runner (Code admins): its token is refused from now on; revoking twice is a
    /// no-op. Its running backups stay as they are until the silence timeout fails them.
    pub async fn revoke(&self, user: &User, id: Uuid) -> ApiResult<backup_runners::Model> {
        user.may(Product::Code, Access::Administer, "manage backup runners")?;
        let found = backup_runners::Entity::find_by_id(id)
            .filter(backup_runners::Column::TenantId.eq(user.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("backup runner"))?;
        if found.revoked_at.is_some() {
            return Ok(found);
        }
        let now = Utc::now();
        let mut row = found.into_active_model();
        row.revoked_at = Set(Some(now));
        row.updated_at = Set(now);
        Ok(backup_runners::Entity::update(row).exec(&self.db).await?)
    }

    /// The tenant's runners, oldest first (Code admins).
    pub async fn list(
        &self,
        user: &User,
        window: Window,
    ) -> ApiResult<Listed<backup_runners::Model>> {
        user.may(Product::Code, Access::Administer, "manage backup runners")?;
        let select = backup_runners::Entity::find()
            .filter(backup_runners::Column::TenantId.eq(user.tenant_id));
        list_page(&self.db, select, backup_runners::Column::Id, window).await
    }

    /// The runner a token belongs to; malformed, unknown or revoked tokens are
    /// `UNAUTHENTICATED`.
    pub async fn authenticate(&self, token: &str) -> ApiResult<Runner> {
        let refused = || {
            ApiError::new(
                Code::Unauthenticated,
                "the backup runner token is not valid (unknown or revoked)",
            )
        };
        if !well_formed(token) {
            return Err(refused());
        }
        let runner = backup_runners::Entity::find()
            .filter(backup_runners::Column::TokenHash.eq(hash_secret(token)))
            .filter(backup_runners::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or_else(refused)?;
        Ok(Runner {
            tenant_id: runner.tenant_id,
            runner_id: runner.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_secrets() {
        let token = format!("{TOKEN_PREFIX}{}", random_secret());
        assert!(well_formed(&token), "{token}");
        assert!(!well_formed("sgbr_short"));
        assert!(!well_formed(&token.replace(TOKEN_PREFIX, "sgak_")));
    }
}
