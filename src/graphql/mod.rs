//! Schema assembly, relay helpers, error codes, limits and the request-scoped helpers resolvers use.

pub mod directives;
pub mod documents;
pub mod errors;
pub mod hygiene;
pub mod limits;

pub mod node;
pub mod order;
pub mod persisted;
pub mod relay;
pub mod response_order;
pub mod scalars;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema};

use crate::auth::Principal;
use crate::code::actions::CodeActionsMutation;
use crate::code::ai::graphql::{AiMutation, AiQuery};
use crate::code::backup_runners_graphql::{BackupRunnerMutation, BackupRunnerQuery};
use crate::code::cmdb::graphql::SyncMutation;
use crate::code::graphql::{BackupQuery, CodeMutation, CodeQuery};
use crate::code::profile_graphql::ProfileMutation;
use crate::code::providers::graphql::ProviderMutation;
use crate::code::scans::graphql::ScanMutation;
use crate::config::GraphqlLimits;
use crate::integrations::graphql::IntegrationsQuery;
use crate::integrations::probe::ProbeMutation;
use crate::migrate::graphql::MigrateQuery;
use crate::migrate::mutations::MigrateMutation;
use crate::migrate::notifications::graphql::{NotificationsMutation, NotificationsQuery};
use crate::migrate::subscriptions::MigrateSubscription;
use crate::services::Services;
use crate::tenancy::clients_graphql::{ClientsMutation, ClientsQuery};
use crate::tenancy::graphql::{TenancyMutation, TenancyQuery};
use node::NodeQuery;

/// Every root query field, merged from the domains.
#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    TenancyQuery,
    ClientsQuery,
    CodeQuery,
    BackupQuery,
    BackupRunnerQuery,
    AiQuery,
    MigrateQuery,
    IntegrationsQuery,
    NotificationsQuery,
);

/// Every root mutation field, merged from the domains.
#[derive(MergedObject, Default)]
pub struct Mutation(
    TenancyMutation,
    ClientsMutation,
    CodeMutation,
    ProfileMutation,
    BackupRunnerMutation,
    AiMutation,
    ScanMutation,
    ProviderMutation,
    CodeActionsMutation,
    SyncMutation,
    ProbeMutation,
    MigrateMutation,
    NotificationsMutation,
);

/// Every root subscription field (served over `graphql-transport-ws` at `/graphql/ws`).
#[derive(MergedSubscription, Default)]
pub struct Subscription(MigrateSubscription);

pub type GatewaySchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with the configured limits. Each domain service is the schema's data, so a
/// resolver reaches its own service (`service::<CodeService>(ctx)`), not the whole process; the
/// principal is added per request.
pub fn build_schema(limits: &GraphqlLimits, services: &Services) -> GatewaySchema {
    let s = services;
    let mut builder = schema_builder()
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64)
        .extension(limits::Limits(limits.clone()))
        .data(s.tenancy.clone())
        .data(s.clients.clone())
        .data(s.code.clone())
        .data(s.backups.clone())
        .data(s.backup_runners.clone())
        .data(s.ai.clone())
        .data(s.scans.clone())
        .data(s.providers.clone())
        .data(s.migrate.clone())
        .data(s.projects.clone())
        .data(s.agents.clone())
        .data(s.jobs.clone())
        .data(s.credentials.clone())
        .data(s.notifications.clone())
        .data(s.integrations.clone())
        .data(s.upstream.clone())
        .data(s.psa.clone())
        .data(s.crm.clone())
        .data(s.cmdb.clone())
        .data(s.live.clone());
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

fn schema_builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// The SDL of the schema, as checked in at `schema/schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// A domain service, registered as schema data by `build_schema`.
pub fn service<'a, T: std::any::Any + Send + Sync>(ctx: &Context<'a>) -> &'a T {
    ctx.data_unchecked::<T>()
}

/// The field's key in the response: its alias, or its name.
pub fn response_key<'a>(ctx: &Context<'a>) -> &'a str {
    ctx.item.node.response_key().node.as_str()
}

/// Who is asking, added to every request.
pub fn principal<'a>(ctx: &Context<'a>) -> &'a Principal {
    ctx.data_unchecked::<Principal>()
}

/// An optional field of an update: left out keeps it (`None`), `null` clears it (`Some(None)`).
pub fn change<T>(value: async_graphql::MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        async_graphql::MaybeUndefined::Undefined => None,
        async_graphql::MaybeUndefined::Null => Some(None),
        async_graphql::MaybeUndefined::Value(v) => Some(Some(v)),
    }
}
