//! Rules and queries of The One Code's read graph. Every statement filters by the tenant.

use entities::enums;
use entities::{findings, organizations, recommendations, repositories};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use super::inputs::{FindingFilter, OrganizationFilter, RecommendationFilter, RepositoryFilter};
use crate::kernel::batch::Siblings;
use crate::kernel::errors::{ApiError, ApiResult};
use crate::kernel::lists::{
    Fields, Unread, leave_unread, list_page, name_contains, nested_page, one_of_tenant,
    sorted_page, to_one, unread_columns,
};
use crate::kernel::order::Sort;
use crate::kernel::paging::{Listed, Window, expect_id};

/// Repository fields shown from a text column a page may leave unread.
const REPOSITORY_TEXT: &[Unread<repositories::Column>] = {
    use repositories::Column as C;
    &[
        ("name", C::Name, "''"),
        ("fullName", C::FullName, "''"),
        ("url", C::Url, "''"),
        ("defaultBranch", C::DefaultBranch, "NULL"),
        ("visibility", C::Visibility, "NULL"),
        ("appType", C::AppType, "NULL"),
        ("hostingPlatform", C::HostingPlatform, "NULL"),
        ("dataClassification", C::DataClassification, "NULL"),
        ("", C::ExternalId, "NULL"),
    ]
};

/// Repository fields that read only columns every page reads (ids, numbers, enums, times).
const REPOSITORY_OTHER: &[&str] = &[
    "__typename",
    "id",
    "archived",
    "techStack",
    "healthScore",
    "debtScore",
    "lastCommitAt",
    "commitFrequency",
    "lifecycle",
    "missingSince",
    "organization",
    "findings",
];

/// Finding fields shown from a text column a page may leave unread.
const FINDING_TEXT: &[Unread<findings::Column>] = {
    use findings::Column as C;
    &[
        ("title", C::Title, "''"),
        ("description", C::Description, "''"),
        ("filePath", C::FilePath, "NULL"),
        ("cveId", C::CveId, "NULL"),
        ("packageName", C::PackageName, "NULL"),
        ("packageVersion", C::PackageVersion, "NULL"),
        ("secretType", C::SecretType, "NULL"),
        ("remediation", C::Remediation, "NULL"),
        ("tool", C::Tool, "NULL"),
        ("", C::Fingerprint, "''"),
        ("", C::ScanSource, "NULL"),
    ]
};

/// Finding fields that read only columns every page reads.
const FINDING_OTHER: &[&str] = &[
    "__typename",
    "id",
    "kind",
    "accessIssue",
    "severity",
    "status",
    "line",
    "firstSeenAt",
    "lastSeenAt",
    "resolvedAt",
    "repository",
];

/// `select` reading only the text columns `fields` shows (every column in a sorted list: its
/// cursors read the sort value from the row).
fn repositories_for(
    select: Select<repositories::Entity>,
    fields: &Fields,
) -> Select<repositories::Entity> {
    leave_unread(
        select,
        &unread_columns(fields, REPOSITORY_TEXT, REPOSITORY_OTHER),
    )
}

fn findings_for(select: Select<findings::Entity>, fields: &Fields) -> Select<findings::Entity> {
    leave_unread(select, &unread_columns(fields, FINDING_TEXT, FINDING_OTHER))
}

#[derive(Clone)]
pub struct CodeService {
    pub(super) db: DatabaseConnection,
}

fn repository_select(
    tenant: Uuid,
    filter: &RepositoryFilter,
) -> ApiResult<Select<repositories::Entity>> {
    let mut select = repositories::Entity::find().filter(repositories::Column::TenantId.eq(tenant));
    if let Some(org) = &filter.organization_id {
        select =
            select.filter(repositories::Column::OrganizationId.eq(expect_id(org, "Organization")?));
    }
    if let Some(lifecycle) = filter.lifecycle {
        select =
            select.filter(repositories::Column::Lifecycle.eq(enums::Lifecycle::from(lifecycle)));
    }
    if let Some(text) = filter
        .name_contains
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        select = select.filter(name_contains(repositories::Column::Name, text)?);
    }
    Ok(select)
}

fn finding_select(tenant: Uuid, filter: &FindingFilter) -> ApiResult<Select<findings::Entity>> {
    let mut select = findings::Entity::find().filter(findings::Column::TenantId.eq(tenant));
    if let Some(repo) = &filter.repository_id {
        select = select.filter(findings::Column::RepositoryId.eq(expect_id(repo, "Repository")?));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(findings::Column::Kind.eq(enums::FindingKind::from(kind)));
    }
    if let Some(severities) = &filter.severity {
        let wanted: Vec<enums::Severity> = severities.iter().map(|s| (*s).into()).collect();
        select = select.filter(findings::Column::Severity.is_in(wanted));
    }
    if let Some(status) = filter.status {
        select = select.filter(findings::Column::Status.eq(enums::FindingStatus::from(status)));
    }
    Ok(select)
}

impl CodeService {
    pub fn new(db: DatabaseConnection) -> Self {
        CodeService { db }
    }

    pub async fn organizations(
        &self,
        tenant: Uuid,
        filter: OrganizationFilter,
        window: Window,
    ) -> ApiResult<Listed<organizations::Model>> {
        let mut select =
            organizations::Entity::find().filter(organizations::Column::TenantId.eq(tenant));
        if let Some(provider) = filter.provider {
            select =
                select.filter(organizations::Column::Provider.eq(enums::Provider::from(provider)));
        }
        if let Some(status) = filter.status {
            select =
                select.filter(organizations::Column::Status.eq(enums::OrgStatus::from(status)));
        }
        list_page(&self.db, select, organizations::Column::Id, window).await
    }

    pub async fn repositories(
        &self,
        tenant: Uuid,
        filter: RepositoryFilter,
        order: Option<Sort<repositories::Model>>,
        window: Window,
        fields: Fields,
    ) -> ApiResult<Listed<repositories::Model>> {
        let mut select = repository_select(tenant, &filter)?;
        if order.is_none() {
            select = repositories_for(select, &fields);
        }
        sorted_page(&self.db, select, repositories::Column::Id, order, window).await
    }

    pub async fn findings(
        &self,
        tenant: Uuid,
        filter: FindingFilter,
        order: Option<Sort<findings::Model>>,
        window: Window,
        fields: Fields,
    ) -> ApiResult<Listed<findings::Model>> {
        let mut select = finding_select(tenant, &filter)?;
        if order.is_none() {
            select = findings_for(select, &fields);
        }
        sorted_page(&self.db, select, findings::Column::Id, order, window).await
    }

    pub async fn recommendations(
        &self,
        tenant: Uuid,
        filter: RecommendationFilter,
        window: Window,
    ) -> ApiResult<Listed<recommendations::Model>> {
        let mut select =
            recommendations::Entity::find().filter(recommendations::Column::TenantId.eq(tenant));
        if let Some(repo) = &filter.repository_id {
            select = select
                .filter(recommendations::Column::RepositoryId.eq(expect_id(repo, "Repository")?));
        }
        list_page(&self.db, select, recommendations::Column::Id, window).await
    }

    /// An organization's repositories, loaded once for every organization on the page.
    pub async fn organization_repositories(
        &self,
        siblings: &Siblings,
        org: &organizations::Model,
        filter: RepositoryFilter,
        window: Window,
        fields: Fields,
    ) -> ApiResult<Listed<repositories::Model>> {
        let key = format!("repositories/{filter:?}");
        let select = || {
            Ok(repositories_for(
                repository_select(org.tenant_id, &filter)?,
                &fields,
            ))
        };
        let parent = repositories::Column::OrganizationId;
        let id = repositories::Column::Id;
        nested_page(
            &self.db,
            siblings,
            key,
            select,
            parent,
            id,
            window,
            org.id,
            |r| r.organization_id,
        )
        .await
    }

    /// A repository's findings, loaded once for every repository on the page.
    pub async fn repository_findings(
        &self,
        siblings: &Siblings,
        repo: &repositories::Model,
        filter: FindingFilter,
        window: Window,
        fields: Fields,
    ) -> ApiResult<Listed<findings::Model>> {
        let key = format!("findings/{filter:?}");
        let select = || {
            Ok(findings_for(
                finding_select(repo.tenant_id, &filter)?,
                &fields,
            ))
        };
        let parent = findings::Column::RepositoryId;
        let id = findings::Column::Id;
        nested_page(
            &self.db,
            siblings,
            key,
            select,
            parent,
            id,
            window,
            repo.id,
            |f| f.repository_id,
        )
        .await
    }

    /// A repository's organization, loaded once for every repository of the level.
    pub async fn repository_organization(
        &self,
        siblings: &Siblings,
        repo: &repositories::Model,
    ) -> ApiResult<organizations::Model> {
        let select =
            repositories::Entity::find().filter(repositories::Column::TenantId.eq(repo.tenant_id));
        to_one::<_, organizations::Entity>(
            &self.db,
            siblings,
            "organization",
            select,
            repositories::Column::Id,
            repo.id,
        )
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))
    }

    /// A finding's repository, loaded once for every finding of the level.
    pub async fn finding_repository(
        &self,
        siblings: &Siblings,
        finding: &findings::Model,
    ) -> ApiResult<repositories::Model> {
        let select =
            findings::Entity::find().filter(findings::Column::TenantId.eq(finding.tenant_id));
        to_one::<_, repositories::Entity>(
            &self.db,
            siblings,
            "repository",
            select,
            findings::Column::Id,
            finding.id,
        )
        .await?
        .ok_or_else(|| ApiError::not_found("repository"))
    }

    /// A recommendation's repository, loaded once for every recommendation of the level.
    pub async fn recommendation_repository(
        &self,
        siblings: &Siblings,
        rec: &recommendations::Model,
    ) -> ApiResult<repositories::Model> {
        let select = recommendations::Entity::find()
            .filter(recommendations::Column::TenantId.eq(rec.tenant_id));
        to_one::<_, repositories::Entity>(
            &self.db,
            siblings,
            "repository",
            select,
            recommendations::Column::Id,
            rec.id,
        )
        .await?
        .ok_or_else(|| ApiError::not_found("repository"))
    }

    pub async fn organization(
        &self,
        tenant: Uuid,
        id: Uuid,
    ) -> ApiResult<Option<organizations::Model>> {
        use organizations::Column as C;
        one_of_tenant::<organizations::Entity>(&self.db, C::TenantId, C::Id, tenant, id).await
    }

    pub async fn repository(
        &self,
        tenant: Uuid,
        id: Uuid,
    ) -> ApiResult<Option<repositories::Model>> {
        use repositories::Column as C;
        one_of_tenant::<repositories::Entity>(&self.db, C::TenantId, C::Id, tenant, id).await
    }

    pub async fn finding(&self, tenant: Uuid, id: Uuid) -> ApiResult<Option<findings::Model>> {
        use findings::Column as C;
        one_of_tenant::<findings::Entity>(&self.db, C::TenantId, C::Id, tenant, id).await
    }

    pub async fn recommendation(
        &self,
        tenant: Uuid,
        id: Uuid,
    ) -> ApiResult<Option<recommendations::Model>> {
        use recommendations::Column as C;
        one_of_tenant::<recommendations::Entity>(&self.db, C::TenantId, C::Id, tenant, id).await
    }
}
