//! The AI Platform features end to end, with the AI gateway faked by wiremock returning
//! realistic chat completions: the request contract, the queue task, the results stored and
//! the events, and every failure (not configured, 5xx, slow, 429, invalid answers).

mod analyses;
mod documents;
mod failures;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use entities::outbox_events;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use stack_gateway::config::Config;
use uuid::Uuid;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{Backend, TestApp, Who, spawn_app_with};

pub const KEY: &str = "ai-test-key";

pub const RUN_FIELDS: &str = "id kind status docTypes errorCode errorMessage result repositoryId requestedAt startedAt finishedAt";

/// A server wired to a fake AI gateway (probes off), with tenant A's repository and findings.
pub struct Setup {
    pub app: TestApp,
    pub ai: MockServer,
    pub tenant: Uuid,
    pub repo: Uuid,
    pub repo_gid: String,
    pub admin: String,
}

pub async fn setup(backend: Backend) -> Setup {
    setup_with(backend, |_| {}).await
}

pub async fn setup_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Setup {
    let ai = MockServer::start().await;
    let uri = ai.uri();
    let app = spawn_app_with(backend, |c| {
        c.integrations.ai_gateway_url = Some(format!("{uri}/"));
        c.integrations.ai_gateway_key = Some(KEY.into());
        c.integrations.ai_gateway_timeout_ms = 5_000;
        c.schedules
            .insert("integration-probes".into(), "off".into());
        adjust(c);
    })
    .await;
    let tenant = app.tenant("tenant-a").await;
    let repo = app.seed_code(tenant, "a", 1, 1, 3).await[0];
    let admin = app.token(&Who::ADMIN_A);
    Setup {
        repo_gid: gid("Repository", repo),
        app,
        ai,
        tenant,
        repo,
        admin,
    }
}

pub fn gid(type_name: &str, id: Uuid) -> String {
    stack_gateway::graphql::relay::global_id(type_name, id).to_string()
}

/// A chat-completion answer whose message is `content`, as the gateway sends it.
pub fn completion(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-9f2c1e",
        "object": "chat.completion",
        "created": 1_764_626_400,
        "model": "claude-sonnet-4-5",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content },
            "finish_reason": "stop"
        }],
        "usage": { "prompt_tokens": 812, "completion_tokens": 640, "total_tokens": 1452 }
    }))
}

/// A realistic valid answer for the feature the request is for (`metadata.feature`), and for
/// documents the type named in the system prompt.
pub fn valid_answer(request: &Request) -> String {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let system = body["messages"][0]["content"].as_str().unwrap_or_default();
    match body["metadata"]["feature"].as_str().unwrap_or_default() {
        "documentation" | "document_refresh" => {
            let topic = system
                .split("Write ")
                .nth(1)
                .and_then(|s| s.split(':').next())
                .unwrap_or("document");
            json!({
                "title": format!("a-repo-0-0: {topic}"),
                "content": format!("# {topic}\n\n## Overview\n\nThe a-repo-0-0 web application is written in Rust with PostgreSQL and hosted on Azure. This section describes {topic} as found in the repository profile.\n\n## Details\n\n- The service exposes an HTTP API.\n- Three open findings need attention, one critical.\n")
            })
            .to_string()
        }
        "tech_debt" => json!({
            "debt_score": 64,
            "items": [
                {"category": "security", "title": "Secret committed in src/main.rs", "description": "A credential is in the source tree.", "severity": "critical", "effort_hours": 4},
                {"category": "dependencies", "title": "Outdated PostgreSQL driver", "description": "The driver is two majors behind.", "severity": "medium", "effort_hours": 12.5}
            ],
            "remediation_plan": [
                {"title": "Rotate and remove the secret", "description": "Rotate the key, move it to Key Vault.", "addresses": ["Secret committed in src/main.rs"]},
                {"title": "Upgrade the driver", "description": "Upgrade and run the integration tests.", "addresses": ["Outdated PostgreSQL driver"]}
            ]
        })
        .to_string(),
        "migration_paths" => json!({
            "recommendations": [
                {"title": "Move to Azure Container Apps", "summary": "Containerise the service and run it on Container Apps to drop the VM.", "target_platform": "Azure Container Apps", "steps": ["Write a Dockerfile", "Provision Container Apps", "Cut over DNS"], "effort_hours": 40},
                {"title": "Adopt Azure Database for PostgreSQL", "summary": "Move the self-hosted database to the managed service.", "target_platform": "Azure Database for PostgreSQL", "steps": ["Provision the flexible server", "Migrate with pg_dump", "Switch the connection string"], "effort_hours": 24.5}
            ]
        })
        .to_string(),
        "classification" => json!({
            "data_classification": "regulated",
            "regulations": ["GDPR", "PCI-DSS"],
            "rationale": "The application stores customer names and card payment references."
        })
        .to_string(),
        "handoff_files" => json!({
            "critical_files": [
                {"path": "src/main.rs", "reason": "Entry point; holds a committed secret."},
                {"path": "migrations/0001_init.sql", "reason": "The database schema."}
            ]
        })
        .to_string(),
        "application_review" => json!({
            "executive_summary": "a-repo-0-0 is an active Rust web application in good health with one critical finding.",
            "strengths": ["Modern, memory-safe stack", "Frequent commits"],
            "risks": ["A committed secret", "No documented rollback"],
            "recommendations": ["Rotate the secret", "Document deployment"],
            "narrative": "## Review\n\nThe application is actively maintained (4.5 commits a week) and scores 80 for health. The main risk is the committed secret reported by gitleaks, which should be rotated at once."
        })
        .to_string(),
        other => panic!("unexpected feature {other}"),
    }
}

/// Answers every completion with `valid_answer`.
pub struct Valid;

impl Respond for Valid {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        completion(&valid_answer(request))
    }
}

/// Answers the first `bad` completions with garbage, then validly; counts the calls.
pub struct BadFirst {
    pub bad: usize,
    pub garbage: &'static str,
    pub calls: Arc<AtomicUsize>,
}

impl Respond for BadFirst {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.bad {
            completion(self.garbage)
        } else {
            completion(&valid_answer(request))
        }
    }
}

/// Runs a mutation that starts a run; returns the run as the mutation answered.
pub async fn start(s: &Setup, token: &str, mutation: &str, input: Value) -> Value {
    let query = format!(
        "mutation($input: {}Input!) {{ {mutation}(input: $input) {{ run {{ {RUN_FIELDS} }} }} }}",
        input_type(mutation)
    );
    let (status, body) = s.app.gql(token, &query, json!({ "input": input })).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"][mutation]["run"].clone()
}

/// The same, expecting an error: returns (HTTP status, body).
pub async fn start_err(s: &Setup, token: &str, mutation: &str, input: Value) -> Value {
    let query = format!(
        "mutation($input: {}Input!) {{ {mutation}(input: $input) {{ run {{ id }} }} }}",
        input_type(mutation)
    );
    let (_, body) = s.app.gql(token, &query, json!({ "input": input })).await;
    assert!(body.get("errors").is_some(), "{body}");
    body
}

fn input_type(mutation: &str) -> &'static str {
    match mutation {
        "generateDocumentation" => "GenerateDocumentation",
        "refreshDocument" => "RefreshDocument",
        _ => "AnalyzeRepository",
    }
}

/// Polls `aiRun(id:)` until it has finished.
pub async fn finished(s: &Setup, id: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    let query = format!("query($id: ID!) {{ aiRun(id: $id) {{ {RUN_FIELDS} }} }}");
    loop {
        let (_, body) = s.app.gql(&s.admin, &query, json!({ "id": id })).await;
        let run = &body["data"]["aiRun"];
        assert!(run.is_object(), "{body}");
        if !run["finishedAt"].is_null() {
            return run.clone();
        }
        assert!(Instant::now() < deadline, "run {id} did not finish: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts a run and waits for its end.
pub async fn run(s: &Setup, mutation: &str, input: Value) -> Value {
    let started = start(s, &s.admin, mutation, input).await;
    assert_eq!(started["status"], "QUEUED", "{started}");
    finished(s, &started["id"]).await
}

/// The repository's documents and scores, through the API.
pub async fn repository(s: &Setup) -> Value {
    let query = "query($id: ID!) { node(id: $id) { ... on Repository { debtScore dataClassification documents { id docType title content version generatedAt createdAt updatedAt } aiRuns { id status } } } }";
    let (_, body) = s
        .app
        .gql(&s.admin, query, json!({ "id": s.repo_gid }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["node"].clone()
}

/// The payloads of the outbox events of `event_type`.
pub async fn events(s: &Setup, event_type: &str) -> Vec<Value> {
    outbox_events::Entity::find()
        .filter(outbox_events::Column::EventType.eq(event_type))
        .all(&s.app.services.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.payload)
        .collect()
}

/// The AI Platform row of the status page.
pub async fn ai_status(s: &Setup) -> Value {
    let (_, body) = s
        .app
        .gql(
            &s.admin,
            "{ integrations { name status lastError } }",
            json!({}),
        )
        .await;
    body["data"]["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "AI_PLATFORM")
        .cloned()
        .unwrap()
}
