//! Authentication: Hub SSO, cookie sessions, Bearer tokens, agent keys, and the principal.

pub mod access;
pub mod claims;
pub mod principal;
pub mod redirect;
pub mod service;

pub use access::Access;
pub use principal::{Agent, Principal, User};
pub use service::AuthService;
