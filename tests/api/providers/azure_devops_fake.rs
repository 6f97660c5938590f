//! A fake of the Microsoft identity platform token endpoint and Azure DevOps Services' REST API
//! for one organization, answering with the real shapes: the v2 token endpoint (authorization
//! code checked against the PKCE challenge, refresh tokens rotated on every use, AADSTS errors),
//! `connectionData`, project pages with `x-ms-continuationtoken`, `git/repositories`
//! (`{count, value}`), commits with `searchCriteria.$top`, project language metrics, and the
//! failure modes (429 with `Retry-After` / `X-RateLimit-*`, 401, 203 with the HTML sign-in page).
//! Member Entitlement Management's `userentitlements` pages (body `continuationToken`).
//! One server plays all hosts: `/login` (login.microsoftonline.com), `/ado` (dev.azure.com),
//! `/vsaex` (vsaex.dev.azure.com).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

pub const ORG: &str = "acme";
pub const INSTANCE_ID: &str = "5b1d3f4a-7a59-4c3e-9d8e-2f6a1b0c9e71";
pub const CLIENT_ID: &str = "ado-client";
pub const CLIENT_SECRET: &str = "ado-secret";
pub const CODE: &str = "the-code";
pub const RESOURCE_SCOPE: &str = "499b84ac-1321-427f-aa17-267ca6975798/.default offline_access";

/// What the fake holds; tests change it between calls.
pub struct State {
    pub base: String,
    pub projects: Vec<Value>,
    /// Projects per page (`$top` is 100; smaller here to exercise the continuation token).
    pub page_size: usize,
    pub repos: Vec<Value>,
    /// Repository id → language shares (name, percentage).
    pub languages: HashMap<String, Vec<(String, f64)>>,
    /// Repository id → the latest commit's date.
    pub commits: HashMap<String, DateTime<Utc>>,
    /// The challenge of the authorize URL the test followed (the code is bound to it).
    pub challenge: Option<String>,
    pub issued_access: Vec<String>,
    pub issued_refresh: Vec<String>,
    pub token_ttl_seconds: i64,
    /// Every API call answers this instead.
    pub fail: Option<ResponseTemplate>,
    /// The token endpoint answers this instead.
    pub fail_token: Option<ResponseTemplate>,
    pub entitlements: Vec<Value>,
    /// The connecting user may not read the entitlements (403).
    pub entitlements_forbidden: bool,
}

pub type Shared = Arc<Mutex<State>>;

pub fn project(id: &str, name: &str, visibility: &str) -> Value {
    json!({
        "id": id, "name": name, "description": format!("{name} project"),
        "url": format!("https://dev.azure.com/{ORG}/_apis/projects/{id}"),
        "state": "wellFormed", "revision": 11, "visibility": visibility,
        "lastUpdateTime": "2026-10-01T09:00:00.000Z"
    })
}

/// A repository as `_apis/git/repositories` lists it, with its project embedded.
pub fn repo(id: &str, name: &str, project: &Value, branch: Option<&str>, disabled: bool) -> Value {
    let pname = project["name"].as_str().unwrap();
    let mut v = json!({
        "id": id, "name": name,
        "url": format!("https://dev.azure.com/{ORG}/{}/_apis/git/repositories/{id}", project["id"].as_str().unwrap()),
        "project": project,
        "size": 1024, "isDisabled": disabled, "isInMaintenance": false,
        "remoteUrl": format!("https://{ORG}@dev.azure.com/{ORG}/{pname}/_git/{name}"),
        "sshUrl": format!("git@ssh.dev.azure.com:v3/{ORG}/{pname}/{name}"),
        "webUrl": format!("https://dev.azure.com/{ORG}/{pname}/_git/{name}"),
    });
    if let Some(branch) = branch {
        v["defaultBranch"] = format!("refs/heads/{branch}").into();
    }
    v
}

pub const P1: &str = "0f6c1e0e-1111-4a5b-8c9d-000000000001";
pub const P2: &str = "0f6c1e0e-2222-4a5b-8c9d-000000000002";
pub const P3: &str = "0f6c1e0e-3333-4a5b-8c9d-000000000003";
pub const R_API: &str = "9a1b2c3d-0000-4000-8000-00000000a001";
pub const R_WEB: &str = "9a1b2c3d-0000-4000-8000-00000000a002";
pub const R_LEGACY: &str = "9a1b2c3d-0000-4000-8000-00000000a003";
pub const R_EMPTY: &str = "9a1b2c3d-0000-4000-8000-00000000a004";

pub fn projects() -> Vec<Value> {
    vec![
        project(P1, "Platform", "private"),
        project(P2, "Web Store", "public"),
        project(P3, "Archive", "private"),
    ]
}

/// Four repositories over three projects (two project pages): one disabled, one empty.
pub fn repos() -> Vec<Value> {
    let p = projects();
    vec![
        repo(R_API, "api", &p[0], Some("main"), false),
        repo(R_WEB, "storefront", &p[1], Some("develop"), false),
        repo(R_LEGACY, "legacy", &p[2], Some("master"), true),
        repo(R_EMPTY, "scratch", &p[0], None, false),
    ]
}

/// A user entitlement as Member Entitlement Management 7.1 lists it (`select=Projects`).
pub fn entitlement(
    who: &str,
    meta_type: &str,
    last_accessed: &str,
    projects: &[(&str, &str, &str)],
) -> Value {
    json!({
        "id": format!("u-{who}"),
        "user": {
            "subjectKind": "user", "metaType": meta_type, "domain": "aad",
            "principalName": who, "mailAddress": who, "origin": "aad",
            "displayName": who.split('@').next().unwrap(),
            "descriptor": format!("aad.{who}")
        },
        "accessLevel": { "licensingSource": "account", "accountLicenseType": "express",
            "licenseDisplayName": "Basic", "status": "active", "assignmentSource": "unknown" },
        "lastAccessedDate": last_accessed,
        "dateCreated": "2025-01-10T08:00:00Z",
        "projectEntitlements": projects.iter().map(|(id, name, group)| json!({
            "assignmentSource": "unknown",
            "group": { "groupType": group, "displayName": match *group {
                "projectContributor" => "Project Contributors",
                "projectAdministrator" => "Project Administrators",
                _ => "Project Readers",
            } },
            "projectPermissionInherited": "notSet",
            "projectRef": { "id": id, "name": name },
        })).collect::<Vec<_>>(),
        "extensions": [], "groupAssignments": []
    })
}

fn days_ago(days: i64) -> String {
    (Utc::now() - chrono::TimeDelta::days(days)).to_rfc3339()
}

/// A recent member, an inactive member (members are not judged), a guest inactive for 200 days
/// (contributor on Platform), a guest who never signed in (reader on Web Store), a recent guest.
pub fn entitlements() -> Vec<Value> {
    vec![
        entitlement(
            "alice@acme.example",
            "member",
            &days_ago(1),
            &[(P1, "Platform", "projectAdministrator")],
        ),
        entitlement(
            "idle@acme.example",
            "member",
            &days_ago(400),
            &[(P1, "Platform", "projectContributor")],
        ),
        entitlement(
            "old.guest@partner.example",
            "guest",
            &days_ago(200),
            &[
                (P1, "Platform", "projectContributor"),
                (P3, "Archive", "projectReader"),
            ],
        ),
        entitlement(
            "never@partner.example",
            "guest",
            "0001-01-01T00:00:00Z",
            &[(P2, "Web Store", "projectReader")],
        ),
        entitlement(
            "fresh@partner.example",
            "guest",
            &days_ago(10),
            &[(P2, "Web Store", "projectContributor")],
        ),
    ]
}

pub async fn start() -> (MockServer, Shared) {
    let server = MockServer::start().await;
    let commit_at: DateTime<Utc> = "2026-11-20T10:15:30Z".parse().unwrap();
    let state = Arc::new(Mutex::new(State {
        base: server.uri(),
        projects: projects(),
        page_size: 2,
        repos: repos(),
        languages: HashMap::from([
            (
                R_API.to_string(),
                vec![("Shell".into(), 20.5), ("C#".into(), 79.5)],
            ),
            (R_WEB.to_string(), vec![("TypeScript".into(), 100.0)]),
        ]),
        commits: HashMap::from([
            (R_API.to_string(), commit_at),
            (R_WEB.to_string(), commit_at),
        ]),
        challenge: None,
        issued_access: vec![],
        issued_refresh: vec![],
        token_ttl_seconds: 4179,
        fail: None,
        fail_token: None,
        entitlements: entitlements(),
        entitlements_forbidden: false,
    }));
    Mock::given(any())
        .respond_with(Fake(state.clone()))
        .mount(&server)
        .await;
    (server, state)
}

struct Fake(Shared);

fn aad_error(error: &str, code: u32, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description} Trace ID: 0c2e Correlation ID: 7f1a Timestamp: 2026-12-02 02:00:00Z"),
        "error_codes": [code],
        "timestamp": "2026-12-02 02:00:00Z",
        "trace_id": "0c2e", "correlation_id": "7f1a",
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    }))
}

fn not_found(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "$id": "1", "innerException": null, "message": message,
        "typeName": "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistException",
        "typeKey": "ProjectDoesNotExistException", "errorCode": 0, "eventId": 3000
    }))
}

/// What Azure DevOps answers a bearer token it does not accept.
pub fn sign_in_page() -> ResponseTemplate {
    ResponseTemplate::new(203)
        .insert_header("content-type", "text/html; charset=utf-8")
        .set_body_string(
            "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>\
             <body>Sign in to continue</body></html>",
        )
}

impl Fake {
    fn token(&self, s: &mut State, request: &Request) -> ResponseTemplate {
        if let Some(fail) = &s.fail_token {
            return fail.clone();
        }
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
            return ResponseTemplate::new(401).set_body_json(json!({
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
                "error_codes": [7000215]
            }));
        }
        if field("scope") != RESOURCE_SCOPE {
            return aad_error(
                "invalid_scope",
                70011,
                "The provided value for scope is not valid.",
            );
        }
        match field("grant_type") {
            "authorization_code" => {
                let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(field("code_verifier").as_bytes()));
                if field("code") != CODE || s.challenge.as_deref() != Some(challenge.as_str()) {
                    return aad_error(
                        "invalid_grant",
                        501481,
                        "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                    );
                }
                if !field("redirect_uri").ends_with("/auth/azure-devops/callback") {
                    return aad_error("invalid_grant", 50011, "The redirect URI does not match.");
                }
            }
            "refresh_token" => {
                // Rotation: only the newest refresh token is accepted.
                if s.issued_refresh.last().map(String::as_str) != Some(field("refresh_token")) {
                    return aad_error(
                        "invalid_grant",
                        70000,
                        "The provided value for the 'refresh_token' is not valid.",
                    );
                }
            }
            _ => return aad_error("unsupported_grant_type", 70003, "Unsupported grant type."),
        }
        let n = s.issued_access.len() + 1;
        let access = format!("eyJ0eXAiOiJKV1Qi.ado-access-{n}.sig");
        let refresh = format!("1.AXoA-ado-refresh-{n}");
        s.issued_access.push(access.clone());
        s.issued_refresh.push(refresh.clone());
        ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer",
            "scope": "499b84ac-1321-427f-aa17-267ca6975798/user_impersonation",
            "expires_in": s.token_ttl_seconds, "ext_expires_in": s.token_ttl_seconds,
            "access_token": access, "refresh_token": refresh,
        }))
    }
}

impl Respond for Fake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let path = request.url.path().to_string();
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        if path == "/login/organizations/oauth2/v2.0/token" && request.method.as_str() == "POST" {
            return self.token(&mut s, request);
        }
        let entitlements = path == format!("/vsaex/{ORG}/_apis/userentitlements");
        let rest = path.strip_prefix(&format!("/ado/{ORG}/"));
        if rest.is_none() && !entitlements {
            return not_found("TF400813: The organization could not be found.");
        }
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer.is_none() || bearer != s.issued_access.last().map(String::as_str) {
            return ResponseTemplate::new(401)
                .insert_header(
                    "www-authenticate",
                    "Bearer authorization_uri=https://login.microsoftonline.com/",
                )
                .set_body_string("");
        }
        if let Some(fail) = &s.fail {
            return fail.clone();
        }
        let version = query.get("api-version").map(String::as_str);
        let json = |v: Value| ResponseTemplate::new(200).set_body_json(v);
        if entitlements {
            if s.entitlements_forbidden {
                return ResponseTemplate::new(403).set_body_json(json!({
                    "message": "VS403283: You do not have permission to view users.",
                    "typeKey": "UnauthorizedRequestException"
                }));
            }
            if version != Some("7.1") || query.get("select").map(String::as_str) != Some("Projects")
            {
                return ResponseTemplate::new(400);
            }
            let start: usize = query
                .get("continuationToken")
                .and_then(|t| t.strip_prefix("page-"))
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let page: Vec<Value> = s.entitlements.iter().skip(start).take(2).cloned().collect();
            let next = (start + 2 < s.entitlements.len()).then(|| format!("page-{}", start + 2));
            return json(json!({
                "members": page, "continuationToken": next,
                "totalCount": s.entitlements.len()
            }));
        }
        let rest = rest.unwrap();
        if rest == "_apis/connectionData" {
            return json(json!({
                "authenticatedUser": { "id": "d6245f20-2af8-44f4-9451-8107cb2767db",
                    "descriptor": "Microsoft.IdentityModel.Claims.ClaimsIdentity;alice@acme.example",
                    "providerDisplayName": "Alice", "isActive": true, "properties": {} },
                "authorizedUser": { "id": "d6245f20-2af8-44f4-9451-8107cb2767db",
                    "providerDisplayName": "Alice", "isActive": true, "properties": {} },
                "instanceId": INSTANCE_ID,
                "deploymentId": "f2a9c7c2-0000-0000-0000-000000000000",
                "deploymentType": "hosted",
                "locationServiceData": { "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7" }
            }));
        }
        if rest == "_apis/projects" {
            if version != Some("7.1") {
                return ResponseTemplate::new(400);
            }
            let start: usize = query
                .get("continuationToken")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let page: Vec<Value> = s
                .projects
                .iter()
                .skip(start)
                .take(s.page_size)
                .cloned()
                .collect();
            let mut response = json(json!({ "count": page.len(), "value": page }));
            if start + s.page_size < s.projects.len() {
                response = response
                    .insert_header("x-ms-continuationtoken", (start + s.page_size).to_string());
            }
            return response;
        }
        if rest == "_apis/git/repositories" {
            if version != Some("7.1") {
                return ResponseTemplate::new(400);
            }
            return json(json!({ "count": s.repos.len(), "value": s.repos }));
        }
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [project, "_apis", "projectanalysis", "languagemetrics"] => {
                if !s.projects.iter().any(|p| p["id"] == *project) {
                    return not_found("TF200016: The following project does not exist.");
                }
                let analytics: Vec<Value> = s
                    .repos
                    .iter()
                    .filter(|r| r["project"]["id"] == *project)
                    .map(|r| {
                        let id = r["id"].as_str().unwrap();
                        let shares = s.languages.get(id).cloned().unwrap_or_default();
                        json!({
                            "id": id, "name": r["name"], "resultPhase": "full",
                            "updatedTime": "2026-11-21T00:00:00Z",
                            "languageBreakdown": shares.iter().map(|(name, pct)| json!({
                                "name": name, "files": 12, "filesPercentage": pct,
                                "bytes": 4096, "languagePercentage": pct
                            })).collect::<Vec<_>>()
                        })
                    })
                    .collect();
                json(json!({
                    "url": format!("{}/ado/{ORG}/{project}/_apis/projectanalysis/languagemetrics", s.base),
                    "resultPhase": "full", "id": project,
                    "languageBreakdown": [], "repositoryLanguageAnalytics": analytics
                }))
            }
            [_project, "_apis", "git", "repositories", id, "commits"] => {
                if query.get("searchCriteria.$top").map(String::as_str) != Some("100") {
                    return ResponseTemplate::new(400);
                }
                let value: Vec<Value> = s
                    .commits
                    .get(*id)
                    .map(|at| {
                        let date = at.to_rfc3339();
                        vec![json!({
                            "commitId": "be67f8871a4d2c75f13a51c1d3c30ac0d74d4ef4",
                            "author": { "name": "Alice", "email": "alice@acme.example", "date": "2020-01-01T00:00:00Z" },
                            "committer": { "name": "Alice", "email": "alice@acme.example", "date": date },
                            "comment": "work", "url": "https://dev.azure.com/x"
                        })]
                    })
                    .unwrap_or_default();
                json(json!({ "count": value.len(), "value": value }))
            }
            _ => not_found("The resource cannot be found."),
        }
    }
}
