//! Configuration from the environment. Bad configuration stops start-up with a message that names
//! the variable; the embedded default generates development secrets into the data directory.

mod frontend;

pub use frontend::Frontend;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

/// Everything the server reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`; `None` runs on SQLite under `data_dir`.
    pub database_url: Option<String>,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: how long a request waits for a database connection (and,
    /// on SQLite, for the write lock) before answering `DB_UNAVAILABLE`.
    pub database_acquire_timeout_ms: u64,
    pub data_dir: PathBuf,
    pub bind_addr: SocketAddr,
    pub public_url: String,
    /// `FRONTEND_URL` and `CORS_ALLOWED_ORIGINS`.
    pub frontend: Frontend,
    pub production: bool,
    pub sso: SsoConfig,
    pub encryption_key: [u8; 32],
    pub graphql: GraphqlLimits,
    pub subscriptions: SubscriptionLimits,
    /// `HTTP_MAX_CONNECTIONS`, `HTTP_HEADER_TIMEOUT_MS`, `HTTP_IDLE_TIMEOUT_MS`.
    pub connections: crate::http::serve::ConnectionLimits,
    /// `PERSISTED_OPERATIONS`: automatic (default), allowlist or off.
    pub persisted_operations: crate::graphql::persisted::Mode,
    pub integrations: IntegrationsConfig,
    /// Timer schedule overrides by name (a six-field cron expression, or `off`); they win over
    /// `SCHEDULE_<NAME>` and the table in `jobs`. Empty from the environment; tests fill it.
    pub schedules: HashMap<String, String>,
    /// `SCAN_MAX_BYTES`: the largest scanner document accepted (SARIF, CycloneDX).
    pub scan_max_bytes: usize,
    /// Notes for the operator printed at start-up (generated secrets and the like).
    pub notices: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct SsoConfig {
    /// `PORTAL_SSO_SECRET`, the HS256 key Hub signs SSO tokens with (≥ 32 bytes).
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
}

/// Request limits, each enforced by the GraphQL handler.
#[derive(Clone, Debug)]
pub struct GraphqlLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    /// `GRAPHQL_MAX_DIRECTIVES`: directives in one document (`@include`, `@skip`, …).
    pub max_directives: usize,
    pub max_document_bytes: usize,
    pub max_body_bytes: usize,
    pub timeout_ms: u64,
    /// Queries executing at once (`GRAPHQL_MAX_CONCURRENT`); more wait their turn, within the
    /// timeout. Bounds the memory a burst can take (each holds its rows, its answer tree and its
    /// JSON until the answer is written). Mutations are not counted (they may wait on upstreams).
    pub max_concurrent: usize,
    pub introspection: bool,
}

impl Default for GraphqlLimits {
    fn default() -> Self {
        GraphqlLimits {
            max_depth: 12,
            max_complexity: 20_000,
            max_aliases: 30,
            max_root_fields: 20,
            max_directives: 50,
            max_document_bytes: 32 * 1024,
            max_body_bytes: 256 * 1024,
            timeout_ms: 15_000,
            max_concurrent: 16,
            introspection: true,
        }
    }
}

/// Limits of `/graphql/ws` (graphql-transport-ws).
#[derive(Clone, Debug)]
pub struct SubscriptionLimits {
    /// `WS_INIT_TIMEOUT_MS`: time to send `connection_init` before the socket closes with 4408.
    pub init_timeout_ms: u64,
    /// `WS_MAX_SUBSCRIPTIONS`: subscriptions one connection may hold at once.
    pub max_per_connection: usize,
    /// `WS_ALLOWED_ORIGINS`: browser origins allowed besides `PUBLIC_URL`'s and the server's own
    /// (comma-separated; `*` allows any).
    pub allowed_origins: Vec<String>,
}

impl Default for SubscriptionLimits {
    fn default() -> Self {
        SubscriptionLimits {
            init_timeout_ms: 10_000,
            max_per_connection: 50,
            allowed_origins: Vec::new(),
        }
    }
}

/// Upstream endpoints and keys, named as in the product pages. Empty means not configured.
#[derive(Clone, Debug)]
pub struct IntegrationsConfig {
    /// Total time one upstream call may take (`UPSTREAM_TIMEOUT_MS`).
    pub timeout_ms: u64,
    pub psa_api_url: Option<String>,
    pub psa_service_key: Option<String>,
    pub crm_api_url: Option<String>,
    pub crm_service_key: Option<String>,
    pub cmdb_api_url: Option<String>,
    pub cmdb_service_key: Option<String>,
    pub ai_gateway_url: Option<String>,
    pub ai_gateway_key: Option<String>,
    /// Total time one AI completion may take (`AI_GATEWAY_TIMEOUT_MS`): generations are slower
    /// than other upstream calls, and run in queue tasks, not in requests.
    pub ai_gateway_timeout_ms: u64,
    pub bus_api_url: Option<String>,
    pub bus_integration_key: Option<String>,
    pub hub_billing_api_url: Option<String>,
    pub hub_billing_service_key: Option<String>,
    /// First delay before a failed usage report is sent again (`HUB_BILLING_RETRY_BASE_MS`);
    /// doubles per attempt up to `hub_billing_retry_max_ms` (`HUB_BILLING_RETRY_MAX_MS`).
    pub hub_billing_retry_base_ms: u64,
    pub hub_billing_retry_max_ms: u64,
    /// Attempts before a usage report is given up (`HUB_BILLING_MAX_ATTEMPTS`).
    pub hub_billing_max_attempts: i32,
    pub ses_access_key: Option<String>,
    pub ses_secret_key: Option<String>,
    pub ses_region: Option<String>,
    /// `SES_ENDPOINT`; `None` means `https://email.{SES_REGION}.amazonaws.com` (tests point it
    /// at a fake).
    pub ses_endpoint: Option<String>,
    /// `SES_FROM_ADDRESS`, the sender of every e-mail.
    pub ses_from_address: String,
    /// First delay before a failed e-mail is tried again (`SES_RETRY_BASE_MS`); doubles per
    /// attempt up to an hour.
    pub ses_retry_base_ms: u64,
    /// Attempts before an e-mail is given up (`SES_MAX_ATTEMPTS`).
    pub ses_max_attempts: i32,
    /// The Entra app registration that connects projects' storage accounts
    /// (`AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`).
    pub azure_client_id: Option<String>,
    pub azure_client_secret: Option<String>,
    /// Microsoft identity platform base (`AZURE_LOGIN_URL`), overridable for tests.
    pub azure_login_url: String,
    /// Blob endpoint of an account (`AZURE_BLOB_URL_TEMPLATE`); `{account}` is replaced.
    pub azure_blob_url_template: String,
    /// The GitHub App organizations are connected through (`GITHUB_APP_ID`).
    pub github_app_id: String,
    /// Its private key, PEM (`GITHUB_APP_PRIVATE_KEY`, or a file named by
    /// `GITHUB_APP_PRIVATE_KEY_FILE`); checked at start-up, never logged.
    pub github_app_private_key: Option<String>,
    /// GitHub's REST API base (`GITHUB_API_URL`), overridable for tests and GHES.
    pub github_api_url: String,
    /// GitHub's web base (`GITHUB_URL`): the App's install page and its OAuth endpoints.
    pub github_url: String,
    /// The App's slug (`GITHUB_APP_SLUG`): its install page is
    /// `{GITHUB_URL}/apps/{slug}/installations/new`.
    pub github_app_slug: Option<String>,
    /// The App's OAuth client (`GITHUB_APP_CLIENT_ID`, `GITHUB_APP_CLIENT_SECRET`): the
    /// user-to-server token that proves the admin can access an installation.
    pub github_app_client_id: Option<String>,
    pub github_app_client_secret: Option<String>,
    /// The GitLab OAuth application groups are connected through (`GITLAB_CLIENT_ID`,
    /// `GITLAB_CLIENT_SECRET`).
    pub gitlab_client_id: Option<String>,
    pub gitlab_client_secret: Option<String>,
    /// The GitLab instance (`GITLAB_URL`): OAuth at `/oauth/*`, REST at `/api/v4`.
    pub gitlab_url: String,
    /// First wait before a disconnected group's token revocation is tried again while GitLab is
    /// unavailable (`GITLAB_REVOCATION_RETRY_BASE_MS`); doubles per attempt, at most 6 hours.
    pub gitlab_revocation_retry_base_ms: u64,
    /// The Entra app registration Azure DevOps organizations are connected through
    /// (`AZURE_DEVOPS_CLIENT_ID`, `AZURE_DEVOPS_CLIENT_SECRET`): delegated Azure DevOps access.
    pub azure_devops_client_id: Option<String>,
    pub azure_devops_client_secret: Option<String>,
    /// The Entra tenant users sign in against (`AZURE_DEVOPS_TENANT`): a tenant id or domain,
    /// or `organizations` (any work or school account).
    pub azure_devops_tenant: String,
    /// Microsoft identity platform base for Azure DevOps sign-ins (`AZURE_DEVOPS_LOGIN_URL`).
    pub azure_devops_login_url: String,
    /// Azure DevOps Services REST base (`AZURE_DEVOPS_API_URL`): `{base}/{organization}/_apis`.
    pub azure_devops_api_url: String,
    /// Member Entitlement Management base (`AZURE_DEVOPS_ENTITLEMENTS_URL`), for the access audit.
    pub azure_devops_entitlements_url: String,
    /// The One Mission's API base (`MISSION_API_URL`), handed to the agent of a RockRMS import
    /// with its job's integration key; the agent, not the gateway, posts to it.
    pub mission_api_url: Option<String>,
    /// How long a backup may go without a report from its runner before it is failed
    /// (`BACKUP_REPORT_TIMEOUT_MS`).
    pub backup_report_timeout_ms: u64,
}

/// The sender when `SES_FROM_ADDRESS` is not set. (The product page shows the address
/// redacted; this is our default.)
pub const DEFAULT_SES_FROM_ADDRESS: &str = "notifications@theonestack.com";

/// 5 MiB: a large monorepo's SBOM with vulnerabilities stays well under it.
pub const DEFAULT_SCAN_MAX_BYTES: usize = 5 * 1024 * 1024;

pub const AZURE_LOGIN_URL: &str = "https://login.microsoftonline.com";
pub const AZURE_BLOB_URL_TEMPLATE: &str = "https://{account}.blob.core.windows.net";
/// The One Code's GitHub App (seed 000).
pub const GITHUB_APP_ID: &str = "3034314";
pub const GITHUB_API_URL: &str = "https://api.github.com";
pub const GITHUB_URL: &str = "https://github.com";
pub const GITLAB_URL: &str = "https://gitlab.com";
pub const AZURE_DEVOPS_TENANT: &str = "organizations";
pub const AZURE_DEVOPS_API_URL: &str = "https://dev.azure.com";
pub const AZURE_DEVOPS_ENTITLEMENTS_URL: &str = "https://vsaex.dev.azure.com";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Default for IntegrationsConfig {
    fn default() -> Self {
        IntegrationsConfig {
            timeout_ms: 15_000,
            psa_api_url: None,
            psa_service_key: None,
            crm_api_url: None,
            crm_service_key: None,
            cmdb_api_url: None,
            cmdb_service_key: None,
            ai_gateway_url: None,
            ai_gateway_key: None,
            ai_gateway_timeout_ms: 120_000,
            bus_api_url: None,
            bus_integration_key: None,
            hub_billing_api_url: None,
            hub_billing_service_key: None,
            hub_billing_retry_base_ms: 30_000,
            hub_billing_retry_max_ms: 3_600_000,
            hub_billing_max_attempts: 30,
            ses_access_key: None,
            ses_secret_key: None,
            ses_region: None,
            ses_endpoint: None,
            ses_from_address: DEFAULT_SES_FROM_ADDRESS.into(),
            ses_retry_base_ms: 60_000,
            ses_max_attempts: 8,
            azure_client_id: None,
            azure_client_secret: None,
            azure_login_url: AZURE_LOGIN_URL.into(),
            azure_blob_url_template: AZURE_BLOB_URL_TEMPLATE.into(),
            github_app_id: GITHUB_APP_ID.into(),
            github_app_private_key: None,
            github_api_url: GITHUB_API_URL.into(),
            github_url: GITHUB_URL.into(),
            github_app_slug: None,
            github_app_client_id: None,
            github_app_client_secret: None,
            gitlab_client_id: None,
            gitlab_client_secret: None,
            gitlab_url: GITLAB_URL.into(),
            gitlab_revocation_retry_base_ms: 60_000,
            azure_devops_client_id: None,
            azure_devops_client_secret: None,
            azure_devops_tenant: AZURE_DEVOPS_TENANT.into(),
            azure_devops_login_url: AZURE_LOGIN_URL.into(),
            azure_devops_api_url: AZURE_DEVOPS_API_URL.into(),
            azure_devops_entitlements_url: AZURE_DEVOPS_ENTITLEMENTS_URL.into(),
            mission_api_url: None,
            backup_report_timeout_ms: DEFAULT_BACKUP_REPORT_TIMEOUT_MS,
        }
    }
}

impl IntegrationsConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(IntegrationsConfig {
            timeout_ms: parse_var("UPSTREAM_TIMEOUT_MS", 15_000)?,
            psa_api_url: var("PSA_API_URL"),
            psa_service_key: var("PSA_SERVICE_KEY"),
            crm_api_url: var("CRM_API_URL"),
            crm_service_key: var("CRM_SERVICE_KEY"),
            cmdb_api_url: var("CMDB_API_URL"),
            cmdb_service_key: var("CMDB_SERVICE_KEY"),
            ai_gateway_url: var("AI_GATEWAY_URL"),
            ai_gateway_key: var("AI_GATEWAY_KEY"),
            ai_gateway_timeout_ms: parse_var("AI_GATEWAY_TIMEOUT_MS", 120_000)?,
            bus_api_url: var("BUS_API_URL"),
            bus_integration_key: var("BUS_INTEGRATION_KEY"),
            hub_billing_api_url: var("HUB_BILLING_API_URL"),
            hub_billing_service_key: var("HUB_BILLING_SERVICE_KEY"),
            hub_billing_retry_base_ms: parse_var("HUB_BILLING_RETRY_BASE_MS", 30_000)?,
            hub_billing_retry_max_ms: parse_var("HUB_BILLING_RETRY_MAX_MS", 3_600_000)?,
            hub_billing_max_attempts: parse_var("HUB_BILLING_MAX_ATTEMPTS", 30)?,
            ses_access_key: var("SES_ACCESS_KEY"),
            ses_secret_key: var("SES_SECRET_KEY"),
            ses_region: var("SES_REGION"),
            ses_endpoint: match var("SES_ENDPOINT") {
                Some(url) => {
                    url::Url::parse(&url)
                        .map_err(|e| anyhow::anyhow!("SES_ENDPOINT is not a URL: {e}"))?;
                    Some(url)
                }
                None => None,
            },
            ses_from_address: match var("SES_FROM_ADDRESS") {
                Some(from) if !from.contains('@') => {
                    bail!("SES_FROM_ADDRESS must be an e-mail address (it is {from:?})")
                }
                Some(from) => from,
                None => DEFAULT_SES_FROM_ADDRESS.into(),
            },
            ses_retry_base_ms: parse_var("SES_RETRY_BASE_MS", 60_000)?,
            ses_max_attempts: parse_var("SES_MAX_ATTEMPTS", 8)?,
            azure_client_id: var("AZURE_CLIENT_ID"),
            azure_client_secret: var("AZURE_CLIENT_SECRET"),
            azure_login_url: azure_url("AZURE_LOGIN_URL", AZURE_LOGIN_URL)?,
            azure_blob_url_template: azure_url("AZURE_BLOB_URL_TEMPLATE", AZURE_BLOB_URL_TEMPLATE)?,
            github_app_id: match var("GITHUB_APP_ID") {
                Some(id) if id.trim().parse::<u64>().is_err() => {
                    bail!("GITHUB_APP_ID must be the numeric App ID (it is {id:?})")
                }
                Some(id) => id.trim().to_string(),
                None => GITHUB_APP_ID.into(),
            },
            github_app_private_key: github_private_key()?,
            github_api_url: {
                let url = var("GITHUB_API_URL").unwrap_or_else(|| GITHUB_API_URL.into());
                url::Url::parse(&url)
                    .map_err(|e| anyhow::anyhow!("GITHUB_API_URL is not a URL: {e}"))?;
                url.trim_end_matches('/').to_string()
            },
            github_url: {
                let url = var("GITHUB_URL").unwrap_or_else(|| GITHUB_URL.into());
                url::Url::parse(&url)
                    .map_err(|e| anyhow::anyhow!("GITHUB_URL is not a URL: {e}"))?;
                url.trim_end_matches('/').to_string()
            },
            github_app_slug: match var("GITHUB_APP_SLUG") {
                Some(slug) if !slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
                    bail!(
                        "GITHUB_APP_SLUG must be the App's slug, as in github.com/apps/<slug> (it is {slug:?})"
                    )
                }
                slug => slug,
            },
            github_app_client_id: var("GITHUB_APP_CLIENT_ID"),
            github_app_client_secret: var("GITHUB_APP_CLIENT_SECRET"),
            gitlab_client_id: var("GITLAB_CLIENT_ID"),
            gitlab_client_secret: var("GITLAB_CLIENT_SECRET"),
            gitlab_url: {
                let url = var("GITLAB_URL").unwrap_or_else(|| GITLAB_URL.into());
                url::Url::parse(&url)
                    .map_err(|e| anyhow::anyhow!("GITLAB_URL is not a URL: {e}"))?;
                url.trim_end_matches('/').to_string()
            },
            gitlab_revocation_retry_base_ms: parse_var("GITLAB_REVOCATION_RETRY_BASE_MS", 60_000)?,
            azure_devops_client_id: var("AZURE_DEVOPS_CLIENT_ID"),
            azure_devops_client_secret: var("AZURE_DEVOPS_CLIENT_SECRET"),
            azure_devops_tenant: match var("AZURE_DEVOPS_TENANT") {
                Some(tenant) => {
                    crate::upstream::microsoft::azure_tenant(Some(&tenant)).map_err(|_| {
                        anyhow::anyhow!(
                            "AZURE_DEVOPS_TENANT must be an Entra tenant id or domain, or \
                             `organizations` (it is {tenant:?})"
                        )
                    })?
                }
                None => AZURE_DEVOPS_TENANT.into(),
            },
            azure_devops_login_url: azure_url("AZURE_DEVOPS_LOGIN_URL", AZURE_LOGIN_URL)?,
            azure_devops_api_url: azure_url("AZURE_DEVOPS_API_URL", AZURE_DEVOPS_API_URL)?,
            azure_devops_entitlements_url: azure_url(
                "AZURE_DEVOPS_ENTITLEMENTS_URL",
                AZURE_DEVOPS_ENTITLEMENTS_URL,
            )?,
            mission_api_url: match var("MISSION_API_URL") {
                Some(url) => Some(http_url("MISSION_API_URL", &url)?),
                None => None,
            },
            backup_report_timeout_ms: match parse_var(
                "BACKUP_REPORT_TIMEOUT_MS",
                DEFAULT_BACKUP_REPORT_TIMEOUT_MS,
            )? {
                0 => bail!("BACKUP_REPORT_TIMEOUT_MS must be more than 0"),
                ms => ms,
            },
        })
    }
}

/// An `http(s)` URL without a trailing `/`.
fn http_url(name: &str, value: &str) -> anyhow::Result<String> {
    let value = value.trim().trim_end_matches('/');
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(value.to_string())
        }
        _ => bail!("{name}={value:?} is not an http(s) URL"),
    }
}

/// A backup runner reports at least this often (one hour) unless `BACKUP_REPORT_TIMEOUT_MS`
/// says otherwise.
pub const DEFAULT_BACKUP_REPORT_TIMEOUT_MS: u64 = 3_600_000;

/// `GITHUB_APP_PRIVATE_KEY` (PEM; `\n` escapes allowed for one-line variables) or the file
/// `GITHUB_APP_PRIVATE_KEY_FILE` names. A key that does not parse stops start-up.
fn github_private_key() -> anyhow::Result<Option<String>> {
    let (name, pem) = match (
        var("GITHUB_APP_PRIVATE_KEY"),
        var("GITHUB_APP_PRIVATE_KEY_FILE"),
    ) {
        (Some(pem), _) => ("GITHUB_APP_PRIVATE_KEY", pem.replace("\\n", "\n")),
        (None, Some(path)) => (
            "GITHUB_APP_PRIVATE_KEY_FILE",
            std::fs::read_to_string(&path)
                .with_context(|| format!("GITHUB_APP_PRIVATE_KEY_FILE: reading {path}"))?,
        ),
        (None, None) => return Ok(None),
    };
    crate::upstream::github::app_jwt(&pem, GITHUB_APP_ID, chrono::Utc::now())
        .map_err(|e| anyhow::anyhow!("{name} is not usable: {e}"))?;
    Ok(Some(pem))
}

/// An Azure endpoint override: a URL (the blob template must name `{account}`), no trailing `/`.
fn azure_url(name: &str, default: &str) -> anyhow::Result<String> {
    let value = var(name).unwrap_or_else(|| default.into());
    let value = value.trim().trim_end_matches('/').to_string();
    url::Url::parse(&value.replace("{account}", "account"))
        .map_err(|e| anyhow::anyhow!("{name}={value:?} is not a URL: {e}"))?;
    if name == "AZURE_BLOB_URL_TEMPLATE" && !value.contains("{account}") {
        bail!("{name} must contain {{account}} (e.g. {AZURE_BLOB_URL_TEMPLATE})");
    }
    Ok(value)
}

fn parse_var<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={raw:?} is not valid: {e}")),
    }
}

impl Config {
    /// Reads the environment. Outside production, missing secrets are generated once into the
    /// data directory (and the notice says so); in production (`GATEWAY_ENV=production`) they
    /// must be given.
    pub fn from_env() -> anyhow::Result<Self> {
        let production = var("GATEWAY_ENV").is_some_and(|v| v == "production");
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let bind_addr: SocketAddr = parse_var("BIND_ADDR", "127.0.0.1:8080".parse()?)?;
        let public_url = var("PUBLIC_URL").unwrap_or_else(|| format!("http://{bind_addr}"));
        url::Url::parse(&public_url)
            .map_err(|e| anyhow::anyhow!("PUBLIC_URL is not a URL: {e}"))?;
        let database_url = var("DATABASE_URL");
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
        {
            bail!("DATABASE_URL must start with postgres:// or sqlite:");
        }
        let database_acquire_timeout_ms =
            acquire_timeout_ms(var("DATABASE_ACQUIRE_TIMEOUT_MS").as_deref())?;
        let mut notices = Vec::new();
        if production && var("FRONTEND_URL").is_none() {
            notices.push(
                "FRONTEND_URL is not set: links in tickets, opportunities and e-mails, and the \
                 redirects after a connect flow, point at PUBLIC_URL, where the gateway serves \
                 only its playground"
                    .to_string(),
            );
        }
        let secret = match var("PORTAL_SSO_SECRET") {
            Some(s) => s.into_bytes(),
            None if production => bail!("PORTAL_SSO_SECRET is required in production"),
            None => {
                let (s, created) = dev_secret(&data_dir, "dev-sso-secret")?;
                if created {
                    notices.push(format!(
                        "PORTAL_SSO_SECRET is not set: generated a development secret into {}",
                        data_dir.join("dev-sso-secret").display()
                    ));
                }
                s.into_bytes()
            }
        };
        if secret.len() < 32 {
            bail!(
                "PORTAL_SSO_SECRET must be at least 32 bytes (it has {})",
                secret.len()
            );
        }
        let encryption_key = match var("GATEWAY_ENCRYPTION_KEY") {
            Some(k) => decode_key(&k)?,
            None if production => bail!("GATEWAY_ENCRYPTION_KEY is required in production"),
            None => {
                let (k, created) = dev_secret(&data_dir, "encryption.key")?;
                if created {
                    notices.push(format!(
                        "GATEWAY_ENCRYPTION_KEY is not set: generated one into {}",
                        data_dir.join("encryption.key").display()
                    ));
                }
                decode_key(&k)?
            }
        };
        let defaults = GraphqlLimits::default();
        let graphql = GraphqlLimits {
            max_depth: parse_var("GRAPHQL_MAX_DEPTH", defaults.max_depth)?,
            max_complexity: parse_var("GRAPHQL_MAX_COMPLEXITY", defaults.max_complexity)?,
            max_aliases: parse_var("GRAPHQL_MAX_ALIASES", defaults.max_aliases)?,
            max_root_fields: parse_var("GRAPHQL_MAX_ROOT_FIELDS", defaults.max_root_fields)?,
            max_directives: parse_var("GRAPHQL_MAX_DIRECTIVES", defaults.max_directives)?,
            max_document_bytes: parse_var(
                "GRAPHQL_MAX_DOCUMENT_BYTES",
                defaults.max_document_bytes,
            )?,
            max_body_bytes: parse_var("GRAPHQL_MAX_BODY_BYTES", defaults.max_body_bytes)?,
            timeout_ms: parse_var("GRAPHQL_TIMEOUT_MS", defaults.timeout_ms)?,
            max_concurrent: parse_var("GRAPHQL_MAX_CONCURRENT", defaults.max_concurrent)?.max(1),
            introspection: parse_var("GRAPHQL_INTROSPECTION", !production)?,
        };
        let ws_defaults = SubscriptionLimits::default();
        let subscriptions = SubscriptionLimits {
            init_timeout_ms: parse_var("WS_INIT_TIMEOUT_MS", ws_defaults.init_timeout_ms)?,
            max_per_connection: parse_var("WS_MAX_SUBSCRIPTIONS", ws_defaults.max_per_connection)?,
            allowed_origins: var("WS_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_string())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        };
        let connection_defaults = crate::http::serve::ConnectionLimits::default();
        let connections = crate::http::serve::ConnectionLimits {
            max_connections: parse_var(
                "HTTP_MAX_CONNECTIONS",
                connection_defaults.max_connections,
            )?
            .max(1),
            header_timeout: std::time::Duration::from_millis(parse_var(
                "HTTP_HEADER_TIMEOUT_MS",
                connection_defaults.header_timeout.as_millis() as u64,
            )?),
            idle_timeout: std::time::Duration::from_millis(parse_var(
                "HTTP_IDLE_TIMEOUT_MS",
                connection_defaults.idle_timeout.as_millis() as u64,
            )?),
        };
        Ok(Config {
            database_url,
            connections,
            database_acquire_timeout_ms,
            data_dir,
            bind_addr,
            frontend: Frontend::from_vars(
                &public_url,
                var("FRONTEND_URL").as_deref(),
                var("CORS_ALLOWED_ORIGINS").as_deref(),
            )?,
            public_url,
            production,
            subscriptions,
            persisted_operations: match var("PERSISTED_OPERATIONS") {
                Some(mode) => mode.parse().map_err(anyhow::Error::msg)?,
                None => crate::graphql::persisted::Mode::Automatic,
            },
            sso: SsoConfig {
                secret,
                issuer: var("PORTAL_SSO_ISSUER").unwrap_or_else(|| "the-one-hub".into()),
                audience: var("PORTAL_SSO_AUDIENCE").unwrap_or_else(|| "stack-gateway".into()),
            },
            encryption_key,
            graphql,
            integrations: IntegrationsConfig::from_env()?,
            scan_max_bytes: parse_var("SCAN_MAX_BYTES", DEFAULT_SCAN_MAX_BYTES)?,
            schedules: HashMap::new(),
            notices,
        })
    }

    /// The database the data lives in.
    pub fn data_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("gateway.db").display()
            )
        })
    }

    /// The queue's database: the same PostgreSQL, or its own SQLite file beside the data.
    pub fn queue_url(&self) -> String {
        match &self.database_url {
            Some(url) if url.starts_with("postgres") => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("queue.db").display()),
        }
    }

    /// `DATABASE_ACQUIRE_TIMEOUT_MS` as a duration.
    pub fn acquire_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.database_acquire_timeout_ms)
    }

    /// Cookies get `Secure` when the public URL is HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Default of `DATABASE_ACQUIRE_TIMEOUT_MS`: short enough that a client or a load balancer hears
/// `DB_UNAVAILABLE` while it can still act, long enough for a busy pool under load.
pub const DEFAULT_DATABASE_ACQUIRE_TIMEOUT_MS: u64 = 3000;

/// `DATABASE_ACQUIRE_TIMEOUT_MS`: 1 ms to 60 s.
fn acquire_timeout_ms(raw: Option<&str>) -> anyhow::Result<u64> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_DATABASE_ACQUIRE_TIMEOUT_MS);
    };
    match raw.trim().parse::<u64>() {
        Ok(ms @ 1..=60_000) => Ok(ms),
        _ => bail!("DATABASE_ACQUIRE_TIMEOUT_MS={raw:?} must be milliseconds from 1 to 60000"),
    }
}

fn decode_key(raw: &str) -> anyhow::Result<[u8; 32]> {
    let raw = raw.trim();
    // 64 hex digits are also valid base64 (of 48 bytes): try hex first.
    let bytes = hex::decode(raw)
        .or_else(|_| STANDARD.decode(raw))
        .context("GATEWAY_ENCRYPTION_KEY must be 32 bytes in base64 or hex")?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("GATEWAY_ENCRYPTION_KEY must be exactly 32 bytes"))
}

/// Reads `name` from the data directory, generating a random 32-byte value the first time.
fn dev_secret(dir: &Path, name: &str) -> anyhow::Result<(String, bool)> {
    let path = dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok((existing.trim().to_string(), false));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let value = STANDARD.encode(bytes);
    std::fs::write(&path, &value).with_context(|| format!("writing {}", path.display()))?;
    Ok((value, true))
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_DATABASE_ACQUIRE_TIMEOUT_MS, acquire_timeout_ms, decode_key};

    #[test]
    fn database_acquire_timeout_is_read_and_bounded() {
        assert_eq!(
            acquire_timeout_ms(None).unwrap(),
            DEFAULT_DATABASE_ACQUIRE_TIMEOUT_MS
        );
        assert_eq!(acquire_timeout_ms(Some("1500")).unwrap(), 1500);
        for bad in ["0", "-1", "2s", "60001"] {
            let error = acquire_timeout_ms(Some(bad)).unwrap_err().to_string();
            assert!(error.contains("DATABASE_ACQUIRE_TIMEOUT_MS"), "{error}");
        }
    }

    #[test]
    fn encryption_keys_decode_from_hex_or_base64() {
        let hex = "00".repeat(31) + "ff";
        assert_eq!(decode_key(&hex).unwrap()[31], 0xff);
        let b64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAP8=";
        assert_eq!(decode_key(b64).unwrap()[31], 0xff);
        assert!(decode_key("c2hvcnQ=").is_err());
    }
}
