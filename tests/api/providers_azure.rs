//! Connect Organization (Azure DevOps, Microsoft OAuth): authorize URL → callback → organization,
//! repositories and events; discovery over project pages (continuation token); rediscovery with
//! new and missing repositories; refresh with rotation stored; invalid_grant; throttling with its
//! reset; 401 and the 203 sign-in page; 5xx then recovery by the timer; forged and expired
//! states; roles, tenancy and configuration — against a fake answering with Microsoft's and
//! Azure DevOps' shapes.

#[path = "providers/azure_devops_fake.rs"]
mod azure_devops_fake;

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use entities::organizations;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use stack_gateway::code::providers::ConnectTarget;
use stack_gateway::code::providers::azure_devops_flow::FLOW;
use stack_gateway::code::providers::credentials::Credentials;
use stack_gateway::code::providers::gitlab_flow::FLOW as GITLAB_FLOW;
use stack_gateway::upstream::oauth_state::ConnectState;
use uuid::Uuid;
use wiremock::{MockServer, ResponseTemplate};

use crate::both;
use crate::helpers::{Backend, TestApp, Who, code, spawn_app_with};
use azure_devops_fake::{ORG, Shared};

const CONNECT: &str = "mutation($o: String!) { connectAzureDevopsOrganization(input: {
    organization: $o }) { authorizationUrl expiresAt } }";
const FINDINGS: &str =
    "{ findings(first: 50, filter: { kind: ACCESS_ISSUE }) { totalCount edges { node {
    accessIssue severity status title description tool repository { name } } } } }";
const ORGS: &str = "{ organizations(first: 10) { edges { node { id login name provider status
    statusError repoCount nextRetryAt } } } }";
const REPOS: &str = "{ repositories(first: 50) { edges { node { name fullName url defaultBranch
    visibility archived techStack lastCommitAt hostingPlatform missingSince } } } }";
const ORG_NODE: &str = "query($o: ID!) { node(id: $o) { ... on Organization { status statusError
    nextRetryAt repoCount lastDiscoveredAt } } }";

async fn app_with_ado(backend: Backend) -> (TestApp, MockServer, Shared) {
    let (server, fake) = azure_devops_fake::start().await;
    let uri = server.uri();
    let app = spawn_app_with(backend, move |c| {
        c.integrations.azure_devops_login_url = format!("{uri}/login");
        c.integrations.azure_devops_api_url = format!("{uri}/ado");
        c.integrations.azure_devops_entitlements_url = format!("{uri}/vsaex");
        c.integrations.azure_devops_client_id = Some(azure_devops_fake::CLIENT_ID.into());
        c.integrations.azure_devops_client_secret = Some(azure_devops_fake::CLIENT_SECRET.into());
        c.schedules
            .insert("repository-rediscovery".into(), "off".into());
    })
    .await;
    (app, server, fake)
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
        .get(app.url("/auth/azure-devops/callback"))
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

/// `connectAzureDevopsOrganization`'s link, with the fake told the challenge (as Microsoft
/// remembers it between authorize and token).
async fn authorize(app: &TestApp, fake: &Shared, token: &str) -> BTreeMap<String, String> {
    let (_, body) = app.gql(token, CONNECT, json!({ "o": ORG })).await;
    let url = body["data"]["connectAzureDevopsOrganization"]["authorizationUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    let params = query_of(&url);
    fake.lock().unwrap().challenge = Some(params["code_challenge"].clone());
    params
}

/// Runs the whole connect flow; returns the organization's global id.
async fn connect(app: &TestApp, fake: &Shared, token: &str) -> String {
    let params = authorize(app, fake, token).await;
    let (status, location, body) = callback(
        app,
        &[
            ("code", azure_devops_fake::CODE),
            ("state", &params["state"]),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let (_, orgs) = app.gql(token, ORGS, json!({})).await;
    let id = orgs["data"]["organizations"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        location,
        format!("http://gateway.test/?organization=connected&id={id}")
    );
    id
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

async fn repos(app: &TestApp, token: &str) -> Vec<Value> {
    let (_, body) = app.gql(token, REPOS, json!({})).await;
    let mut list: Vec<Value> = body["data"]["repositories"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    list.sort_by_key(|r| r["name"].as_str().unwrap().to_string());
    list
}

async fn stored(app: &TestApp) -> (organizations::Model, Credentials) {
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

/// Makes the stored access token expire in `minutes` (negative: already expired).
async fn expire_token_in(app: &TestApp, minutes: i64) {
    let (org, mut creds) = stored(app).await;
    creds.expires_at = Some(Utc::now() + TimeDelta::minutes(minutes));
    organizations::Entity::update(organizations::ActiveModel {
        id: Set(org.id),
        credentials_encrypted: Set(Some(creds.seal(&app.services.secrets))),
        ..Default::default()
    })
    .exec(&app.services.db)
    .await
    .unwrap();
}

async fn org_node(app: &TestApp, token: &str, id: &str) -> Value {
    let (_, node) = app.gql(token, ORG_NODE, json!({ "o": id })).await;
    node["data"]["node"].clone()
}

fn form_of(request: &wiremock::Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

async fn token_requests(server: &MockServer) -> Vec<BTreeMap<String, String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/oauth2/v2.0/token"))
        .map(form_of)
        .collect()
}

both!(azure_devops_connect_flow_end_to_end, |backend| async move {
    let (app, server, fake) = app_with_ado(backend).await;
    let token = app.token(&Who::ADMIN_A);
    // The authorize URL: v2 endpoint of the configured tenant, our client, PKCE S256, the
    // callback, the Azure DevOps resource with offline_access.
    let before = Utc::now();
    let (_, body) = app.gql(&token, CONNECT, json!({ "o": ORG })).await;
    let link = &body["data"]["connectAzureDevopsOrganization"];
    let url = link["authorizationUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(
        url.starts_with(&format!(
            "{}/login/organizations/oauth2/v2.0/authorize?",
            server.uri()
        )),
        "{url}"
    );
    let params = query_of(url);
    assert_eq!(params["client_id"], "ado-client");
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["response_mode"], "query");
    assert_eq!(
        params["scope"],
        "499b84ac-1321-427f-aa17-267ca6975798/.default offline_access"
    );
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(
        params["redirect_uri"],
        "http://gateway.test/auth/azure-devops/callback"
    );
    // The state is ours: it opens, names the organization and carries the verifier whose S256
    // is the challenge; it lives 15 minutes.
    let state = FLOW
        .open::<ConnectTarget>(&app.services.secrets, &params["state"])
        .unwrap();
    assert_eq!(state.target, "acme");
    assert_eq!(state.challenge(), params["code_challenge"]);
    assert!(!params["state"].contains(&state.verifier));
    let expires: DateTime<Utc> = link["expiresAt"].as_str().unwrap().parse().unwrap();
    let ttl = expires - before;
    assert!(ttl > TimeDelta::minutes(14) && ttl <= TimeDelta::minutes(15) + TimeDelta::seconds(5));
    // Nothing is stored, nothing is called before the callback.
    let (_, orgs) = app.gql(&token, ORGS, json!({})).await;
    assert_eq!(orgs["data"]["organizations"]["edges"], json!([]));
    assert!(server.received_requests().await.unwrap().is_empty());

    let org_id = connect(&app, &fake, &token).await;
    // The code was redeemed once, with the verifier, the resource scope and our redirect URI.
    let redeemed = token_requests(&server).await;
    assert_eq!(redeemed.len(), 1);
    assert_eq!(redeemed[0]["grant_type"], "authorization_code");
    assert_eq!(redeemed[0]["code"], "the-code");
    assert_eq!(redeemed[0]["client_secret"], "ado-secret");
    let received = server.received_requests().await.unwrap();
    // Both project pages were read, the second by its continuation token.
    let project_pages: Vec<String> = received
        .iter()
        .filter(|r| r.url.path() == "/ado/acme/_apis/projects")
        .map(|r| r.url.query().unwrap_or("").to_string())
        .collect();
    assert_eq!(project_pages.len(), 2, "{project_pages:?}");
    assert!(project_pages[1].contains("continuationToken=2"));
    // No commits call for the disabled or the empty repository.
    let commit_calls = received
        .iter()
        .filter(|r| r.url.path().ends_with("/commits"))
        .count();
    assert_eq!(commit_calls, 2);

    let (_, orgs) = app.gql(&token, ORGS, json!({})).await;
    let node = &orgs["data"]["organizations"]["edges"][0]["node"];
    assert_eq!(node["provider"], "AZURE_DEVOPS");
    assert_eq!(node["login"], "acme");
    assert_eq!(node["status"], "CONNECTED");
    assert_eq!(node["repoCount"], 4);
    let (org, creds) = stored(&app).await;
    assert_eq!(
        org.external_id.as_deref(),
        Some(azure_devops_fake::INSTANCE_ID)
    );
    let list = repos(&app, &token).await;
    assert_eq!(list.len(), 4);
    let api = &list[0];
    assert_eq!(api["name"], "api");
    assert_eq!(api["fullName"], "Platform/api");
    assert_eq!(api["url"], "https://dev.azure.com/acme/Platform/_git/api");
    assert_eq!(api["defaultBranch"], "main");
    assert_eq!(api["visibility"], "private");
    assert_eq!(api["archived"], false);
    assert_eq!(api["techStack"], json!(["C#", "Shell"]));
    assert!(
        api["hostingPlatform"].is_null(),
        "the provider is not where it runs"
    );
    // The committer's date of the latest commit (the author's is older).
    let last: DateTime<Utc> = api["lastCommitAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        last,
        "2026-11-20T10:15:30Z".parse::<DateTime<Utc>>().unwrap()
    );
    let legacy = &list[1];
    assert_eq!(legacy["name"], "legacy");
    assert_eq!(legacy["archived"], true);
    assert_eq!(legacy["defaultBranch"], "master");
    assert_eq!(legacy["lastCommitAt"], Value::Null);
    let scratch = &list[2];
    assert_eq!(scratch["defaultBranch"], Value::Null);
    assert_eq!(scratch["techStack"], json!([]));
    let store = &list[3];
    assert_eq!(store["fullName"], "Web Store/storefront");
    assert_eq!(store["visibility"], "public");
    assert_eq!(store["defaultBranch"], "develop");
    assert_eq!(store["techStack"], json!(["TypeScript"]));
    // Events: connected (with the count) and one discovered per repository.
    app.settle().await;
    let connected = events(&app, &token, "code.org.connected").await;
    assert_eq!(connected.len(), 1);
    assert_eq!(connected[0]["provider"], "azure_devops");
    assert_eq!(connected[0]["org_login"], "acme");
    assert_eq!(connected[0]["repo_count"], 4);
    let discovered = events(&app, &token, "code.repo.discovered").await;
    assert_eq!(discovered.len(), 4);
    assert!(discovered.iter().all(|e| e["provider"] == "azure_devops"));
    let mut names: Vec<&str> = discovered
        .iter()
        .map(|e| e["repo_name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["api", "legacy", "scratch", "storefront"]);
    // Tokens are sealed, never in the row in plain text, never in the API.
    let sealed = org.credentials_encrypted.clone().unwrap();
    assert!(!sealed.contains("ado-access-1") && !sealed.contains("ado-refresh-1"));
    assert_eq!(
        creds.token.as_deref(),
        Some("eyJ0eXAiOiJKV1Qi.ado-access-1.sig")
    );
    assert_eq!(creds.refresh_token.as_deref(), Some("1.AXoA-ado-refresh-1"));
    let lifetime = creds.expires_at.unwrap() - Utc::now();
    assert!(lifetime > TimeDelta::seconds(4100) && lifetime <= TimeDelta::seconds(4179));
    let (_, node) = app.gql(&token, ORG_NODE, json!({ "o": org_id })).await;
    assert!(!node.to_string().contains("ado-access"), "{node}");
    // Connecting the connected organization again is a conflict, and changes nothing.
    let params = authorize(&app, &fake, &token).await;
    let (status, _, body) = callback(
        &app,
        &[
            ("code", azure_devops_fake::CODE),
            ("state", &params["state"]),
        ],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "{body}"
    );
    app.settle().await;
    assert_eq!(events(&app, &token, "code.org.connected").await.len(), 1);
});

both!(
    azure_devops_forged_and_expired_states_store_nothing,
    |backend| async move {
        let (app, server, _fake) = app_with_ado(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let tenant = app.tenant("tenant-a").await;
        let foreign = |plain: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
                base64::engine::general_purpose::STANDARD
                    .decode(app.services.secrets.seal(plain))
                    .unwrap(),
            )
        };
        let fresh = ConnectState::new(ConnectTarget {
            tenant,
            user: Uuid::now_v7(),
            target: "acme".into(),
        });
        let mut altered = fresh.seal(&FLOW, &app.services.secrets).into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let cases = [
            "not-a-state".to_string(),
            String::from_utf8(altered).unwrap(),
            // Sealed with our key for other purposes: a GitLab state, a bare value.
            ConnectState::new(ConnectTarget {
                tenant,
                user: Uuid::now_v7(),
                target: "acme".into(),
            })
            .seal(&GITLAB_FLOW, &app.services.secrets),
            foreign(&format!(
                "azure-connect-state:v1:{}",
                serde_json::to_string(&fresh).unwrap()
            )),
            ConnectState {
                expires_at: Utc::now() - TimeDelta::seconds(1),
                ..fresh.clone()
            }
            .seal(&FLOW, &app.services.secrets),
        ];
        for state in &cases {
            let (status, location, body) =
                callback(&app, &[("code", "the-code"), ("state", state)]).await;
            assert_eq!(status, 400, "{state}: {body}");
            assert_eq!(location, "");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{body}"
            );
        }
        let (status, _, _) = callback(&app, &[("code", "the-code")]).await;
        assert_eq!(status, 400);
        // Microsoft saying access_denied with a valid state: refused, nothing stored.
        let sealed = fresh.seal(&FLOW, &app.services.secrets);
        let (status, _, body) = callback(
            &app,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "AADSTS65004: User declined to consent.",
                ),
                ("state", &sealed),
            ],
        )
        .await;
        assert_eq!(status, 400);
        assert!(body.to_string().contains("access_denied"), "{body}");
        assert!(!body.to_string().contains("AADSTS"), "{body}");
        assert!(server.received_requests().await.unwrap().is_empty());
        let (_, orgs) = app.gql(&token, ORGS, json!({})).await;
        assert_eq!(orgs["data"]["organizations"]["edges"], json!([]));
        app.settle().await;
        assert!(events(&app, &token, "code.org.connected").await.is_empty());
    }
);

both!(
    azure_devops_refresh_rotates_and_rediscovery_marks_missing,
    |backend| async move {
        let (app, server, fake) = app_with_ado(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let org_id = connect(&app, &fake, &token).await;
        // A fresh token is reused: no refresh. One repository is gone, one is new.
        {
            let mut s = fake.lock().unwrap();
            s.repos.retain(|r| r["name"] != "scratch");
            let p = azure_devops_fake::projects();
            s.repos.push(azure_devops_fake::repo(
                "9a1b2c3d-0000-4000-8000-00000000a005",
                "billing",
                &p[1],
                Some("main"),
                false,
            ));
        }
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        let done = &body["data"]["rediscoverOrganization"];
        assert_eq!(done["organization"]["status"], "CONNECTED", "{body}");
        assert_eq!(done["discovery"]["repositories"], 4);
        assert_eq!(done["discovery"]["newRepositories"], 1);
        assert_eq!(done["discovery"]["missingRepositories"], 1);
        assert_eq!(token_requests(&server).await.len(), 1, "no refresh yet");
        let list = repos(&app, &token).await;
        assert_eq!(list.len(), 5, "missing repositories are kept");
        let scratch = list.iter().find(|r| r["name"] == "scratch").unwrap();
        assert!(scratch["missingSince"].is_string());
        let billing = list.iter().find(|r| r["name"] == "billing").unwrap();
        assert_eq!(billing["fullName"], "Web Store/billing");
        assert_eq!(billing["missingSince"], Value::Null);
        app.settle().await;
        let discovered = events(&app, &token, "code.repo.discovered").await;
        assert_eq!(discovered.len(), 5);
        assert_eq!(
            discovered
                .iter()
                .filter(|e| e["repo_name"] == "billing")
                .count(),
            1
        );

        // Within 5 minutes of expiry: refreshed with refresh-1; Microsoft rotates to
        // refresh-2, which is stored, and the new access token is the one discovery used.
        expire_token_in(&app, 4).await;
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(
            body["data"]["rediscoverOrganization"]["organization"]["status"], "CONNECTED",
            "{body}"
        );
        let forms = token_requests(&server).await;
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[1]["grant_type"], "refresh_token");
        assert_eq!(forms[1]["refresh_token"], "1.AXoA-ado-refresh-1");
        assert_eq!(
            forms[1]["scope"],
            "499b84ac-1321-427f-aa17-267ca6975798/.default offline_access"
        );
        let (_, creds) = stored(&app).await;
        assert_eq!(creds.refresh_token.as_deref(), Some("1.AXoA-ado-refresh-2"));
        assert_eq!(
            creds.token.as_deref(),
            Some("eyJ0eXAiOiJKV1Qi.ado-access-2.sig")
        );
        let last = server.received_requests().await.unwrap();
        let used = last
            .iter()
            .rev()
            .find(|r| r.url.path() == "/ado/acme/_apis/git/repositories")
            .unwrap();
        assert_eq!(
            used.headers.get("authorization").unwrap(),
            "Bearer eyJ0eXAiOiJKV1Qi.ado-access-2.sig"
        );

        // The rotated refresh token is stored before discovery: a listing failure after the
        // refresh keeps it.
        expire_token_in(&app, -1).await;
        fake.lock().unwrap().fail = Some(ResponseTemplate::new(404).set_body_json(json!({
            "message": "TF400813: gone"
        })));
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_REJECTED", "{body}");
        let (_, creds) = stored(&app).await;
        assert_eq!(creds.refresh_token.as_deref(), Some("1.AXoA-ado-refresh-3"));
        fake.lock().unwrap().fail = None;

        // Revoked consent: Microsoft refuses the refresh token (invalid_grant).
        expire_token_in(&app, -1).await;
        fake.lock()
            .unwrap()
            .issued_refresh
            .push("someone-else".into());
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
        assert!(body.to_string().contains("invalid_grant"), "{body}");
        assert!(!body.to_string().contains("AADSTS"), "{body}");
        let (_, node) = app.gql(&token, ORG_NODE, json!({ "o": org_id })).await;
        let node = &node["data"]["node"];
        assert_eq!(node["status"], "ERROR");
        assert_eq!(node["repoCount"], 4);
        assert!(
            node["statusError"]
                .as_str()
                .unwrap()
                .contains("connect the organization again")
        );
        let retry: DateTime<Utc> = node["nextRetryAt"].as_str().unwrap().parse().unwrap();
        assert!(retry > Utc::now() + TimeDelta::hours(5));
        let (_, creds) = stored(&app).await;
        assert_eq!(creds.refresh_token.as_deref(), Some("1.AXoA-ado-refresh-3"));
        assert_eq!(repos(&app, &token).await.len(), 5);
    }
);

both!(
    azure_devops_throttling_auth_failures_and_recovery,
    |backend| async move {
        let (app, server, fake) = app_with_ado(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let org_id = connect(&app, &fake, &token).await;
        // Throttled, with X-RateLimit-Reset: that is the retry time (not Retry-After).
        let reset = Utc::now().timestamp() + 900;
        fake.lock().unwrap().fail = Some(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "30")
                .insert_header("x-ratelimit-resource", "Core")
                .insert_header("x-ratelimit-delay", "12.5")
                .insert_header("x-ratelimit-limit", "200")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .set_body_string("TF400733: The request has been throttled"),
        );
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
        let n = org_node(&app, &token, &org_id).await;
        assert_eq!(n["status"], "ERROR");
        assert_eq!(n["repoCount"], 4);
        let retry: DateTime<Utc> = n["nextRetryAt"].as_str().unwrap().parse().unwrap();
        assert_eq!(retry.timestamp(), reset);
        assert!(!n["statusError"].as_str().unwrap().contains("TF400733"));
        // Only Retry-After: now + its seconds. Sent once (no inline retry of a 429).
        fake.lock().unwrap().fail = Some(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "120")
                .set_body_string("throttled"),
        );
        let before = server.received_requests().await.unwrap().len();
        let started = Utc::now();
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
        assert_eq!(server.received_requests().await.unwrap().len(), before + 1);
        let retry: DateTime<Utc> = org_node(&app, &token, &org_id).await["nextRetryAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= started + TimeDelta::seconds(119));
        assert!(retry <= Utc::now() + TimeDelta::seconds(121));

        // The 203 sign-in page for a token it does not accept: an auth failure; the access
        // token is dropped, the refresh token kept, so the next run refreshes.
        fake.lock().unwrap().fail = Some(azure_devops_fake::sign_in_page());
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
        assert!(!body.to_string().contains("Sign In"), "{body}");
        let (_, creds) = stored(&app).await;
        assert_eq!(creds.token, None);
        assert_eq!(creds.refresh_token.as_deref(), Some("1.AXoA-ado-refresh-1"));
        // 401 with a refreshed token: the same.
        fake.lock().unwrap().fail = Some(ResponseTemplate::new(401));
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
        assert_eq!(token_requests(&server).await.len(), 2, "refreshed once");
        // The refresh token rotated before the 401 is the one kept.
        let (_, creds) = stored(&app).await;
        assert_eq!(creds.token, None);
        assert_eq!(creds.refresh_token.as_deref(), Some("1.AXoA-ado-refresh-2"));
        let n = org_node(&app, &token, &org_id).await;
        assert_eq!(n["status"], "ERROR");
        assert!(
            n["statusError"]
                .as_str()
                .unwrap()
                .contains("refused the stored authorization")
        );

        // 503: unavailable, retried inline, then an error with a retry in 15 minutes.
        fake.lock().unwrap().fail = Some(
            ResponseTemplate::new(503).set_body_string("<html>Service Unavailable TF-9</html>"),
        );
        let body = crate::discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
        let n = org_node(&app, &token, &org_id).await;
        let retry: DateTime<Utc> = n["nextRetryAt"].as_str().unwrap().parse().unwrap();
        let wait = retry - Utc::now();
        assert!(wait > TimeDelta::minutes(14) && wait <= TimeDelta::minutes(15));
        assert!(!n["statusError"].as_str().unwrap().contains("TF-9"));
        assert_eq!(n["repoCount"], 4);
        assert_eq!(repos(&app, &token).await.len(), 4);
        let (_, status) = app
            .gql(&token, "{ integrations { name status } }", json!({}))
            .await;
        let row = status["data"]["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "AZURE_DEVOPS")
            .cloned()
            .unwrap();
        assert_eq!(row["status"], "ERROR");

        // Azure DevOps is back: the timer is not due before the retry time, then recovers it.
        fake.lock().unwrap().fail = None;
        assert_eq!(
            app.services.providers.tick(Utc::now()).await.unwrap(),
            (0, 0)
        );
        assert_eq!(
            app.services
                .providers
                .tick(Utc::now() + TimeDelta::minutes(16))
                .await
                .unwrap(),
            (1, 0)
        );
        let n = org_node(&app, &token, &org_id).await;
        assert_eq!(n["status"], "CONNECTED");
        assert_eq!(n["statusError"], Value::Null);
        assert_eq!(n["nextRetryAt"], Value::Null);
        let (_, status) = app
            .gql(&token, "{ integrations { name status } }", json!({}))
            .await;
        let row = status["data"]["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "AZURE_DEVOPS")
            .cloned()
            .unwrap();
        assert_eq!(row["status"], "CONNECTED");
    }
);

both!(
    azure_devops_roles_tenancy_and_configuration,
    |backend| async move {
        let (app, _server, fake) = app_with_ado(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let org_id = connect(&app, &fake, &token).await;
        let viewer = app.token(&Who {
            tenant: "tenant-a",
            sub: "vic",
            roles: &["viewer"],
            products: &["code"],
        });
        let (_, body) = app.gql(&viewer, CONNECT, json!({ "o": ORG })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let body = crate::discovery::rediscover(&app, &viewer, &org_id).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let other = app.token(&Who::ADMIN_B);
        let body = crate::discovery::rediscover(&app, &other, &org_id).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let (_, body) = app.gql(&other, ORG_NODE, json!({ "o": org_id })).await;
        assert_eq!(body["data"]["node"], Value::Null, "{body}");
        for bad in ["a b", "acme/project", "-acme", ""] {
            let (_, body) = app.gql(&token, CONNECT, json!({ "o": bad })).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}: {body}");
        }
        // The organization's URL is accepted for its name.
        let (_, body) = app
            .gql(
                &token,
                CONNECT,
                json!({ "o": "https://dev.azure.com/acme" }),
            )
            .await;
        let url = body["data"]["connectAzureDevopsOrganization"]["authorizationUrl"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"));
        let state = FLOW
            .open::<ConnectTarget>(&app.services.secrets, &query_of(url)["state"])
            .unwrap();
        assert_eq!(state.target, "acme");

        let bare = spawn_app_with(backend, |c| {
            c.schedules
                .insert("repository-rediscovery".into(), "off".into());
        })
        .await;
        let token = bare.token(&Who::ADMIN_A);
        let (_, body) = bare.gql(&token, CONNECT, json!({ "o": ORG })).await;
        assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED", "{body}");
        assert!(
            body.to_string().contains("AZURE_DEVOPS_CLIENT_ID"),
            "{body}"
        );
        assert!(
            body.to_string().contains("AZURE_DEVOPS_CLIENT_SECRET"),
            "{body}"
        );
        let (_, body) = bare
            .gql(
                &token,
                "{ integrations { name status missingVariables } }",
                json!({}),
            )
            .await;
        let row = body["data"]["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "AZURE_DEVOPS")
            .cloned()
            .unwrap();
        assert_eq!(row["status"], "NOT_CONFIGURED");
        assert_eq!(
            row["missingVariables"],
            json!(["AZURE_DEVOPS_CLIENT_ID", "AZURE_DEVOPS_CLIENT_SECRET"])
        );
    }
);

async fn findings(app: &TestApp, token: &str) -> Vec<Value> {
    let (_, body) = app.gql(token, FINDINGS, json!({})).await;
    let mut list: Vec<Value> = body["data"]["findings"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    list.sort_by_key(|f| f["title"].as_str().unwrap().to_string());
    list
}

both!(azure_devops_access_audit_of_guests, |backend| async move {
    let (app, server, fake) = app_with_ado(backend).await;
    let token = app.token(&Who::ADMIN_A);
    let org_id = connect(&app, &fake, &token).await;
    // Every entitlement page was read (two per page here, five users).
    let pages = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/vsaex/acme/_apis/userentitlements")
        .count();
    assert_eq!(pages, 3);
    // The connect audited: the 200-day guest on Platform's listed, enabled repositories
    // (api, scratch; not the disabled Archive/legacy), the never-signed-in guest on Web Store.
    // Members, however idle, and the recent guest are not findings.
    let list = findings(&app, &token).await;
    let titles: Vec<&str> = list.iter().map(|f| f["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "Guest never@partner.example inactive with access to storefront",
            "Guest old.guest@partner.example inactive with access to api",
            "Guest old.guest@partner.example inactive with access to scratch",
        ]
    );
    assert!(list.iter().all(|f| f["accessIssue"] == "ORPHANED_ACCESS"
        && f["tool"] == "azure-devops-access-audit"
        && f["status"] == "OPEN"));
    assert_eq!(list[0]["severity"], "LOW", "a reader");
    assert!(
        list[0]["description"]
            .as_str()
            .unwrap()
            .contains("has never signed in")
    );
    assert_eq!(list[1]["severity"], "MEDIUM", "a contributor");
    assert!(
        list[1]["description"]
            .as_str()
            .unwrap()
            .contains("last signed in 200 days ago")
    );
    assert_eq!(list[1]["repository"]["name"], "api");

    // The old guest is removed: their findings resolve, the other stays; nothing duplicates.
    fake.lock()
        .unwrap()
        .entitlements
        .retain(|e| e["user"]["principalName"] != "old.guest@partner.example");
    let body = crate::discovery::rediscover(&app, &token, &org_id).await;
    let discovery = &body["data"]["rediscoverOrganization"]["discovery"];
    assert_eq!(discovery["openAccessFindings"], 1, "{body}");
    assert_eq!(discovery["resolvedAccessFindings"], 2, "{body}");
    let list = findings(&app, &token).await;
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|f| f["status"] == "RESOLVED").count(), 2);

    // A user who may not read the entitlements: the run succeeds, findings stay as they are.
    fake.lock().unwrap().entitlements_forbidden = true;
    let body = crate::discovery::rediscover(&app, &token, &org_id).await;
    let done = &body["data"]["rediscoverOrganization"];
    assert_eq!(done["organization"]["status"], "CONNECTED", "{body}");
    assert_eq!(done["discovery"]["resolvedAccessFindings"], 0);
    let list = findings(&app, &token).await;
    assert_eq!(list.iter().filter(|f| f["status"] == "OPEN").count(), 1);
});
