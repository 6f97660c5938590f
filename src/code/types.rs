//! The Code domain's GraphQL types: thin views over the entity rows.

use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entities::{enums, findings, organizations, recommendations, repositories};

use super::inputs::{FindingFilter, RepositoryFilter};
use crate::code::CodeService;
use crate::graphql::relay::{connection, global_id, node_fields};
use crate::graphql::{response_key, service};
use crate::kernel::batch::Siblings;
use crate::kernel::paging::window;
use crate::tenancy::ClientService;
use crate::tenancy::clients_graphql::Client;

/// Source-control provider of an organization.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::Provider")]
pub enum Provider {
    /// GitHub, through the GitHub App.
    Github,
    /// GitLab, through OAuth with group-level access.
    Gitlab,
    /// Azure DevOps, through Microsoft OAuth with organization-level access.
    AzureDevops,
}

/// Connection state of an organization.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::OrgStatus")]
pub enum OrgStatus {
    /// Access proven and the credentials stored; the first discovery has not finished yet
    /// (`discovering`, or `ERROR` if it failed).
    Connecting,
    /// Connected and reachable.
    Connected,
    /// The provider answered with an error; see `statusError`.
    Error,
    /// Disconnected by an admin.
    Disconnected,
}

/// Lifecycle of an application.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::Lifecycle")]
pub enum Lifecycle {
    /// In active use.
    Active,
    /// Being retired.
    Sunset,
    /// No longer in use.
    Dead,
}

/// What a finding is about.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::FindingKind")]
pub enum FindingKind {
    /// A secret committed to the repository.
    SecretDetected,
    /// A vulnerability: a vulnerable dependency (SBOM scan) or a code-scanning result.
    Vulnerability,
    /// An access-audit problem (see `accessIssue`).
    AccessIssue,
    /// A decision to sunset the application.
    SunsetDecision,
}

/// The kind of an access-audit finding.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::AccessIssue")]
pub enum AccessIssue {
    /// Permissions above the organization's base permission.
    PermissionDrift,
    /// An outside collaborator with no recent activity.
    OrphanedAccess,
    /// A member without two-factor authentication.
    #[graphql(name = "MISSING_2FA")]
    Missing2fa,
}

/// Severity of a finding (maps to PSA priority P1–P4).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::Severity")]
pub enum Severity {
    /// P1.
    Critical,
    /// P2.
    High,
    /// P3.
    Medium,
    /// P4.
    Low,
}

/// Whether a finding still needs attention.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::FindingStatus")]
pub enum FindingStatus {
    /// Still present.
    Open,
    /// Gone from the latest scan or fixed.
    Resolved,
    /// Accepted by a person.
    Ignored,
}

/// A source-control organization (GitHub organization, GitLab group, Azure DevOps organization).
pub struct Organization {
    pub row: organizations::Model,
    pub siblings: Siblings,
}

/// A source-control organization (GitHub organization, GitLab group, Azure DevOps organization).
#[Object]
impl Organization {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("Organization", self.row.id)
    }
    /// Provider hosting the organization.
    async fn provider(&self) -> Provider {
        self.row.provider.into()
    }
    /// Login (slug) at the provider.
    async fn login(&self) -> &str {
        &self.row.login
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// The client the organization belongs to (its repositories follow unless set).
    async fn client(&self, ctx: &Context<'_>) -> Result<Option<Client>> {
        let client = service::<ClientService>(ctx)
            .of_organization(self.row.tenant_id, &self.siblings, &self.row)
            .await?;
        Ok(client.map(Client))
    }
    /// Connection state.
    async fn status(&self) -> OrgStatus {
        self.row.status.into()
    }
    /// The provider's last error, when `status` is `ERROR`.
    async fn status_error(&self) -> Option<&str> {
        self.row.status_error.as_deref()
    }
    /// The code of `statusError`, as in `extensions.code` (`RATE_LIMITED`,
    /// `UPSTREAM_AUTH_FAILED`, `UPSTREAM_UNAVAILABLE`, …).
    async fn status_error_code(&self) -> Option<&str> {
        self.row.status_error_code.as_deref()
    }
    /// Repositories known at the last discovery.
    async fn repo_count(&self) -> i32 {
        self.row.repo_count
    }
    /// When the organization was connected.
    async fn connected_at(&self) -> Option<DateTime<Utc>> {
        self.row.connected_at
    }
    /// When its repositories were last discovered.
    async fn last_discovered_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_discovered_at
    }
    /// When a failed organization is tried again (the provider's rate-limit reset, or a
    /// backoff).
    async fn next_retry_at(&self) -> Option<DateTime<Utc>> {
        self.row.next_retry_at
    }
    /// The provider's base permission for members (GitHub `default_repository_permission`).
    async fn base_permission(&self) -> Option<&str> {
        self.row.base_permission.as_deref()
    }
    /// A discovery and access audit run is queued or running (connect, `rediscoverOrganization`).
    async fn discovering(&self) -> bool {
        self.row.discovery_queued_at.is_some()
    }
    /// What the last finished discovery run found; its failure shows as `status` `ERROR`.
    async fn last_discovery(&self) -> Option<crate::code::providers::graphql::DiscoveryResult> {
        self.row
            .last_discovery
            .as_ref()
            .and_then(crate::code::providers::graphql::DiscoveryResult::from_json)
    }
    /// The organization's repositories.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn repositories(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<RepositoryFilter>,
    ) -> Result<RepositoryConnection> {
        let window = window(first, after, last, before)?;
        let code = &service::<CodeService>(ctx);
        let listed = code
            .organization_repositories(
                &self.siblings.in_field(response_key(ctx)),
                &self.row,
                filter.unwrap_or_default(),
                window,
                node_fields(ctx),
            )
            .await?;
        Ok(RepositoryConnection::build(listed, |row, siblings| {
            Repository { row, siblings }
        }))
    }
}

/// A repository and its application profile.
pub struct Repository {
    pub row: repositories::Model,
    pub siblings: Siblings,
}

/// A repository and its application profile.
#[Object]
impl Repository {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("Repository", self.row.id)
    }
    /// Name within its organization.
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// `organization/name`.
    async fn full_name(&self) -> &str {
        &self.row.full_name
    }
    /// Web URL at the provider.
    async fn url(&self) -> &str {
        &self.row.url
    }
    /// Default branch.
    async fn default_branch(&self) -> Option<&str> {
        self.row.default_branch.as_deref()
    }
    /// `public`, `private` or `internal`.
    async fn visibility(&self) -> Option<&str> {
        self.row.visibility.as_deref()
    }
    /// Archived at the provider.
    async fn archived(&self) -> bool {
        self.row.archived
    }
    /// Kind of application (web app, API, library, …).
    async fn app_type(&self) -> Option<&str> {
        self.row.app_type.as_deref()
    }
    /// Languages and frameworks.
    async fn tech_stack(&self) -> Vec<String> {
        serde_json::from_value(self.row.tech_stack.clone()).unwrap_or_default()
    }
    /// Health score, 0–100 (higher is healthier).
    async fn health_score(&self) -> Option<i32> {
        self.row.health_score
    }
    /// Technical-debt score, 0–100 (higher is more debt).
    async fn debt_score(&self) -> Option<i32> {
        self.row.debt_score
    }
    /// Date of the last commit.
    async fn last_commit_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_commit_at
    }
    /// Commits per week, recent average.
    async fn commit_frequency(&self) -> Option<f64> {
        self.row.commit_frequency
    }
    /// Where the application runs.
    async fn hosting_platform(&self) -> Option<&str> {
        self.row.hosting_platform.as_deref()
    }
    /// Data classification (public, internal, confidential, regulated …).
    async fn data_classification(&self) -> Option<&str> {
        self.row.data_classification.as_deref()
    }
    /// Lifecycle of the application.
    async fn lifecycle(&self) -> Lifecycle {
        self.row.lifecycle.into()
    }
    /// Why the lifecycle was last set (`setRepositoryLifecycle`).
    async fn lifecycle_reason(&self) -> Option<&str> {
        self.row.lifecycle_reason.as_deref()
    }
    /// When the lifecycle was last set by hand.
    async fn lifecycle_changed_at(&self) -> Option<DateTime<Utc>> {
        self.row.lifecycle_changed_at
    }
    /// Profile fields set by hand: inference leaves them alone until they are cleared.
    async fn overridden_fields(&self) -> Vec<super::profile_graphql::ProfileField> {
        use super::profile_graphql::ProfileField as F;
        [
            (self.row.app_type_overridden, F::AppType),
            (self.row.hosting_platform_overridden, F::HostingPlatform),
            (
                self.row.data_classification_overridden,
                F::DataClassification,
            ),
        ]
        .into_iter()
        .filter_map(|(set, field)| set.then_some(field))
        .collect()
    }
    /// Set when the repository disappeared from its organization.
    async fn missing_since(&self) -> Option<DateTime<Utc>> {
        self.row.missing_since
    }
    /// The client the repository is for: its own, else its organization's.
    async fn client(&self, ctx: &Context<'_>) -> Result<Option<Client>> {
        let client = service::<ClientService>(ctx)
            .of_repository(self.row.tenant_id, &self.siblings, self.row.id)
            .await?;
        Ok(client.map(Client))
    }
    /// True when the repository has no client of its own and follows its organization's.
    async fn client_inherited(&self) -> bool {
        self.row.client_id.is_none()
    }
    /// The organization the repository belongs to.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let row = service::<CodeService>(ctx)
            .repository_organization(&self.siblings, &self.row)
            .await?;
        Ok(Organization {
            siblings: Siblings::single(row.id),
            row,
        })
    }
    /// AI-generated documents, in document-type order (only `docType` when given).
    async fn documents(
        &self,
        ctx: &Context<'_>,
        doc_type: Option<super::ai::graphql_enums::DocumentType>,
    ) -> Result<Vec<super::ai::graphql::Document>> {
        self.ai_documents(ctx, doc_type).await
    }
    /// The latest 20 AI runs for this repository, newest first.
    async fn ai_runs(&self, ctx: &Context<'_>) -> Result<Vec<super::ai::graphql::AiRunView>> {
        self.ai_runs_of(ctx).await
    }
    /// Findings in this repository.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<FindingFilter>,
    ) -> Result<FindingConnection> {
        let window = window(first, after, last, before)?;
        let code = &service::<CodeService>(ctx);
        let listed = code
            .repository_findings(
                &self.siblings.in_field(response_key(ctx)),
                &self.row,
                filter.unwrap_or_default(),
                window,
                node_fields(ctx),
            )
            .await?;
        Ok(FindingConnection::build(listed, |row, siblings| Finding {
            row,
            siblings,
        }))
    }
}

/// A security or access finding in a repository.
pub struct Finding {
    pub row: findings::Model,
    pub siblings: Siblings,
}

/// A security or access finding in a repository.
#[Object]
impl Finding {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("Finding", self.row.id)
    }
    /// What the finding is about.
    async fn kind(&self) -> FindingKind {
        self.row.kind.into()
    }
    /// For access issues: which one.
    async fn access_issue(&self) -> Option<AccessIssue> {
        self.row.access_issue.map(Into::into)
    }
    /// Severity.
    async fn severity(&self) -> Severity {
        self.row.severity.into()
    }
    /// Open, resolved or ignored.
    async fn status(&self) -> FindingStatus {
        self.row.status.into()
    }
    /// One-line summary.
    async fn title(&self) -> &str {
        &self.row.title
    }
    /// Details of the finding.
    async fn description(&self) -> &str {
        &self.row.description
    }
    /// File the finding points at.
    async fn file_path(&self) -> Option<&str> {
        self.row.file_path.as_deref()
    }
    /// Line in that file.
    async fn line(&self) -> Option<i32> {
        self.row.line
    }
    /// CVE identifier of a vulnerability.
    async fn cve_id(&self) -> Option<&str> {
        self.row.cve_id.as_deref()
    }
    /// Vulnerable package.
    async fn package_name(&self) -> Option<&str> {
        self.row.package_name.as_deref()
    }
    /// Vulnerable package version.
    async fn package_version(&self) -> Option<&str> {
        self.row.package_version.as_deref()
    }
    /// Type of a detected secret (e.g. `aws-access-key`).
    async fn secret_type(&self) -> Option<&str> {
        self.row.secret_type.as_deref()
    }
    /// How to resolve it.
    async fn remediation(&self) -> Option<&str> {
        self.row.remediation.as_deref()
    }
    /// Scanner that reported it.
    async fn tool(&self) -> Option<&str> {
        self.row.tool.as_deref()
    }
    /// First seen by a scan.
    async fn first_seen_at(&self) -> DateTime<Utc> {
        self.row.first_seen_at
    }
    /// Last seen by a scan.
    async fn last_seen_at(&self) -> DateTime<Utc> {
        self.row.last_seen_at
    }
    /// When it was resolved.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.row.resolved_at
    }
    /// The repository the finding came from.
    async fn repository(&self, ctx: &Context<'_>) -> Result<Repository> {
        let row = service::<CodeService>(ctx)
            .finding_repository(&self.siblings, &self.row)
            .await?;
        Ok(Repository {
            siblings: Siblings::single(row.id),
            row,
        })
    }
}

/// A migration recommendation for a repository (Optimize module).
pub struct Recommendation {
    pub row: recommendations::Model,
    pub siblings: Siblings,
}

/// A migration recommendation for a repository (Optimize module).
#[Object]
impl Recommendation {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("Recommendation", self.row.id)
    }
    /// Short title.
    async fn title(&self) -> &str {
        &self.row.title
    }
    /// Why and what.
    async fn summary(&self) -> &str {
        &self.row.summary
    }
    /// Where to migrate to.
    async fn target_platform(&self) -> Option<&str> {
        self.row.target_platform.as_deref()
    }
    /// The migration steps, in order.
    async fn steps(&self) -> Vec<String> {
        serde_json::from_value(self.row.steps.clone()).unwrap_or_default()
    }
    /// Estimated effort in hours.
    async fn effort_hours(&self) -> f64 {
        self.row.effort_hours
    }
    /// The repository it is about.
    async fn repository(&self, ctx: &Context<'_>) -> Result<Repository> {
        let row = service::<CodeService>(ctx)
            .recommendation_repository(&self.siblings, &self.row)
            .await?;
        Ok(Repository {
            siblings: Siblings::single(row.id),
            row,
        })
    }
}

connection!(
    OrganizationConnection,
    OrganizationEdge,
    Organization,
    "A page of organizations."
);
connection!(
    RepositoryConnection,
    RepositoryEdge,
    Repository,
    "A page of repositories."
);
connection!(
    FindingConnection,
    FindingEdge,
    Finding,
    "A page of findings."
);
connection!(
    RecommendationConnection,
    RecommendationEdge,
    Recommendation,
    "A page of recommendations."
);

/// State of a repository backup.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "enums::BackupStatus")]
pub enum BackupStatus {
    /// Requested; waiting for the backup runner.
    Requested,
    /// Running.
    Running,
    /// Finished successfully.
    Completed,
    /// Failed; see `error`.
    Failed,
}

/// A manual backup of a repository.
pub struct Backup {
    pub row: entities::backups::Model,
}

/// A manual backup of a repository.
#[Object]
impl Backup {
    /// Global ID (also the `job_id` of `code.backup.requested`).
    pub async fn id(&self) -> ID {
        global_id("Backup", self.row.id)
    }
    /// State.
    async fn status(&self) -> BackupStatus {
        self.row.status.into()
    }
    /// The repository backed up.
    async fn repository_id(&self) -> ID {
        global_id("Repository", self.row.repository_id)
    }
    /// Requested.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// Started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.row.started_at
    }
    /// Finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.row.finished_at
    }
    /// Why it failed: the runner's message, or that the runner went silent for longer than
    /// `BACKUP_REPORT_TIMEOUT_MS`.
    async fn error(&self) -> Option<&str> {
        self.row.error.as_deref()
    }
    /// The backup runner's last message.
    async fn message(&self) -> Option<&str> {
        self.row.message.as_deref()
    }
    /// When the backup runner last reported on it.
    async fn last_report_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_report_at
    }
    /// Global ID of the backup runner that took it.
    async fn runner_id(&self) -> Option<ID> {
        self.row.runner_id.map(|id| global_id("BackupRunner", id))
    }
}

connection!(BackupConnection, BackupEdge, Backup, "A page of backups.");
