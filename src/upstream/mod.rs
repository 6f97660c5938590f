//! Upstream clients: one module per service the gateway calls, each owning its wire types and
//! the explanation of its refusals, sending through the shared `client::UpstreamClient` (timeouts,
//! retries, metrics, the status page's health). They know no domain: the features that use them
//! (tickets, opportunities, discovery, credential vending, notifications) live with their domain.

pub mod ai;
pub mod azure_devops;
pub mod azure_devops_types;
pub mod azure_sas;
pub mod azure_storage;
pub mod client;
pub mod github;
pub mod github_user;
pub mod gitlab;
pub mod health;
pub mod integration;
pub mod microsoft;
pub mod oauth;
pub mod oauth_state;
pub mod provider_wire;
pub mod ses;
