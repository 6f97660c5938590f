//! The signed-in user's view of themselves and their tenant's settings.

pub mod clients;
pub mod clients_graphql;
pub mod graphql;
pub mod service;

pub use clients::ClientService;
pub use service::TenancyService;
