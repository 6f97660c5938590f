//! Connect Organization mutations: one service call each.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entities::enums::Product;

use crate::code::providers::ProviderService;
use crate::code::types::Organization;
use crate::graphql::{principal, service};
use crate::kernel::batch::Siblings;
use crate::kernel::paging::expect_id;

/// Result of `connectGithubOrganization`: where to send the admin's browser.
#[derive(SimpleObject)]
pub struct ConnectGithubOrganizationPayload {
    /// The GitHub App's install page (`…/apps/<slug>/installations/new?state=…`). GitHub
    /// returns to `/auth/github/setup`, the admin signs in to GitHub, and `/auth/github/callback`
    /// connects the installation once the signed-in user is shown to have access to it.
    pub installation_url: String,
    /// When the link's `state` expires (15 minutes).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Input of `connectGitlabGroup`.
#[derive(InputObject)]
pub struct ConnectGitlabGroupInput {
    /// The GitLab group's full path, e.g. `acme` or `acme/platform` (its subgroups' projects
    /// are included).
    pub group: String,
}

/// Result of `connectGitlabGroup`: where to send the admin's browser.
#[derive(SimpleObject)]
pub struct ConnectGitlabGroupPayload {
    /// The GitLab authorize URL (OAuth authorization code with PKCE). After consent GitLab
    /// returns to `/auth/gitlab/callback`, which connects the group and discovers its projects.
    pub authorization_url: String,
    /// When the link's `state` expires (15 minutes).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Input of `connectAzureDevopsOrganization`.
#[derive(InputObject)]
pub struct ConnectAzureDevopsOrganizationInput {
    /// The Azure DevOps organization's name, as in `dev.azure.com/{organization}` (every
    /// project's Git repositories are discovered).
    pub organization: String,
}

/// Result of `connectAzureDevopsOrganization`: where to send the admin's browser.
#[derive(SimpleObject)]
pub struct ConnectAzureDevopsOrganizationPayload {
    /// The Microsoft identity platform authorize URL (OAuth authorization code with PKCE, the
    /// Azure DevOps resource). After consent Microsoft returns to
    /// `/auth/azure-devops/callback`, which connects the organization and discovers its
    /// repositories.
    pub authorization_url: String,
    /// When the link's `state` expires (15 minutes).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Input of `disconnectOrganization` and `rediscoverOrganization`.
#[derive(InputObject)]
pub struct OrganizationInput {
    /// The organization.
    pub organization_id: ID,
}

/// What a discovery and access audit run found.
#[derive(SimpleObject)]
pub struct DiscoveryResult {
    /// When the run finished.
    pub finished_at: chrono::DateTime<chrono::Utc>,
    /// Repositories the provider lists now.
    pub repositories: i32,
    /// Repositories seen for the first time (each announced as `code.repo.discovered`).
    pub new_repositories: i32,
    /// Known repositories the provider no longer lists (marked with `missingSince`).
    pub missing_repositories: i32,
    /// Open access findings after the audit.
    pub open_access_findings: i32,
    /// Access findings the audit resolved.
    pub resolved_access_findings: i32,
}

impl DiscoveryResult {
    /// From `organizations.last_discovery` (`RunOutcome::to_json`).
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        let count = |key: &str| v.get(key).and_then(|n| n.as_i64()).unwrap_or(0) as i32;
        Some(DiscoveryResult {
            finished_at: serde_json::from_value(v.get("finished_at")?.clone()).ok()?,
            repositories: count("repositories"),
            new_repositories: count("new"),
            missing_repositories: count("missing"),
            open_access_findings: count("open"),
            resolved_access_findings: count("resolved"),
        })
    }
}

/// Result of `rediscoverOrganization`.
#[derive(SimpleObject)]
pub struct RediscoverOrganizationPayload {
    /// The organization, `discovering` until the queued run ends; then `lastDiscovery` (or
    /// `status` `ERROR` with `statusError`) tells what it found.
    pub organization: Organization,
}

/// Result of `disconnectOrganization`.
#[derive(SimpleObject)]
pub struct DisconnectOrganizationPayload {
    /// The organization, now `DISCONNECTED`; its repositories and findings are kept.
    pub organization: Organization,
}

fn view(row: entities::organizations::Model) -> Organization {
    Organization {
        siblings: Siblings::single(row.id),
        row,
    }
}

#[derive(Default)]
pub struct ProviderMutation;

#[Object]
impl ProviderMutation {
    /// Starts connecting a GitHub organization or account (tenant admins): returns the GitHub
    /// App's install page. Nothing is stored until GitHub sends the browser back and the admin's
    /// GitHub sign-in proves access to the installation; the organization is then `CONNECTING`
    /// while its first discovery runs, which emits `code.org.connected` and one
    /// `code.repo.discovered` per repository.
    async fn connect_github_organization(
        &self,
        ctx: &Context<'_>,
    ) -> Result<ConnectGithubOrganizationPayload> {
        let user = principal(ctx).product_user(Product::Code)?;
        let link = service::<ProviderService>(ctx).connect_github(user).await?;
        Ok(ConnectGithubOrganizationPayload {
            installation_url: link.url,
            expires_at: link.expires_at,
        })
    }

    /// Starts connecting a GitLab group (tenant admins): returns GitLab's sign-in link. Nothing
    /// is stored until GitLab sends the browser back to `/auth/gitlab/callback`, which emits
    /// `code.org.connected` and one `code.repo.discovered` per project.
    async fn connect_gitlab_group(
        &self,
        ctx: &Context<'_>,
        input: ConnectGitlabGroupInput,
    ) -> Result<ConnectGitlabGroupPayload> {
        let user = principal(ctx).product_user(Product::Code)?;
        let link = service::<ProviderService>(ctx)
            .connect_gitlab(user, &input.group)
            .await?;
        Ok(ConnectGitlabGroupPayload {
            authorization_url: link.url,
            expires_at: link.expires_at,
        })
    }

    /// Starts connecting an Azure DevOps organization (tenant admins): returns Microsoft's
    /// sign-in link. Nothing is stored until Microsoft sends the browser back to
    /// `/auth/azure-devops/callback`, which emits `code.org.connected` and one
    /// `code.repo.discovered` per repository.
    async fn connect_azure_devops_organization(
        &self,
        ctx: &Context<'_>,
        input: ConnectAzureDevopsOrganizationInput,
    ) -> Result<ConnectAzureDevopsOrganizationPayload> {
        let user = principal(ctx).product_user(Product::Code)?;
        let link = service::<ProviderService>(ctx)
            .connect_azure_devops(user, &input.organization)
            .await?;
        Ok(ConnectAzureDevopsOrganizationPayload {
            authorization_url: link.url,
            expires_at: link.expires_at,
        })
    }

    /// Disconnects an organization (tenant admins): forgets its credentials and stops
    /// discovery; repositories and findings stay. Emits `code.org.disconnected`.
    async fn disconnect_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationInput,
    ) -> Result<DisconnectOrganizationPayload> {
        let user = principal(ctx).product_user(Product::Code)?;
        let id = expect_id(&input.organization_id, "Organization")?;
        let row = service::<ProviderService>(ctx).disconnect(user, id).await?;
        Ok(DisconnectOrganizationPayload {
            organization: view(row),
        })
    }

    /// Queues a discovery of an organization's repositories and an access audit (tenant
    /// admins) and answers at once; one run at a time per organization.
    async fn rediscover_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationInput,
    ) -> Result<RediscoverOrganizationPayload> {
        let user = principal(ctx).product_user(Product::Code)?;
        let id = expect_id(&input.organization_id, "Organization")?;
        let row = service::<ProviderService>(ctx).rediscover(user, id).await?;
        Ok(RediscoverOrganizationPayload {
            organization: view(row),
        })
    }
}
