//! Rules and queries of The One Migrate's read graph. Every statement filters by the tenant.

use entities::enums;
use entities::{agents, job_events, jobs, projects};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use super::inputs::{AgentFilter, JobFilter, ProjectFilter};
use crate::kernel::batch::Siblings;
use crate::kernel::errors::{ApiError, ApiResult};
use crate::kernel::lists::{
    list_page, name_contains, nested_page, one_of_tenant, sorted_page, to_one,
};
use crate::kernel::order::Sort;
use crate::kernel::paging::{Listed, Window, expect_id};

#[derive(Clone)]
pub struct MigrateService {
    db: DatabaseConnection,
}

fn job_select(tenant: Uuid, filter: &JobFilter) -> ApiResult<Select<jobs::Entity>> {
    let mut select = jobs::Entity::find().filter(jobs::Column::TenantId.eq(tenant));
    if let Some(project) = &filter.project_id {
        select = select.filter(jobs::Column::ProjectId.eq(expect_id(project, "Project")?));
    }
    if let Some(agent) = &filter.agent_id {
        select = select.filter(jobs::Column::AgentId.eq(expect_id(agent, "Agent")?));
    }
    if let Some(statuses) = &filter.status {
        let wanted: Vec<enums::JobStatus> = statuses.iter().map(|s| (*s).into()).collect();
        select = select.filter(jobs::Column::Status.is_in(wanted));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(jobs::Column::Kind.eq(enums::JobKind::from(kind)));
    }
    Ok(select)
}

impl MigrateService {
    pub fn new(db: DatabaseConnection) -> Self {
        MigrateService { db }
    }

    pub async fn projects(
        &self,
        tenant: Uuid,
        filter: ProjectFilter,
        window: Window,
    ) -> ApiResult<Listed<projects::Model>> {
        let mut select = projects::Entity::find().filter(projects::Column::TenantId.eq(tenant));
        if let Some(text) = filter
            .name_contains
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            select = select.filter(name_contains(projects::Column::Name, text)?);
        }
        list_page(&self.db, select, projects::Column::Id, window).await
    }

    pub async fn agents(
        &self,
        tenant: Uuid,
        filter: AgentFilter,
        window: Window,
    ) -> ApiResult<Listed<agents::Model>> {
        let mut select = agents::Entity::find().filter(agents::Column::TenantId.eq(tenant));
        if let Some(status) = filter.status {
            select = select.filter(agents::Column::Status.eq(enums::AgentStatus::from(status)));
        }
        list_page(&self.db, select, agents::Column::Id, window).await
    }

    pub async fn jobs(
        &self,
        tenant: Uuid,
        filter: JobFilter,
        order: Option<Sort<jobs::Model>>,
        window: Window,
    ) -> ApiResult<Listed<jobs::Model>> {
        let select = job_select(tenant, &filter)?;
        sorted_page(&self.db, select, jobs::Column::Id, order, window).await
    }

    /// A project's jobs, loaded once for every project on the page.
    pub async fn project_jobs(
        &self,
        siblings: &Siblings,
        project: &projects::Model,
        filter: JobFilter,
        window: Window,
    ) -> ApiResult<Listed<jobs::Model>> {
        let key = format!("jobs/{filter:?}");
        let select = || job_select(project.tenant_id, &filter);
        let (parent, id) = (jobs::Column::ProjectId, jobs::Column::Id);
        nested_page(
            &self.db,
            siblings,
            key,
            select,
            parent,
            id,
            window,
            project.id,
            |j| j.project_id,
        )
        .await
    }

    /// A job's events, loaded once for every job on the page.
    pub async fn job_events(
        &self,
        siblings: &Siblings,
        job: &jobs::Model,
        window: Window,
    ) -> ApiResult<Listed<job_events::Model>> {
        let select = || {
            Ok(job_events::Entity::find().filter(job_events::Column::TenantId.eq(job.tenant_id)))
        };
        let (parent, id) = (job_events::Column::JobId, job_events::Column::Id);
        nested_page(
            &self.db,
            siblings,
            "events".into(),
            select,
            parent,
            id,
            window,
            job.id,
            |e| e.job_id,
        )
        .await
    }

    /// A job's project, loaded once for every job of the level.
    pub async fn job_project(
        &self,
        siblings: &Siblings,
        job: &jobs::Model,
    ) -> ApiResult<projects::Model> {
        let select = jobs::Entity::find().filter(jobs::Column::TenantId.eq(job.tenant_id));
        to_one::<_, projects::Entity>(
            &self.db,
            siblings,
            "project",
            select,
            jobs::Column::Id,
            job.id,
        )
        .await?
        .ok_or_else(|| ApiError::not_found("project"))
    }

    /// A job's agent (if assigned), loaded once for every job of the level.
    pub async fn job_agent(
        &self,
        siblings: &Siblings,
        job: &jobs::Model,
    ) -> ApiResult<Option<agents::Model>> {
        if job.agent_id.is_none() {
            return Ok(None);
        }
        let select = jobs::Entity::find().filter(jobs::Column::TenantId.eq(job.tenant_id));
        to_one::<_, agents::Entity>(
            &self.db,
            siblings,
            "agent",
            select,
            jobs::Column::Id,
            job.id,
        )
        .await
    }

    pub async fn project(&self, tenant: Uuid, id: Uuid) -> ApiResult<Option<projects::Model>> {
        use projects::Column as C;
        one_of_tenant::<projects::Entity>(&self.db, C::TenantId, C::Id, tenant, id).await
    }

    pub async fn agent(&self, tenant: Uuid, id: Uuid) -> ApiResult<Option<agents::Model>> {
        use agents::Column as C;
        one_of_tenant::<agents::Entity>(&self.db, C::TenantId, C::Id, tenant, id).await
    }

    pub async fn job(&self, tenant: Uuid, id: Uuid) -> ApiResult<Option<jobs::Model>> {
        use jobs::Column as C;
        one_of_tenant::<jobs::Entity>(&self.db, C::TenantId, C::Id, tenant, id).await
    }
}
