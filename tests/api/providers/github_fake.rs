//! A fake of GitHub's REST API for one GitHub App installation, answering with the real shapes:
//! the installation, `access_tokens` (201, `expires_at`), `installation/repositories` pages with
//! `Link` headers, the organization, members / outside collaborators, repository collaborators,
//! teams and commits. App endpoints check the app JWT (RS256 signature with the test key's public
//! half, `iss` the App ID, at most 10 minutes); the rest check the installation token. The web
//! side a browser sees: the App's install page (back to the setup URL with `installation_id`),
//! OAuth `authorize` (a signed-in user consents at once) and `access_token` (client, code,
//! PKCE verifier and redirect URI checked; refusals as GitHub gives them, 200 with `error`), and
//! `/user/installations` for the user's token.

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
pub const SLUG: &str = "the-one-code";
pub const CLIENT_ID: &str = "Iv23liTESTCLIENT";
pub const CLIENT_SECRET: &str = "test-client-secret";
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
    /// Repository name → dates of its latest commits, newest first (a listing without
    /// `author`); a repository not here has none.
    pub history: HashMap<String, Vec<DateTime<Utc>>>,
    /// Repositories whose commit listing answers 404.
    pub history_fail: Vec<String>,
    /// Repository name → names at its root (`/contents`); a repository not here answers 404.
    pub root: HashMap<String, Vec<String>>,
    /// The installation's account: its login, id and `type` (`Organization`, `User`,
    /// `Enterprise`).
    pub account: (String, i64, String),
    /// The gateway's setup URL, as configured in the App's settings.
    pub setup_url: String,
    /// The installation id the install page sends back to the setup URL.
    pub installed: i64,
    /// Installations the signed-in GitHub user can access (`/user/installations`).
    pub user_installations: Vec<i64>,
    /// The token endpoint refuses every code with this `error` (HTTP 200, as GitHub does).
    pub oauth_error: Option<String>,
    /// Issued sign-in codes → (PKCE challenge, redirect URI).
    pub codes: HashMap<String, (String, String)>,
    pub user_tokens: Vec<String>,
    /// `/user/installations` refuses every user token (401).
    pub refuse_user_tokens: bool,
    /// Every repositories page takes this long (a large organization).
    pub slow_pages: Option<std::time::Duration>,
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
        history: HashMap::new(),
        history_fail: Vec::new(),
        root: HashMap::new(),
        account: (ORG.into(), ORG_ID, "Organization".into()),
        setup_url: String::new(),
        installed: INSTALLATION,
        user_installations: vec![INSTALLATION],
        oauth_error: None,
        codes: HashMap::new(),
        user_tokens: vec![],
        refuse_user_tokens: false,
        slow_pages: None,
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
    let der = stack_gateway::upstream::github::pem_body(PUBLIC_KEY, "RSA PUBLIC KEY");
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

fn redirect(to: String) -> ResponseTemplate {
    ResponseTemplate::new(302).insert_header("location", to)
}

/// The web side and the user's API: install page, OAuth, `/user/installations`.
fn web(
    s: &mut State,
    request: &Request,
    query: &HashMap<String, String>,
) -> Option<ResponseTemplate> {
    let path = request.url.path();
    let arg = |k: &str| query.get(k).cloned().unwrap_or_default();
    if path == format!("/apps/{SLUG}/installations/new") {
        let mut to = url::Url::parse(&s.setup_url).unwrap();
        to.query_pairs_mut()
            .append_pair("installation_id", &s.installed.to_string())
            .append_pair("setup_action", "install")
            .append_pair("state", &arg("state"));
        return Some(redirect(to.into()));
    }
    if path == "/login/oauth/authorize" {
        if arg("client_id") != CLIENT_ID || arg("code_challenge_method") != "S256" {
            return Some(ResponseTemplate::new(400));
        }
        let code = format!("ghcode{}", s.codes.len() + 1);
        s.codes
            .insert(code.clone(), (arg("code_challenge"), arg("redirect_uri")));
        let mut to = url::Url::parse(&arg("redirect_uri")).unwrap();
        to.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &arg("state"));
        return Some(redirect(to.into()));
    }
    if path == "/login/oauth/access_token" {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let field = |k: &str| form.get(k).cloned().unwrap_or_default();
        let refuse = |error: &str| {
            ResponseTemplate::new(200).set_body_json(json!({ "error": error,
                "error_description": "refused", "error_uri": "https://docs.github.com" }))
        };
        if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
            return Some(refuse("incorrect_client_credentials"));
        }
        if let Some(error) = &s.oauth_error {
            return Some(refuse(error));
        }
        let Some((challenge, redirect_uri)) = s.codes.remove(&field("code")) else {
            return Some(refuse("bad_verification_code"));
        };
        use base64::Engine;
        use sha2::Digest;
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(field("code_verifier").as_bytes()));
        if computed != challenge || redirect_uri != field("redirect_uri") {
            return Some(refuse("bad_verification_code"));
        }
        let token = format!("ghu_user{}", s.user_tokens.len() + 1);
        s.user_tokens.push(token.clone());
        return Some(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "token_type": "bearer", "scope": "",
            "expires_in": 28800, "refresh_token": "ghr_x", "refresh_token_expires_in": 15_811_200,
        })));
    }
    if path == "/user/installations" {
        if s.refuse_user_tokens || !bearer(request).is_some_and(|t| s.user_tokens.contains(&t)) {
            return Some(unauthorized());
        }
        let list: Vec<Value> = s
            .user_installations
            .iter()
            .map(|id| installation(s, *id))
            .collect();
        return Some(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": list.len(), "installations": list })));
    }
    None
}

fn installation(s: &State, id: i64) -> Value {
    let (login, account_id, kind) = &s.account;
    json!({
        "id": id,
        "account": { "login": login, "id": account_id, "type": kind },
        "repository_selection": "all",
        "app_id": APP_ID.parse::<i64>().unwrap(),
        "app_slug": SLUG,
        "target_type": kind,
        "permissions": { "metadata": "read", "members": "read", "administration": "read" },
    })
}

impl Respond for Fake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let path = request.url.path().to_string();
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        if let Some(answer) = web(&mut s, request, &query) {
            return answer;
        }
        let app_path = format!("/app/installations/{INSTALLATION}");
        if path.starts_with("/app/") {
            if !app_jwt_ok(request) {
                return unauthorized();
            }
            if s.revoked || !path.starts_with(&app_path) {
                return not_found();
            }
            if path == app_path {
                return ResponseTemplate::new(200).set_body_json(installation(&s, INSTALLATION));
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
            if let Some(delay) = s.slow_pages {
                response = response.set_delay(delay);
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
        if let Some(name) = repo_of(&path, "/contents") {
            return match s.root.get(&name) {
                Some(names) => list(
                    names
                        .iter()
                        .map(|n| json!({ "name": n, "path": n, "type": "file" }))
                        .collect(),
                ),
                None => not_found(),
            };
        }
        if let Some(name) = repo_of(&path, "/commits")
            && !query.contains_key("author")
        {
            if s.history_fail.contains(&name) {
                return not_found();
            }
            let per_page: usize = query
                .get("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30);
            let dates = s.history.get(&name).cloned().unwrap_or_default();
            return list(
                dates
                    .iter()
                    .take(per_page)
                    .map(|at| {
                        let date = at.to_rfc3339();
                        json!({ "sha": "def456", "commit": {
                            "author": { "name": "dev", "date": date },
                            "committer": { "name": "dev", "date": date },
                            "message": "change",
                        } })
                    })
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
