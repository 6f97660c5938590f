//! Upstream integrations: one module per upstream (as they arrive), and the status page.

pub mod actions;
pub mod ai;
pub mod billing;
pub mod bus;
pub mod client;
pub mod cmdb;
pub mod crm;
pub mod graphql;
pub mod health;
pub mod insight;
pub mod probe;
pub mod psa;
pub mod service;
pub mod ses;
pub mod status;
pub mod sync;
pub mod types;

pub use service::IntegrationsService;
