//! GitLab through its OAuth application: the authorization-code (PKCE) and refresh-token grants
//! at `{GITLAB_URL}/oauth/token`, and the REST v4 calls discovery makes. Every call goes through
//! the shared `UpstreamClient`; 429 answers become `RATE_LIMITED` with the time from
//! `RateLimit-Reset` (or `Retry-After`) kept for `next_retry_at`. Token answers are never logged.

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::github::{OrgInfo, Repo, next_link};
use super::oauth;
use super::provider_wire::{self as wire, ProviderResult};
use crate::kernel::errors::{ApiError, Code};
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

/// Read access to the API (groups, projects, members) and nothing else.
pub const SCOPE: &str = "read_api";
/// Pages followed at most per list (100 per page).
const MAX_PAGES: usize = 100;

pub use super::oauth::{Grant, Tokens};

#[derive(Deserialize, Debug)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub full_path: String,
}

#[derive(Deserialize, Debug)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub path_with_namespace: String,
    pub web_url: String,
    pub default_branch: Option<String>,
    pub visibility: Option<String>,
    #[serde(default)]
    pub archived: bool,
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// One row of `GET /groups/:id/members/all` or `GET /projects/:id/members` (GitLab's
/// `API::Entities::Member`: the user's basic fields merged with the membership's).
#[derive(Deserialize, Debug, Clone)]
pub struct Member {
    pub id: i64,
    pub username: String,
    /// `active`, `blocked`, `deactivated`, …
    #[serde(default)]
    pub state: Option<String>,
    /// 5 minimal access, 10 guest, 15 planner, 20 reporter, 30 developer, 40 maintainer,
    /// 50 owner.
    pub access_level: i32,
    /// Present only when the caller may read members' 2FA (group owners and administrators,
    /// GitLab 18.x); absent means "not shown", never "disabled".
    #[serde(default)]
    pub two_factor_enabled: Option<bool>,
}

/// The parts of `GET /users/:id` the audit reads. `last_activity_on` and `external` are in
/// the answer only for instance administrators (`UserWithAdmin`): absent fields are `None`.
#[derive(Deserialize, Debug, Clone, Default)]
pub struct UserDetails {
    /// `Some(None)`: shown and null (never active); `None`: not shown.
    #[serde(default, deserialize_with = "shown")]
    pub last_activity_on: Option<Option<NaiveDate>>,
    #[serde(default)]
    pub external: Option<bool>,
    #[serde(default)]
    pub bot: bool,
}

/// A field that is present (maybe null) as `Some`, an absent one as `None` (with `default`).
fn shown<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Clone)]
pub struct Gitlab {
    upstream: UpstreamClient,
}

impl Gitlab {
    pub fn new(upstream: UpstreamClient) -> Self {
        Gitlab { upstream }
    }

    pub fn base(&self) -> &str {
        &self.upstream.config().gitlab_url
    }

    fn api(&self) -> String {
        format!("{}/api/v4", self.base())
    }

    /// `INTEGRATION_NOT_CONFIGURED` naming `GITLAB_CLIENT_ID` / `GITLAB_CLIENT_SECRET`.
    pub fn require(&self) -> Result<(), ApiError> {
        self.upstream.require(Integration::Gitlab)
    }

    pub fn client_id(&self) -> &str {
        self.upstream
            .config()
            .gitlab_client_id
            .as_deref()
            .unwrap_or_default()
    }

    fn client_secret(&self) -> &str {
        self.upstream
            .config()
            .gitlab_client_secret
            .as_deref()
            .unwrap_or_default()
    }

    /// Redeems a grant at `{GITLAB_URL}/oauth/token` (GitLab wants `redirect_uri` with the
    /// refresh grant too; it revokes the old refresh token only once the new one is used).
    pub async fn redeem(&self, redirect_uri: &str, grant: Grant<'_>) -> ProviderResult<Tokens> {
        self.require()?;
        let pairs = [
            ("client_id", self.client_id()),
            ("client_secret", self.client_secret()),
            ("redirect_uri", redirect_uri),
        ];
        let url = format!("{}/oauth/token", self.base());
        oauth::redeem(
            &self.upstream,
            Integration::Gitlab,
            &url,
            &pairs,
            grant,
            |status, headers, body, retry_at| {
                rate_limited(status, headers, retry_at)
                    .or_else(|| explain_token(grant, status, body))
            },
        )
        .await
    }

    /// RFC 7009 revocation at `{GITLAB_URL}/oauth/revoke` (form: `client_id`, `client_secret`,
    /// `token`, `token_type_hint`). GitLab answers 200 for a token it does not know too.
    /// Idempotent, so retried on 5xx.
    pub async fn revoke(&self, token: &str, hint: &str) -> ProviderResult<()> {
        self.require()?;
        let pairs = [
            ("client_id", self.client_id()),
            ("client_secret", self.client_secret()),
            ("token", token),
            ("token_type_hint", hint),
        ];
        let url = format!("{}/oauth/revoke", self.base());
        oauth::post_form(
            &self.upstream,
            Integration::Gitlab,
            Retry::Safe,
            &url,
            &pairs,
            |status, headers, _, retry_at| rate_limited(status, headers, retry_at),
        )
        .await?;
        Ok(())
    }

    /// `GET /groups/:path`.
    pub async fn group(&self, token: &str, path: &str) -> ProviderResult<Group> {
        let id: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        let url = format!("{}/groups/{id}", self.api());
        self.json(&url, token).await.map(|(v, _)| v)
    }

    /// Every project of the group and its subgroups, each with its languages
    /// (`/projects/:id/languages`) as the repository's languages.
    pub async fn repositories(&self, token: &str, group: i64) -> ProviderResult<Vec<Repo>> {
        let first = format!(
            "{}/groups/{group}/projects?include_subgroups=true&per_page=100&order_by=id&sort=asc",
            self.api()
        );
        let projects: Vec<Project> = self.pages(first, token, explain_api).await?;
        let mut repos = Vec::with_capacity(projects.len());
        for p in projects {
            let url = format!("{}/projects/{}/languages", self.api(), p.id);
            let (languages, _): (serde_json::Map<String, serde_json::Value>, _) =
                self.json(&url, token).await?;
            let mut languages: Vec<(String, f64)> = languages
                .into_iter()
                .map(|(k, v)| (k, v.as_f64().unwrap_or(0.0)))
                .collect();
            // Largest share first, so the stack reads in order of weight.
            languages.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            repos.push(Repo {
                id: p.id.to_string(),
                name: p.name,
                full_name: p.path_with_namespace,
                html_url: p.web_url,
                default_branch: p.default_branch,
                private: p.visibility.as_deref() != Some("public"),
                visibility: p.visibility,
                archived: p.archived,
                pushed_at: p.last_activity_at,
                language: None,
                languages: languages.into_iter().map(|(k, _)| k).collect(),
                root_files: Vec::new(),
                recent_commits: None,
            });
        }
        Ok(repos)
    }

    /// Every member of the group with access through it, inherited from its ancestors included
    /// (`/groups/:path/members/all`: one row per user, the highest level). `None` when the
    /// connecting user may not read the list (403) or cannot see the group (404).
    /// `GET /projects/:id/repository/commits?per_page={count}`: the dates of the latest commits
    /// of the default branch, newest first (one call, one page; GitLab's `committed_date`).
    pub async fn recent_commits(
        &self,
        token: &str,
        project: &str,
        count: usize,
    ) -> ProviderResult<Vec<DateTime<Utc>>> {
        #[derive(Deserialize)]
        struct Commit {
            committed_date: Option<DateTime<Utc>>,
            authored_date: Option<DateTime<Utc>>,
        }
        let url = format!(
            "{}/projects/{project}/repository/commits?per_page={count}",
            self.api()
        );
        let (commits, _): (Vec<Commit>, _) = self.json(&url, token).await?;
        Ok(commits
            .into_iter()
            .filter_map(|c| c.committed_date.or(c.authored_date))
            .collect())
    }

    pub async fn group_members(
        &self,
        token: &str,
        path: &str,
    ) -> ProviderResult<Option<Vec<Member>>> {
        let id: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        let first = format!("{}/groups/{id}/members/all?per_page=100", self.api());
        optional(self.pages(first, token, explain_audit).await)
    }

    /// The project's direct members (`/projects/:id/members`: granted on the project itself,
    /// not inherited, not through a shared group). `None` on 403/404.
    pub async fn project_members(
        &self,
        token: &str,
        project: &str,
    ) -> ProviderResult<Option<Vec<Member>>> {
        let first = format!("{}/projects/{project}/members?per_page=100", self.api());
        optional(self.pages(first, token, explain_audit).await)
    }

    /// `GET /users/:id`; `None` on 403/404.
    pub async fn user(&self, token: &str, id: i64) -> ProviderResult<Option<UserDetails>> {
        let url = format!("{}/users/{id}", self.api());
        optional(self.get(&url, token, explain_audit).await.map(|(v, _)| v))
    }

    /// Every page of a list, following `Link: rel="next"` / `X-Next-Page` only to the
    /// configured host, at most `MAX_PAGES`.
    async fn pages<T: DeserializeOwned>(
        &self,
        first: String,
        token: &str,
        explain: fn(StatusCode) -> Option<ApiError>,
    ) -> ProviderResult<Vec<T>> {
        let mut url = Some(first);
        let mut all = Vec::new();
        let mut pages = 0;
        while let Some(current) = url.take() {
            let (page, headers): (Vec<T>, _) = self.get(&current, token, explain).await?;
            all.extend(page);
            pages += 1;
            url = next_page(&headers, &current).filter(|n| n.starts_with(self.base()));
            if pages >= MAX_PAGES {
                tracing::warn!(url = current, "stopped following pages at the page limit");
                break;
            }
        }
        Ok(all)
    }

    /// The group as discovery records it on the organization.
    pub fn org_info(group: &Group) -> OrgInfo {
        OrgInfo {
            login: group.full_path.clone(),
            name: Some(group.name.clone()),
            default_repository_permission: None,
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        url: &str,
        bearer: &str,
    ) -> ProviderResult<(T, HeaderMap)> {
        self.get(url, bearer, explain_api).await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        bearer: &str,
        explain: fn(StatusCode) -> Option<ApiError>,
    ) -> ProviderResult<(T, HeaderMap)> {
        let response = wire::send(
            &self.upstream,
            Integration::Gitlab,
            Retry::Safe,
            |http| http.get(url).bearer_auth(bearer),
            |status, headers, _, retry_at| {
                rate_limited(status, headers, retry_at).or_else(|| explain(status))
            },
        )
        .await?;
        wire::decode(&self.upstream, Integration::Gitlab, url, response).await
    }
}

/// The next page: `Link: rel="next"`, else `X-Next-Page` applied to the current URL (GitLab
/// omits `Link` on some keyset/offset combinations; an empty `X-Next-Page` is the last page).
pub fn next_page(headers: &HeaderMap, current: &str) -> Option<String> {
    if let Some(link) = next_link(headers) {
        return Some(link);
    }
    let page = headers
        .get("x-next-page")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u32>()
        .ok()?;
    let mut url = url::Url::parse(current).ok()?;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("page", &page.to_string());
    Some(url.into())
}

/// 429: GitLab's `RateLimit-Reset` (Unix seconds) or `Retry-After` (seconds).
fn rate_limited(
    status: StatusCode,
    headers: &HeaderMap,
    retry_at: &wire::RetryAt,
) -> Option<ApiError> {
    wire::rate_limited(
        Integration::Gitlab,
        status,
        headers,
        "ratelimit-reset",
        retry_at,
    )
}

fn explain_api(status: StatusCode) -> Option<ApiError> {
    match status.as_u16() {
        401 => Some(ApiError::new(
            Code::UpstreamAuthFailed,
            "GitLab refused the stored authorization (expired or revoked): connect the group again",
        )),
        403 => Some(ApiError::new(
            Code::UpstreamAuthFailed,
            "GitLab refused access: the connecting user lacks access to the group",
        )),
        404 => Some(ApiError::new(
            Code::UpstreamRejected,
            "GitLab does not know the group, or the connecting user cannot see it",
        )),
        _ => None,
    }
}

/// The audit's lists: a list the connecting user may not read (403) or a thing it cannot see
/// (404) is not a failure of the run, only a rule that cannot be judged (`optional`); 401 is
/// the stored authorization and fails the run as everywhere else.
fn explain_audit(status: StatusCode) -> Option<ApiError> {
    match status.as_u16() {
        403 | 404 => Some(ApiError::new(Code::UpstreamRejected, NOT_READABLE)),
        _ => explain_api(status),
    }
}

const NOT_READABLE: &str = "GitLab does not let the connecting user read this list";

fn optional<T>(result: ProviderResult<T>) -> ProviderResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.error.code() == Code::UpstreamRejected && e.error.message() == NOT_READABLE => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// RFC 6749 §5.2 refusals at the token endpoint.
fn explain_token(grant: Grant<'_>, status: StatusCode, body: &str) -> Option<ApiError> {
    let error = oauth::refusal(status, body)?;
    let message = match (error.as_str(), grant) {
        ("invalid_grant", Grant::Refresh(_)) => format!(
            "GitLab refused the stored authorization ({error}): it was revoked or has expired; \
             connect the group again (connectGitlabGroup)"
        ),
        ("invalid_grant", Grant::Code { .. }) => format!(
            "GitLab refused the sign-in code ({error}): it was used or has expired; start again \
             with connectGitlabGroup"
        ),
        ("invalid_client" | "unauthorized_client", _) => format!(
            "GitLab refused the gateway's OAuth application ({error}): check GITLAB_CLIENT_ID and \
             GITLAB_CLIENT_SECRET"
        ),
        _ => return None,
    };
    Some(ApiError::new(Code::UpstreamAuthFailed, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_x_next_page_when_there_is_no_link() {
        let mut h = HeaderMap::new();
        h.insert("x-next-page", "3".parse().unwrap());
        let next = next_page(
            &h,
            "https://gitlab.test/api/v4/groups/1/projects?per_page=100&page=2",
        )
        .unwrap();
        assert_eq!(
            next,
            "https://gitlab.test/api/v4/groups/1/projects?per_page=100&page=3"
        );
        h.insert("x-next-page", "".parse().unwrap());
        assert_eq!(next_page(&h, "https://gitlab.test/x?page=3"), None);
    }
}
