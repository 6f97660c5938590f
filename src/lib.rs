//! stack-gateway: one GraphQL endpoint for The One Code and The One Migrate.

pub mod app;
pub mod auth;
pub mod code;
pub mod config;
pub mod db;
pub mod db_errors;
pub mod graphql;
pub mod http;
pub mod integrations;
pub mod live;
pub mod migrate;
pub mod secrets;
pub mod tasks;
pub mod telemetry;
pub mod tenancy;
