//! Schema migrations of stack-gateway (see docs/data-model.md).
//!
//! Run them with `Migrator::up(&db, None).await` on a `DatabaseConnection`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_tenancy;
mod m20261123_000002_code;
mod m20261123_000003_integrations;
mod m20261123_000004_migrate;
mod m20261123_000010_persisted_operations;
mod m20261201_000020_ai_runs;
mod m20261203_000030_github_installations;
mod m20261204_000040_finding_scan_sources;
mod m20261205_000050_list_indexes;
mod m20261205_000060_backup_runners;
mod m20261205_000070_clients;
mod m20261205_000080_application_profile;
mod m20261205_000090_project_storage_errors;

/// All migrations of stack-gateway, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_tenancy::Migration),
            Box::new(m20261123_000002_code::Migration),
            Box::new(m20261123_000003_integrations::Migration),
            Box::new(m20261123_000004_migrate::Migration),
            Box::new(m20261123_000010_persisted_operations::Migration),
            Box::new(m20261201_000020_ai_runs::Migration),
            Box::new(m20261203_000030_github_installations::Migration),
            Box::new(m20261204_000040_finding_scan_sources::Migration),
            Box::new(m20261205_000050_list_indexes::Migration),
            Box::new(m20261205_000060_backup_runners::Migration),
            Box::new(m20261205_000070_clients::Migration),
            Box::new(m20261205_000080_application_profile::Migration),
            Box::new(m20261205_000090_project_storage_errors::Migration),
        ]
    }
}
