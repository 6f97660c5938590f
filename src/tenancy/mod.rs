//! The signed-in user's view of themselves and their tenant's settings.

pub mod graphql;
pub mod service;

pub use service::TenancyService;
