//! Azure Storage credentials end to end: the OAuth connect flow (token sealed at rest, never
//! shown), SAS vending to agents (every SAS field checked and the signature recomputed from the
//! documented string-to-sign), the rotated refresh token stored, and every refusal.

mod azure_fake;

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use entities::enums::JobStatus;
use entities::{jobs, projects};
use hmac::{Hmac, Mac};
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::ResponseTemplate;

use crate::agents::{TECH_A, agent_call, register_agent, uuid_of};
use crate::both;
use crate::helpers::{Backend, TestApp, Who, code, spawn_app_with};
use azure_fake::*;

const CONNECT: &str = "mutation($i: ConnectProjectStorageInput!) { connectProjectStorage(input: $i) { authorizationUrl expiresAt project { id storageConnected } } }";
const PROJECT: &str = "query($id: ID!) { node(id: $id) { ... on Project { storageAccount storageContainer storageConnected credentialsExpiresAt } } }";
const JOB_CREDENTIALS: &str =
    "query($j: ID!) { jobCredentials(jobId: $j) { sasToken containerUrl expiresAt permissions } }";

async fn app_with_azure(backend: Backend) -> (TestApp, Azure) {
    let azure = Azure::start().await;
    let app = spawn_app_with(backend, |c| {
        azure.configure(c);
        // The browser goes back to the front-end; Microsoft comes back to the gateway.
        c.frontend = stack_gateway::config::Frontend::same_as("https://app.example.com");
    })
    .await;
    (app, azure)
}

async fn create_project(app: &TestApp, token: &str, name: &str) -> Value {
    let m = "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }";
    let (_, body) = app.gql(token, m, json!({ "i": { "name": name } })).await;
    let id = body["data"]["createProject"]["project"]["id"].clone();
    assert!(id.is_string(), "{body}");
    id
}

/// An agent and a queued job of `project` assigned to it.
async fn agent_with_job(
    app: &TestApp,
    token: &str,
    project: &Value,
    name: &str,
) -> (String, Value) {
    let (agent, key) = register_agent(app, token, name).await;
    let m = "mutation($i: CreateJobInput!) { createJob(input: $i) { job { id } } }";
    let input = json!({ "projectId": project, "kind": "MAILBOX", "name": format!("{name} wave"), "agentId": agent, "config": {} });
    let (_, body) = app.gql(token, m, json!({ "i": input })).await;
    let job = body["data"]["createJob"]["job"]["id"].clone();
    assert!(job.is_string(), "{body}");
    (key, job)
}

/// The query parameters of a URL.
fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Starts the connection and returns the authorize URL's parameters.
async fn start_connect(app: &TestApp, token: &str, project: &Value) -> BTreeMap<String, String> {
    let input = json!({ "projectId": project, "storageAccount": ACCOUNT, "container": CONTAINER });
    let (_, body) = app.gql(token, CONNECT, json!({ "i": input })).await;
    let url = body["data"]["connectProjectStorage"]["authorizationUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    query_of(&url)
}

async fn callback(
    app: &TestApp,
    query: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = app
        .client
        .get(app.url("/auth/azure/callback"))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// The whole connect flow: the refresh token Azure issues is `refresh`.
async fn connect(app: &TestApp, azure: &Azure, token: &str, project: &Value, refresh: &str) {
    let params = start_connect(app, token, project).await;
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    azure.code_grant(&code, refresh).await;
    let (status, _, body) = callback(app, &[("code", &code), ("state", &params["state"])]).await;
    assert_eq!(status, 303, "{body}");
}

async fn stored(app: &TestApp, project: &Value) -> projects::Model {
    projects::Entity::find_by_id(uuid_of(project))
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap()
}

fn near(t: DateTime<Utc>, expected: DateTime<Utc>) -> bool {
    (t - expected).num_seconds().abs() <= 60
}

fn rfc3339(value: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value).unwrap().to_utc()
}

/// Checks every field of a SAS and recomputes its signature from the fake key with the
/// documented user delegation string-to-sign of version 2026-04-06 (28 lines: the 2025-07-05
/// delegated-user fields, then the signed request headers and query parameters).
fn check_sas(token: &str) -> BTreeMap<String, String> {
    let q: BTreeMap<String, String> = url::form_urlencoded::parse(token.as_bytes())
        .into_owned()
        .collect();
    let keys: Vec<&str> = q.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "se", "sig", "ske", "skoid", "sks", "skt", "sktid", "skv", "sp", "spr", "sr", "st",
            "sv"
        ],
        "exactly these fields (no IP, no identity or header overrides)"
    );
    assert_eq!(q["sv"], "2026-04-06");
    assert_eq!(q["sp"], "cw", "create and write only");
    assert_eq!(q["sr"], "c", "the container");
    assert_eq!(q["spr"], "https");
    let now = Utc::now();
    let (st, se) = (rfc3339(&q["st"]), rfc3339(&q["se"]));
    assert!(
        near(st, now - TimeDelta::minutes(5)),
        "st {st} is about five minutes back"
    );
    assert!(
        near(se, now + TimeDelta::hours(1)),
        "se {se} is about an hour ahead"
    );
    assert_eq!(se - st, TimeDelta::minutes(65));
    assert_eq!(
        (q["skoid"].as_str(), q["sktid"].as_str()),
        (KEY_OID, KEY_TID)
    );
    assert_eq!((q["sks"].as_str(), q["skv"].as_str()), ("b", "2026-04-06"));
    assert_eq!(
        (q["skt"].as_str(), q["ske"].as_str()),
        (q["st"].as_str(), q["se"].as_str())
    );
    let resource = format!("/blob/{ACCOUNT}/{CONTAINER}");
    let lines = [
        &q["sp"],
        &q["st"],
        &q["se"],
        &resource,
        &q["skoid"],
        &q["sktid"],
        &q["skt"],
        &q["ske"],
        &q["sks"],
        &q["skv"],
        "",
        "",
        "",
        "",
        "",
        "",
        &q["spr"],
        &q["sv"],
        &q["sr"],
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ];
    assert_eq!(lines.len(), 28);
    let mut mac = Hmac::<Sha256>::new_from_slice(&STANDARD.decode(KEY_VALUE).unwrap()).unwrap();
    mac.update(lines.join("\n").as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(q["sig"], expected, "the signature verifies with the key");
    q
}

both!(
    connecting_by_oauth_stores_the_token_sealed_and_never_shows_it,
    |backend| async move {
        let (app, azure) = app_with_azure(backend).await;
        let token = app.token(&TECH_A);
        let project = create_project(&app, &token, "Contoso mail").await;
        let params = start_connect(&app, &token, &project).await;
        // The authorize URL: v2 endpoint, our client, the storage scope, PKCE S256, an opaque state.
        assert_eq!(params["client_id"], CLIENT_ID);
        assert_eq!(params["response_type"], "code");
        assert_eq!(
            params["redirect_uri"],
            "http://gateway.test/auth/azure/callback"
        );
        assert_eq!(
            params["scope"],
            "https://storage.azure.com/user_impersonation offline_access"
        );
        assert_eq!(params["code_challenge_method"], "S256");
        assert!(!params["state"].contains(ACCOUNT) && params["state"].len() > 40);
        // Nothing is stored before the callback.
        assert!(stored(&app, &project).await.storage_account.is_none());

        azure.code_grant("the-code", "rt-first-issued").await;
        let (status, headers, _) =
            callback(&app, &[("code", "the-code"), ("state", &params["state"])]).await;
        assert_eq!(status, 303);
        let location = headers["location"].to_str().unwrap();
        assert!(
            location.starts_with("https://app.example.com/?storage=connected"),
            "{location}"
        );
        assert_eq!(headers["cache-control"], "no-store");
        // The code was redeemed once, with our secret and the PKCE verifier of the challenge.
        let requests = azure.token_requests().await;
        assert_eq!(requests.len(), 1);
        let form = &requests[0];
        assert_eq!(field(form, "grant_type"), Some("authorization_code"));
        assert_eq!(field(form, "client_secret"), Some(CLIENT_SECRET));
        assert_eq!(
            field(form, "redirect_uri"),
            Some("http://gateway.test/auth/azure/callback")
        );
        let verifier = field(form, "code_verifier").unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier)),
            params["code_challenge"]
        );

        // Stored sealed: the column is not the token and opens with the SecretBox.
        let row = stored(&app, &project).await;
        let sealed = row.refresh_token_encrypted.clone().unwrap();
        assert!(!sealed.contains("rt-first-issued"));
        assert_eq!(
            app.services.secrets.open(&sealed).unwrap(),
            "rt-first-issued"
        );
        assert_eq!(row.storage_account.as_deref(), Some(ACCOUNT));
        assert_eq!(row.storage_container.as_deref(), Some(CONTAINER));
        assert_eq!(row.azure_tenant.as_deref(), Some("organizations"));
        assert!(near(row.credentials_connected_at.unwrap(), Utc::now()));
        assert!(near(
            row.credentials_expires_at.unwrap(),
            Utc::now() + TimeDelta::days(90)
        ));

        // GraphQL shows the connection, never the token.
        let (_, body) = app.gql(&token, PROJECT, json!({ "id": project })).await;
        assert_eq!(
            body["data"]["node"],
            json!({ "storageAccount": ACCOUNT, "storageContainer": CONTAINER, "storageConnected": true, "credentialsExpiresAt": body["data"]["node"]["credentialsExpiresAt"] })
        );
        assert!(!body.to_string().contains("rt-first") && !body.to_string().contains(&sealed));
        let (_, body) = app
            .gql(
                &token,
                "{ __type(name: \"Project\") { fields { name } } }",
                json!({}),
            )
            .await;
        let names = body["data"]["__type"]["fields"].to_string().to_lowercase();
        assert!(
            !names.contains("token") && !names.contains("refresh") && !names.contains("secret"),
            "{names}"
        );

        // Disconnecting forgets the token; the names stay.
        let m = "mutation($p: ID!) { disconnectProjectStorage(input: { projectId: $p }) { project { storageConnected storageAccount credentialsExpiresAt } } }";
        let (_, body) = app.gql(&token, m, json!({ "p": project })).await;
        assert_eq!(
            body["data"]["disconnectProjectStorage"]["project"],
            json!({ "storageConnected": false, "storageAccount": ACCOUNT, "credentialsExpiresAt": null })
        );
        assert!(
            stored(&app, &project)
                .await
                .refresh_token_encrypted
                .is_none()
        );
    }
);

both!(
    credentials_for_an_agent_are_a_one_hour_create_write_sas_on_its_container,
    |backend| async move {
        let (app, azure) = app_with_azure(backend).await;
        let token = app.token(&Who::ADMIN_A);
        let project = create_project(&app, &token, "Contoso mail").await;
        connect(&app, &azure, &token, &project, "rt-one").await;
        let (key, job) = agent_with_job(&app, &token, &project, "mig-01").await;
        // Microsoft rotates the refresh token on the first use, not on the second.
        azure
            .refresh_grant("rt-one", tokens("access-one", Some("rt-two")))
            .await;
        azure
            .refresh_grant("rt-two", tokens("access-two", None))
            .await;
        azure.delegation_key("access-one").await;
        azure.delegation_key("access-two").await;

        let response = app
            .client
            .get(app.url(&format!("/api/jobs/{}/credentials", uuid_of(&job))))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["containerUrl", "expiresAt", "permissions", "sasToken"]
        );
        assert_eq!(body["permissions"], "cw");
        assert_eq!(
            body["containerUrl"],
            format!("{}/{ACCOUNT}/{CONTAINER}", azure.blob.uri())
        );
        let sas = check_sas(body["sasToken"].as_str().unwrap());
        assert_eq!(
            rfc3339(body["expiresAt"].as_str().unwrap()),
            rfc3339(&sas["se"])
        );

        // The refresh was a storage-scoped refresh_token grant with the stored token.
        let requests = azure.token_requests().await;
        let refresh = requests.last().unwrap();
        assert_eq!(field(refresh, "grant_type"), Some("refresh_token"));
        assert_eq!(field(refresh, "refresh_token"), Some("rt-one"));
        assert!(
            field(refresh, "scope")
                .unwrap()
                .contains("https://storage.azure.com/user_impersonation")
        );
        // The key was asked for exactly the SAS window, with the access token.
        let key_request = &azure.key_requests().await[0];
        let xml = String::from_utf8_lossy(&key_request.body).to_string();
        assert!(
            xml.contains(&format!(
                "<KeyInfo><Start>{}</Start><Expiry>{}</Expiry></KeyInfo>",
                sas["st"], sas["se"]
            )),
            "{xml}"
        );
        // The rotated refresh token is stored, sealed.
        let sealed = stored(&app, &project)
            .await
            .refresh_token_encrypted
            .unwrap();
        assert_eq!(app.services.secrets.open(&sealed).unwrap(), "rt-two");

        // Again, now through GraphQL with the agent's key: the stored (rotated) token is used.
        let (status, body) = app.gql(&key, JOB_CREDENTIALS, json!({ "j": job })).await;
        assert_eq!(status, 200, "{body}");
        let vended = &body["data"]["jobCredentials"];
        assert_eq!(vended["permissions"], "cw");
        check_sas(vended["sasToken"].as_str().unwrap());
        assert_eq!(
            field(
                azure.token_requests().await.last().unwrap(),
                "refresh_token"
            ),
            Some("rt-two")
        );
        // No rotation in that answer: the stored token stays.
        let sealed = stored(&app, &project)
            .await
            .refresh_token_encrypted
            .unwrap();
        assert_eq!(app.services.secrets.open(&sealed).unwrap(), "rt-two");

        // A technician may ask for a job's credentials too; a viewer may not.
        let tech = app.token(&TECH_A);
        let (_, body) = app.gql(&tech, JOB_CREDENTIALS, json!({ "j": job })).await;
        assert_eq!(
            body["data"]["jobCredentials"]["permissions"], "cw",
            "{body}"
        );
        let viewer = app.token(&Who {
            tenant: "tenant-a",
            sub: "vic",
            roles: &["viewer"],
            products: &["migrate"],
        });
        let (_, body) = app.gql(&viewer, JOB_CREDENTIALS, json!({ "j": job })).await;
        assert_eq!(code(&body), "FORBIDDEN");
        // The integration status page records the calls.
        let (_, body) = app
            .gql(&token, "{ integrations { name status } }", json!({}))
            .await;
        assert!(
            body["data"]["integrations"]
                .as_array()
                .unwrap()
                .contains(&json!({ "name": "AZURE", "status": "CONNECTED" })),
            "{body}"
        );
    }
);

/// The error body without its per-request id.
fn without_request_id(mut body: Value) -> Value {
    if let Some(ext) = body["errors"][0]["extensions"].as_object_mut() {
        ext.remove("requestId");
    }
    body
}

both!(
    credentials_are_refused_for_wrong_keys_and_jobs_not_the_agents,
    |backend| async move {
        let (app, azure) = app_with_azure(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let project = create_project(&app, &admin, "Contoso mail").await;
        connect(&app, &azure, &admin, &project, "rt-a").await;
        let (key, job) = agent_with_job(&app, &admin, &project, "mig-01").await;
        let (_, other_job) = agent_with_job(&app, &admin, &project, "mig-02").await;
        let admin_b = app.token(&Who::ADMIN_B);
        let project_b = create_project(&app, &admin_b, "Fabrikam").await;
        let (key_b, job_b) = agent_with_job(&app, &admin_b, &project_b, "fab-01").await;
        let path = |job: &Value| format!("/api/jobs/{}/credentials", uuid_of(job));

        for bad in ["sgak_not-a-real-key", "garbage"] {
            let (status, body) = agent_call(&app, bad, Method::GET, &path(&job), None).await;
            assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{bad}");
        }
        // Another agent's job, another tenant's job and no job at all look the same.
        let (s1, b1) = agent_call(&app, &key, Method::GET, &path(&other_job), None).await;
        let (s2, b2) = agent_call(&app, &key, Method::GET, &path(&job_b), None).await;
        let (s3, b3) = agent_call(&app, &key_b, Method::GET, &path(&job), None).await;
        let missing = format!("/api/jobs/{}/credentials", uuid::Uuid::now_v7());
        let (s4, b4) = agent_call(&app, &key, Method::GET, &missing, None).await;
        assert_eq!((s1, code(&b1)), (404, "NOT_FOUND"));
        assert_eq!([s1, s2, s3, s4], [404; 4]);
        let b1 = without_request_id(b1);
        for other in [b2, b3, b4] {
            assert_eq!(without_request_id(other), b1);
        }
        let alias = format!("/api/agent/jobs/{}/credentials", uuid_of(&other_job));
        let (s5, b5) = agent_call(&app, &key, Method::GET, &alias, None).await;
        assert_eq!((s5, without_request_id(b5)), (404, b1.clone()));
        // The same through GraphQL.
        let (_, body) = app.gql(&key, JOB_CREDENTIALS, json!({ "j": job_b })).await;
        assert_eq!(code(&body), "NOT_FOUND");
        // A revoked agent's key stops working.
        let (agent, revoked_key) = register_agent(&app, &admin, "mig-03").await;
        let m = "mutation($a: ID!) { revokeAgent(input: { agentId: $a }) { agent { status } } }";
        app.gql(&admin, m, json!({ "a": agent })).await;
        let (status, body) = agent_call(&app, &revoked_key, Method::GET, &path(&job), None).await;
        assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
        // Users use GraphQL, not the agent route; nobody gets nothing.
        let (status, body) = agent_call(&app, &admin, Method::GET, &path(&job), None).await;
        assert_eq!((status, code(&body)), (403, "FORBIDDEN"));
        let response = app.client.get(app.url(&path(&job))).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        // No Azure call was made for any of these.
        assert_eq!(azure.token_requests().await.len(), 1, "only the connect");
    }
);

async fn set_status(app: &TestApp, job: &Value, status: JobStatus) {
    let mut row = jobs::Entity::find_by_id(uuid_of(job))
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.status = Set(status);
    row.update(&app.services.db).await.unwrap();
}

both!(
    credentials_need_an_unfinished_job_a_connected_project_and_the_app_registration,
    |backend| async move {
        let (app, azure) = app_with_azure(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let project = create_project(&app, &admin, "Contoso mail").await;
        let (key, job) = agent_with_job(&app, &admin, &project, "mig-01").await;
        let path = format!("/api/jobs/{}/credentials", uuid_of(&job));
        // Not connected: says what is missing and how to fix it.
        let (status, body) = agent_call(&app, &key, Method::GET, &path, None).await;
        assert_eq!((status, code(&body)), (503, "INTEGRATION_NOT_CONFIGURED"));
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("storage account") && message.contains("connectProjectStorage"),
            "{message}"
        );
        // Finished jobs get CONFLICT, whatever the project.
        connect(&app, &azure, &admin, &project, "rt-a").await;
        for (finished, word) in [
            (JobStatus::Completed, "completed"),
            (JobStatus::Failed, "failed"),
            (JobStatus::Cancelled, "cancelled"),
        ] {
            set_status(&app, &job, finished).await;
            let (status, body) = agent_call(&app, &key, Method::GET, &path, None).await;
            assert_eq!((status, code(&body)), (409, "CONFLICT"));
            assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains(word)
            );
        }
        assert_eq!(azure.token_requests().await.len(), 1, "only the connect");

        // Without the app registration: INTEGRATION_NOT_CONFIGURED naming the variables.
        let bare = spawn_app_with(backend, |_| {}).await;
        let admin = bare.token(&Who::ADMIN_A);
        let project = create_project(&bare, &admin, "Contoso mail").await;
        let input =
            json!({ "projectId": project, "storageAccount": ACCOUNT, "container": CONTAINER });
        let (_, body) = bare.gql(&admin, CONNECT, json!({ "i": input })).await;
        assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("AZURE_CLIENT_ID")
        );
        let mut row = stored(&bare, &project).await.into_active_model();
        row.storage_account = Set(Some(ACCOUNT.into()));
        row.storage_container = Set(Some(CONTAINER.into()));
        row.refresh_token_encrypted = Set(Some(bare.services.secrets.seal("rt-x")));
        row.update(&bare.services.db).await.unwrap();
        let (key, job) = agent_with_job(&bare, &admin, &project, "mig-01").await;
        let (status, body) = agent_call(
            &bare,
            &key,
            Method::GET,
            &format!("/api/jobs/{}/credentials", uuid_of(&job)),
            None,
        )
        .await;
        assert_eq!((status, code(&body)), (503, "INTEGRATION_NOT_CONFIGURED"));
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("AZURE_CLIENT_ID") && message.contains("AZURE_CLIENT_SECRET"),
            "{message}"
        );
    }
);

both!(
    credentials_fail_closed_when_azure_refuses_or_is_down,
    |backend| async move {
        let azure = Azure::start().await;
        let app = spawn_app_with(backend, |c| {
            azure.configure(c);
            c.integrations.timeout_ms = 400;
        })
        .await;
        let admin = app.token(&Who::ADMIN_A);
        let project = create_project(&app, &admin, "Contoso mail").await;
        connect(&app, &azure, &admin, &project, "rt-revoked").await;
        let (key, job) = agent_with_job(&app, &admin, &project, "mig-01").await;
        let path = format!("/api/jobs/{}/credentials", uuid_of(&job));
        let sealed_before = stored(&app, &project).await.refresh_token_encrypted;
        let call = || agent_call(&app, &key, Method::GET, &path, None);
        let clean = |body: &Value| {
            let text = body.to_string();
            for leak in ["AADSTS", "rt-", "access-", "sig=", "trace_id"] {
                assert!(!text.contains(leak), "{leak} in {text}");
            }
            assert!(body.get("sasToken").is_none());
        };

        // invalid_grant: the stored authorization is dead; reconnect.
        azure
            .refresh_grant("rt-revoked", oauth_error(400, "invalid_grant"))
            .await;
        let (status, body) = call().await;
        assert_eq!((status, code(&body)), (502, "UPSTREAM_AUTH_FAILED"));
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("reconnect")
        );
        clean(&body);
        assert_eq!(
            azure.token_requests().await.len(),
            2,
            "connect + one refresh, not retried"
        );
        assert!(azure.key_requests().await.is_empty());
        assert_eq!(
            stored(&app, &project).await.refresh_token_encrypted,
            sealed_before
        );
        let (_, status_page) = app
            .gql(
                &admin,
                "{ integrations { name status lastError } }",
                json!({}),
            )
            .await;
        let entry = status_page["data"]["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "AZURE")
            .unwrap()
            .clone();
        assert_eq!(entry["status"], "ERROR");
        assert!(
            entry["lastError"].as_str().unwrap().contains("reconnect"),
            "{entry}"
        );

        // The token endpoint down: retried, then UPSTREAM_UNAVAILABLE.
        azure.login.reset().await;
        azure
            .refresh_grant("rt-revoked", ResponseTemplate::new(503))
            .await;
        let (status, body) = call().await;
        assert_eq!((status, code(&body)), (502, "UPSTREAM_UNAVAILABLE"));
        clean(&body);
        assert_eq!(
            azure.token_requests().await.len(),
            3,
            "a refresh may be retried"
        );

        // Too slow: a timeout is UPSTREAM_UNAVAILABLE too.
        azure.login.reset().await;
        azure
            .refresh_grant(
                "rt-revoked",
                tokens("access-late", None).set_delay(std::time::Duration::from_secs(2)),
            )
            .await;
        let (status, body) = call().await;
        assert_eq!((status, code(&body)), (502, "UPSTREAM_UNAVAILABLE"));
        clean(&body);

        // Storage refuses the key (no delegation role) or is down: no SAS either way.
        azure.login.reset().await;
        azure
            .refresh_grant("rt-revoked", tokens("access-ok", None))
            .await;
        azure.delegation_key_fails(ResponseTemplate::new(403).set_body_raw("<?xml version=\"1.0\"?><Error><Code>AuthorizationPermissionMismatch</Code></Error>", "application/xml")).await;
        let (status, body) = call().await;
        assert_eq!((status, code(&body)), (502, "UPSTREAM_AUTH_FAILED"));
        assert!(!body.to_string().contains("AuthorizationPermissionMismatch"));
        clean(&body);
        azure.blob.reset().await;
        azure.delegation_key_fails(ResponseTemplate::new(500)).await;
        let (status, body) = call().await;
        assert_eq!((status, code(&body)), (502, "UPSTREAM_UNAVAILABLE"));
        clean(&body);
        azure.blob.reset().await;
        azure
            .delegation_key_fails(
                ResponseTemplate::new(200).set_body_raw("<html>proxy</html>", "text/html"),
            )
            .await;
        let (status, body) = call().await;
        assert_eq!((status, code(&body)), (502, "UPSTREAM_UNAVAILABLE"));
        clean(&body);
    }
);

both!(
    credentials_callbacks_with_a_bad_state_or_code_store_nothing,
    |backend| async move {
        use stack_gateway::migrate::credentials::{FLOW, StorageConnection};
        use stack_gateway::secrets::SecretBox;
        use stack_gateway::upstream::oauth_state::ConnectState;
        let (app, azure) = app_with_azure(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let project = create_project(&app, &admin, "Contoso mail").await;
        let params = start_connect(&app, &admin, &project).await;
        let state = params["state"].clone();
        azure.code_grant("good-code", "rt-never-stored").await;

        let mut tampered = URL_SAFE_NO_PAD.decode(&state).unwrap();
        tampered[30] ^= 0x01;
        let tampered = URL_SAFE_NO_PAD.encode(tampered);
        let tenant = app.tenant("tenant-a").await;
        let expired = ConnectState {
            expires_at: Utc::now() - TimeDelta::seconds(5),
            ..ConnectState::new(StorageConnection {
                tenant,
                project: uuid_of(&project),
                user: uuid::Uuid::now_v7(),
                account: ACCOUNT.into(),
                container: CONTAINER.into(),
                azure_tenant: "organizations".into(),
            })
        };
        let expired = expired.seal(&FLOW, &app.services.secrets);
        let foreign = ConnectState::new(StorageConnection {
            tenant,
            project: uuid_of(&project),
            user: uuid::Uuid::now_v7(),
            account: ACCOUNT.into(),
            container: CONTAINER.into(),
            azure_tenant: "organizations".into(),
        })
        .seal(&FLOW, &SecretBox::new(&[9u8; 32]));
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![("code", "good-code")],
            vec![("code", "good-code"), ("state", "not-a-state")],
            vec![("code", "good-code"), ("state", &tampered)],
            vec![("code", "good-code"), ("state", &expired)],
            vec![("code", "good-code"), ("state", &foreign)],
            vec![("state", &state)],
            vec![
                ("error", "access_denied"),
                ("error_description", "<script>"),
                ("state", &state),
            ],
        ];
        for query in &cases {
            let (status, _, body) = callback(&app, query).await;
            assert_eq!(
                (status, code(&body)),
                (400, "BAD_USER_INPUT"),
                "{query:?}: {body}"
            );
            assert!(!body.to_string().contains("<script>"));
        }
        assert!(
            azure.token_requests().await.is_empty(),
            "no code was redeemed"
        );

        // A good state with a code Azure refuses: UPSTREAM_AUTH_FAILED, sent once.
        azure.login.reset().await;
        azure.refuse_codes().await;
        let (status, _, body) = callback(&app, &[("code", "used-code"), ("state", &state)]).await;
        assert_eq!((status, code(&body)), (502, "UPSTREAM_AUTH_FAILED"));
        assert!(!body.to_string().contains("AADSTS"));
        assert_eq!(
            azure.token_requests().await.len(),
            1,
            "a code is never retried"
        );
        let row = stored(&app, &project).await;
        assert!(row.refresh_token_encrypted.is_none() && row.storage_account.is_none());
        assert!(row.credentials_connected_at.is_none());

        // Another tenant cannot start a connection for the project; a viewer or an agent cannot
        // start one at all.
        let input =
            json!({ "projectId": project, "storageAccount": ACCOUNT, "container": CONTAINER });
        let (_, body) = app
            .gql(&app.token(&Who::ADMIN_B), CONNECT, json!({ "i": input }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND");
        let viewer = app.token(&Who {
            tenant: "tenant-a",
            sub: "vic",
            roles: &["viewer"],
            products: &["migrate"],
        });
        let (_, body) = app.gql(&viewer, CONNECT, json!({ "i": input })).await;
        assert_eq!(code(&body), "FORBIDDEN");
        let (_, key) = register_agent(&app, &admin, "mig-01").await;
        let (_, body) = app.gql(&key, CONNECT, json!({ "i": input })).await;
        assert_eq!(code(&body), "FORBIDDEN");
        let bad =
            json!({ "projectId": project, "storageAccount": "Not_Valid", "container": CONTAINER });
        let (_, body) = app.gql(&admin, CONNECT, json!({ "i": bad })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
);
