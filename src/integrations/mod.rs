//! The Integrations page (each upstream's configuration and health, the records the features
//! left: PSA links, CRM opportunities, CMDB runs, billing reports, Bus events), the probe, Hub
//! billing and the Bus. The upstream clients are in `upstream/`, the features that call them
//! with their domain (`code::psa`, `code::crm`, `code::cmdb`).

pub mod billing;
pub mod bus;
pub mod graphql;
pub mod probe;
pub mod service;
pub mod types;

pub use service::IntegrationsService;
