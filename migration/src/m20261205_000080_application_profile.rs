//! Application profiles (issue #19): which profile fields a technician or admin set by hand
//! (an edit wins over inference until it is cleared), and why and when the lifecycle last
//! changed. Discovery used to write the source-control provider's name (`github`, `gitlab`,
//! `azure_devops`) as the hosting platform; that is not where the application runs, so those
//! values are cleared here (unknown until inferred or edited).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{boolean, text_null, timestamp_with_time_zone_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Repositories {
    Table,
    AppTypeOverridden,
    HostingPlatformOverridden,
    DataClassificationOverridden,
    LifecycleReason,
    LifecycleChangedAt,
}

const PROVIDER_AS_HOST: &str = "UPDATE repositories SET hosting_platform = NULL \
     WHERE hosting_platform IN ('github', 'gitlab', 'azure_devops')";

fn columns() -> Vec<(Repositories, ColumnDef)> {
    vec![
        (
            Repositories::AppTypeOverridden,
            boolean(Repositories::AppTypeOverridden)
                .default(false)
                .to_owned(),
        ),
        (
            Repositories::HostingPlatformOverridden,
            boolean(Repositories::HostingPlatformOverridden)
                .default(false)
                .to_owned(),
        ),
        (
            Repositories::DataClassificationOverridden,
            boolean(Repositories::DataClassificationOverridden)
                .default(false)
                .to_owned(),
        ),
        (
            Repositories::LifecycleReason,
            text_null(Repositories::LifecycleReason),
        ),
        (
            Repositories::LifecycleChangedAt,
            timestamp_with_time_zone_null(Repositories::LifecycleChangedAt),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for (_, mut column) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Repositories::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(PROVIDER_AS_HOST)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Repositories::Table)
                        .drop_column(name)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
