//! Connect Organization (GitHub App): connect, discovery across pages, rediscovery, the access
//! audit, token reuse and refresh, provider failures, tenancy and roles — against a GitHub fake.

pub(crate) mod github_fake;

use chrono::{DateTime, TimeDelta, Utc};
use entities::{organizations, repositories};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use stack_gateway::code::providers::credentials::Credentials;
use uuid::Uuid;
use wiremock::ResponseTemplate;

use crate::both;
use crate::discovery;
use crate::helpers::{Backend, TestApp, Who, code, finding_lines, spawn_app_with};
use github_fake::{Shared, pairs, repo};

pub(crate) const CONNECT: &str =
    "mutation { connectGithubOrganization { installationUrl expiresAt } }";
const REDISCOVER: &str =
    "mutation($o: ID!) { rediscoverOrganization(input: { organizationId: $o }) {
    organization { id status } } }";
const DISCONNECT: &str =
    "mutation($o: ID!) { disconnectOrganization(input: { organizationId: $o }) {
    organization { id status statusError } } }";
const REPOS: &str = "{ repositories(first: 50) { edges { node { name fullName url defaultBranch
    visibility archived techStack lastCommitAt hostingPlatform lifecycle missingSince } } } }";
const FINDINGS: &str =
    "{ findings(first: 50, filter: { kind: ACCESS_ISSUE }) { totalCount edges { node {
    id accessIssue severity status title tool resolvedAt repository { name } } } } }";
const ORG: &str = "query($o: ID!) { node(id: $o) { ... on Organization { status statusError nextRetryAt repoCount } } }";

pub(crate) async fn app_with_github(backend: Backend) -> (TestApp, wiremock::MockServer, Shared) {
    app_with_github_and(backend, |_| {}).await
}

/// `app_with_github`, with `more` applied to the configuration too.
pub(crate) async fn app_with_github_and(
    backend: Backend,
    more: impl FnOnce(&mut stack_gateway::config::Config),
) -> (TestApp, wiremock::MockServer, Shared) {
    let (server, state) = github_fake::start().await;
    let uri = server.uri();
    let app = spawn_app_with(backend, move |c| {
        c.integrations.github_api_url = uri.clone();
        c.integrations.github_url = uri;
        c.integrations.github_app_private_key = Some(github_fake::PRIVATE_KEY.into());
        c.integrations.github_app_slug = Some(github_fake::SLUG.into());
        c.integrations.github_app_client_id = Some(github_fake::CLIENT_ID.into());
        c.integrations.github_app_client_secret = Some(github_fake::CLIENT_SECRET.into());
        // The tests run the timer's handler themselves.
        c.schedules
            .insert("repository-rediscovery".into(), "off".into());
        more(c);
    })
    .await;
    state.lock().unwrap().setup_url = app.url("/auth/github/setup");
    (app, server, state)
}

/// Where a redirect sends the browser (the gateway's public URL is `http://gateway.test`).
fn location(app: &TestApp, response: &reqwest::Response) -> String {
    let to = response.headers()["location"].to_str().unwrap();
    to.replace("http://gateway.test", &format!("http://{}", app.addr))
}

/// The browser's walk through the flow: install page → setup URL → GitHub sign-in → callback.
/// Returns the callback's answer: its status, where it redirects, its body.
pub(crate) async fn install_and_sign_in(app: &TestApp, token: &str) -> (u16, String, Value) {
    let (_, body) = app.gql(token, CONNECT, json!({})).await;
    let mut url = body["data"]["connectGithubOrganization"]["installationUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    // install page, setup URL, authorize: each redirects.
    for _ in 0..3 {
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16() / 100, 3, "{url}: {response:?}");
        url = location(app, &response);
    }
    assert!(url.contains("/auth/github/callback"), "{url}");
    callback_at(app, &url).await
}

/// A GET of the callback URL `url`.
pub(crate) async fn callback_at(app: &TestApp, url: &str) -> (u16, String, Value) {
    let response = app.client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let to = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, to, response.json().await.unwrap_or(Value::Null))
}

/// Connects the fake's installation and waits for its first discovery: the organization and
/// what the run found.
pub(crate) async fn connect(app: &TestApp, token: &str) -> Value {
    let (status, to, body) = install_and_sign_in(app, token).await;
    assert_eq!(status, 303, "{body}");
    let id = to.split("id=").nth(1).unwrap_or_else(|| panic!("{to}"));
    let org = discovery::settled(app, token, id).await;
    json!({ "discovery": org["lastDiscovery"], "organization": org })
}

/// Outbox events of `kind`, oldest first.
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

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
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

async fn org_row(app: &TestApp) -> organizations::Model {
    organizations::Entity::find()
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap()
}

/// Makes the stored installation token expire in `minutes`.
async fn expire_token_in(app: &TestApp, minutes: i64) {
    let org = org_row(app).await;
    let mut creds = Credentials::open(
        &app.services.secrets,
        org.credentials_encrypted.as_deref().unwrap(),
    )
    .unwrap();
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

both!(
    connect_discovers_every_page_and_rediscovery_marks_missing,
    |backend| async move {
        let (app, server, fake) = app_with_github(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let done = connect(&app, &token).await;
        let org = &done["organization"];
        assert_eq!(org["login"], "acme");
        assert_eq!(org["name"], "Acme Corp");
        assert_eq!(org["provider"], "GITHUB");
        assert_eq!(org["status"], "CONNECTED");
        assert_eq!(org["repoCount"], 3);
        assert_eq!(org["basePermission"], "read");
        assert!(org["lastDiscoveredAt"].is_string());
        assert_eq!(done["discovery"]["newRepositories"], 3);
        let org_id = org["id"].as_str().unwrap().to_string();
        // Both pages were read (page 2 through the `Link` header).
        let received = server.received_requests().await.unwrap();
        assert!(
            received
                .iter()
                .any(|r| r.url.path() == "/installation/repositories"
                    && r.url.query().unwrap_or("").contains("page=2"))
        );

        let list = repos(&app, &token).await;
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0],
            json!({ "name": "api", "fullName": "acme/api", "url": "https://github.com/acme/api",
                "defaultBranch": "main", "visibility": "private", "archived": false,
                "techStack": ["Rust"], "lastCommitAt": "2026-11-20T08:30:00+00:00",
                "hostingPlatform": null, "lifecycle": "ACTIVE", "missingSince": null })
        );
        assert_eq!(list[1]["archived"], true);
        assert_eq!(list[1]["techStack"], json!([]));
        assert_eq!(list[2]["techStack"], json!(["TypeScript"]));

        // Events: code.org.connected with the seed's fields, one code.repo.discovered per repo.
        let connected = events(&app, &token, "code.org.connected").await;
        assert_eq!(connected.len(), 1);
        assert_eq!(
            keys(&connected[0]),
            ["org_id", "org_login", "provider", "repo_count"]
        );
        assert_eq!(connected[0]["provider"], "github");
        assert_eq!(connected[0]["org_login"], "acme");
        assert_eq!(connected[0]["repo_count"], 3);
        let discovered = events(&app, &token, "code.repo.discovered").await;
        assert_eq!(discovered.len(), 3);
        assert_eq!(
            keys(&discovered[0]),
            ["org_id", "provider", "repo_id", "repo_name"]
        );
        assert_eq!(discovered[0]["org_id"], connected[0]["org_id"]);
        let mut names: Vec<&str> = discovered
            .iter()
            .map(|d| d["repo_name"].as_str().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["api", "legacy", "web"]);

        // The token is sealed at rest.
        let row = org_row(&app).await;
        let sealed = row.credentials_encrypted.clone().unwrap();
        assert!(!sealed.contains("ghs_"), "stored sealed");

        // Rediscovery: `legacy` is gone, `worker` is new.
        {
            let mut s = fake.lock().unwrap();
            s.repos.retain(|r| r["name"] != "legacy");
            s.repos.push(repo(104, "worker", Some("Go"), false));
        }
        let body = discovery::rediscover(&app, &token, &org_id).await;
        let d = &body["data"]["rediscoverOrganization"]["discovery"];
        assert_eq!(
            (
                d["repositories"].as_i64(),
                d["newRepositories"].as_i64(),
                d["missingRepositories"].as_i64()
            ),
            (Some(3), Some(1), Some(1)),
            "{body}"
        );
        let list = repos(&app, &token).await;
        assert_eq!(list.len(), 4, "nothing is deleted");
        let legacy = list.iter().find(|r| r["name"] == "legacy").unwrap();
        let missing_since = legacy["missingSince"].clone();
        assert!(missing_since.is_string());
        assert_eq!(events(&app, &token, "code.repo.discovered").await.len(), 4);
        // Again: nothing new, the mark is kept as it was, no event.
        let body = discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(
            body["data"]["rediscoverOrganization"]["discovery"]["newRepositories"],
            0
        );
        let list = repos(&app, &token).await;
        assert_eq!(
            list.iter().find(|r| r["name"] == "legacy").unwrap()["missingSince"],
            missing_since
        );
        assert_eq!(events(&app, &token, "code.repo.discovered").await.len(), 4);
        assert_eq!(events(&app, &token, "code.org.connected").await.len(), 1);
        // `legacy` comes back: unmarked, no second discovery event.
        fake.lock()
            .unwrap()
            .repos
            .push(repo(103, "legacy", None, true));
        discovery::rediscover(&app, &token, &org_id).await;
        let list = repos(&app, &token).await;
        assert!(list.iter().find(|r| r["name"] == "legacy").unwrap()["missingSince"].is_null());
        assert_eq!(events(&app, &token, "code.repo.discovered").await.len(), 4);

        // One token served all four runs; one close to expiry is replaced and stored sealed.
        assert_eq!(fake.lock().unwrap().minted.len(), 1);
        expire_token_in(&app, 3).await;
        let body = discovery::rediscover(&app, &token, &org_id).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(fake.lock().unwrap().minted.len(), 2);
        let creds = Credentials::open(
            &app.services.secrets,
            org_row(&app)
                .await
                .credentials_encrypted
                .as_deref()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            creds.token.as_deref(),
            Some(fake.lock().unwrap().minted[1].as_str())
        );
        assert!(creds.expires_at.unwrap() > Utc::now() + TimeDelta::minutes(50));
        discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(
            fake.lock().unwrap().minted.len(),
            2,
            "the new token is reused"
        );
    }
);

both!(
    access_audit_reports_three_kinds_and_resolves_fixed_ones,
    |backend| async move {
        let (app, _server, fake) = app_with_github(backend).await;
        {
            let mut s = fake.lock().unwrap();
            s.no_2fa = vec!["mallory".into()];
            s.outside = vec!["olga".into(), "fresh".into()];
            s.direct.insert(
                "api".into(),
                pairs(&[
                    ("dave", "admin"),
                    ("olga", "write"),
                    ("fresh", "read"),
                    ("erin", "read"),
                ]),
            );
            s.teams.insert(
                "api".into(),
                pairs(&[("platform", "push"), ("readers", "pull")]),
            );
            s.all.insert(
                "api".into(),
                pairs(&[("mallory", "write"), ("dave", "admin"), ("olga", "write")]),
            );
            s.all.insert("web".into(), pairs(&[("mallory", "read")]));
            s.commits
                .insert("olga".into(), Utc::now() - TimeDelta::days(200));
            s.commits
                .insert("fresh".into(), Utc::now() - TimeDelta::days(3));
        }
        let token = app.token(&Who::ADMIN_A);
        let done = connect(&app, &token).await;
        assert_eq!(done["discovery"]["openAccessFindings"], 5, "{done}");
        let org_id = done["organization"]["id"].as_str().unwrap().to_string();
        let findings = |body: &Value| -> Vec<Value> {
            body["data"]["findings"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone())
                .collect()
        };
        let (_, body) = app.gql(&token, FINDINGS, json!({})).await;
        let list = findings(&body);
        assert_eq!(
            finding_lines(&list),
            [
                "api MISSING_2FA HIGH OPEN mallory has write access to api without two-factor authentication",
                "api ORPHANED_ACCESS MEDIUM OPEN Outside collaborator olga inactive on api",
                "api PERMISSION_DRIFT HIGH OPEN dave has admin on api, above the base permission (read)",
                "api PERMISSION_DRIFT MEDIUM OPEN team platform has push on api, above the base permission (read)",
                "web MISSING_2FA MEDIUM OPEN mallory has read access to web without two-factor authentication",
            ].iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{body}"
        );
        assert!(list.iter().all(|f| f["tool"] == "github-access-audit"));
        let dave = list
            .iter()
            .find(|f| f["title"].as_str().unwrap().starts_with("dave"))
            .unwrap()["id"]
            .clone();

        // A re-audit does not duplicate.
        discovery::rediscover(&app, &token, &org_id).await;
        let (_, body) = app.gql(&token, FINDINGS, json!({})).await;
        assert_eq!(body["data"]["findings"]["totalCount"], 5);

        // Fixed: dave loses admin, mallory enrols, the team's grant goes → resolved.
        {
            let mut s = fake.lock().unwrap();
            s.direct
                .insert("api".into(), pairs(&[("dave", "read"), ("olga", "write")]));
            s.no_2fa.clear();
            s.teams.clear();
        }
        let body = discovery::rediscover(&app, &token, &org_id).await;
        let d = &body["data"]["rediscoverOrganization"]["discovery"];
        assert_eq!(
            (
                d["openAccessFindings"].as_i64(),
                d["resolvedAccessFindings"].as_i64()
            ),
            (Some(1), Some(4)),
            "{body}"
        );
        let (_, body) = app.gql(&token, FINDINGS, json!({})).await;
        let list = findings(&body);
        assert_eq!(list.len(), 5);
        assert_eq!(
            list.iter()
                .filter(|f| f["status"] == "RESOLVED" && f["resolvedAt"].is_string())
                .count(),
            4
        );
        // It comes back: the same finding reopens.
        fake.lock()
            .unwrap()
            .direct
            .insert("api".into(), pairs(&[("dave", "admin"), ("olga", "write")]));
        discovery::rediscover(&app, &token, &org_id).await;
        let (_, body) = app.gql(&token, FINDINGS, json!({})).await;
        let list = findings(&body);
        assert_eq!(list.len(), 5);
        let again = list.iter().find(|f| f["id"] == dave).unwrap();
        assert_eq!(
            (again["status"].as_str(), again["resolvedAt"].is_null()),
            (Some("OPEN"), true)
        );

        // A list the app may no longer read judges nothing: mallory's 2FA findings, reopened,
        // stay open while the 2FA list answers 403, and the run still succeeds.
        {
            let mut s = fake.lock().unwrap();
            s.no_2fa = vec!["mallory".into()];
        }
        discovery::rediscover(&app, &token, &org_id).await;
        fake.lock().unwrap().no_2fa_forbidden = true;
        let body = discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(
            body["data"]["rediscoverOrganization"]["organization"]["status"], "CONNECTED",
            "{body}"
        );
        let (_, body) = app.gql(&token, FINDINGS, json!({})).await;
        let open_2fa = findings(&body)
            .into_iter()
            .filter(|f| f["accessIssue"] == "MISSING_2FA" && f["status"] == "OPEN")
            .count();
        assert_eq!(open_2fa, 2, "{body}");
    }
);

fn rate_limited(reset: DateTime<Utc>) -> ResponseTemplate {
    ResponseTemplate::new(403)
        .insert_header("x-ratelimit-limit", "5000")
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-used", "5000")
        .insert_header("x-ratelimit-reset", reset.timestamp().to_string().as_str())
        .set_body_json(json!({
            "message": "API rate limit exceeded for installation ID 51234567.",
            "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
        }))
}

async fn known_repos(app: &TestApp) -> Vec<repositories::Model> {
    repositories::Entity::find()
        .filter(repositories::Column::MissingSince.is_null())
        .all(&app.services.db)
        .await
        .unwrap()
}

both!(
    provider_failures_leave_an_error_state_and_lose_nothing,
    |backend| async move {
        let (app, _server, fake) = app_with_github(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let done = connect(&app, &token).await;
        let org_id = done["organization"]["id"].as_str().unwrap().to_string();
        let state_of = async |app: &TestApp| {
            let (_, body) = app.gql(&token, ORG, json!({ "o": org_id })).await;
            body["data"]["node"].clone()
        };

        // Rate limit: RATE_LIMITED, error state with the reset time as the retry time.
        let reset = DateTime::from_timestamp(Utc::now().timestamp() + 1800, 0).unwrap();
        fake.lock().unwrap().fail = Some(rate_limited(reset));
        let body = discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
        let org = state_of(&app).await;
        assert_eq!(org["status"], "ERROR");
        assert!(
            org["statusError"].as_str().unwrap().contains("rate limit"),
            "{org}"
        );
        assert_eq!(
            org["nextRetryAt"]
                .as_str()
                .unwrap()
                .parse::<DateTime<Utc>>()
                .unwrap(),
            reset
        );
        assert_eq!(org["repoCount"], 3);
        assert_eq!(known_repos(&app).await.len(), 3, "nothing lost");
        // The timer leaves it alone until the reset, then retries it and it recovers.
        assert_eq!(
            app.services.providers.tick(Utc::now()).await.unwrap(),
            (0, 0)
        );
        fake.lock().unwrap().fail = None;
        assert_eq!(
            app.services
                .providers
                .tick(reset + TimeDelta::seconds(1))
                .await
                .unwrap(),
            (1, 0)
        );
        let org = state_of(&app).await;
        assert_eq!(
            (
                org["status"].as_str(),
                org["statusError"].is_null(),
                org["nextRetryAt"].is_null()
            ),
            (Some("CONNECTED"), true, true)
        );

        // 5xx: UPSTREAM_UNAVAILABLE, retried after a backoff.
        fake.lock().unwrap().fail =
            Some(ResponseTemplate::new(502).set_body_string("<html>Bad gateway</html>"));
        let body = discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
        let org = state_of(&app).await;
        assert_eq!(org["status"], "ERROR");
        assert!(
            !org["statusError"].as_str().unwrap().contains("html"),
            "no upstream body"
        );
        let retry = org["nextRetryAt"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap();
        assert!(
            retry > Utc::now() + TimeDelta::minutes(10)
                && retry < Utc::now() + TimeDelta::minutes(20)
        );
        assert_eq!(known_repos(&app).await.len(), 3);

        // A failing page 2 writes nothing: no repository is marked missing.
        {
            let mut s = fake.lock().unwrap();
            s.fail = None;
            s.fail_page_2 = Some(ResponseTemplate::new(500));
        }
        let body = discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
        assert_eq!(
            known_repos(&app).await.len(),
            3,
            "no half-written discovery"
        );

        // The installation is removed: the token mint answers 404 → UPSTREAM_AUTH_FAILED.
        {
            let mut s = fake.lock().unwrap();
            s.fail_page_2 = None;
            s.revoked = true;
        }
        expire_token_in(&app, 1).await;
        let body = discovery::rediscover(&app, &token, &org_id).await;
        assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
        let org = state_of(&app).await;
        assert_eq!(org["status"], "ERROR");
        assert!(
            org["statusError"]
                .as_str()
                .unwrap()
                .contains("installation was removed"),
            "{org}"
        );
        assert!(org["nextRetryAt"].is_string());
        assert_eq!(known_repos(&app).await.len(), 3);
        assert_eq!(org_row(&app).await.repo_count, 3);

        // The App is installed again: connecting mends the organization in error (same row).
        fake.lock().unwrap().revoked = false;
        let done = connect(&app, &token).await;
        assert_eq!(
            (
                done["organization"]["id"].as_str(),
                done["organization"]["status"].as_str()
            ),
            (Some(org_id.as_str()), Some("CONNECTED")),
            "{done}"
        );
    }
);

both!(
    only_admins_of_the_tenant_connect_and_disconnect_keeps_data,
    |backend| async move {
        let (app, _server, fake) = app_with_github(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let technician = app.token(&Who {
            tenant: "tenant-a",
            sub: "tim",
            roles: &["technician"],
            products: &["code"],
        });
        let migrate_admin = app.token(&Who {
            tenant: "tenant-a",
            sub: "mia",
            roles: &["admin"],
            products: &["migrate"],
        });
        for who in [&technician, &migrate_admin] {
            let (_, body) = app.gql(who, CONNECT, json!({})).await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
        }
        assert!(
            fake.lock().unwrap().minted.is_empty(),
            "nothing asked of GitHub"
        );

        let done = connect(&app, &admin).await;
        let org_id = done["organization"]["id"].as_str().unwrap().to_string();
        let (status, _, body) = install_and_sign_in(&app, &admin).await;
        assert_eq!(
            (status, code(&body)),
            (409, "CONFLICT"),
            "already connected"
        );
        for m in [REDISCOVER, DISCONNECT] {
            let (_, body) = app.gql(&technician, m, json!({ "o": org_id })).await;
            assert_eq!(code(&body), "FORBIDDEN");
            let other = app.token(&Who::ADMIN_B);
            let (_, body) = app.gql(&other, m, json!({ "o": org_id })).await;
            assert_eq!(code(&body), "NOT_FOUND", "another tenant's organization");
            let (_, body) = app.gql(&other, ORG, json!({ "o": org_id })).await;
            assert!(body["data"]["node"].is_null());
        }

        // Disconnect: event, credentials forgotten, repositories kept; twice is once.
        let (_, body) = app.gql(&admin, DISCONNECT, json!({ "o": org_id })).await;
        assert_eq!(
            body["data"]["disconnectOrganization"]["organization"]["status"], "DISCONNECTED",
            "{body}"
        );
        let gone = events(&app, &admin, "code.org.disconnected").await;
        assert_eq!(gone.len(), 1);
        assert_eq!(keys(&gone[0]), ["org_id", "org_login", "provider"]);
        assert_eq!(
            (gone[0]["org_login"].as_str(), gone[0]["provider"].as_str()),
            (Some("acme"), Some("github"))
        );
        assert_eq!(
            gone[0]["org_id"].as_str().unwrap().parse::<Uuid>().unwrap(),
            org_row(&app).await.id
        );
        assert!(org_row(&app).await.credentials_encrypted.is_none());
        assert_eq!(known_repos(&app).await.len(), 3);
        app.gql(&admin, DISCONNECT, json!({ "o": org_id })).await;
        assert_eq!(events(&app, &admin, "code.org.disconnected").await.len(), 1);
        let body = discovery::rediscover(&app, &admin, &org_id).await;
        assert_eq!(code(&body), "CONFLICT");
        assert_eq!(
            app.services
                .providers
                .tick(Utc::now() + TimeDelta::days(1))
                .await
                .unwrap(),
            (0, 0)
        );

        // Connecting again reuses the organization and its repositories.
        let done = connect(&app, &admin).await;
        assert_eq!(done["organization"]["id"], org_id.as_str());
        assert_eq!(done["discovery"]["newRepositories"], 0);
        assert_eq!(events(&app, &admin, "code.org.connected").await.len(), 2);
        assert_eq!(events(&app, &admin, "code.repo.discovered").await.len(), 3);
    }
);

both!(github_not_configured_is_named, |backend| async move {
    let app = spawn_app_with(backend, |_| {}).await;
    let token = app.token(&Who::ADMIN_A);
    let (_, body) = app.gql(&token, CONNECT, json!({})).await;
    assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("GITHUB_APP_PRIVATE_KEY")
    );
    // The key alone discovers, but connecting needs the App's slug and OAuth client too.
    let app = spawn_app_with(backend, |c| {
        c.integrations.github_app_private_key = Some(github_fake::PRIVATE_KEY.into());
        c.integrations.github_app_slug = Some(github_fake::SLUG.into());
    })
    .await;
    let (_, body) = app.gql(&token, CONNECT, json!({})).await;
    assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("GITHUB_APP_CLIENT_ID, GITHUB_APP_CLIENT_SECRET")
            && !message.contains("SLUG"),
        "{message}"
    );
});
