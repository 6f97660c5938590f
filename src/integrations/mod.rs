//! Upstream integrations: one module per upstream (as they arrive), and the status page.

pub mod actions;
pub mod billing;
pub mod bus;
pub mod cmdb;
pub mod crm;
pub mod graphql;
pub mod insight;
pub mod probe;
pub mod psa;
pub mod service;
pub mod sync;
pub mod types;

pub use service::IntegrationsService;
