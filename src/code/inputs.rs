//! Filters the Code lists accept.

use async_graphql::{ID, InputObject};

use super::types::{FindingKind, FindingStatus, Lifecycle, OrgStatus, Provider, Severity};

/// Narrows a list of organizations.
#[derive(InputObject, Default, Debug)]
pub struct OrganizationFilter {
    /// Only this provider.
    pub provider: Option<Provider>,
    /// Only this connection state.
    pub status: Option<OrgStatus>,
}

/// Narrows a list of repositories.
#[derive(InputObject, Default, Debug)]
pub struct RepositoryFilter {
    /// Only repositories of this organization.
    pub organization_id: Option<ID>,
    /// Only this lifecycle.
    pub lifecycle: Option<Lifecycle>,
    /// Name contains this text (case-insensitive).
    pub name_contains: Option<String>,
}

/// Narrows a list of findings.
#[derive(InputObject, Default, Debug)]
pub struct FindingFilter {
    /// Only findings of this repository.
    pub repository_id: Option<ID>,
    /// Only this kind.
    pub kind: Option<FindingKind>,
    /// Only these severities.
    pub severity: Option<Vec<Severity>>,
    /// Only this status.
    pub status: Option<FindingStatus>,
}

/// Narrows a list of recommendations.
#[derive(InputObject, Default, Debug)]
pub struct RecommendationFilter {
    /// Only recommendations for this repository.
    pub repository_id: Option<ID>,
}
