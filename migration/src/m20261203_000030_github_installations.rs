//! GitHub installations belong to one tenant, and discovery runs as a queue task:
//! - `organizations.discovery_queued_at`: a discovery run is queued or running (cleared when it
//!   ends); `organizations.last_discovery`: what the last finished run found (JSON counts);
//!   `organizations.status_error_code`: the code of `status_error`.
//! - A GitHub installation (the account's `external_id`) is connected in at most one tenant:
//!   a partial unique index over the rows that are not disconnected. Installations connected in
//!   several tenants before it (the bare-id mutation trusted any id) were never proven by
//!   anybody, so every such row is disconnected, its credentials forgotten, with a note to
//!   connect it again through the verified flow (docs/providers.md).

use super::m20261123_000002_code::Organizations;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const UNPROVEN: &str = "UPDATE organizations SET status = 'disconnected', \
    credentials_encrypted = NULL, next_retry_at = NULL, \
    status_error = 'this GitHub installation was connected in more than one tenant without proof of access: connect it again' \
    WHERE provider = 'github' AND status <> 'disconnected' AND external_id IN ( \
      SELECT external_id FROM organizations WHERE provider = 'github' AND status <> 'disconnected' \
      GROUP BY external_id HAVING COUNT(DISTINCT tenant_id) > 1)";

const UNIQUE: &str = "CREATE UNIQUE INDEX uq_organizations_github_account \
    ON organizations (external_id) WHERE provider = 'github' AND status <> 'disconnected'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        let columns = [
            timestamp_with_time_zone_null(Added::DiscoveryQueuedAt),
            json_binary_null(Added::LastDiscovery),
            string_len_null(Added::StatusErrorCode, 32),
        ];
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(UNPROVEN).await?;
        db.execute_unprepared(UNIQUE).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX uq_organizations_github_account")
            .await?;
        for column in [
            Added::StatusErrorCode,
            Added::LastDiscovery,
            Added::DiscoveryQueuedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Added {
    DiscoveryQueuedAt,
    LastDiscovery,
    StatusErrorCode,
}
