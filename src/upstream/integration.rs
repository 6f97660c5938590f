//! Which upstreams are configured, and which variables are missing.

use crate::config::IntegrationsConfig;

/// The integrations the status page lists, with the variables each needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Integration {
    Hub,
    Psa,
    Crm,
    Cmdb,
    AiPlatform,
    Bus,
    Ses,
    /// Azure Storage credential vending (Migrate projects' connected accounts).
    Azure,
    /// GitHub, through the GitHub App (connected organizations' discovery and access audit).
    Github,
    /// GitLab, through its OAuth application (connected groups' discovery).
    Gitlab,
    /// Azure DevOps, through an Entra app registration (connected organizations' discovery).
    AzureDevops,
}

impl Integration {
    pub const ALL: [Integration; 11] = [
        Integration::Hub,
        Integration::Psa,
        Integration::Crm,
        Integration::Cmdb,
        Integration::AiPlatform,
        Integration::Bus,
        Integration::Ses,
        Integration::Azure,
        Integration::Github,
        Integration::Gitlab,
        Integration::AzureDevops,
    ];

    /// The key stored in `integration_health`.
    pub fn key(self) -> &'static str {
        match self {
            Integration::Hub => "hub",
            Integration::Psa => "psa",
            Integration::Crm => "crm",
            Integration::Cmdb => "cmdb",
            Integration::AiPlatform => "ai",
            Integration::Bus => "bus",
            Integration::Ses => "ses",
            Integration::Azure => "azure",
            Integration::Github => "github",
            Integration::Gitlab => "gitlab",
            Integration::AzureDevops => "azure_devops",
        }
    }

    /// How people call it.
    pub fn label(self) -> &'static str {
        match self {
            Integration::Hub => "Hub billing",
            Integration::Psa => "PSA",
            Integration::Crm => "CRM",
            Integration::Cmdb => "CMDB",
            Integration::AiPlatform => "The AI Platform",
            Integration::Bus => "The One Bus",
            Integration::Ses => "AWS SES",
            Integration::Azure => "Azure Storage",
            Integration::Github => "GitHub",
            Integration::Gitlab => "GitLab",
            Integration::AzureDevops => "Azure DevOps",
        }
    }

    /// The environment variables the integration needs, and whether each is set.
    pub fn variables(self, c: &IntegrationsConfig) -> Vec<(&'static str, bool)> {
        let v = |name, value: &Option<String>| (name, value.is_some());
        match self {
            Integration::Hub => vec![
                v("HUB_BILLING_API_URL", &c.hub_billing_api_url),
                v("HUB_BILLING_SERVICE_KEY", &c.hub_billing_service_key),
            ],
            Integration::Psa => vec![
                v("PSA_API_URL", &c.psa_api_url),
                v("PSA_SERVICE_KEY", &c.psa_service_key),
            ],
            Integration::Crm => vec![
                v("CRM_API_URL", &c.crm_api_url),
                v("CRM_SERVICE_KEY", &c.crm_service_key),
            ],
            Integration::Cmdb => vec![
                v("CMDB_API_URL", &c.cmdb_api_url),
                v("CMDB_SERVICE_KEY", &c.cmdb_service_key),
            ],
            Integration::AiPlatform => {
                vec![
                    v("AI_GATEWAY_URL", &c.ai_gateway_url),
                    v("AI_GATEWAY_KEY", &c.ai_gateway_key),
                ]
            }
            Integration::Bus => vec![
                v("BUS_API_URL", &c.bus_api_url),
                v("BUS_INTEGRATION_KEY", &c.bus_integration_key),
            ],
            Integration::Ses => vec![
                v("SES_ACCESS_KEY", &c.ses_access_key),
                v("SES_SECRET_KEY", &c.ses_secret_key),
                v("SES_REGION", &c.ses_region),
            ],
            Integration::Azure => vec![
                v("AZURE_CLIENT_ID", &c.azure_client_id),
                v("AZURE_CLIENT_SECRET", &c.azure_client_secret),
            ],
            Integration::Github => vec![v("GITHUB_APP_PRIVATE_KEY", &c.github_app_private_key)],
            Integration::Gitlab => vec![
                v("GITLAB_CLIENT_ID", &c.gitlab_client_id),
                v("GITLAB_CLIENT_SECRET", &c.gitlab_client_secret),
            ],
            Integration::AzureDevops => vec![
                v("AZURE_DEVOPS_CLIENT_ID", &c.azure_devops_client_id),
                v("AZURE_DEVOPS_CLIENT_SECRET", &c.azure_devops_client_secret),
            ],
        }
    }

    /// The variables that are missing (empty when configured).
    pub fn missing(self, c: &IntegrationsConfig) -> Vec<&'static str> {
        self.variables(c)
            .into_iter()
            .filter(|(_, set)| !set)
            .map(|(name, _)| name)
            .collect()
    }
}
