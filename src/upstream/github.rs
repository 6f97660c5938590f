//! GitHub through the GitHub App: the app JWT (RS256), installation tokens, and the REST calls
//! discovery and the access audit make. Every call goes through the shared `UpstreamClient`;
//! GitHub's rate-limit answers (403/429 with `x-ratelimit-remaining: 0`, or a `retry-after`)
//! become `RATE_LIMITED` with the reset time kept for `next_retry_at`.

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::provider_wire::{self as wire, ProviderResult, RetryAt};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

/// Pages followed at most per list (100 per page): bounds a run on a huge organization.
const MAX_PAGES: usize = 100;
const API_VERSION: &str = "2022-11-28";

#[derive(Deserialize, Debug, Clone)]
pub struct Account {
    pub login: String,
    pub id: i64,
    #[serde(rename = "type", default)]
    pub kind: String,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Installation {
    pub id: i64,
    pub account: Account,
}

#[derive(Deserialize)]
pub struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Deserialize, Debug)]
pub struct OrgInfo {
    pub login: String,
    pub name: Option<String>,
    pub default_repository_permission: Option<String>,
}

/// A repository as discovery applies it, whatever the provider.
#[derive(Deserialize, Debug, Clone)]
pub struct Repo {
    /// The provider's id, kept as `external_id` (GitHub and GitLab: a number; Azure DevOps: a
    /// GUID).
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub name: String,
    pub full_name: String,
    pub html_url: String,
    pub default_branch: Option<String>,
    pub visibility: Option<String>,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub archived: bool,
    pub pushed_at: Option<DateTime<Utc>>,
    pub language: Option<String>,
    /// All languages, largest first, where the provider lists them (GitLab).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Names at the root of the default branch, where read (not by the listing).
    #[serde(skip)]
    pub root_files: Vec<String>,
    /// Dates of the latest commits on the default branch, newest first, at most one page;
    /// `None` when they were not read or could not be (not by the listing).
    #[serde(skip)]
    pub recent_commits: Option<Vec<DateTime<Utc>>>,
}

/// A JSON number or string, as text.
fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(i64),
        Text(String),
    }
    Ok(match Id::deserialize(d)? {
        Id::Number(n) => n.to_string(),
        Id::Text(s) => s,
    })
}

#[derive(Deserialize)]
struct RepoPage {
    repositories: Vec<Repo>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct User {
    pub login: String,
    /// Collaborators only: `admin`, `maintain`, `write`, `triage`, `read` (or a custom role).
    pub role_name: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Team {
    pub slug: String,
    /// `pull`, `triage`, `push`, `maintain` or `admin`.
    pub permission: String,
}

#[derive(Deserialize)]
pub struct Commit {
    pub commit: CommitDetail,
}

#[derive(Deserialize)]
pub struct CommitDetail {
    pub committer: Option<Signature>,
    pub author: Option<Signature>,
}

#[derive(Deserialize)]
pub struct Signature {
    pub date: Option<DateTime<Utc>>,
}

/// The GitHub App's side of the API: app endpoints with the app JWT, the rest with an
/// installation token.
#[derive(Clone)]
pub struct Github {
    upstream: UpstreamClient,
}

impl Github {
    pub fn new(upstream: UpstreamClient) -> Self {
        Github { upstream }
    }

    pub(super) fn upstream(&self) -> &UpstreamClient {
        &self.upstream
    }

    pub(super) fn base(&self) -> &str {
        &self.upstream.config().github_api_url
    }

    /// The app JWT: RS256, `iss` the App ID, issued 60 s in the past (clock drift), valid 9 min.
    fn app_jwt(&self) -> ApiResult<String> {
        self.upstream.require(Integration::Github)?;
        let config = self.upstream.config();
        let pem = config.github_app_private_key.as_deref().unwrap_or_default();
        app_jwt(pem, &config.github_app_id, Utc::now())
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("signing the app JWT: {e}")))
    }

    /// `GET /app/installations/{id}`: whose installation it is.
    pub async fn installation(&self, id: i64) -> ProviderResult<Installation> {
        let jwt = self.app_jwt()?;
        let url = format!("{}/app/installations/{id}", self.base());
        self.json(&url, &jwt, Call::App).await.map(|(v, _)| v)
    }

    /// `POST /app/installations/{id}/access_tokens`: a token for the installation (1 hour).
    pub async fn mint_token(&self, id: i64) -> ProviderResult<AccessToken> {
        let jwt = self.app_jwt()?;
        let url = format!("{}/app/installations/{id}/access_tokens", self.base());
        // Minting is not idempotent in name only: a second token is harmless, so retry it.
        let response = wire::send(
            &self.upstream,
            Integration::Github,
            Retry::Safe,
            |http| headers(http.post(&url), &jwt),
            |status, headers, _, retry_at| explain(Call::App, status, headers, retry_at),
        )
        .await?;
        wire::decode_secret(&self.upstream, Integration::Github, response).await
    }

    /// `GET /orgs/{org}`: name and base permission.
    pub async fn org(&self, token: &str, login: &str) -> ProviderResult<OrgInfo> {
        let url = format!("{}/orgs/{login}", self.base());
        self.json(&url, token, Call::Installation)
            .await
            .map(|(v, _)| v)
    }

    /// `GET /installation/repositories`, every page.
    pub async fn repositories(&self, token: &str) -> ProviderResult<Vec<Repo>> {
        let url = format!("{}/installation/repositories?per_page=100", self.base());
        let pages: Vec<RepoPage> = self.pages(url, token).await?;
        Ok(pages.into_iter().flat_map(|p| p.repositories).collect())
    }

    /// `GET /orgs/{org}/members?filter=2fa_disabled`, every page.
    pub async fn members_without_2fa(&self, token: &str, org: &str) -> ProviderResult<Vec<User>> {
        let url = format!(
            "{}/orgs/{org}/members?filter=2fa_disabled&per_page=100",
            self.base()
        );
        Ok(self.pages::<Vec<User>>(url, token).await?.concat())
    }

    /// `GET /orgs/{org}/outside_collaborators`, every page.
    pub async fn outside_collaborators(&self, token: &str, org: &str) -> ProviderResult<Vec<User>> {
        let url = format!(
            "{}/orgs/{org}/outside_collaborators?per_page=100",
            self.base()
        );
        Ok(self.pages::<Vec<User>>(url, token).await?.concat())
    }

    /// `GET /repos/{full_name}/collaborators?affiliation=…`, every page.
    pub async fn collaborators(
        &self,
        token: &str,
        full_name: &str,
        affiliation: &str,
    ) -> ProviderResult<Vec<User>> {
        let url = format!(
            "{}/repos/{full_name}/collaborators?affiliation={affiliation}&per_page=100",
            self.base()
        );
        Ok(self.pages::<Vec<User>>(url, token).await?.concat())
    }

    /// `GET /repos/{full_name}/teams`, every page.
    pub async fn teams(&self, token: &str, full_name: &str) -> ProviderResult<Vec<Team>> {
        let url = format!("{}/repos/{full_name}/teams?per_page=100", self.base());
        Ok(self.pages::<Vec<Team>>(url, token).await?.concat())
    }

    /// The date of `login`'s latest commit in the repository (one call), if any.
    pub async fn last_commit_by(
        &self,
        token: &str,
        full_name: &str,
        login: &str,
    ) -> ProviderResult<Option<DateTime<Utc>>> {
        let url = format!(
            "{}/repos/{full_name}/commits?author={login}&per_page=1",
            self.base()
        );
        let (commits, _): (Vec<Commit>, _) = self.json(&url, token, Call::Installation).await?;
        Ok(commits.first().and_then(|c| {
            let detail = &c.commit;
            let date = |s: &Option<Signature>| s.as_ref().and_then(|s| s.date);
            date(&detail.committer).or(date(&detail.author))
        }))
    }

    /// `GET /repos/{full_name}/commits?per_page={count}`: the dates of the latest commits of the
    /// default branch, newest first (one call, one page).
    pub async fn recent_commits(
        &self,
        token: &str,
        full_name: &str,
        count: usize,
    ) -> ProviderResult<Vec<DateTime<Utc>>> {
        let url = format!("{}/repos/{full_name}/commits?per_page={count}", self.base());
        let (commits, _): (Vec<Commit>, _) = self.json(&url, token, Call::Installation).await?;
        Ok(commits
            .iter()
            .filter_map(|c| {
                let date = |s: &Option<Signature>| s.as_ref().and_then(|s| s.date);
                date(&c.commit.committer).or(date(&c.commit.author))
            })
            .collect())
    }

    /// `GET /repos/{full_name}/contents`: the names at the root of the default branch (one
    /// call; an empty repository answers 404).
    pub async fn root_files(&self, token: &str, full_name: &str) -> ProviderResult<Vec<String>> {
        #[derive(Deserialize)]
        struct Entry {
            name: String,
        }
        let url = format!("{}/repos/{full_name}/contents", self.base());
        let (entries, _): (Vec<Entry>, _) = self.json(&url, token, Call::Installation).await?;
        Ok(entries.into_iter().map(|e| e.name).collect())
    }

    /// Follows `Link: rel="next"` from `url`, on the configured host only (the token never goes
    /// anywhere else), up to `MAX_PAGES`.
    pub(super) async fn pages<T: DeserializeOwned>(
        &self,
        url: String,
        token: &str,
    ) -> ProviderResult<Vec<T>> {
        self.pages_as(url, token, Call::Installation).await
    }

    /// `pages` with another credential (a user's token).
    pub(super) async fn pages_as<T: DeserializeOwned>(
        &self,
        url: String,
        token: &str,
        call: Call,
    ) -> ProviderResult<Vec<T>> {
        let mut out = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let (page, headers) = self.json(&url, token, call).await?;
            out.push(page);
            next = next_link(&headers).filter(|n| n.starts_with(self.base()));
            if out.len() >= MAX_PAGES {
                tracing::warn!(url, "stopped following pages at the page limit");
                break;
            }
        }
        Ok(out)
    }

    pub(super) async fn json<T: DeserializeOwned>(
        &self,
        url: &str,
        bearer: &str,
        call: Call,
    ) -> ProviderResult<(T, HeaderMap)> {
        let response = wire::send(
            &self.upstream,
            Integration::Github,
            Retry::Safe,
            |http| headers(http.get(url), bearer),
            |status, headers, _, retry_at| explain(call, status, headers, retry_at),
        )
        .await?;
        wire::decode(&self.upstream, Integration::Github, url, response).await
    }
}

/// Signs an app JWT with a PKCS#1 PEM key (`BEGIN RSA PRIVATE KEY`, as GitHub issues it).
pub fn app_jwt(pem: &str, app_id: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let der = pem_body(pem, "RSA PRIVATE KEY").ok_or_else(|| {
        anyhow::anyhow!(
            "not a PKCS#1 RSA private key (BEGIN RSA PRIVATE KEY); convert a PKCS#8 key with \
             `openssl rsa -traditional`"
        )
    })?;
    let key = EncodingKey::from_rsa_der(&der);
    let now = now.timestamp();
    let claims = serde_json::json!({ "iat": now - 60, "exp": now + 9 * 60, "iss": app_id });
    Ok(encode(&Header::new(Algorithm::RS256), &claims, &key)?)
}

/// The DER inside a PEM block labelled `label`.
pub fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn headers(request: reqwest::RequestBuilder, bearer: &str) -> reqwest::RequestBuilder {
    request
        .bearer_auth(bearer)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", API_VERSION)
}

/// Which credential a call used: the app JWT, an installation token, or a user's token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    App,
    Installation,
    User,
}

/// GitHub's error vocabulary: rate limits (with their reset), the installation gone, the
/// app's credentials refused. `None` leaves 5xx and the rest to the shared client.
fn explain(
    call: Call,
    status: StatusCode,
    headers: &HeaderMap,
    retry_at: &RetryAt,
) -> Option<ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let reset = header("x-ratelimit-reset")
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|s| DateTime::from_timestamp(s, 0));
    let after = header("retry-after")
        .and_then(|v| v.parse::<i64>().ok())
        .map(|s| Utc::now() + TimeDelta::seconds(s));
    let code = status.as_u16();
    if (code == 403 || code == 429) && (exhausted || after.is_some() || code == 429) {
        let at = after.or(reset);
        *retry_at.lock().unwrap() = at;
        let when = at
            .map(|t| format!(" until {}", t.to_rfc3339()))
            .unwrap_or_default();
        return Some(ApiError::new(
            Code::RateLimited,
            format!("GitHub rate limit reached{when}"),
        ));
    }
    match (call, code) {
        (Call::App, 401) => Some(ApiError::new(
            Code::UpstreamAuthFailed,
            "GitHub refused the app's credentials: check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY",
        )),
        (Call::App, 403 | 404) => Some(ApiError::new(
            Code::UpstreamAuthFailed,
            "the GitHub App installation was removed or suspended: install the app again",
        )),
        (Call::Installation, 401) => Some(ApiError::new(
            Code::UpstreamAuthFailed,
            "GitHub refused the installation token (expired or revoked)",
        )),
        (Call::Installation, 403) => Some(ApiError::new(
            Code::UpstreamAuthFailed,
            "the GitHub App lacks a permission this needs",
        )),
        (Call::User, 401 | 403) => Some(ApiError::new(
            Code::UpstreamAuthFailed,
            "GitHub refused the signed-in user's token: start again with connectGithubOrganization",
        )),
        _ => None,
    }
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

/// A GitHub permission's rank (`pull`/`read` lowest … `admin` highest); unknown (custom) roles
/// rank as `read`.
pub fn rank(permission: &str) -> u8 {
    match permission {
        "none" => 0,
        "triage" => 2,
        "push" | "write" => 3,
        "maintain" => 4,
        "admin" => 5,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_next_link_only() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            "<https://api.github.com/x?page=3>; rel=\"next\", <https://api.github.com/x?page=9>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&h).unwrap(), "https://api.github.com/x?page=3");
        h.insert(
            "link",
            "<https://api.github.com/x?page=1>; rel=\"prev\""
                .parse()
                .unwrap(),
        );
        assert!(next_link(&h).is_none());
        assert!(rank("admin") > rank("maintain") && rank("push") == rank("write"));
        assert!(rank("pull") == rank("read") && rank("read") > rank("none"));
    }
}
