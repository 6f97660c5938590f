//! End-to-end tests through HTTP against a real server, each on SQLite and PostgreSQL.

mod code_seed;
mod helpers;

mod agents;
mod ai;
mod auth;
mod billing;
mod bus;
mod cmdb;
mod credentials;
mod crm;
mod demo;
mod graph;
mod integrations_read;
mod jobs;
mod limits;
mod migrate_read;
mod notifications;
mod observability;
mod ordering;
mod persisted;
mod probe;
mod providers;
mod providers_azure;
mod providers_gitlab;
mod providers_gitlab_audit;
mod psa;
mod psa_failures;
mod queue;
mod replicas;
mod scans;
mod schema;
mod subscriptions;
mod tenancy;
mod transport;
mod ws_client;
