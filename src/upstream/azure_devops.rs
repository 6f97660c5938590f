//! Azure DevOps through an Entra app registration: the Microsoft identity platform v2 token
//! endpoint (authorization code with PKCE, refresh token) for the Azure DevOps resource, and the
//! REST 7.1 calls discovery makes. Every call goes through the shared `UpstreamClient`; 429
//! answers become `RATE_LIMITED` with the time from `X-RateLimit-Reset` (or `Retry-After`) kept
//! for `next_retry_at`. Azure DevOps answers a token it does not accept with 203 and an HTML
//! sign-in page: that is an authentication failure, never a body to parse. Token answers are
//! never logged.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

pub use super::azure_devops_types::*;
use super::github::{OrgInfo, Repo};
use super::oauth;
pub use super::oauth::{Grant, Tokens};
use super::provider_wire::{self as wire, ProviderResult, RetryAt};
use crate::kernel::errors::{ApiError, Code};
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;
use crate::upstream::microsoft;

/// Delegated access to Azure DevOps (its resource id: only the permissions the app registration
/// was granted, `vso.code` read for discovery) and a refresh token.
pub const SCOPE: &str = "499b84ac-1321-427f-aa17-267ca6975798/.default offline_access";
const API_VERSION: &str = "7.1";
/// Project language metrics exist only as a preview version.
const METRICS_VERSION: &str = "7.1-preview.1";
/// Pages followed at most per list (100 per page).
const MAX_PAGES: usize = 100;
/// Latest commits read per repository (one page).
const COMMITS_READ: usize = 100;
/// Microsoft's access tokens live 60–90 minutes; this when the answer does not say.
pub const DEFAULT_TOKEN_SECONDS: i64 = 3600;

#[derive(Clone)]
pub struct AzureDevops {
    upstream: UpstreamClient,
}

impl AzureDevops {
    pub fn new(upstream: UpstreamClient) -> Self {
        AzureDevops { upstream }
    }

    fn api(&self) -> &str {
        &self.upstream.config().azure_devops_api_url
    }

    /// `INTEGRATION_NOT_CONFIGURED` naming `AZURE_DEVOPS_CLIENT_ID` / `AZURE_DEVOPS_CLIENT_SECRET`.
    pub fn require(&self) -> Result<(), ApiError> {
        self.upstream.require(Integration::AzureDevops)
    }

    pub fn client_id(&self) -> &str {
        self.upstream
            .config()
            .azure_devops_client_id
            .as_deref()
            .unwrap_or_default()
    }

    /// `{AZURE_DEVOPS_LOGIN_URL}/{AZURE_DEVOPS_TENANT}/oauth2/v2.0/{endpoint}`.
    pub fn endpoint(&self, endpoint: &str) -> Result<url::Url, ApiError> {
        let c = self.upstream.config();
        microsoft::endpoint(&c.azure_devops_login_url, &c.azure_devops_tenant, endpoint).map_err(
            |_| {
                ApiError::new(
                    Code::IntegrationNotConfigured,
                    "AZURE_DEVOPS_LOGIN_URL is not a usable URL",
                )
            },
        )
    }

    /// Redeems a grant at the v2 token endpoint (Microsoft wants the scope with every grant,
    /// `redirect_uri` with the code only; it keeps the old refresh token valid until the new
    /// one is used).
    pub async fn redeem(&self, redirect_uri: &str, grant: Grant<'_>) -> ProviderResult<Tokens> {
        self.require()?;
        let url = self.endpoint("token")?;
        let c = self.upstream.config();
        let secret = c.azure_devops_client_secret.as_deref().unwrap_or_default();
        let mut pairs = vec![
            ("client_id", self.client_id()),
            ("client_secret", secret),
            ("scope", SCOPE),
        ];
        if let Grant::Code { .. } = grant {
            pairs.push(("redirect_uri", redirect_uri));
        }
        let tokens = oauth::redeem(
            &self.upstream,
            Integration::AzureDevops,
            url.as_str(),
            &pairs,
            grant,
            |status, headers, body, retry_at| {
                rate_limited(status, headers, retry_at)
                    .or_else(|| explain_token(grant, status, body))
            },
        )
        .await?;
        if tokens.access_token.is_empty() {
            return Err(ApiError::new(
                Code::UpstreamUnavailable,
                "Azure DevOps sign-in answered without an access token",
            )
            .into());
        }
        Ok(tokens)
    }

    /// `GET {api}/{org}/_apis/connectionData`: the organization is there and the token may
    /// read it; its id.
    pub async fn connection(&self, token: &str, org: &str) -> ProviderResult<ConnectionData> {
        let url = format!("{}/{org}/_apis/connectionData", self.api());
        self.json(&url, token).await.map(|(v, _)| v)
    }

    /// Every project of the organization, following `x-ms-continuationtoken`.
    pub async fn projects(&self, token: &str, org: &str) -> ProviderResult<Vec<Project>> {
        let first = format!(
            "{}/{org}/_apis/projects?api-version={API_VERSION}&$top=100",
            self.api()
        );
        let mut url = first.clone();
        let mut projects = Vec::new();
        for page in 1.. {
            let (list, headers): (List<Project>, _) = self.json(&url, token).await?;
            projects.extend(list.value);
            let Some(next) = headers
                .get("x-ms-continuationtoken")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
            else {
                break;
            };
            if page >= MAX_PAGES {
                tracing::warn!(org, "stopped following project pages at the page limit");
                break;
            }
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            url = format!("{first}&continuationToken={next}");
        }
        Ok(projects)
    }

    /// Every Git repository of the organization (`_apis/git/repositories` lists all projects'
    /// repositories in one answer), with its project's visibility and languages and the date of
    /// its default branch's latest commit.
    pub async fn repositories(&self, token: &str, org: &str) -> ProviderResult<Vec<Repo>> {
        let projects = self.projects(token, org).await?;
        let url = format!(
            "{}/{org}/_apis/git/repositories?api-version={API_VERSION}",
            self.api()
        );
        let (list, _): (List<GitRepository>, _) = self.json(&url, token).await?;
        let mut languages: HashMap<String, Vec<String>> = HashMap::new();
        for project in &projects {
            languages.extend(self.languages(token, org, &project.id).await?);
        }
        let project_visibility: HashMap<&str, Option<&String>> = projects
            .iter()
            .map(|p| (p.id.as_str(), p.visibility.as_ref()))
            .collect();
        let mut repos = Vec::with_capacity(list.value.len());
        // After a rate limit or a refused token no further repository's commits are read.
        let mut reads_stopped = false;
        for r in list.value {
            let recent = match (&r.default_branch, r.is_disabled) {
                // A disabled repository cannot be read.
                (_, true) => None,
                _ if reads_stopped => None,
                (Some(_), false) => match self.recent_commits(token, org, &r).await {
                    Ok(dates) => Some(dates),
                    // One repository's commits failing does not fail discovery.
                    Err(e) => {
                        let code = e.error.code();
                        reads_stopped =
                            matches!(code, Code::RateLimited | Code::UpstreamAuthFailed);
                        tracing::info!(repo = %r.name, code = code.as_str(), message = e.error.message(), "commits not read");
                        None
                    }
                },
                // An empty one has no commit.
                (None, false) => Some(Vec::new()),
            };
            let last_commit = recent.as_ref().and_then(|d| d.iter().max().copied());
            let visibility = project_visibility
                .get(r.project.id.as_str())
                .copied()
                .flatten()
                .or(r.project.visibility.as_ref())
                .map(|v| v.to_ascii_lowercase());
            repos.push(Repo {
                full_name: format!("{}/{}", r.project.name, r.name),
                html_url: r.web_url.clone().unwrap_or_else(|| {
                    format!("{}/{org}/{}/_git/{}", self.api(), r.project.name, r.name)
                }),
                default_branch: r
                    .default_branch
                    .as_deref()
                    .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b).to_string()),
                private: visibility.as_deref() != Some("public"),
                visibility,
                archived: r.is_disabled,
                pushed_at: last_commit,
                language: None,
                languages: languages.remove(&r.id).unwrap_or_default(),
                root_files: Vec::new(),
                recent_commits: recent,
                id: r.id,
                name: r.name,
            });
        }
        Ok(repos)
    }

    /// The committer dates of the latest commits on the default branch, newest first (one call
    /// per repository, at most `COMMITS_READ`).
    async fn recent_commits(
        &self,
        token: &str,
        org: &str,
        repo: &GitRepository,
    ) -> ProviderResult<Vec<DateTime<Utc>>> {
        let url = format!(
            "{}/{org}/{}/_apis/git/repositories/{}/commits?searchCriteria.$top={COMMITS_READ}&api-version={API_VERSION}",
            self.api(),
            repo.project.id,
            repo.id
        );
        let (list, _) = self.json::<List<Commit>>(&url, token).await?;
        Ok(list
            .value
            .iter()
            .filter_map(|c| {
                let date = |s: &Option<Signature>| s.as_ref().and_then(|s| s.date);
                date(&c.committer).or(date(&c.author))
            })
            .collect())
    }

    /// A project's repositories' languages, largest share first, by repository id (one call per
    /// project). The metrics are a preview API: a project without them (404) has none.
    async fn languages(
        &self,
        token: &str,
        org: &str,
        project: &str,
    ) -> ProviderResult<HashMap<String, Vec<String>>> {
        let url = format!(
            "{}/{org}/{project}/_apis/projectanalysis/languagemetrics?api-version={METRICS_VERSION}",
            self.api()
        );
        let metrics: LanguageMetrics = match self.json(&url, token).await {
            Ok((metrics, _)) => metrics,
            Err(e) if e.error.code() == Code::UpstreamRejected => return Ok(HashMap::new()),
            Err(e) => return Err(e),
        };
        Ok(metrics
            .repository_language_analytics
            .into_iter()
            .map(|r| {
                let mut shares = r.language_breakdown;
                shares.sort_by(|a, b| {
                    let share = |s: &LanguageShare| s.language_percentage.unwrap_or(0.0);
                    share(b).total_cmp(&share(a)).then(a.name.cmp(&b.name))
                });
                (r.id, shares.into_iter().map(|s| s.name).collect())
            })
            .collect())
    }

    /// Every user entitlement of the organization with its project entitlements
    /// (`{AZURE_DEVOPS_ENTITLEMENTS_URL}/{org}/_apis/userentitlements`, following the body's
    /// `continuationToken`). `None` when the connecting user may not read them.
    pub async fn entitlements(
        &self,
        token: &str,
        org: &str,
    ) -> ProviderResult<Option<Vec<Entitlement>>> {
        let base = &self.upstream.config().azure_devops_entitlements_url;
        let first = format!(
            "{base}/{org}/_apis/userentitlements?select=Projects&api-version={API_VERSION}"
        );
        let mut url = first.clone();
        let mut members = Vec::new();
        for page in 1.. {
            let list: EntitlementPage = match self.get(&url, token, Call::Audit).await {
                Ok((list, _)) => list,
                Err(e) if e.error.code() == Code::UpstreamRejected => return Ok(None),
                Err(e) => return Err(e),
            };
            members.extend(list.members);
            let Some(next) = list.continuation_token.filter(|t| !t.is_empty()) else {
                break;
            };
            if page >= MAX_PAGES {
                tracing::warn!(org, "stopped following entitlement pages at the page limit");
                break;
            }
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            url = format!("{first}&continuationToken={next}");
        }
        Ok(Some(members))
    }

    /// The organization as discovery records it.
    pub fn org_info(org: &str) -> OrgInfo {
        OrgInfo {
            login: org.to_string(),
            name: Some(org.to_string()),
            default_repository_permission: None,
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        url: &str,
        bearer: &str,
    ) -> ProviderResult<(T, HeaderMap)> {
        self.get(url, bearer, Call::Discovery).await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        bearer: &str,
        call: Call,
    ) -> ProviderResult<(T, HeaderMap)> {
        let response = wire::send(
            &self.upstream,
            Integration::AzureDevops,
            Retry::Safe,
            |http| {
                http.get(url)
                    .bearer_auth(bearer)
                    .header("Accept", "application/json")
            },
            |status, headers, _, retry_at| {
                rate_limited(status, headers, retry_at).or_else(|| explain_api(call, status))
            },
        )
        .await?;
        if sign_in_page(response.status(), response.headers()) {
            tracing::warn!(url, "Azure DevOps answered with its sign-in page");
            return Err(self
                .upstream
                .fail(Integration::AzureDevops, refused())
                .await
                .into());
        }
        wire::decode(&self.upstream, Integration::AzureDevops, url, response).await
    }
}

/// Azure DevOps' answer to a token it does not accept: 203 Non-Authoritative Information with
/// an HTML sign-in page (or any HTML where JSON was asked for).
fn sign_in_page(status: StatusCode, headers: &HeaderMap) -> bool {
    let html = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    status == StatusCode::NON_AUTHORITATIVE_INFORMATION || html
}

/// 429: `X-RateLimit-Reset` (Unix seconds) when present, else `Retry-After` (seconds).
fn rate_limited(status: StatusCode, headers: &HeaderMap, retry_at: &RetryAt) -> Option<ApiError> {
    wire::rate_limited(
        Integration::AzureDevops,
        status,
        headers,
        "x-ratelimit-reset",
        retry_at,
    )
}

fn refused() -> ApiError {
    ApiError::new(
        Code::UpstreamAuthFailed,
        "Azure DevOps refused the stored authorization (expired or revoked): connect the \
         organization again",
    )
}

/// What a call is for: discovery needs its answer; the audit may be refused a list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Discovery,
    Audit,
}

fn explain_api(call: Call, status: StatusCode) -> Option<ApiError> {
    match (call, status.as_u16()) {
        (_, 401) => Some(refused()),
        (Call::Audit, 403 | 404) => Some(ApiError::new(
            Code::UpstreamRejected,
            "Azure DevOps does not let the connecting user read the organization's users",
        )),
        (_, 403) => Some(ApiError::new(
            Code::UpstreamAuthFailed,
            "Azure DevOps refused access: the connecting user lacks access to the organization \
             or the app registration lacks the Azure DevOps (Code, read) permission",
        )),
        (_, 404) => Some(ApiError::new(
            Code::UpstreamRejected,
            "Azure DevOps does not know the organization, or the connecting user cannot see it",
        )),
        _ => None,
    }
}

/// RFC 6749 §5.2 refusals at the token endpoint.
fn explain_token(grant: Grant<'_>, status: StatusCode, body: &str) -> Option<ApiError> {
    let error = oauth::refusal(status, body)?;
    let message = match (error.as_str(), grant) {
        ("invalid_grant" | "interaction_required" | "consent_required", Grant::Refresh(_)) => {
            format!(
                "Microsoft refused the stored Azure DevOps authorization ({error}): it was \
                 revoked or has expired; connect the organization again \
                 (connectAzureDevopsOrganization)"
            )
        }
        ("invalid_grant", Grant::Code { .. }) => format!(
            "Microsoft refused the sign-in code ({error}): it was used or has expired; start \
             again with connectAzureDevopsOrganization"
        ),
        ("invalid_client" | "unauthorized_client", _) => format!(
            "Microsoft refused the gateway's Azure DevOps app registration ({error}): check \
             AZURE_DEVOPS_CLIENT_ID and AZURE_DEVOPS_CLIENT_SECRET"
        ),
        _ => return None,
    };
    Some(ApiError::new(Code::UpstreamAuthFailed, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_pages_and_throttling() {
        let mut h = HeaderMap::new();
        assert!(sign_in_page(StatusCode::NON_AUTHORITATIVE_INFORMATION, &h));
        assert!(!sign_in_page(StatusCode::OK, &h));
        h.insert("content-type", "text/html; charset=utf-8".parse().unwrap());
        assert!(sign_in_page(StatusCode::OK, &h));
        let at = std::sync::Mutex::new(None);
        let mut h = HeaderMap::new();
        h.insert("retry-after", "30".parse().unwrap());
        h.insert("x-ratelimit-reset", "1900000000".parse().unwrap());
        let e = rate_limited(StatusCode::TOO_MANY_REQUESTS, &h, &at).unwrap();
        assert_eq!(e.code(), Code::RateLimited);
        assert_eq!(at.lock().unwrap().unwrap().timestamp(), 1_900_000_000);
        assert!(rate_limited(StatusCode::OK, &h, &at).is_none());
    }
}
