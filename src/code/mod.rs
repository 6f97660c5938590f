//! The One Code: organizations, repositories, findings, recommendations.

pub mod actions;
pub mod ai;
pub mod backup_runners;
pub mod backup_runners_graphql;
pub mod backups;
pub mod backups_report;
pub mod cmdb;
pub mod crm;
pub mod graphql;
pub mod inputs;
pub mod insight;
pub mod order;
pub mod profile;
pub mod profile_graphql;
pub mod profile_rules;
pub mod providers;
pub mod psa;
pub mod scans;
pub mod service;
pub mod types;
pub mod usage;

pub use service::CodeService;
