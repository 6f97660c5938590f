//! The One Code: organizations, repositories, findings, recommendations.

pub mod ai;
pub mod backup_runners;
pub mod backup_runners_graphql;
pub mod backups;
pub mod backups_report;
pub mod graphql;
pub mod inputs;
pub mod order;
pub mod providers;
pub mod scans;
pub mod service;
pub mod types;

pub use service::CodeService;
