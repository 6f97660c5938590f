//! Azure DevOps and Microsoft identity platform answers, as `azure_devops.rs` reads them (only
//! the fields discovery and the audit use).

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `_apis/connectionData`: who signed in, and the organization's id.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionData {
    /// The organization (collection host) id: stable across renames.
    pub instance_id: String,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    /// `private` or `public`.
    pub visibility: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct GitRepository {
    pub id: String,
    pub name: String,
    pub web_url: Option<String>,
    /// `refs/heads/main`; absent for an empty repository.
    pub default_branch: Option<String>,
    #[serde(default)]
    pub is_disabled: bool,
    pub project: Project,
}

#[derive(Deserialize)]
pub(super) struct List<T> {
    pub(super) value: Vec<T>,
}

#[derive(Deserialize)]
pub(super) struct Commit {
    pub(super) author: Option<Signature>,
    pub(super) committer: Option<Signature>,
}

#[derive(Deserialize)]
pub(super) struct Signature {
    pub(super) date: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LanguageMetrics {
    #[serde(default)]
    pub(super) repository_language_analytics: Vec<RepositoryLanguages>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RepositoryLanguages {
    pub(super) id: String,
    #[serde(default)]
    pub(super) language_breakdown: Vec<LanguageShare>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LanguageShare {
    pub(super) name: String,
    pub(super) language_percentage: Option<f64>,
}

/// One user's entitlement (Member Entitlement Management 7.1).
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Entitlement {
    pub user: EntitledUser,
    /// `0001-01-01T00:00:00Z` when the user never signed in.
    pub last_accessed_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub project_entitlements: Vec<ProjectEntitlement>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct EntitledUser {
    /// `member` or `guest` (an Entra B2B guest).
    pub meta_type: Option<String>,
    pub principal_name: Option<String>,
    pub mail_address: Option<String>,
    pub display_name: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ProjectEntitlement {
    pub project_ref: ProjectRef,
    pub group: Option<ProjectGroup>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct ProjectRef {
    pub id: String,
    pub name: String,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ProjectGroup {
    /// `projectReader`, `projectContributor`, `projectAdministrator`, `projectStakeholder`,
    /// `projectValid` or `custom`.
    pub group_type: Option<String>,
    pub display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntitlementPage {
    #[serde(default)]
    pub(super) members: Vec<Entitlement>,
    pub(super) continuation_token: Option<String>,
}
