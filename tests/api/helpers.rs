//! `spawn_app()`: a real server on a random port, on SQLite (a temp dir) or on PostgreSQL (a fresh
//! database per test, dropped afterwards).

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::Utc;
use entities::enums::{FindingKind, FindingStatus, Lifecycle, OrgStatus, Provider, Severity};
use entities::{findings, organizations, repositories, tenants};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use stack_gateway::auth::claims::{MintRequest, mint};
use stack_gateway::config::{Config, GraphqlLimits, IntegrationsConfig, SsoConfig};
use stack_gateway::server::Server;
use stack_gateway::services::Services;
use uuid::Uuid;

pub const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub services: std::sync::Arc<Services>,
    pub state: stack_gateway::http::state::AppState,
    pub client: reqwest::Client,
    pub sso: SsoConfig,
    _dir: tempfile::TempDir,
    pg_database: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

pub fn admin_pg_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn pg_url_for(db: &str) -> String {
    let admin = admin_pg_url();
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin);
    format!("{base}/{db}")
}

pub async fn create_pg_database() -> String {
    use sea_orm::{ConnectionTrait, Database};
    let name = format!("gw_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(admin_pg_url())
        .await
        .expect("PostgreSQL must be running for the tests");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.ok();
    name
}

pub fn test_config(dir: PathBuf, database_url: Option<String>) -> Config {
    Config {
        database_url,
        // The suites run dozens of servers on two shared cores, where opening a PostgreSQL
        // connection can take seconds; tests/api/outages.rs sets its own short wait.
        database_acquire_timeout_ms: 10_000,
        data_dir: dir,
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        public_url: "http://gateway.test".into(),
        frontend: stack_gateway::config::Frontend::same_as("http://gateway.test"),
        production: false,
        sso: SsoConfig {
            secret: SECRET.as_bytes().to_vec(),
            issuer: "the-one-hub".into(),
            audience: "stack-gateway".into(),
        },
        encryption_key: [42u8; 32],
        graphql: GraphqlLimits::default(),
        subscriptions: Default::default(),
        connections: Default::default(),
        persisted_operations: stack_gateway::graphql::persisted::Mode::Automatic,
        integrations: IntegrationsConfig::default(),
        schedules: Default::default(),
        scan_max_bytes: stack_gateway::config::DEFAULT_SCAN_MAX_BYTES,
        notices: vec![],
    }
}

/// Switches every timer off, for tests that count statements: a timer firing while one measures
/// (the minute-ly `agent-offline-detection`, say) adds its own.
pub fn timers_off(config: &mut Config) {
    for (name, _) in jobs::Schedules::TABLE {
        config.schedules.insert((*name).to_string(), "off".into());
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let pg_database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(create_pg_database().await),
    };
    let url = pg_database.as_deref().map(pg_url_for);
    start(dir, url, pg_database, adjust).await
}

/// A second server (a replica) on `first`'s PostgreSQL database: `first` keeps owning it (and
/// drops it), so keep `first` alive at least as long as the replica.
pub async fn spawn_replica(first: &TestApp, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let url = first.services.config.database_url.clone();
    assert!(url.is_some(), "replicas share a PostgreSQL database");
    start(tempfile::tempdir().unwrap(), url, None, adjust).await
}

async fn start(
    dir: tempfile::TempDir,
    database_url: Option<String>,
    pg_database: Option<String>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = test_config(dir.path().to_path_buf(), database_url);
    adjust(&mut config);
    let sso = config.sso.clone();
    let server = Server::bind(config).await.expect("server starts");
    let addr = server.local_addr();
    let services = server.services.clone();
    let state = server.state.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        addr,
        services,
        state,
        client,
        sso,
        _dir: dir,
        pg_database,
        stop: Some(stop),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(name) = self.pg_database.take() {
            // Dropped on a thread of its own: Drop cannot await.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    use sea_orm::{ConnectionTrait, Database};
                    if let Ok(admin) = Database::connect(admin_pg_url()).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// Who a minted token speaks for.
pub struct Who<'a> {
    pub tenant: &'a str,
    pub sub: &'a str,
    pub roles: &'a [&'a str],
    pub products: &'a [&'a str],
}

impl Who<'_> {
    pub const ADMIN_A: Who<'static> = Who {
        tenant: "tenant-a",
        sub: "alice",
        roles: &["admin"],
        products: &["code", "migrate"],
    };
    pub const ADMIN_B: Who<'static> = Who {
        tenant: "tenant-b",
        sub: "bob",
        roles: &["admin"],
        products: &["code", "migrate"],
    };
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn token(&self, who: &Who) -> String {
        mint(
            &self.sso,
            &MintRequest {
                sub: who.sub.into(),
                email: format!("{}@example.com", who.sub),
                name: who.sub.to_uppercase(),
                tenant_id: who.tenant.into(),
                tenant_name: format!("Tenant {}", who.tenant),
                roles: who.roles.iter().map(|r| r.to_string()).collect(),
                products: who.products.iter().map(|p| p.to_string()).collect(),
                ttl_seconds: 300,
                session_seconds: 3600,
            },
        )
    }

    /// POSTs a GraphQL operation with a Bearer token; returns the status and the JSON body.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .bearer_auth(token)
            // What a current client sends; `*/*` or no Accept is answered as legacy JSON.
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Waits until background work (start-up timer catch-ups) has stopped running statements, so
    /// a statement count measures only the requests.
    pub async fn settle(&self) {
        let mut last = self.statements();
        let mut quiet = 0;
        while quiet < 3 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now = self.statements();
            quiet = if now == last { quiet + 1 } else { 0 };
            last = now;
        }
    }

    pub fn statements(&self) -> u64 {
        self.services.statements.get()
    }

    /// Creates the tenant Hub calls `hub_id` (as the first sign-in would) and returns its id.
    pub async fn tenant(&self, hub_id: &str) -> Uuid {
        let token = self.token(&Who {
            tenant: hub_id,
            sub: "seed",
            roles: &["viewer"],
            products: &["code"],
        });
        let (status, _) = self.gql(&token, "{ viewer { id } }", json!({})).await;
        assert_eq!(status, 200);
        let found = tenants::Entity::find()
            .all(&self.services.db)
            .await
            .unwrap();
        found
            .into_iter()
            .find(|t| t.hub_tenant_id == hub_id)
            .unwrap()
            .id
    }

    /// Seeds `orgs` organizations × `repos` repositories × `findings` findings for a tenant;
    /// names carry `label` so look-alike data of two tenants can be told apart.
    pub async fn seed_code(
        &self,
        tenant: Uuid,
        label: &str,
        orgs: usize,
        repos: usize,
        per_repo: usize,
    ) -> Vec<Uuid> {
        let now = Utc::now();
        let severities = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
        ];
        let mut repo_ids = Vec::new();
        for o in 0..orgs {
            let org_id = Uuid::now_v7();
            organizations::Entity::insert(organizations::ActiveModel {
                id: Set(org_id),
                tenant_id: Set(tenant),
                client_id: Set(None),
                provider: Set([Provider::Github, Provider::Gitlab, Provider::AzureDevops][o % 3]),
                login: Set(format!("{label}-org-{o}")),
                name: Set(format!("{label} org {o}")),
                external_id: Set(None),
                status: Set(OrgStatus::Connected),
                status_error: Set(None),
                status_error_code: Set(None),
                base_permission: Set(None),
                credentials_encrypted: Set(None),
                repo_count: Set(repos as i32),
                connected_at: Set(Some(now)),
                last_discovered_at: Set(None),
                next_retry_at: Set(None),
                discovery_queued_at: Set(None),
                last_discovery: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_without_returning(&self.services.db)
            .await
            .unwrap();
            let mut repo_rows = Vec::new();
            let mut finding_rows = Vec::new();
            for r in 0..repos {
                let repo_id = Uuid::now_v7();
                repo_ids.push(repo_id);
                repo_rows.push(repositories::ActiveModel {
                    id: Set(repo_id),
                    tenant_id: Set(tenant),
                    organization_id: Set(org_id),
                    client_id: Set(None),
                    name: Set(format!("{label}-repo-{o}-{r}")),
                    full_name: Set(format!("{label}-org-{o}/{label}-repo-{o}-{r}")),
                    url: Set(format!(
                        "https://git.example/{label}-org-{o}/{label}-repo-{o}-{r}"
                    )),
                    default_branch: Set(Some("main".into())),
                    visibility: Set(Some("private".into())),
                    archived: Set(false),
                    app_type: Set(Some("web".into())),
                    tech_stack: Set(json!(["rust", "postgresql"])),
                    health_score: Set(Some(80)),
                    debt_score: Set(Some(20)),
                    last_commit_at: Set(Some(now)),
                    commit_frequency: Set(Some(4.5)),
                    hosting_platform: Set(Some("azure".into())),
                    data_classification: Set(Some("internal".into())),
                    lifecycle: Set(if r % 5 == 4 {
                        Lifecycle::Sunset
                    } else {
                        Lifecycle::Active
                    }),
                    app_type_overridden: Set(false),
                    hosting_platform_overridden: Set(false),
                    data_classification_overridden: Set(false),
                    lifecycle_reason: Set(None),
                    lifecycle_changed_at: Set(None),
                    external_id: Set(None),
                    missing_since: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
                for f in 0..per_repo {
                    finding_rows.push(findings::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        tenant_id: Set(tenant),
                        repository_id: Set(repo_id),
                        kind: Set(if f % 2 == 0 {
                            FindingKind::Vulnerability
                        } else {
                            FindingKind::SecretDetected
                        }),
                        access_issue: Set(None),
                        severity: Set(severities[f % 4]),
                        status: Set(FindingStatus::Open),
                        title: Set(format!("{label} finding {o}-{r}-{f}")),
                        description: Set("details".into()),
                        file_path: Set(Some("src/main.rs".into())),
                        line: Set(Some(10)),
                        cve_id: Set(None),
                        package_name: Set(None),
                        package_version: Set(None),
                        secret_type: Set(None),
                        remediation: Set(Some("rotate it".into())),
                        fingerprint: Set(format!("{label}-{o}-{r}-{f}")),
                        tool: Set(Some("gitleaks".into())),
                        scan_source: Set(None),
                        first_seen_at: Set(now),
                        last_seen_at: Set(now),
                        resolved_at: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                    });
                }
            }
            repositories::Entity::insert_many(repo_rows)
                .exec_without_returning(&self.services.db)
                .await
                .unwrap();
            for chunk in finding_rows.chunks(200) {
                findings::Entity::insert_many(chunk.to_vec())
                    .exec_without_returning(&self.services.db)
                    .await
                    .unwrap();
            }
        }
        repo_ids
    }
}

impl TestApp {
    /// Seeds `projects` projects × `jobs` jobs (statuses cycling) with two agents and `events`
    /// events per job; returns the job ids.
    pub async fn seed_migrate(
        &self,
        tenant: Uuid,
        label: &str,
        projects: usize,
        jobs: usize,
        events: usize,
    ) -> Vec<Uuid> {
        use entities::enums::{AgentStatus, JobKind, JobStatus};
        use entities::{agents, job_events, jobs as job_rows, projects as project_rows};
        let now = Utc::now();
        let mut agent_ids = Vec::new();
        for a in 0..2 {
            let id = Uuid::now_v7();
            agent_ids.push(id);
            agents::Entity::insert(agents::ActiveModel {
                id: Set(id),
                tenant_id: Set(tenant),
                name: Set(format!("{label}-agent-{a}")),
                hostname: Set(Some(format!("{label}-host-{a}"))),
                version: Set(Some("1.4.2".into())),
                status: Set(if a == 0 {
                    AgentStatus::Online
                } else {
                    AgentStatus::Offline
                }),
                api_key_hash: Set(format!("{label}-hash-{a}-{}", Uuid::new_v4())),
                api_key_prefix: Set(format!("sgak_{a}")),
                last_heartbeat_at: Set(Some(now)),
                registered_at: Set(now),
                revoked_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_without_returning(&self.services.db)
            .await
            .unwrap();
        }
        let statuses = [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Paused,
            JobStatus::Completed,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ];
        let mut job_ids = Vec::new();
        for p in 0..projects {
            let project_id = Uuid::now_v7();
            project_rows::Entity::insert(project_rows::ActiveModel {
                id: Set(project_id),
                tenant_id: Set(tenant),
                client_id: Set(None),
                name: Set(format!("{label} project {p}")),
                description: Set(None),
                psa_ticket_id: Set(Some(format!("T-{p}"))),
                psa_project_id: Set(None),
                storage_account: Set(Some("acct".into())),
                storage_container: Set(Some(format!("{label}-{p}"))),
                azure_tenant: Set(None),
                refresh_token_encrypted: Set(None),
                credentials_connected_at: Set(None),
                credentials_expires_at: Set(None),
                storage_error: Set(None),
                storage_error_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_without_returning(&self.services.db)
            .await
            .unwrap();
            for j in 0..jobs {
                let job_id = Uuid::now_v7();
                job_ids.push(job_id);
                job_rows::Entity::insert(job_rows::ActiveModel {
                    id: Set(job_id),
                    tenant_id: Set(tenant),
                    project_id: Set(project_id),
                    agent_id: Set(if j % 3 == 2 {
                        None
                    } else {
                        Some(agent_ids[j % 2])
                    }),
                    kind: Set(JobKind::Mailbox),
                    name: Set(format!("{label} job {p}-{j}")),
                    status: Set(statuses[j % statuses.len()]),
                    psa_ticket_id: Set(None),
                    psa_project_id: Set(None),
                    items_total: Set(Some(100)),
                    items_done: Set(10),
                    bytes_total: Set(Some(5_000_000_000)),
                    bytes_done: Set(1_000_000),
                    gb_transferred: Set(0.001),
                    mailbox_count: Set(3),
                    error: Set(None),
                    config: Set(json!({})),
                    secret_encrypted: Set(None),
                    started_at: Set(None),
                    finished_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .exec_without_returning(&self.services.db)
                .await
                .unwrap();
                for e in 0..events {
                    job_events::Entity::insert(job_events::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        tenant_id: Set(tenant),
                        job_id: Set(job_id),
                        kind: Set("progress".into()),
                        message: Set(format!("step {e}")),
                        data: Set(json!({ "step": e })),
                        created_at: Set(now),
                    })
                    .exec_without_returning(&self.services.db)
                    .await
                    .unwrap();
                }
            }
        }
        job_ids
    }
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}

/// `node(id:)` answers `id` as a `type_name` for `owner`, and `NOT_FOUND` (as for a missing id) for
/// `stranger`, a user of another tenant.
pub async fn assert_node_only_for(
    app: &TestApp,
    id: &Value,
    type_name: &str,
    owner: &str,
    stranger: &str,
) {
    let query = "query($id: ID!) { node(id: $id) { __typename id } }";
    let (_, body) = app.gql(owner, query, json!({ "id": id })).await;
    assert_eq!(body["data"]["node"]["__typename"], type_name, "{body}");
    assert_eq!(&body["data"]["node"]["id"], id, "{body}");
    let (_, body) = app.gql(stranger, query, json!({ "id": id })).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert!(body["data"]["node"].is_null(), "{body}");
}

/// Findings as `repository ISSUE SEVERITY STATUS title` lines, sorted (for whole-list asserts).
pub fn finding_lines(list: &[Value]) -> Vec<String> {
    let mut lines: Vec<String> = list
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {}",
                f["repository"]["name"].as_str().unwrap(),
                f["accessIssue"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
                f["title"].as_str().unwrap()
            )
        })
        .collect();
    lines.sort();
    lines
}
