//! Configuration from the environment. Bad configuration stops start-up with a message that names
//! the variable; the embedded default generates development secrets into the data directory.

mod frontend;
mod integrations;

pub use frontend::Frontend;
pub use integrations::*;

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

/// 5 MiB: a large monorepo's SBOM with vulnerabilities stays well under it.
pub const DEFAULT_SCAN_MAX_BYTES: usize = 5 * 1024 * 1024;

pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub(crate) fn parse_var<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
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
