//! Creating and changing migration projects. Names are unique per tenant; PSA references are
//! display-only text; storage names follow Azure's rules.

use chrono::Utc;
use entities::{clients, projects};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, SqlErr,
};
use uuid::Uuid;

use super::rules::{optional, required, storage_account, storage_container};
use crate::auth::User;
use crate::kernel::errors::{ApiError, ApiResult, Code};

const NAME_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 2000;
const REFERENCE_MAX: usize = 100;

#[derive(Clone)]
pub struct ProjectService {
    db: DatabaseConnection,
}

/// A project to create.
pub struct NewProject {
    pub name: String,
    pub description: Option<String>,
    pub client: Option<Uuid>,
    pub psa_ticket_id: Option<String>,
    pub psa_project_id: Option<String>,
    pub storage_account: Option<String>,
    pub storage_container: Option<String>,
}

/// Changes to a project: `None` keeps a field, `Some(None)` clears an optional one.
pub struct ProjectChanges {
    pub project: Uuid,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub client: Option<Option<Uuid>>,
    pub psa_ticket_id: Option<Option<String>>,
    pub psa_project_id: Option<Option<String>>,
    pub storage_account: Option<Option<String>>,
    pub storage_container: Option<Option<String>>,
}

/// An optional field of an update, checked when it is set.
fn changed<T>(
    value: Option<Option<String>>,
    check: impl FnOnce(Option<&str>) -> ApiResult<Option<T>>,
) -> ApiResult<Option<Option<T>>> {
    match value {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(v)) => check(Some(&v)).map(Some),
    }
}

impl ProjectService {
    pub fn new(db: DatabaseConnection) -> Self {
        ProjectService { db }
    }

    pub async fn create(&self, user: &User, input: NewProject) -> ApiResult<projects::Model> {
        let name = required("name", &input.name, NAME_MAX)?;
        let now = Utc::now();
        let row = projects::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(user.tenant_id),
            client_id: Set(self.client(user.tenant_id, input.client).await?),
            description: Set(optional(
                "description",
                input.description.as_deref(),
                DESCRIPTION_MAX,
            )?),
            psa_ticket_id: Set(optional(
                "psaTicketId",
                input.psa_ticket_id.as_deref(),
                REFERENCE_MAX,
            )?),
            psa_project_id: Set(optional(
                "psaProjectId",
                input.psa_project_id.as_deref(),
                REFERENCE_MAX,
            )?),
            storage_account: Set(storage_account(input.storage_account.as_deref())?),
            storage_container: Set(storage_container(input.storage_container.as_deref())?),
            azure_tenant: Set(None),
            refresh_token_encrypted: Set(None),
            credentials_connected_at: Set(None),
            credentials_expires_at: Set(None),
            storage_error: Set(None),
            storage_error_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            name: Set(name.clone()),
        };
        projects::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await
            .map_err(|e| name_taken(e, &name))
    }

    pub async fn update(&self, user: &User, input: ProjectChanges) -> ApiResult<projects::Model> {
        let id = input.project;
        let name = input
            .name
            .as_deref()
            .map(|n| required("name", n, NAME_MAX))
            .transpose()?;
        let description = changed(input.description, |v| {
            optional("description", v, DESCRIPTION_MAX)
        })?;
        let ticket = changed(input.psa_ticket_id, |v| {
            optional("psaTicketId", v, REFERENCE_MAX)
        })?;
        let psa_project = changed(input.psa_project_id, |v| {
            optional("psaProjectId", v, REFERENCE_MAX)
        })?;
        let account = changed(input.storage_account, storage_account)?;
        let container = changed(input.storage_container, storage_container)?;
        let client = match input.client {
            None => None,
            Some(None) => Some(None),
            Some(Some(id)) => Some(self.client(user.tenant_id, Some(id)).await?),
        };
        let found = projects::Entity::find_by_id(id)
            .filter(projects::Column::TenantId.eq(user.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("project"))?;
        let current_name = found.name.clone();
        let mut row = found.into_active_model();
        if let Some(name) = &name {
            row.name = Set(name.clone());
        }
        if let Some(v) = description {
            row.description = Set(v);
        }
        if let Some(v) = ticket {
            row.psa_ticket_id = Set(v);
        }
        if let Some(v) = psa_project {
            row.psa_project_id = Set(v);
        }
        if let Some(v) = account {
            row.storage_account = Set(v);
        }
        if let Some(v) = container {
            row.storage_container = Set(v);
        }
        if let Some(v) = client {
            row.client_id = Set(v);
        }
        row.updated_at = Set(Utc::now());
        row.update(&self.db)
            .await
            .map_err(|e| name_taken(e, name.as_deref().unwrap_or(&current_name)))
    }

    /// The client `id`, if it is the tenant's.
    async fn client(&self, tenant: Uuid, id: Option<Uuid>) -> ApiResult<Option<Uuid>> {
        let Some(id) = id else { return Ok(None) };
        clients::Entity::find_by_id(id)
            .filter(clients::Column::TenantId.eq(tenant))
            .one(&self.db)
            .await?
            .map(|c| Some(c.id))
            .ok_or_else(|| ApiError::not_found("client"))
    }
}

fn name_taken(error: DbErr, name: &str) -> ApiError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::new(
            Code::Conflict,
            format!("a project named {name:?} already exists"),
        ),
        _ => error.into(),
    }
}
