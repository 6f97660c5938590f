//! Clients over GraphQL: the `Client` object, `clients`, and the mutations that manage them and
//! link organizations and repositories to them (thin: the rules are in `clients.rs`).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::clients;

use super::clients::{ClientChanges, ClientFilter, ClientService, NewClient};
use crate::code::types::{Organization, Repository};
use crate::graphql::relay::{connection, global_id};
use crate::graphql::{change, principal, service};
use crate::kernel::batch::Siblings;
use crate::kernel::paging::{expect_id, window};

/// An end customer of the tenant, the one PSA tickets, CRM opportunities and CMDB assets are for.
pub struct Client(pub clients::Model);

/// An end customer of the tenant, the one PSA tickets, CRM opportunities and CMDB assets are for.
#[Object]
impl Client {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("Client", self.0.id)
    }
    /// Name, unique in the tenant (whatever its case).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The client's id in the PSA (sent with tickets and projects).
    async fn psa_client_id(&self) -> Option<&str> {
        self.0.psa_client_id.as_deref()
    }
    /// The client's account id in the CRM (sent with opportunities).
    async fn crm_account_id(&self) -> Option<&str> {
        self.0.crm_account_id.as_deref()
    }
    /// Archived clients keep their links but take no new ones.
    async fn archived(&self) -> bool {
        self.0.archived_at.is_some()
    }
    /// When the client was archived.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// When the client was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

connection!(ClientConnection, ClientEdge, Client, "A page of clients.");

/// Which clients to list.
#[derive(InputObject, Default)]
pub struct ClientListFilter {
    /// Only clients whose name contains this text (case-insensitive).
    pub name_contains: Option<String>,
    /// Archived clients too (left out by default).
    #[graphql(default)]
    pub include_archived: bool,
}

#[derive(Default)]
pub struct ClientsQuery;

#[Object]
impl ClientsQuery {
    /// The tenant's clients, in creation order.
    #[graphql(complexity = "first.or(last).unwrap_or(1).max(1) as usize * child_complexity")]
    async fn clients(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ClientListFilter>,
    ) -> Result<ClientConnection> {
        let user = principal(ctx).user()?;
        let filter = filter.unwrap_or_default();
        let listed = service::<ClientService>(ctx)
            .list(
                user.tenant_id,
                ClientFilter {
                    name_contains: filter.name_contains,
                    include_archived: filter.include_archived,
                },
                window(first, after, last, before)?,
            )
            .await?;
        Ok(ClientConnection::build(listed, |row, _| Client(row)))
    }
}

/// Input of `createClient`.
#[derive(InputObject)]
pub struct CreateClientInput {
    /// Name, unique in the tenant (1–200 characters).
    pub name: String,
    /// The client's id in the PSA (at most 100 characters).
    pub psa_client_id: Option<String>,
    /// The client's account id in the CRM (at most 100 characters).
    pub crm_account_id: Option<String>,
}

/// Input of `updateClient`: fields left out stay as they are; `null` clears a reference.
#[derive(InputObject)]
pub struct UpdateClientInput {
    /// The client to change.
    pub client_id: ID,
    /// New name, unique in the tenant.
    pub name: Option<String>,
    /// New PSA client id.
    pub psa_client_id: MaybeUndefined<String>,
    /// New CRM account id.
    pub crm_account_id: MaybeUndefined<String>,
}

/// Input of `setOrganizationClient`.
#[derive(InputObject)]
pub struct SetOrganizationClientInput {
    /// The organization.
    pub organization_id: ID,
    /// Its client; `null` unlinks it.
    pub client_id: Option<ID>,
}

/// Input of `setRepositoryClient`.
#[derive(InputObject)]
pub struct SetRepositoryClientInput {
    /// The repository.
    pub repository_id: ID,
    /// Its own client; `null` makes it follow its organization's again.
    pub client_id: Option<ID>,
}

/// A client after a change.
#[derive(SimpleObject)]
pub struct ClientPayload {
    /// The client.
    pub client: Client,
}

/// An organization after its client changed.
#[derive(SimpleObject)]
pub struct SetOrganizationClientPayload {
    /// The organization.
    pub organization: Organization,
}

/// A repository after its client changed.
#[derive(SimpleObject)]
pub struct SetRepositoryClientPayload {
    /// The repository.
    pub repository: Repository,
}

fn client_id(id: Option<&ID>) -> Result<Option<uuid::Uuid>> {
    Ok(id.map(|id| expect_id(id, "Client")).transpose()?)
}

#[derive(Default)]
pub struct ClientsMutation;

/// Clients are managed by tenant admins.
#[Object]
impl ClientsMutation {
    /// Creates a client.
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        input: CreateClientInput,
    ) -> Result<ClientPayload> {
        let user = principal(ctx).user()?;
        let new = NewClient {
            name: input.name,
            psa_client_id: input.psa_client_id,
            crm_account_id: input.crm_account_id,
        };
        let row = service::<ClientService>(ctx).create(user, new).await?;
        Ok(ClientPayload {
            client: Client(row),
        })
    }

    /// Renames a client or changes its PSA / CRM references.
    async fn update_client(
        &self,
        ctx: &Context<'_>,
        input: UpdateClientInput,
    ) -> Result<ClientPayload> {
        let user = principal(ctx).user()?;
        let changes = ClientChanges {
            client: expect_id(&input.client_id, "Client")?,
            name: input.name,
            psa_client_id: change(input.psa_client_id),
            crm_account_id: change(input.crm_account_id),
        };
        let row = service::<ClientService>(ctx).update(user, changes).await?;
        Ok(ClientPayload {
            client: Client(row),
        })
    }

    /// Archives a client: it keeps its links and leaves the default list.
    async fn archive_client(&self, ctx: &Context<'_>, client_id: ID) -> Result<ClientPayload> {
        let user = principal(ctx).user()?;
        let id = expect_id(&client_id, "Client")?;
        let row = service::<ClientService>(ctx)
            .set_archived(user, id, true)
            .await?;
        Ok(ClientPayload {
            client: Client(row),
        })
    }

    /// Restores an archived client.
    async fn restore_client(&self, ctx: &Context<'_>, client_id: ID) -> Result<ClientPayload> {
        let user = principal(ctx).user()?;
        let id = expect_id(&client_id, "Client")?;
        let row = service::<ClientService>(ctx)
            .set_archived(user, id, false)
            .await?;
        Ok(ClientPayload {
            client: Client(row),
        })
    }

    /// Links an organization to a client (its repositories follow unless they have their own).
    async fn set_organization_client(
        &self,
        ctx: &Context<'_>,
        input: SetOrganizationClientInput,
    ) -> Result<SetOrganizationClientPayload> {
        let user = principal(ctx).user()?;
        let org = expect_id(&input.organization_id, "Organization")?;
        let client = client_id(input.client_id.as_ref())?;
        let row = service::<ClientService>(ctx)
            .link_organization(user, org, client)
            .await?;
        Ok(SetOrganizationClientPayload {
            organization: Organization {
                siblings: Siblings::single(row.id),
                row,
            },
        })
    }

    /// Sets a repository's own client, or makes it follow its organization's (`null`).
    async fn set_repository_client(
        &self,
        ctx: &Context<'_>,
        input: SetRepositoryClientInput,
    ) -> Result<SetRepositoryClientPayload> {
        let user = principal(ctx).user()?;
        let repo = expect_id(&input.repository_id, "Repository")?;
        let client = client_id(input.client_id.as_ref())?;
        let row = service::<ClientService>(ctx)
            .link_repository(user, repo, client)
            .await?;
        Ok(SetRepositoryClientPayload {
            repository: Repository {
                siblings: Siblings::single(row.id),
                row,
            },
        })
    }
}
