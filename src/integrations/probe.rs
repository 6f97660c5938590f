//! Periodic probes and the "re-check now" button of the Integrations page: a cheap authenticated
//! call per configured upstream, whose outcome the upstream client records like any other call.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use jobs::{BoxDynError, QueueTask, Runner};
use serde::{Deserialize, Serialize};

use super::types::{Integration as IntegrationView, IntegrationName};
use crate::graphql::{principal, service};
use crate::integrations::IntegrationsService;
use crate::kernel::errors::ApiResult;
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

/// The probe request: `GET {base}/health` with the integration's credentials (our contract for
/// PSA, CRM, CMDB, Hub billing and the Bus), `GET {AI_GATEWAY_URL}/v1/models` for the
/// OpenAI-compatible AI gateway. SES and Azure are judged by their recorded calls only.
pub async fn probe(upstream: &UpstreamClient, integration: Integration) -> ApiResult<()> {
    upstream.require(integration)?;
    let c = upstream.config();
    let (base, bearer) = match integration {
        Integration::Psa => (c.psa_api_url.clone(), c.psa_service_key.clone()),
        Integration::Crm => (c.crm_api_url.clone(), c.crm_service_key.clone()),
        Integration::Cmdb => (c.cmdb_api_url.clone(), c.cmdb_service_key.clone()),
        Integration::Hub => (
            c.hub_billing_api_url.clone(),
            c.hub_billing_service_key.clone(),
        ),
        Integration::AiPlatform => (c.ai_gateway_url.clone(), c.ai_gateway_key.clone()),
        Integration::Bus => (c.bus_api_url.clone(), None),
        // Judged by their recorded calls only: Azure has no cheap call without a project's token.
        // GitHub, GitLab, Azure DevOps: their calls need an organization's token, judged by
        // the discovery runs.
        Integration::Ses
        | Integration::Azure
        | Integration::Github
        | Integration::Gitlab
        | Integration::AzureDevops => {
            return Ok(());
        }
    };
    let base = base.unwrap_or_default().trim_end_matches('/').to_string();
    let url = if integration == Integration::AiPlatform {
        format!("{base}/v1/models")
    } else {
        format!("{base}/health")
    };
    let bus_key = c.bus_integration_key.clone();
    upstream
        .send(integration, Retry::Never, |http| {
            let request = http.get(&url);
            match (&bearer, &bus_key, integration) {
                (_, Some(key), Integration::Bus) => request.header("X-Integration-Key", key),
                (Some(key), _, _) => request.bearer_auth(key),
                _ => request,
            }
        })
        .await
        .map(|_| ())
}

/// Probes every configured integration (timer `integration-probes`).
#[derive(Serialize, Deserialize)]
pub struct IntegrationProbes {
    pub tick: DateTime<Utc>,
}

impl QueueTask for IntegrationProbes {
    const NAME: &'static str = "integration-probes";
    const MAX_ATTEMPTS: usize = 1;
}

pub fn register(runner: Runner, upstream: &UpstreamClient) -> anyhow::Result<Runner> {
    let upstream = upstream.clone();
    runner
        .task(move |_: IntegrationProbes| {
            let upstream = upstream.clone();
            async move {
                for integration in Integration::ALL {
                    if upstream.require(integration).is_ok()
                        && let Err(error) = probe(&upstream, integration).await
                    {
                        tracing::info!(
                            integration = integration.key(),
                            error = error.message(),
                            "integration probe failed"
                        );
                    }
                }
                Ok::<(), BoxDynError>(())
            }
        })
        .cron("integration-probes", |tick| IntegrationProbes { tick })
}

/// Input of `recheckIntegration`.
#[derive(InputObject)]
pub struct RecheckIntegrationInput {
    /// The integration to probe now.
    pub name: IntegrationName,
}

/// Result of `recheckIntegration`.
#[derive(SimpleObject)]
pub struct RecheckIntegrationPayload {
    /// The integration's status after the probe.
    pub integration: IntegrationView,
}

#[derive(Default)]
pub struct ProbeMutation;

#[Object]
impl ProbeMutation {
    /// Probes one integration now and returns its status (admins only). A failing probe is not
    /// an error of this mutation: the status says what failed.
    async fn recheck_integration(
        &self,
        ctx: &Context<'_>,
        input: RecheckIntegrationInput,
    ) -> Result<RecheckIntegrationPayload> {
        let admin = principal(ctx).admin()?;
        let integration = Integration::from(input.name);
        let _ = probe(service::<UpstreamClient>(ctx), integration).await;
        let status = service::<IntegrationsService>(ctx)
            .status(admin.tenant_id, integration)
            .await?;
        Ok(RecheckIntegrationPayload {
            integration: IntegrationView(status),
        })
    }
}
