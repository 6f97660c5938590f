//! What every HTTP handler and WebSocket connection shares: the services, the schema, and the
//! transport's own caches and limits.

use std::sync::Arc;

use crate::graphql::GatewaySchema;
use crate::graphql::documents::DocumentCache;
use crate::graphql::persisted::PersistedOperations;
use crate::http::ws::shared::SharedExecutions;
use crate::services::Services;

/// One `Arc`, so a clone per request or per open socket is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<HttpState>);

impl std::ops::Deref for AppState {
    type Target = HttpState;

    fn deref(&self) -> &HttpState {
        &self.0
    }
}

pub struct HttpState {
    pub services: Arc<Services>,
    /// The schema, with the services as its data (see `graphql::build_schema`).
    pub schema: GatewaySchema,
    /// Documents known by hash: automatic persisted queries and the production allow-list.
    pub persisted: PersistedOperations,
    /// Parsed documents by their text, so a repeated operation is not parsed again.
    pub documents: DocumentCache,
    /// Identical subscriptions share one execution (see `http::ws::shared`).
    pub live_executions: SharedExecutions,
    /// Permits for queries executing at once over HTTP (`GRAPHQL_MAX_CONCURRENT`).
    pub executions: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(services: Arc<Services>) -> Self {
        let config = &services.config;
        AppState(Arc::new(HttpState {
            schema: crate::graphql::build_schema(&config.graphql, &services),
            persisted: PersistedOperations::new(services.db.clone(), config.persisted_operations),
            documents: Default::default(),
            live_executions: Default::default(),
            executions: Arc::new(tokio::sync::Semaphore::new(config.graphql.max_concurrent)),
            services,
        }))
    }
}
