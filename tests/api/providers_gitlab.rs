//! Connect Organization (GitLab OAuth): authorize URL → callback → organization, repositories and
//! events; discovery over several pages (subgroups included); rediscovery marking missing;
//! token refresh with rotation stored; failures; forged and expired states; roles and tenancy —
//! against a GitLab fake answering with GitLab's shapes (`Link` / `X-Next-Page`, `RateLimit-*`,
//! OAuth token answers).

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use entities::organizations;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use stack_gateway::code::providers::ConnectTarget;
use stack_gateway::code::providers::credentials::Credentials;
use stack_gateway::code::providers::gitlab_flow::FLOW;
use stack_gateway::upstream::oauth_state::ConnectState;
use uuid::Uuid;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::both;
use crate::helpers::{Backend, TestApp, Who, code, spawn_app_with};

const CONNECT: &str = "mutation($g: String!) { connectGitlabGroup(input: { group: $g }) {
    authorizationUrl expiresAt } }";
pub(crate) const ORGS: &str =
    "{ organizations(first: 10) { edges { node { id login name provider status
    statusError repoCount nextRetryAt } } } }";
const REPOS: &str = "{ repositories(first: 50) { edges { node { name fullName url defaultBranch
    visibility archived techStack lastCommitAt hostingPlatform missingSince } } } }";
const ORG: &str = "query($o: ID!) { node(id: $o) { ... on Organization { status statusError nextRetryAt repoCount } } }";
pub(crate) const GROUP_ID: i64 = 42;

pub(crate) fn project(id: i64, name: &str, path: &str, visibility: &str, archived: bool) -> Value {
    json!({
        "id": id, "name": name, "path": name, "path_with_namespace": path,
        "name_with_namespace": path.replace('/', " / "),
        "web_url": format!("https://gitlab.example/{path}"),
        "default_branch": "main", "visibility": visibility, "archived": archived,
        "last_activity_at": "2026-11-20T10:15:30.000Z", "namespace": { "id": GROUP_ID }
    })
}

fn tokens(access: &str, refresh: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": 7200,
        "refresh_token": refresh, "scope": "read_api", "created_at": 1_764_600_000
    }))
}

/// The group, its projects on two pages (page 2 through `Link`, the last page with an empty
/// `X-Next-Page`), languages per project, and the token endpoint for the code grant.
async fn mount_group(server: &MockServer, projects: Vec<Value>, bearer: &str) {
    let auth = format!("Bearer {bearer}");
    let group = json!({ "id": GROUP_ID, "name": "Acme", "path": "acme", "full_path": "acme",
        "web_url": "https://gitlab.example/groups/acme", "visibility": "private" });
    for p in ["/api/v4/groups/acme", "/api/v4/groups/42"] {
        Mock::given(method("GET"))
            .and(path(p))
            .and(header("authorization", auth.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(&group))
            .mount(server)
            .await;
    }
    let (first, second) = projects.split_at(projects.len().min(2));
    let next = format!(
        "<{}/api/v4/groups/42/projects?include_subgroups=true&page=2&per_page=100>; rel=\"next\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42/projects"))
        .and(query_param("page", "2"))
        .and(header("authorization", auth.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(second)
                .insert_header("x-next-page", "")
                .insert_header("x-page", "2"),
        )
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42/projects"))
        .and(query_param("include_subgroups", "true"))
        .and(header("authorization", auth.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(first)
                .insert_header("link", next.as_str())
                .insert_header("x-next-page", "2"),
        )
        .with_priority(2)
        .mount(server)
        .await;
    for p in &projects {
        let id = p["id"].as_i64().unwrap();
        Mock::given(method("GET"))
            .and(path(format!("/api/v4/projects/{id}/languages")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({ "Go": 70.5, "Shell": 29.5 })),
            )
            .mount(server)
            .await;
    }
}

fn three() -> Vec<Value> {
    vec![
        project(1, "api", "acme/api", "private", false),
        project(2, "web", "acme/web", "internal", false),
        project(3, "infra", "acme/platform/infra", "public", true),
    ]
}

pub(crate) async fn app_with_gitlab(backend: Backend) -> (TestApp, MockServer) {
    app_with_gitlab_and(backend, |_| {}).await
}

/// `app_with_gitlab`, with `more` applied to the configuration too.
pub(crate) async fn app_with_gitlab_and(
    backend: Backend,
    more: impl FnOnce(&mut stack_gateway::config::Config),
) -> (TestApp, MockServer) {
    let server = MockServer::start().await;
    let uri = server.uri();
    let app = spawn_app_with(backend, move |c| {
        c.integrations.gitlab_url = uri;
        c.integrations.gitlab_client_id = Some("gl-client".into());
        c.integrations.gitlab_client_secret = Some("gl-secret".into());
        c.schedules
            .insert("repository-rediscovery".into(), "off".into());
        more(c);
    })
    .await;
    (app, server)
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn callback(app: &TestApp, query: &[(&str, &str)]) -> (u16, String, Value) {
    let response = app
        .client
        .get(app.url("/auth/gitlab/callback"))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        location,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Runs the whole connect flow; returns the organization's global id.
async fn connect(
    app: &TestApp,
    server: &MockServer,
    token: &str,
) -> (String, BTreeMap<String, String>) {
    connect_with(app, server, token, three()).await
}

/// The connect flow for a group holding `projects` (token `glat-1`, refresh `glrt-1`).
pub(crate) async fn connect_with(
    app: &TestApp,
    server: &MockServer,
    token: &str,
    projects: Vec<Value>,
) -> (String, BTreeMap<String, String>) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(tokens("glat-1", "glrt-1"))
        .mount(server)
        .await;
    mount_group(server, projects, "glat-1").await;
    let (_, body) = app.gql(token, CONNECT, json!({ "g": "acme" })).await;
    let url = body["data"]["connectGitlabGroup"]["authorizationUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    let params = query_of(&url);
    let (status, location, body) =
        callback(app, &[("code", "the-code"), ("state", &params["state"])]).await;
    assert_eq!(status, 303, "{body}");
    assert!(location.contains("organization=connected"), "{location}");
    let (_, orgs) = app.gql(token, ORGS, json!({})).await;
    let id = orgs["data"]["organizations"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (id, params)
}

async fn events(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let (_, body) = app
        .gql(
            token,
            "{ events(first: 100) { edges { node { type payload } } } }",
            json!({}),
        )
        .await;
    body["data"]["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["type"] == kind)
        .map(|e| e["node"]["payload"].clone())
        .collect()
}

pub(crate) async fn stored(app: &TestApp) -> (organizations::Model, Credentials) {
    let org = organizations::Entity::find()
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap();
    let creds = Credentials::open(
        &app.services.secrets,
        org.credentials_encrypted.as_deref().unwrap(),
    )
    .unwrap();
    (org, creds)
}

/// Makes the stored access token expired, so the next run must refresh.
async fn expire_token(app: &TestApp) {
    let (org, mut creds) = stored(app).await;
    creds.expires_at = Some(Utc::now() - TimeDelta::minutes(1));
    organizations::Entity::update(organizations::ActiveModel {
        id: Set(org.id),
        credentials_encrypted: Set(Some(creds.seal(&app.services.secrets))),
        ..Default::default()
    })
    .exec(&app.services.db)
    .await
    .unwrap();
}

both!(gitlab_connect_flow_end_to_end, |backend| async move {
    let (app, server) = app_with_gitlab(backend).await;
    let token = app.token(&Who::ADMIN_A);
    // The authorize URL: our client, PKCE S256, the callback, read_api.
    let (_, body) = app.gql(&token, CONNECT, json!({ "g": "acme" })).await;
    let url = body["data"]["connectGitlabGroup"]["authorizationUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    assert!(url.starts_with(&format!("{}/oauth/authorize?", server.uri())));
    let params = query_of(&url);
    assert_eq!(params["client_id"], "gl-client");
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["scope"], "read_api");
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(params["redirect_uri"].ends_with("/auth/gitlab/callback"));
    // Nothing is stored before the callback.
    let (_, orgs) = app.gql(&token, ORGS, json!({})).await;
    assert_eq!(orgs["data"]["organizations"]["edges"], json!([]));

    let (org_id, params) = connect(&app, &server, &token).await;
    // The code was redeemed with the verifier whose S256 is the challenge the link carried.
    let received = server.received_requests().await.unwrap();
    let redeem = received
        .iter()
        .find(|r| r.url.path() == "/oauth/token")
        .unwrap();
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&redeem.body)
        .into_owned()
        .collect();
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["client_secret"], "gl-secret");
    assert!(form["redirect_uri"].ends_with("/auth/gitlab/callback"));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(form["code_verifier"].as_bytes()));
    assert_eq!(challenge, params["code_challenge"]);
    // Both pages were read.
    assert!(
        received
            .iter()
            .any(|r| r.url.path() == "/api/v4/groups/42/projects"
                && r.url.query().unwrap_or("").contains("page=2"))
    );
    let (_, orgs) = app.gql(&token, ORGS, json!({})).await;
    let node = &orgs["data"]["organizations"]["edges"][0]["node"];
    assert_eq!(node["provider"], "GITLAB");
    assert_eq!(node["login"], "acme");
    assert_eq!(node["name"], "Acme");
    assert_eq!(node["status"], "CONNECTED");
    assert_eq!(node["repoCount"], 3);
    let (_, repos) = app.gql(&token, REPOS, json!({})).await;
    let repos = repos["data"]["repositories"]["edges"].as_array().unwrap();
    assert_eq!(repos.len(), 3);
    let infra = repos
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["name"] == "infra")
        .unwrap();
    assert_eq!(infra["fullName"], "acme/platform/infra");
    assert_eq!(infra["url"], "https://gitlab.example/acme/platform/infra");
    assert_eq!(infra["visibility"], "public");
    assert_eq!(infra["archived"], true);
    assert_eq!(infra["defaultBranch"], "main");
    assert_eq!(infra["techStack"], json!(["Go", "Shell"]));
    assert!(
        infra["hostingPlatform"].is_null(),
        "the provider is not where it runs"
    );
    assert_eq!(
        infra["lastCommitAt"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        "2026-11-20T10:15:30Z".parse::<DateTime<Utc>>().unwrap()
    );
    app.settle().await;
    let connected = events(&app, &token, "code.org.connected").await;
    assert_eq!(connected.len(), 1);
    assert_eq!(connected[0]["provider"], "gitlab");
    assert_eq!(connected[0]["org_login"], "acme");
    assert_eq!(connected[0]["repo_count"], 3);
    let discovered = events(&app, &token, "code.repo.discovered").await;
    assert_eq!(discovered.len(), 3);
    assert!(discovered.iter().all(|e| e["provider"] == "gitlab"));
    // Tokens are sealed, never in the row in plain text, never in the API.
    let (org, creds) = stored(&app).await;
    let sealed = org.credentials_encrypted.clone().unwrap();
    assert!(!sealed.contains("glat-1") && !sealed.contains("glrt-1"));
    assert_eq!(creds.refresh_token.as_deref(), Some("glrt-1"));
    let (_, node) = app.gql(&token, ORG, json!({ "o": org_id })).await;
    assert!(!node.to_string().contains("glat-1"));
    // A second callback for a connected group is a conflict.
    let (_, body) = app.gql(&token, CONNECT, json!({ "g": "acme" })).await;
    let state = query_of(
        body["data"]["connectGitlabGroup"]["authorizationUrl"]
            .as_str()
            .unwrap(),
    )["state"]
        .clone();
    let (status, _, body) = callback(&app, &[("code", "c2"), ("state", &state)]).await;
    assert_eq!(status, 409, "{body}");
});

both!(
    gitlab_forged_and_expired_states_store_nothing,
    |backend| async move {
        let (app, server) = app_with_gitlab(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let tenant = app.tenant("tenant-a").await;
        let cases = [
            "not-a-state".to_string(),
            // Another purpose's sealing with our key.
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
                base64::engine::general_purpose::STANDARD
                    .decode(app.services.secrets.seal("{}"))
                    .unwrap(),
            ),
            ConnectState {
                expires_at: Utc::now() - TimeDelta::seconds(1),
                ..ConnectState::new(ConnectTarget {
                    tenant,
                    user: Uuid::now_v7(),
                    target: "acme".into(),
                })
            }
            .seal(&FLOW, &app.services.secrets),
        ];
        for state in &cases {
            let (status, _, body) = callback(&app, &[("code", "x"), ("state", state)]).await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{body}"
            );
        }
        // GitLab saying access_denied with a valid state: refused, nothing stored.
        let fresh = ConnectState::new(ConnectTarget {
            tenant,
            user: Uuid::now_v7(),
            target: "acme".into(),
        })
        .seal(&FLOW, &app.services.secrets);
        let (status, _, _) = callback(&app, &[("error", "access_denied"), ("state", &fresh)]).await;
        assert_eq!(status, 400);
        assert!(server.received_requests().await.unwrap().is_empty());
        let (_, orgs) = app.gql(&token, ORGS, json!({})).await;
        assert_eq!(orgs["data"]["organizations"]["edges"], json!([]));
    }
);

both!(
    gitlab_refresh_rotates_and_rediscovery_marks_missing,
    |backend| async move {
        let (app, server) = app_with_gitlab(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (org_id, _) = connect(&app, &server, &token).await;
        // A fresh token is reused: no refresh.
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(
            body["data"]["rediscoverOrganization"]["discovery"]["missingRepositories"], 0,
            "{body}"
        );
        assert!(
            !server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .any(|r| String::from_utf8_lossy(&r.body).contains("grant_type=refresh_token"))
        );
        // Expired: refreshed with glrt-1, GitLab rotates to glrt-2, which is stored.
        expire_token(&app).await;
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .and(body_string_contains("grant_type=refresh_token"))
            .and(body_string_contains("refresh_token=glrt-1"))
            .respond_with(tokens("glat-2", "glrt-2"))
            .mount(&server)
            .await;
        let two = three().into_iter().take(2).collect();
        mount_group(&server, two, "glat-2").await;
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        let done = &body["data"]["rediscoverOrganization"];
        assert_eq!(done["organization"]["status"], "CONNECTED", "{body}");
        assert_eq!(done["discovery"]["repositories"], 2);
        assert_eq!(done["discovery"]["missingRepositories"], 1);
        assert_eq!(done["discovery"]["newRepositories"], 0);
        let (_, creds) = stored(&app).await;
        assert_eq!(creds.refresh_token.as_deref(), Some("glrt-2"));
        assert_eq!(creds.token.as_deref(), Some("glat-2"));
        let (_, repos) = app.gql(&token, REPOS, json!({})).await;
        let repos = repos["data"]["repositories"]["edges"].as_array().unwrap();
        assert_eq!(repos.len(), 3, "missing repositories are kept");
        let infra = repos.iter().find(|e| e["node"]["name"] == "infra").unwrap();
        assert!(infra["node"]["missingSince"].is_string());
        // The rotated refresh token is dead once used: the old one refused means reconnect.
        expire_token(&app).await;
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant",
                "error_description": "The provided authorization grant is invalid, expired, revoked"
            })))
            .mount(&server)
            .await;
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
        assert!(!body.to_string().contains("provided authorization grant"));
        let (_, node) = app.gql(&token, ORG, json!({ "o": org_id })).await;
        assert_eq!(node["data"]["node"]["status"], "ERROR");
        assert_eq!(node["data"]["node"]["repoCount"], 2);
        let (_, creds) = stored(&app).await;
        assert_eq!(creds.refresh_token.as_deref(), Some("glrt-2"));
    }
);

both!(gitlab_rate_limit_and_revoked_token, |backend| async move {
    let (app, server) = app_with_gitlab(backend).await;
    let token = app.token(&Who::ADMIN_A);
    let (org_id, _) = connect(&app, &server, &token).await;
    server.reset().await;
    let reset = Utc::now().timestamp() + 600;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({ "message": "429 Too Many Requests" }))
                .insert_header("ratelimit-limit", "2000")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", reset.to_string().as_str())
                .insert_header("retry-after", "600"),
        )
        .mount(&server)
        .await;
    let body = crate::discovery::rediscover(&app, &token, &org_id).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    let (_, node) = app.gql(&token, ORG, json!({ "o": org_id })).await;
    let node = &node["data"]["node"];
    assert_eq!(node["status"], "ERROR");
    assert_eq!(node["repoCount"], 3);
    let retry: DateTime<Utc> = node["nextRetryAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(retry.timestamp(), reset);
    // Revoked: 401 from the API.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_token", "error_description": "Token was revoked."
        })))
        .mount(&server)
        .await;
    let body = crate::discovery::rediscover(&app, &token, &org_id).await;
    assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
    let (_, repos) = app.gql(&token, REPOS, json!({})).await;
    assert_eq!(
        repos["data"]["repositories"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
});

both!(
    gitlab_roles_tenancy_and_configuration,
    |backend| async move {
        let (app, server) = app_with_gitlab(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (org_id, _) = connect(&app, &server, &token).await;
        let viewer = app.token(&Who {
            tenant: "tenant-a",
            sub: "vic",
            roles: &["viewer"],
            products: &["code"],
        });
        let (_, body) = app.gql(&viewer, CONNECT, json!({ "g": "acme" })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let body = crate::discovery::rediscover(&app, &viewer, &org_id).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let other = app.token(&Who::ADMIN_B);
        let body = crate::discovery::rediscover(&app, &other, &org_id).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let (_, body) = app.gql(&token, CONNECT, json!({ "g": "a b" })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

        let bare = spawn_app_with(backend, |_| {}).await;
        let token = bare.token(&Who::ADMIN_A);
        let (_, body) = bare.gql(&token, CONNECT, json!({ "g": "acme" })).await;
        assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED", "{body}");
        assert!(body.to_string().contains("GITLAB_CLIENT_ID"), "{body}");
    }
);

both!(
    gitlab_refresh_rotated_before_a_refusal_is_kept,
    |backend| async move {
        let (app, server) = app_with_gitlab(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (org_id, _) = connect(&app, &server, &token).await;
        // The run refreshes (GitLab rotates glrt-1 to glrt-2, revoking glrt-1), then the API
        // refuses the new access token: the failure must not put glrt-1 back.
        expire_token(&app).await;
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .and(body_string_contains("refresh_token=glrt-1"))
            .respond_with(tokens("glat-2", "glrt-2"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v4/groups/42"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "error": "invalid_token", "error_description": "Token was revoked."
            })))
            .mount(&server)
            .await;
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
        let (_, creds) = stored(&app).await;
        assert_eq!(creds.token, None);
        assert_eq!(creds.refresh_token.as_deref(), Some("glrt-2"));
    }
);

both!(
    gitlab_server_errors_keep_what_is_known_and_retry_in_15_minutes,
    |backend| async move {
        let (app, server) = app_with_gitlab(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let (org_id, _) = connect(&app, &server, &token).await;
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/api/v4/groups/42"))
            .respond_with(ResponseTemplate::new(503).set_body_string("upstream boom: db01 down"))
            .mount(&server)
            .await;
        let before = Utc::now();
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
        let (_, node) = app.gql(&token, ORG, json!({ "o": org_id })).await;
        let node = &node["data"]["node"];
        assert_eq!(node["status"], "ERROR", "{node}");
        assert_eq!(node["repoCount"], 3);
        let reason = node["statusError"].as_str().unwrap();
        assert!(!reason.is_empty() && !reason.contains("boom"), "{reason}");
        let retry: DateTime<Utc> = node["nextRetryAt"].as_str().unwrap().parse().unwrap();
        let wait = (retry - before).num_seconds();
        assert!((14 * 60..=16 * 60).contains(&wait), "retry in {wait} s");
        let (_, repos) = app.gql(&token, REPOS, json!({})).await;
        let edges = repos["data"]["repositories"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 3);
        assert!(edges.iter().all(|e| e["node"]["missingSince"].is_null()));

        // GitLab is back: the next run succeeds and clears the error.
        server.reset().await;
        mount_group(&server, three(), "glat-1").await;
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        let organization = &body["data"]["rediscoverOrganization"]["organization"];
        assert_eq!(organization["status"], "CONNECTED", "{body}");
        assert!(organization["statusError"].is_null(), "{body}");
        assert!(organization["nextRetryAt"].is_null(), "{body}");
        assert_eq!(organization["repoCount"], 3);
    }
);
