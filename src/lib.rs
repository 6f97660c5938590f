//! stack-gateway: one GraphQL endpoint for The One Code and The One Migrate.

pub mod auth;
pub mod code;
pub mod config;
pub mod graphql;
pub mod http;
pub mod integrations;
pub mod kernel;
pub mod live;
pub mod migrate;
pub mod secrets;
pub mod server;
pub mod services;
pub mod tasks;
pub mod telemetry;
pub mod tenancy;
pub mod upstream;
