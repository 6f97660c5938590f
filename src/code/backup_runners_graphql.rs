//! Backup runners in GraphQL: Code admins create (the token is shown once), list and revoke
//! them. Thin resolvers over `BackupRunnerService`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::backup_runners;

use super::backup_runners::BackupRunnerService;
use crate::graphql::relay::{connection, global_id};
use crate::graphql::{principal, service};
use crate::kernel::paging::{expect_id, window};

/// A service that runs the tenant's repository backups with its own token.
pub struct BackupRunner(pub backup_runners::Model);

/// A service that runs the tenant's repository backups with its own token.
#[Object]
impl BackupRunner {
    /// Global ID.
    async fn id(&self) -> ID {
        global_id("BackupRunner", self.0.id)
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The token's first characters, to tell tokens apart.
    async fn token_prefix(&self) -> &str {
        &self.0.token_prefix
    }
    /// When it last reported on a backup.
    async fn last_seen_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_seen_at
    }
    /// When it was revoked (its token is refused since).
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

connection!(
    BackupRunnerConnection,
    BackupRunnerEdge,
    BackupRunner,
    "A page of backup runners."
);

/// Input of `createBackupRunner`.
#[derive(InputObject)]
pub struct CreateBackupRunnerInput {
    /// A name to tell it apart (1–100 characters).
    pub name: String,
}

/// Result of `createBackupRunner`.
#[derive(SimpleObject)]
pub struct CreateBackupRunnerPayload {
    /// The runner.
    pub runner: BackupRunner,
    /// Its token (`sgbr_…`), shown this once: the runner sends it as `Authorization: Bearer`.
    pub token: String,
}

/// Input of `revokeBackupRunner`.
#[derive(InputObject)]
pub struct RevokeBackupRunnerInput {
    /// The runner to revoke.
    pub id: ID,
}

/// Result of `revokeBackupRunner`.
#[derive(SimpleObject)]
pub struct RevokeBackupRunnerPayload {
    /// The revoked runner.
    pub runner: BackupRunner,
}

#[derive(Default)]
pub struct BackupRunnerQuery;

#[Object]
impl BackupRunnerQuery {
    /// The tenant's backup runners, oldest first (Code admins).
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn backup_runners(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<BackupRunnerConnection> {
        let user = principal(ctx).user()?;
        let listed = service::<BackupRunnerService>(ctx)
            .list(user, window(first, after, last, before)?)
            .await?;
        Ok(BackupRunnerConnection::build(listed, |row, _| {
            BackupRunner(row)
        }))
    }
}

#[derive(Default)]
pub struct BackupRunnerMutation;

#[Object]
impl BackupRunnerMutation {
    /// Creates a backup runner (Code admins) and returns its token once.
    async fn create_backup_runner(
        &self,
        ctx: &Context<'_>,
        input: CreateBackupRunnerInput,
    ) -> Result<CreateBackupRunnerPayload> {
        let user = principal(ctx).user()?;
        let issued = service::<BackupRunnerService>(ctx)
            .create(user, &input.name)
            .await?;
        Ok(CreateBackupRunnerPayload {
            runner: BackupRunner(issued.runner),
            token: issued.token,
        })
    }

    /// Revokes a backup runner (Code admins): its token is refused from now on.
    async fn revoke_backup_runner(
        &self,
        ctx: &Context<'_>,
        input: RevokeBackupRunnerInput,
    ) -> Result<RevokeBackupRunnerPayload> {
        let user = principal(ctx).user()?;
        let id = expect_id(&input.id, "BackupRunner")?;
        let runner = service::<BackupRunnerService>(ctx).revoke(user, id).await?;
        Ok(RevokeBackupRunnerPayload {
            runner: BackupRunner(runner),
        })
    }
}
