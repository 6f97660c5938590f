//! The One Migrate: projects, agents, jobs and their events.

pub mod agents;
pub mod commands;
pub mod credentials;
pub mod graphql;
pub mod inputs;
pub mod jobs;
pub mod mission;
pub mod mutations;
pub mod notifications;
pub mod offline;
pub mod order;
pub mod payloads;
pub mod projects;
pub mod reports;
pub mod rules;
pub mod service;
pub mod status;
pub mod subscriptions;
pub mod types;
pub mod usage;

pub use agents::AgentService;
pub use credentials::CredentialService;
pub use jobs::JobService;
pub use projects::ProjectService;
pub use service::MigrateService;
