//! Code's root query fields: one service call each.

use async_graphql::{Context, Object, Result};
use entities::enums::Product;

use super::inputs::{FindingFilter, OrganizationFilter, RecommendationFilter, RepositoryFilter};
use super::order::{FindingOrder, RepositoryOrder};
use super::types::{
    Finding, FindingConnection, Organization, OrganizationConnection, Recommendation,
    RecommendationConnection, Repository, RepositoryConnection,
};
use crate::code::CodeService;
use crate::code::backups::BackupService;
use crate::graphql::relay::node_fields;
use crate::graphql::{principal, service};
use crate::kernel::paging::window;

#[derive(Default)]
pub struct CodeQuery;

#[Object]
impl CodeQuery {
    /// Connected source-control organizations.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OrganizationFilter>,
    ) -> Result<OrganizationConnection> {
        let user = principal(ctx).product_user(Product::Code)?;
        let listed = service::<CodeService>(ctx)
            .organizations(
                user.tenant_id,
                filter.unwrap_or_default(),
                window(first, after, last, before)?,
            )
            .await?;
        Ok(OrganizationConnection::build(listed, |row, siblings| {
            Organization { row, siblings }
        }))
    }

    /// Repositories of every connected organization.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn repositories(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<RepositoryFilter>,
        #[graphql(desc = "Sort order; id order (oldest first) when omitted.")] order_by: Option<
            RepositoryOrder,
        >,
    ) -> Result<RepositoryConnection> {
        let user = principal(ctx).product_user(Product::Code)?;
        let listed = service::<CodeService>(ctx)
            .repositories(
                user.tenant_id,
                filter.unwrap_or_default(),
                order_by.map(|o| o.sort()),
                window(first, after, last, before)?,
                node_fields(ctx),
            )
            .await?;
        Ok(RepositoryConnection::build(listed, |row, siblings| {
            Repository { row, siblings }
        }))
    }

    /// Security and access findings.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn findings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<FindingFilter>,
        #[graphql(desc = "Sort order; id order (oldest first) when omitted.")] order_by: Option<
            FindingOrder,
        >,
    ) -> Result<FindingConnection> {
        let user = principal(ctx).product_user(Product::Code)?;
        let listed = service::<CodeService>(ctx)
            .findings(
                user.tenant_id,
                filter.unwrap_or_default(),
                order_by.map(|o| o.sort()),
                window(first, after, last, before)?,
                node_fields(ctx),
            )
            .await?;
        Ok(FindingConnection::build(listed, |row, siblings| Finding {
            row,
            siblings,
        }))
    }

    /// Migration recommendations (Optimize module).
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<RecommendationFilter>,
    ) -> Result<RecommendationConnection> {
        let user = principal(ctx).product_user(Product::Code)?;
        let listed = service::<CodeService>(ctx)
            .recommendations(
                user.tenant_id,
                filter.unwrap_or_default(),
                window(first, after, last, before)?,
            )
            .await?;
        Ok(RecommendationConnection::build(listed, |row, siblings| {
            Recommendation { row, siblings }
        }))
    }
}

/// Input of `requestBackup`.
#[derive(async_graphql::InputObject)]
pub struct RequestBackupInput {
    /// The repository to back up.
    pub repository_id: async_graphql::ID,
}

/// Result of `requestBackup`.
#[derive(async_graphql::SimpleObject)]
pub struct RequestBackupPayload {
    /// The recorded backup request.
    pub backup: super::types::Backup,
}

#[derive(Default)]
pub struct CodeMutation;

#[Object]
impl CodeMutation {
    /// Triggers a manual backup of a repository (technicians and admins); emits
    /// `code.backup.requested`.
    async fn request_backup(
        &self,
        ctx: &Context<'_>,
        input: RequestBackupInput,
    ) -> Result<RequestBackupPayload> {
        let user = principal(ctx).product_user(Product::Code)?;
        let repository = crate::kernel::paging::expect_id(&input.repository_id, "Repository")?;
        let row = service::<BackupService>(ctx)
            .request(user, repository)
            .await?;
        Ok(RequestBackupPayload {
            backup: super::types::Backup { row },
        })
    }
}

#[derive(Default)]
pub struct BackupQuery;

#[Object]
impl BackupQuery {
    /// Manual repository backups, oldest first.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn backups(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(desc = "Only backups of this repository.")] repository_id: Option<
            async_graphql::ID,
        >,
    ) -> Result<super::types::BackupConnection> {
        let user = principal(ctx).product_user(Product::Code)?;
        let repository = repository_id
            .map(|id| crate::kernel::paging::expect_id(&id, "Repository"))
            .transpose()?;
        let listed = service::<BackupService>(ctx)
            .list(
                user.tenant_id,
                repository,
                window(first, after, last, before)?,
            )
            .await?;
        Ok(super::types::BackupConnection::build(listed, |row, _| {
            super::types::Backup { row }
        }))
    }
}
