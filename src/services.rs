//! Start-up: connect the database and the queue, build the services and the schema, bind, serve.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::auth::AuthService;
use crate::code::CodeService;
use crate::code::backups::BackupService;
use crate::code::providers::ProviderService;
use crate::code::scans::ScanService;
use crate::config::Config;
use crate::graphql::{GatewaySchema, build_schema};
use crate::integrations::IntegrationsService;
use crate::integrations::billing::BillingService;
use crate::integrations::client::UpstreamClient;
use crate::integrations::cmdb::CmdbService;
use crate::integrations::crm::CrmService;
use crate::integrations::psa::PsaService;
use crate::kernel::db::{self, StatementCounter};
use crate::live::LiveHub;
use crate::migrate::notifications::NotificationService;
use crate::migrate::{AgentService, CredentialService, JobService, MigrateService, ProjectService};
use crate::secrets::SecretBox;
use crate::telemetry::metrics::Metrics;
use crate::tenancy::TenancyService;

/// Everything a request handler or a task may need: one shared `Services` behind an `Arc`.
/// Handlers, sockets and tasks each take a clone, so a clone is one reference count (the
/// services by value are ~11 KiB with dozens of `Arc`s inside; a copy per request or per open
/// socket showed in the benchmarks).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services and shared resources of one server process.
pub struct Services {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub statements: StatementCounter,
    pub queue: jobs::Queue,
    pub schema: GatewaySchema,
    pub secrets: SecretBox,
    pub auth: AuthService,
    pub tenancy: TenancyService,
    pub code: CodeService,
    pub backups: BackupService,
    /// The AI Platform features (documentation and analyses), run as queue tasks.
    pub ai: crate::code::ai::AiService,
    /// Scanner uploads (SARIF, CycloneDX) into findings.
    pub scans: ScanService,
    /// Connect Organization: provider connections, discovery, access audit.
    pub providers: ProviderService,
    pub migrate: MigrateService,
    /// Migrate's write side: projects, agents (keys, heartbeats), jobs (reports, commands).
    pub projects: ProjectService,
    pub agents: AgentService,
    pub jobs: JobService,
    /// Projects' Azure Storage connections and the agents' upload SAS tokens.
    pub credentials: CredentialService,
    pub integrations: IntegrationsService,
    pub upstream: UpstreamClient,
    pub psa: PsaService,
    pub crm: CrmService,
    pub cmdb: CmdbService,
    pub billing: BillingService,
    /// Live updates for subscriptions (fanned out across replicas on PostgreSQL).
    pub live: LiveHub,
    /// Documents known by hash: automatic persisted queries and the production allow-list.
    pub persisted: crate::graphql::persisted::PersistedOperations,
    /// Parsed documents by their text, so a repeated operation is not parsed again.
    pub documents: crate::graphql::documents::DocumentCache,
    /// Identical subscriptions share one execution (see `http::ws::shared`).
    pub live_executions: crate::http::ws::shared::SharedExecutions,
    /// Migrate's e-mail notifications through AWS SES.
    pub notifications: NotificationService,
    /// Wakes the Bus deliverer after a commit that wrote events.
    pub bus_wake: Arc<tokio::sync::Notify>,
    /// This server's Prometheus recorder (see `telemetry::metrics`).
    pub metrics: Metrics,
    /// Permits for queries executing at once over HTTP (`GRAPHQL_MAX_CONCURRENT`).
    pub executions: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// Connects to the data and queue databases (applying migrations) and builds the services.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("creating the data directory {}", config.data_dir.display())
            })?;
        }
        let (db, statements) = db::connect(&config.data_url(), config.acquire_timeout()).await?;
        let queue = jobs::Queue::connect(&config.queue_url(), config.acquire_timeout()).await?;
        let metrics = Metrics::new();
        let upstream = UpstreamClient::new(db.clone(), config.integrations.clone())
            .with_metrics(metrics.clone());
        let bus_wake = Arc::new(tokio::sync::Notify::new());
        let live = LiveHub::new(db.clone());
        Ok(AppState(Arc::new(Services {
            schema: build_schema(&config.graphql),
            secrets: SecretBox::new(&config.encryption_key),
            auth: AuthService::new(db.clone(), config.sso.clone()),
            tenancy: TenancyService::new(db.clone()),
            code: CodeService::new(db.clone()),
            backups: BackupService::new(db.clone(), bus_wake.clone()),
            ai: crate::code::ai::AiService::new(
                db.clone(),
                crate::integrations::ai::AiClient::new(upstream.clone()),
                queue.clone(),
                bus_wake.clone(),
            ),
            scans: ScanService::new(db.clone(), bus_wake.clone(), config.scan_max_bytes),
            providers: ProviderService::new(
                db.clone(),
                upstream.clone(),
                SecretBox::new(&config.encryption_key),
                bus_wake.clone(),
                config.public_url.clone(),
                queue.clone(),
            ),
            migrate: MigrateService::new(db.clone()),
            projects: ProjectService::new(db.clone()),
            agents: AgentService::new(db.clone(), bus_wake.clone(), live.clone()),
            jobs: JobService::new(
                db.clone(),
                SecretBox::new(&config.encryption_key),
                bus_wake.clone(),
                live.clone(),
                queue.clone(),
            ),
            credentials: CredentialService::new(
                db.clone(),
                upstream.clone(),
                SecretBox::new(&config.encryption_key),
                config.public_url.clone(),
            ),
            integrations: IntegrationsService::new(db.clone(), config.integrations.clone()),
            psa: PsaService::new(db.clone(), upstream.clone(), config.public_url.clone()),
            crm: CrmService::new(db.clone(), upstream.clone(), config.public_url.clone()),
            cmdb: CmdbService::new(db.clone(), upstream.clone(), queue.clone()),
            billing: BillingService::new(db.clone(), upstream.clone(), queue.clone()),
            notifications: NotificationService::new(
                db.clone(),
                upstream.clone(),
                queue.clone(),
                config.public_url.clone(),
            ),
            upstream,
            bus_wake,
            live,
            live_executions: Default::default(),
            documents: Default::default(),
            persisted: crate::graphql::persisted::PersistedOperations::new(
                db.clone(),
                config.persisted_operations,
            ),
            metrics,
            executions: Arc::new(tokio::sync::Semaphore::new(config.graphql.max_concurrent)),
            config: Arc::new(config),
            db,
            statements,
            queue,
        })))
    }
}

/// A bound server, ready to run.
pub struct Server {
    pub state: AppState,
    listener: TcpListener,
}

impl Server {
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        let addr = config.bind_addr;
        let state = AppState::connect(config).await?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr} (BIND_ADDR)"))?;
        Ok(Server { state, listener })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves HTTP and runs the queue until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let metrics = self.state.metrics.clone();
        let runner = jobs::Runner::new(self.state.queue.clone())
            .schedules(self.state.config.schedules.clone())
            .observe(Arc::new(move |run: &jobs::TaskOutcome| {
                metrics.task_run(run.task, run.ok, run.elapsed)
            }));
        let runner = crate::tasks::register(runner, &self.state)?;
        let mut queue_stop = stop_rx.clone();
        let queue = tokio::spawn(runner.run(async move {
            let _ = queue_stop.wait_for(|stop| *stop).await;
        }));
        let deliverer = tokio::spawn(crate::integrations::bus::deliver::run(
            self.state.db.clone(),
            self.state.upstream.clone(),
            self.state.bus_wake.clone(),
            stop_rx.clone(),
        ));
        let live_listener = self.state.live.start();
        let upkeep = tokio::spawn(crate::telemetry::metrics::upkeep(
            self.state.metrics.clone(),
            stop_rx.clone(),
        ));
        let app = crate::http::router(self.state.clone());
        let mut http_stop = stop_rx.clone();
        let served = crate::http::serve::serve(
            self.listener,
            app,
            self.state.config.connections.clone(),
            async move {
                let _ = http_stop.wait_for(|stop| *stop).await;
            },
        );
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        served.await;
        if let Some(listener) = live_listener {
            listener.abort();
        }
        let _ = deliverer.await;
        let _ = upkeep.await;
        if let Ok(Err(error)) = queue.await {
            tracing::warn!(%error, "queue stopped with an error");
        }
        Ok(())
    }
}
