//! The upstreams' variables: endpoints and keys named as in the product pages, each checked at
//! start-up (a bad one stops it with a message naming the variable).

use anyhow::{Context, bail};

use super::{parse_var, var};

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
