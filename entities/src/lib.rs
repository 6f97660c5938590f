//! sea-orm entity models of stack-gateway, one module per table (see docs/data-model.md).

pub mod agent_commands;
pub mod agents;
pub mod ai_runs;
pub mod backup_runners;
pub mod backups;
pub mod billing_reports;
pub mod clients;
pub mod cmdb_assets;
pub mod cmdb_sync_runs;
pub mod crm_opportunities;
pub mod documents;
pub mod enums;
pub mod findings;
pub mod integration_health;
pub mod job_events;
pub mod jobs;
pub mod notifications;
pub mod organizations;
pub mod outbox_events;
pub mod persisted_operations;
pub mod projects;
pub mod psa_links;
pub mod recommendations;
pub mod repositories;
pub mod sessions;
pub mod tenants;
pub mod used_tokens;
pub mod users;

/// Every entity under its plural table name, plus the enumerations.
pub mod prelude {
    pub use super::agent_commands::Entity as AgentCommands;
    pub use super::agents::Entity as Agents;
    pub use super::ai_runs::Entity as AiRuns;
    pub use super::backup_runners::Entity as BackupRunners;
    pub use super::backups::Entity as Backups;
    pub use super::billing_reports::Entity as BillingReports;
    pub use super::clients::Entity as Clients;
    pub use super::cmdb_assets::Entity as CmdbAssets;
    pub use super::cmdb_sync_runs::Entity as CmdbSyncRuns;
    pub use super::crm_opportunities::Entity as CrmOpportunities;
    pub use super::documents::Entity as Documents;
    pub use super::enums::*;
    pub use super::findings::Entity as Findings;
    pub use super::integration_health::Entity as IntegrationHealth;
    pub use super::job_events::Entity as JobEvents;
    pub use super::jobs::Entity as Jobs;
    pub use super::notifications::Entity as Notifications;
    pub use super::organizations::Entity as Organizations;
    pub use super::outbox_events::Entity as OutboxEvents;
    pub use super::projects::Entity as Projects;
    pub use super::psa_links::Entity as PsaLinks;
    pub use super::recommendations::Entity as Recommendations;
    pub use super::repositories::Entity as Repositories;
    pub use super::sessions::Entity as Sessions;
    pub use super::tenants::Entity as Tenants;
    pub use super::used_tokens::Entity as UsedTokens;
    pub use super::users::Entity as Users;
}
