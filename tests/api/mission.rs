//! RockRMS imports against a fake Mission import API (wiremock): the assigned agent, and only
//! it, fetches the Mission API URL and its job's integration key; a rotated key reaches it on
//! its next fetch; a 403 from Mission fails the job with the seed's explanation; with the right
//! key the agent posts every import endpoint and completes the job.

use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::agents::{agent_call, heartbeat, register_agent, uuid_of};
use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app, spawn_app_with};

const ENDPOINTS: [&str; 6] = [
    "/api/import/people",
    "/api/import/families",
    "/api/import/groups",
    "/api/import/contributions",
    "/api/import/attendance",
    "/api/import/prayer-requests",
];

const MISSION_403: &str = "The One Mission answered 403 Forbidden: the integration key was \
    rotated or revoked. Regenerate the key in Mission → Settings → Integrations and update the \
    job configuration.";

const TECH_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "tess",
    roles: &["technician"],
    products: &["migrate"],
};

/// A fake Mission that accepts only `key` and answers 403 to any other.
async fn mission(key: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/api/import/[a-z-]+$"))
        .and(header("x-integration-key", key))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "accepted": 2 })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({ "error": "forbidden" })))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

async fn gql_ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let (_, body) = app.gql(token, query, variables).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

async fn project(app: &TestApp, token: &str) -> Value {
    let m = "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }";
    let data = gql_ok(app, token, m, json!({ "i": { "name": "Grace Church" } })).await;
    data["createProject"]["project"]["id"].clone()
}

async fn job(app: &TestApp, token: &str, input: Value) -> Value {
    let m = "mutation($i: CreateJobInput!) { createJob(input: $i) { job { id } } }";
    let data = gql_ok(app, token, m, json!({ "i": input })).await;
    data["createJob"]["job"]["id"].clone()
}

async fn fetch(app: &TestApp, key: &str, job: &Value) -> (u16, Value) {
    let path = format!("/api/agent/jobs/{}/mission", uuid_of(job));
    agent_call(app, key, Method::GET, &path, None).await
}

async fn report(app: &TestApp, key: &str, job: &Value, action: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/agent/jobs/{}/{action}", uuid_of(job));
    agent_call(app, key, Method::POST, &path, Some(body)).await
}

/// Plays the agent: fetch the job's Mission access, post a batch to every endpoint in order,
/// reporting progress; stops at the first refusal and reports the failure with Mission's
/// status. Returns the job as the last report answered it.
async fn run_import(app: &TestApp, key: &str, job: &Value) -> Value {
    let (status, access) = fetch(app, key, job).await;
    assert_eq!(status, 200, "{access}");
    let client = reqwest::Client::new();
    let endpoints = access["endpoints"].as_array().unwrap();
    for (done, endpoint) in endpoints.iter().enumerate() {
        let url = format!(
            "{}{}",
            access["apiUrl"].as_str().unwrap(),
            endpoint.as_str().unwrap()
        );
        let batch = json!({ "source": "rockrms", "records": [{ "id": 1 }, { "id": 2 }] });
        let answer = client
            .post(&url)
            .header(
                access["keyHeader"].as_str().unwrap(),
                access["integrationKey"].as_str().unwrap(),
            )
            .json(&batch)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        if !answer.status().is_success() {
            let failure = json!({ "error": format!("POST {} answered {status}", endpoint.as_str().unwrap()), "missionStatus": status });
            let (code, body) = report(app, key, job, "fail", failure).await;
            assert_eq!(code, 200, "{body}");
            return body["job"].clone();
        }
        let progress = json!({ "itemsDone": (done + 1) * 2, "itemsTotal": 12, "bytesDone": (done + 1) * 1000 });
        assert_eq!(report(app, key, job, "progress", progress).await.0, 200);
    }
    let (code, body) = report(app, key, job, "complete", json!({})).await;
    assert_eq!(code, 200, "{body}");
    body["job"].clone()
}

const UPDATE_KEY: &str = "mutation($j: ID!, $k: String!) { updateJobMissionKey(input: { jobId: $j, missionIntegrationKey: $k }) { job { missionKeySet } } }";
const JOB: &str =
    "query($id: ID!) { node(id: $id) { ... on Job { id status error config missionKeySet
    events(first: 50) { nodes { kind message data } } } } }";

both!(
    a_rockrms_import_runs_against_mission,
    |backend| async move {
        let mission = mission("new-key-2").await;
        let uri = mission.uri();
        let app = spawn_app_with(backend, move |c| {
            c.integrations.mission_api_url = Some(uri);
        })
        .await;
        let admin = app.token(&Who::ADMIN_A);
        let tech = app.token(&TECH_A);
        let project_a = project(&app, &admin).await;
        let (agent, key) = register_agent(&app, &admin, "mig-01").await;
        assert_eq!(heartbeat(&app, &key).await.0, 200);

        // The key in Mission was rotated: the job's old key is refused with 403.
        let first = job(&app, &tech, json!({ "projectId": project_a, "kind": "ROCKRMS_IMPORT", "name": "Import 1", "agentId": agent, "config": {}, "missionIntegrationKey": "old-key-1" })).await;
        assert_eq!(report(&app, &key, &first, "start", json!({})).await.0, 200);
        let (_, access) = fetch(&app, &key, &first).await;
        assert_eq!(access["apiUrl"], mission.uri());
        assert_eq!(access["integrationKey"], "old-key-1");
        assert_eq!(access["keyHeader"], "X-Integration-Key");
        assert_eq!(access["endpoints"], json!(ENDPOINTS));
        let failed = run_import(&app, &key, &first).await;
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["error"], MISSION_403);
        let data = gql_ok(&app, &tech, JOB, json!({ "id": first })).await;
        assert_eq!(data["node"]["status"], "FAILED");
        assert_eq!(data["node"]["error"], MISSION_403);
        // A failed job will not run again: no key for it, and no new key on it.
        let (status, body) = fetch(&app, &key, &first).await;
        assert_eq!((status, code(&body)), (409, "CONFLICT"), "{body}");
        assert!(!body.to_string().contains("old-key-1"));
        let (_, body) = app
            .gql(&tech, UPDATE_KEY, json!({ "j": first, "k": "new-key-2" }))
            .await;
        assert_eq!(code(&body), "CONFLICT", "{body}");

        // A new job; the key is rotated on it before the agent starts: the next fetch has it.
        let second = job(&app, &tech, json!({ "projectId": project_a, "kind": "ROCKRMS_IMPORT", "name": "Import 2", "agentId": agent, "config": { "campus": "North" }, "missionIntegrationKey": "old-key-1" })).await;
        assert_eq!(
            fetch(&app, &key, &second).await.1["integrationKey"],
            "old-key-1"
        );
        gql_ok(
            &app,
            &tech,
            UPDATE_KEY,
            json!({ "j": second, "k": "new-key-2" }),
        )
        .await;
        assert_eq!(
            fetch(&app, &key, &second).await.1["integrationKey"],
            "new-key-2"
        );
        assert_eq!(report(&app, &key, &second, "start", json!({})).await.0, 200);
        let done = run_import(&app, &key, &second).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["itemsDone"], 12);

        // Mission received: the first job's one refused post, then all six with the new key.
        let received = mission.received_requests().await.unwrap();
        assert_eq!(received.len(), 7);
        assert_eq!(received[0].url.path(), ENDPOINTS[0]);
        assert_eq!(received[0].headers["x-integration-key"], "old-key-1");
        let paths: Vec<&str> = received[1..].iter().map(|r| r.url.path()).collect();
        assert_eq!(paths, ENDPOINTS);
        for request in &received[1..] {
            assert_eq!(request.headers["x-integration-key"], "new-key-2");
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(body["records"].as_array().unwrap().len(), 2);
        }

        // Users never see the keys: not in the job, its config or its events.
        for id in [&first, &second] {
            let data = gql_ok(&app, &admin, JOB, json!({ "id": id })).await;
            let text = data.to_string();
            assert!(
                !text.contains("old-key-1") && !text.contains("new-key-2"),
                "{text}"
            );
            assert_eq!(data["node"]["missionKeySet"], true);
        }
        let (_, listed) = agent_call(&app, &key, Method::GET, "/api/agent/jobs", None).await;
        assert!(!listed.to_string().contains("new-key-2"));
    }
);

both!(only_the_assigned_agent_gets_the_key, |backend| async move {
    let app = spawn_app_with(backend, |c| {
        c.integrations.mission_api_url = Some("https://mission.example/".into());
    })
    .await;
    let admin = app.token(&Who::ADMIN_A);
    let project_a = project(&app, &admin).await;
    let (agent, key) = register_agent(&app, &admin, "mig-01").await;
    let (_, other_key) = register_agent(&app, &admin, "mig-02").await;
    let admin_b = app.token(&Who::ADMIN_B);
    let project_b = project(&app, &admin_b).await;
    let (agent_b, key_b) = register_agent(&app, &admin_b, "b-01").await;
    let import = job(&app, &admin, json!({ "projectId": project_a, "kind": "ROCKRMS_IMPORT", "name": "Import", "agentId": agent, "config": {}, "missionIntegrationKey": "secret-key-9" })).await;
    let mailbox = job(&app, &admin, json!({ "projectId": project_a, "kind": "MAILBOX", "name": "Mail", "agentId": agent, "config": {} })).await;
    let unassigned = job(&app, &admin, json!({ "projectId": project_a, "kind": "ROCKRMS_IMPORT", "name": "Later", "config": {}, "missionIntegrationKey": "secret-key-9" })).await;
    let keyless = job(&app, &admin, json!({ "projectId": project_a, "kind": "ROCKRMS_IMPORT", "name": "No key", "agentId": agent, "config": {} })).await;
    let import_b = job(&app, &admin_b, json!({ "projectId": project_b, "kind": "ROCKRMS_IMPORT", "name": "B", "agentId": agent_b, "config": {}, "missionIntegrationKey": "b-key" })).await;

    // The assigned agent: the URL without its trailing slash, not cached.
    let url = app.url(&format!("/api/agent/jobs/{}/mission", uuid_of(&import)));
    let answer = app.client.get(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["apiUrl"], "https://mission.example");
    assert_eq!(body["integrationKey"], "secret-key-9");
    assert_eq!(body["jobId"], uuid_of(&import).to_string());

    let refused = |status: u16, code_: &'static str| (status, code_);
    for (who, job_id, expected, why) in [
        (
            &other_key,
            &import,
            refused(404, "NOT_FOUND"),
            "another agent of the tenant",
        ),
        (
            &key_b,
            &import,
            refused(404, "NOT_FOUND"),
            "another tenant's agent",
        ),
        (
            &key,
            &import_b,
            refused(404, "NOT_FOUND"),
            "another tenant's job",
        ),
        (
            &key,
            &unassigned,
            refused(404, "NOT_FOUND"),
            "a job assigned to nobody",
        ),
        (
            &key,
            &mailbox,
            refused(400, "BAD_USER_INPUT"),
            "not a RockRMS import",
        ),
        (&key, &keyless, refused(409, "CONFLICT"), "no key stored"),
    ] {
        let (status, body) = fetch(&app, who, job_id).await;
        assert_eq!((status, code(&body)), expected, "{why}: {body}");
        assert!(!body.to_string().contains("secret-key-9"), "{why}");
    }
    // Users, anonymous callers, bad keys and bad ids.
    let (status, body) = agent_call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/agent/jobs/{}/mission", uuid_of(&import)),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (403, "FORBIDDEN"), "{body}");
    let anonymous = app.client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let (status, _) = fetch(&app, &format!("sgak_{}", "A".repeat(43)), &import).await;
    assert_eq!(status, 401);
    let (status, body) = agent_call(
        &app,
        &key,
        Method::GET,
        "/api/agent/jobs/not-a-job/mission",
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
    // A revoked agent is refused.
    let m = "mutation($id: ID!) { revokeAgent(input: { agentId: $id }) { agent { status } } }";
    let (_, revoked) = app.gql(&admin, m, json!({ "id": agent })).await;
    assert!(revoked["errors"].is_null(), "{revoked}");
    let (status, _) = fetch(&app, &key, &import).await;
    assert_eq!(status, 401);
});

both!(
    without_mission_api_url_the_agent_is_told,
    |backend| async move {
        let app = spawn_app(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let project_a = project(&app, &admin).await;
        let (agent, key) = register_agent(&app, &admin, "mig-01").await;
        let import = job(&app, &admin, json!({ "projectId": project_a, "kind": "ROCKRMS_IMPORT", "name": "Import", "agentId": agent, "config": {}, "missionIntegrationKey": "secret-key-9" })).await;
        let (status, body) = fetch(&app, &key, &import).await;
        assert_eq!(
            (status, code(&body)),
            (503, "INTEGRATION_NOT_CONFIGURED"),
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("MISSION_API_URL")
        );
        assert!(!body.to_string().contains("secret-key-9"));
    }
);
