//! Clients: a tenant's end customers, managed by its admins and read by everyone of the tenant.
//! An organization may belong to a client; a repository belongs to its own client if one is set
//! on it, else to its organization's. PSA tickets, CRM opportunities and CMDB assets carry that
//! client. An archived client keeps its links (it stays the customer of record) but takes no
//! new ones. Names are unique in a tenant, whatever their case.

use std::collections::HashMap;

use chrono::Utc;
use entities::{clients, organizations, repositories};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, JoinType, QueryFilter, QuerySelect, RelationTrait, SqlErr,
};
use uuid::Uuid;

use crate::auth::{Access, User};
use crate::kernel::batch::Siblings;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::lists::{list_page, name_contains};
use crate::kernel::paging::{Listed, Window};
use crate::kernel::text::{optional, required};

const NAME_MAX: usize = 200;
const REFERENCE_MAX: usize = 100;

/// A client to create.
pub struct NewClient {
    pub name: String,
    pub psa_client_id: Option<String>,
    pub crm_account_id: Option<String>,
}

/// Changes to a client: `None` keeps a field, `Some(None)` clears an optional one.
pub struct ClientChanges {
    pub client: Uuid,
    pub name: Option<String>,
    pub psa_client_id: Option<Option<String>>,
    pub crm_account_id: Option<Option<String>>,
}

/// Which clients a list shows.
#[derive(Default)]
pub struct ClientFilter {
    pub name_contains: Option<String>,
    /// Archived clients too (they are left out by default).
    pub include_archived: bool,
}

#[derive(Clone)]
pub struct ClientService {
    db: DatabaseConnection,
}

fn manager(user: &User) -> ApiResult<&User> {
    user.may(None, Access::Administer, "manage clients")
}

impl ClientService {
    pub fn new(db: DatabaseConnection) -> Self {
        ClientService { db }
    }

    pub async fn list(
        &self,
        tenant: Uuid,
        filter: ClientFilter,
        window: Window,
    ) -> ApiResult<Listed<clients::Model>> {
        let mut select = clients::Entity::find().filter(clients::Column::TenantId.eq(tenant));
        if !filter.include_archived {
            select = select.filter(clients::Column::ArchivedAt.is_null());
        }
        if let Some(text) = filter
            .name_contains
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            select = select.filter(name_contains(clients::Column::Name, text)?);
        }
        list_page(&self.db, select, clients::Column::Id, window).await
    }

    /// The tenant's client `id` (archived or not).
    pub async fn find(&self, tenant: Uuid, id: Uuid) -> ApiResult<Option<clients::Model>> {
        Ok(clients::Entity::find_by_id(id)
            .filter(clients::Column::TenantId.eq(tenant))
            .one(&self.db)
            .await?)
    }

    /// The tenant's client `id`, or `NOT_FOUND` (another tenant's is as missing).
    pub async fn get(&self, tenant: Uuid, id: Uuid) -> ApiResult<clients::Model> {
        self.find(tenant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("client"))
    }

    pub async fn create(&self, user: &User, input: NewClient) -> ApiResult<clients::Model> {
        manager(user)?;
        let name = required("name", &input.name, NAME_MAX)?;
        let now = Utc::now();
        let row = clients::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(user.tenant_id),
            name: Set(name.clone()),
            psa_client_id: Set(optional(
                "psaClientId",
                input.psa_client_id.as_deref(),
                REFERENCE_MAX,
            )?),
            crm_account_id: Set(optional(
                "crmAccountId",
                input.crm_account_id.as_deref(),
                REFERENCE_MAX,
            )?),
            archived_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        clients::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await
            .map_err(|e| name_taken(e, &name))
    }

    /// Renames a client or changes its PSA / CRM references.
    pub async fn update(&self, user: &User, input: ClientChanges) -> ApiResult<clients::Model> {
        manager(user)?;
        let name = input
            .name
            .as_deref()
            .map(|n| required("name", n, NAME_MAX))
            .transpose()?;
        let reference = |field: &str, value: Option<Option<String>>| match value {
            None => Ok(None),
            Some(v) => optional(field, v.as_deref(), REFERENCE_MAX).map(Some),
        };
        let psa = reference("psaClientId", input.psa_client_id)?;
        let crm = reference("crmAccountId", input.crm_account_id)?;
        let found = self.get(user.tenant_id, input.client).await?;
        let current = found.name.clone();
        let mut row = found.into_active_model();
        if let Some(name) = &name {
            row.name = Set(name.clone());
        }
        if let Some(v) = psa {
            row.psa_client_id = Set(v);
        }
        if let Some(v) = crm {
            row.crm_account_id = Set(v);
        }
        row.updated_at = Set(Utc::now());
        row.update(&self.db)
            .await
            .map_err(|e| name_taken(e, name.as_deref().unwrap_or(&current)))
    }

    /// Archives (or restores) a client; archiving twice changes nothing.
    pub async fn set_archived(
        &self,
        user: &User,
        id: Uuid,
        archived: bool,
    ) -> ApiResult<clients::Model> {
        manager(user)?;
        let found = self.get(user.tenant_id, id).await?;
        if found.archived_at.is_some() == archived {
            return Ok(found);
        }
        let mut row = found.into_active_model();
        let now = Utc::now();
        row.archived_at = Set(archived.then_some(now));
        row.updated_at = Set(now);
        Ok(row.update(&self.db).await?)
    }

    /// Links an organization to a client, or unlinks it (`None`).
    pub async fn link_organization(
        &self,
        user: &User,
        organization: Uuid,
        client: Option<Uuid>,
    ) -> ApiResult<organizations::Model> {
        manager(user)?;
        let client = self.linkable(user.tenant_id, client).await?;
        let org = organizations::Entity::find_by_id(organization)
            .filter(organizations::Column::TenantId.eq(user.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        let mut row = org.into_active_model();
        row.client_id = Set(client);
        row.updated_at = Set(Utc::now());
        Ok(row.update(&self.db).await?)
    }

    /// Sets a repository's own client, or clears it (`None`: it follows its organization's).
    pub async fn link_repository(
        &self,
        user: &User,
        repository: Uuid,
        client: Option<Uuid>,
    ) -> ApiResult<repositories::Model> {
        manager(user)?;
        let client = self.linkable(user.tenant_id, client).await?;
        let repo = repositories::Entity::find_by_id(repository)
            .filter(repositories::Column::TenantId.eq(user.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("repository"))?;
        let mut row = repo.into_active_model();
        row.client_id = Set(client);
        row.updated_at = Set(Utc::now());
        Ok(row.update(&self.db).await?)
    }

    /// A client a link may point at: the tenant's, not archived.
    async fn linkable(&self, tenant: Uuid, client: Option<Uuid>) -> ApiResult<Option<Uuid>> {
        let Some(id) = client else { return Ok(None) };
        let client = self.get(tenant, id).await?;
        if client.archived_at.is_some() {
            return Err(ApiError::new(
                Code::Conflict,
                format!(
                    "the client {:?} is archived: restore it before linking to it",
                    client.name
                ),
            ));
        }
        Ok(Some(client.id))
    }

    /// The client of each sibling organization, loaded once for the page.
    pub async fn of_organization(
        &self,
        tenant: Uuid,
        siblings: &Siblings,
        organization: &organizations::Model,
    ) -> ApiResult<Option<clients::Model>> {
        if organization.client_id.is_none() {
            return Ok(None);
        }
        let by_org = siblings
            .load("client-of-organization".into(), |ids| async move {
                let rows = organizations::Entity::find()
                    .filter(organizations::Column::TenantId.eq(tenant))
                    .filter(organizations::Column::Id.is_in(ids.iter().copied()))
                    .find_also_related(clients::Entity)
                    .all(&self.db)
                    .await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(org, client)| client.map(|c| (org.id, c)))
                    .collect::<HashMap<Uuid, clients::Model>>())
            })
            .await?;
        Ok(by_org.get(&organization.id).cloned())
    }

    /// The client of each sibling repository (its own, else its organization's), in two
    /// statements for the page whatever its size.
    pub async fn of_repository(
        &self,
        tenant: Uuid,
        siblings: &Siblings,
        repository: Uuid,
    ) -> ApiResult<Option<clients::Model>> {
        let by_repo = siblings
            .load("client-of-repository".into(), |ids| async move {
                let links: Vec<(Uuid, Option<Uuid>, Option<Uuid>)> = repositories::Entity::find()
                    .select_only()
                    .column(repositories::Column::Id)
                    .column(repositories::Column::ClientId)
                    .column_as(organizations::Column::ClientId, "org_client_id")
                    .join(
                        JoinType::InnerJoin,
                        repositories::Relation::Organization.def(),
                    )
                    .filter(repositories::Column::TenantId.eq(tenant))
                    .filter(repositories::Column::Id.is_in(ids.iter().copied()))
                    .into_tuple()
                    .all(&self.db)
                    .await?;
                let effective: Vec<(Uuid, Uuid)> = links
                    .into_iter()
                    .filter_map(|(repo, own, org)| own.or(org).map(|c| (repo, c)))
                    .collect();
                if effective.is_empty() {
                    return Ok(HashMap::new());
                }
                let clients: HashMap<Uuid, clients::Model> = clients::Entity::find()
                    .filter(clients::Column::TenantId.eq(tenant))
                    .filter(clients::Column::Id.is_in(effective.iter().map(|(_, c)| *c)))
                    .all(&self.db)
                    .await?
                    .into_iter()
                    .map(|c| (c.id, c))
                    .collect();
                Ok(effective
                    .into_iter()
                    .filter_map(|(repo, c)| clients.get(&c).map(|c| (repo, c.clone())))
                    .collect::<HashMap<Uuid, clients::Model>>())
            })
            .await?;
        Ok(by_repo.get(&repository).cloned())
    }
}

fn name_taken(error: DbErr, name: &str) -> ApiError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::new(
            Code::Conflict,
            format!("a client named {name:?} already exists"),
        ),
        _ => error.into(),
    }
}
