//! The services of one server process, wired at start-up: the domains' services over one
//! database, queue and upstream client. Transports (HTTP, the queue runner) take them from here.

use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::auth::AuthService;
use crate::code::CodeService;
use crate::code::backups::BackupService;
use crate::code::cmdb::CmdbService;
use crate::code::crm::CrmService;
use crate::code::providers::ProviderService;
use crate::code::psa::PsaService;
use crate::code::scans::ScanService;
use crate::config::Config;
use crate::integrations::IntegrationsService;
use crate::integrations::billing::BillingService;
use crate::kernel::db::{self, StatementCounter};
use crate::live::LiveHub;
use crate::migrate::notifications::NotificationService;
use crate::migrate::{AgentService, CredentialService, JobService, MigrateService, ProjectService};
use crate::secrets::SecretBox;
use crate::telemetry::metrics::Metrics;
use crate::tenancy::{ClientService, TenancyService};
use crate::upstream::client::UpstreamClient;

/// The services and shared resources of one server process.
pub struct Services {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub statements: StatementCounter,
    pub queue: jobs::Queue,
    pub secrets: SecretBox,
    pub auth: AuthService,
    pub tenancy: TenancyService,
    pub clients: ClientService,
    pub code: CodeService,
    pub backups: BackupService,
    /// Backup runners' tokens.
    pub backup_runners: crate::code::backup_runners::BackupRunnerService,
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
    /// Migrate's e-mail notifications through AWS SES.
    pub notifications: NotificationService,
    /// Wakes the Bus deliverer after a commit that wrote events.
    pub bus_wake: Arc<tokio::sync::Notify>,
    /// This server's Prometheus recorder (see `telemetry::metrics`).
    pub metrics: Metrics,
}

impl Services {
    /// Connects to the data and queue databases (applying migrations) and builds the services.
    /// Handlers, sockets and tasks share them through one `Arc` (by value they are ~11 KiB with
    /// dozens of `Arc`s inside; a copy per request showed in the benchmarks).
    pub async fn connect(config: Config) -> anyhow::Result<Arc<Self>> {
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
        Ok(Arc::new(Services {
            secrets: SecretBox::new(&config.encryption_key),
            auth: AuthService::new(db.clone(), config.sso.clone()),
            tenancy: TenancyService::new(db.clone()),
            clients: ClientService::new(db.clone()),
            code: CodeService::new(db.clone()),
            backups: BackupService::new(
                db.clone(),
                bus_wake.clone(),
                std::time::Duration::from_millis(config.integrations.backup_report_timeout_ms),
            ),
            backup_runners: crate::code::backup_runners::BackupRunnerService::new(db.clone()),
            ai: crate::code::ai::AiService::new(
                db.clone(),
                crate::upstream::ai::AiClient::new(upstream.clone()),
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
                config.frontend.url.clone(),
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
                config.integrations.mission_api_url.clone(),
            ),
            credentials: CredentialService::new(
                db.clone(),
                upstream.clone(),
                SecretBox::new(&config.encryption_key),
                config.public_url.clone(),
                config.frontend.url.clone(),
            ),
            integrations: IntegrationsService::new(db.clone(), config.integrations.clone()),
            psa: PsaService::new(db.clone(), upstream.clone(), config.frontend.url.clone()),
            crm: CrmService::new(db.clone(), upstream.clone(), config.frontend.url.clone()),
            cmdb: CmdbService::new(db.clone(), upstream.clone(), queue.clone()),
            billing: BillingService::new(db.clone(), upstream.clone(), queue.clone()),
            notifications: NotificationService::new(
                db.clone(),
                upstream.clone(),
                queue.clone(),
                config.frontend.url.clone(),
            ),
            upstream,
            bus_wake,
            live,
            metrics,
            config: Arc::new(config),
            db,
            statements,
            queue,
        }))
    }
}
