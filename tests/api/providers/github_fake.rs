//! A fake of GitHub's REST API for one GitHub App installation, answering with the real shapes:
//! the installation, `access_tokens` (201, `expires_at`), `installation/repositories` pages with
//! `Link` headers, the organization, members / outside collaborators, repository collaborators,
//! teams and commits. App endpoints check the app JWT (RS256 signature with the test key's public
//! half, `iss` the App ID, at most 10 minutes); the rest check the installation token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

pub const APP_ID: &str = "3034314";
pub const INSTALLATION: i64 = 51_234_567;
pub const ORG: &str = "acme";
pub const ORG_ID: i64 = 9_001;
pub const PRIVATE_KEY: &str = include_str!("../fixtures/github-app-test.pem");
const PUBLIC_KEY: &str = include_str!("../fixtures/github-app-test.pub.pem");

/// What the fake GitHub holds; tests change it between calls.
pub struct State {
    pub base: String,
    pub repos: Vec<Value>,
    /// Repositories per page (GitHub's is `per_page`; smaller here to exercise `Link`).
    pub page_size: usize,
    pub token_ttl: TimeDelta,
    pub minted: Vec<String>,
    /// The installation is gone: app endpoints answer 404, tokens 401.
    pub revoked: bool,
    /// Every installation-token call answers this instead.
    pub fail: Option<ResponseTemplate>,
    /// Only page 2 of the repositories answers this.
    pub fail_page_2: Option<ResponseTemplate>,
    pub base_permission: String,
    pub no_2fa: Vec<String>,
    /// The 2FA filter answers 403: the app may not read members (no "Members" permission).
    pub no_2fa_forbidden: bool,
    pub outside: Vec<String>,
    /// Repository name → (login, role_name) of direct collaborators.
    pub direct: HashMap<String, Vec<(String, String)>>,
    /// Repository name → (login, role_name) of everyone with access.
    pub all: HashMap<String, Vec<(String, String)>>,
    /// Repository name → (team slug, permission).
    pub teams: HashMap<String, Vec<(String, String)>>,
    /// Login → date of their latest commit.
    pub commits: HashMap<String, DateTime<Utc>>,
}

pub type Shared = Arc<Mutex<State>>;

pub fn repo(id: i64, name: &str, language: Option<&str>, archived: bool) -> Value {
    json!({
        "id": id,
        "node_id": format!("R_kgDO{id}"),
        "name": name,
        "full_name": format!("{ORG}/{name}"),
        "private": true,
        "owner": { "login": ORG, "id": ORG_ID, "type": "Organization" },
        "html_url": format!("https://github.com/{ORG}/{name}"),
        "description": null,
        "fork": false,
        "url": format!("https://api.github.com/repos/{ORG}/{name}"),
        "languages_url": format!("https://api.github.com/repos/{ORG}/{name}/languages"),
        "created_at": "2021-03-01T10:00:00Z",
        "updated_at": "2026-11-01T10:00:00Z",
        "pushed_at": "2026-11-20T08:30:00Z",
        "language": language,
        "archived": archived,
        "disabled": false,
        "visibility": "private",
        "default_branch": "main",
        "topics": [],
    })
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

pub async fn start() -> (MockServer, Shared) {
    let server = MockServer::start().await;
    let state = Arc::new(Mutex::new(State {
        base: server.uri(),
        repos: vec![
            repo(101, "api", Some("Rust"), false),
            repo(102, "web", Some("TypeScript"), false),
            repo(103, "legacy", None, true),
        ],
        page_size: 2,
        token_ttl: TimeDelta::hours(1),
        minted: vec![],
        revoked: false,
        fail: None,
        fail_page_2: None,
        base_permission: "read".into(),
        no_2fa: vec![],
        no_2fa_forbidden: false,
        outside: vec![],
        direct: HashMap::new(),
        all: HashMap::new(),
        teams: HashMap::new(),
        commits: HashMap::new(),
    }));
    Mock::given(any())
        .respond_with(Fake(state.clone()))
        .mount(&server)
        .await;
    (server, state)
}

struct Fake(Shared);

fn bearer(request: &Request) -> Option<String> {
    let value = request.headers.get("authorization")?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_string)
}

/// The app JWT as GitHub checks it: signature, `iss`, `exp` within 10 minutes of `iat`.
fn app_jwt_ok(request: &Request) -> bool {
    let Some(token) = bearer(request) else {
        return false;
    };
    let der = stack_gateway::code::providers::github::pem_body(PUBLIC_KEY, "RSA PUBLIC KEY");
    let key = DecodingKey::from_rsa_der(&der.unwrap());
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[APP_ID]);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    match jsonwebtoken::decode::<Value>(&token, &key, &validation) {
        Ok(data) => {
            let iat = data.claims["iat"].as_i64().unwrap_or(0);
            let exp = data.claims["exp"].as_i64().unwrap_or(0);
            exp - iat <= 600 && iat <= Utc::now().timestamp()
        }
        Err(_) => false,
    }
}

fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }))
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }))
}

fn user(login: &str, role: Option<&str>) -> Value {
    let mut v = json!({ "login": login, "id": login.len() as i64 * 1000, "type": "User", "site_admin": false });
    if let Some(role) = role {
        v["role_name"] = role.into();
        v["permissions"] =
            json!({ "pull": true, "push": role != "read", "admin": role == "admin" });
    }
    v
}

impl Respond for Fake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let path = request.url.path().to_string();
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let app_path = format!("/app/installations/{INSTALLATION}");
        if path.starts_with("/app/") {
            if !app_jwt_ok(request) {
                return unauthorized();
            }
            if s.revoked || !path.starts_with(&app_path) {
                return not_found();
            }
            if path == app_path {
                return ResponseTemplate::new(200).set_body_json(json!({
                    "id": INSTALLATION,
                    "account": { "login": ORG, "id": ORG_ID, "type": "Organization" },
                    "repository_selection": "all",
                    "app_id": APP_ID.parse::<i64>().unwrap(),
                    "target_type": "Organization",
                    "permissions": { "metadata": "read", "members": "read", "administration": "read" },
                }));
            }
            if path == format!("{app_path}/access_tokens") && request.method.as_str() == "POST" {
                let token = format!("ghs_fake{:02}TOKENVALUE", s.minted.len() + 1);
                s.minted.push(token.clone());
                let expires = (Utc::now() + s.token_ttl).to_rfc3339();
                return ResponseTemplate::new(201).set_body_json(json!({
                    "token": token,
                    "expires_at": expires,
                    "permissions": { "metadata": "read", "members": "read" },
                    "repository_selection": "all",
                }));
            }
            return not_found();
        }
        let token_ok = bearer(request).is_some_and(|t| s.minted.last() == Some(&t) && !s.revoked);
        if !token_ok {
            return unauthorized();
        }
        if let Some(fail) = &s.fail {
            return fail.clone();
        }
        let list = |items: Vec<Value>| ResponseTemplate::new(200).set_body_json(items);
        let repo_of = |p: &str, suffix: &str| -> Option<String> {
            p.strip_prefix(&format!("/repos/{ORG}/"))?
                .strip_suffix(suffix)
                .map(str::to_string)
        };
        if path == "/installation/repositories" {
            let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            if page == 2
                && let Some(fail) = &s.fail_page_2
            {
                return fail.clone();
            }
            let pages = s.repos.len().div_ceil(s.page_size).max(1);
            let items: Vec<Value> = s
                .repos
                .iter()
                .skip((page - 1) * s.page_size)
                .take(s.page_size)
                .cloned()
                .collect();
            let link = |n: usize, rel: &str| {
                format!(
                    "<{}/installation/repositories?per_page=100&page={n}>; rel=\"{rel}\"",
                    s.base
                )
            };
            let mut links = vec![];
            if page > 1 {
                links.push(link(page - 1, "prev"));
            }
            if page < pages {
                links.push(link(page + 1, "next"));
                links.push(link(pages, "last"));
            }
            let mut response = ResponseTemplate::new(200).set_body_json(json!({
                "total_count": s.repos.len(),
                "repository_selection": "all",
                "repositories": items,
            }));
            if !links.is_empty() {
                response = response.insert_header("link", links.join(", "));
            }
            return response
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "4990");
        }
        if path == format!("/orgs/{ORG}") {
            return ResponseTemplate::new(200).set_body_json(json!({
                "login": ORG,
                "id": ORG_ID,
                "name": "Acme Corp",
                "default_repository_permission": s.base_permission,
                "two_factor_requirement_enabled": false,
            }));
        }
        if path == format!("/orgs/{ORG}/members") {
            if query.get("filter").map(String::as_str) != Some("2fa_disabled") {
                return not_found();
            }
            if s.no_2fa_forbidden {
                return ResponseTemplate::new(403).set_body_json(json!({
                    "message": "Resource not accessible by integration",
                    "documentation_url": "https://docs.github.com/rest/orgs/members#list-organization-members",
                    "status": "403",
                }));
            }
            return list(s.no_2fa.iter().map(|l| user(l, None)).collect());
        }
        if path == format!("/orgs/{ORG}/outside_collaborators") {
            return list(s.outside.iter().map(|l| user(l, None)).collect());
        }
        if let Some(name) = repo_of(&path, "/collaborators") {
            let source = match query.get("affiliation").map(String::as_str) {
                Some("direct") => &s.direct,
                _ => &s.all,
            };
            let users = source.get(&name).cloned().unwrap_or_default();
            return list(users.iter().map(|(l, r)| user(l, Some(r))).collect());
        }
        if let Some(name) = repo_of(&path, "/teams") {
            let teams = s.teams.get(&name).cloned().unwrap_or_default();
            return list(
                teams
                    .iter()
                    .map(
                        |(slug, p)| json!({ "id": 7, "slug": slug, "name": slug, "permission": p }),
                    )
                    .collect(),
            );
        }
        if repo_of(&path, "/commits").is_some() {
            let author = query.get("author").cloned().unwrap_or_default();
            return list(
                s.commits
                    .get(&author)
                    .map(|at| {
                        let date = at.to_rfc3339();
                        vec![json!({ "sha": "abc123", "commit": {
                            "author": { "name": author, "date": date },
                            "committer": { "name": author, "date": date },
                            "message": "work",
                        } })]
                    })
                    .unwrap_or_default(),
            );
        }
        not_found()
    }
}
