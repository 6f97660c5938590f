//! Failures: nothing stored, a clear error on the run, the status page showing it; who may
//! start runs; bad input.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use entities::{ai_runs, documents};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use super::*;
use crate::both;
use crate::helpers::{Who, code};

async fn nothing_stored(s: &Setup) {
    let db = &s.app.services.db;
    assert_eq!(documents::Entity::find().count(db).await.unwrap(), 0);
    assert!(events(s, "code.documentation.generated").await.is_empty());
    let repo = repository(s).await;
    assert_eq!(repo["debtScore"], 20);
}

fn completions() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/v1/chat/completions"))
}

both!(
    an_invalid_answer_is_asked_for_again_once,
    |backend| async move {
        let s = setup(backend).await;
        let calls = Arc::new(AtomicUsize::new(0));
        completions()
            .respond_with(BadFirst {
                bad: 1,
                garbage: "Sure! Here is the analysis you asked for.",
                calls: calls.clone(),
            })
            .mount(&s.ai)
            .await;
        let run = run(&s, "analyzeTechDebt", json!({ "repositoryId": s.repo_gid })).await;
        assert_eq!(run["status"], "SUCCEEDED", "{run}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // The second request shows the model its bad answer and why it was refused.
        let requests = s.ai.received_requests().await.unwrap();
        let body: Value = serde_json::from_slice(&requests[1].body).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[2]["role"], "assistant");
        assert!(
            messages[3]["content"]
                .as_str()
                .unwrap()
                .contains("it is not a JSON object")
        );
        assert_eq!(repository(&s).await["debtScore"], 64);
    }
);

both!(
    an_answer_breaking_a_rule_counts_as_invalid,
    |backend| async move {
        let s = setup(backend).await;
        let calls = Arc::new(AtomicUsize::new(0));
        // Parses, but a score of 640 is out of range.
        completions()
            .respond_with(BadFirst {
                bad: 1,
                garbage: r#"{"debt_score": 640, "items": [], "remediation_plan": []}"#,
                calls: calls.clone(),
            })
            .mount(&s.ai)
            .await;
        let run = run(&s, "analyzeTechDebt", json!({ "repositoryId": s.repo_gid })).await;
        assert_eq!(run["status"], "SUCCEEDED", "{run}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let requests = s.ai.received_requests().await.unwrap();
        let body: Value = serde_json::from_slice(&requests[1].body).unwrap();
        assert!(
            body["messages"][3]["content"]
                .as_str()
                .unwrap()
                .contains("`debt_score` must be an integer from 0 to 100")
        );
    }
);

both!(
    invalid_twice_fails_the_run_and_stores_no_partial_documentation,
    |backend| async move {
        let s = setup(backend).await;
        let calls = Arc::new(AtomicUsize::new(0));
        // Two documents come back fine, then the third type is answered with garbage twice.
        completions()
            .respond_with(Broken {
                good: 2,
                calls: calls.clone(),
            })
            .mount(&s.ai)
            .await;
        let run = run(
            &s,
            "generateDocumentation",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(run["status"], "FAILED", "{run}");
        assert_eq!(run["errorCode"], "UPSTREAM_UNAVAILABLE");
        let message = run["errorMessage"].as_str().unwrap();
        assert!(
            message.contains("invalid answer") && message.contains("nothing was stored"),
            "{message}"
        );
        assert!(run["result"].is_null());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        nothing_stored(&s).await;
        let status = ai_status(&s).await;
        assert_eq!(status["status"], "ERROR", "{status}");
        assert!(
            status["lastError"]
                .as_str()
                .unwrap()
                .contains("invalid answer")
        );
    }
);

/// `good` valid answers, then truncated JSON forever.
struct Broken {
    good: usize,
    calls: Arc<AtomicUsize>,
}

impl wiremock::Respond for Broken {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.good {
            completion(&valid_answer(request))
        } else {
            completion(r##"{"title": "Database", "content": "# Datab"##)
        }
    }
}

both!(
    a_failing_gateway_is_retried_then_reported,
    |backend| async move {
        let s = setup(backend).await;
        completions()
            .respond_with(ResponseTemplate::new(503).set_body_string("upstream connect error"))
            .expect(3)
            .mount(&s.ai)
            .await;
        let run = run(&s, "analyzeTechDebt", json!({ "repositoryId": s.repo_gid })).await;
        assert_eq!(run["status"], "FAILED", "{run}");
        assert_eq!(run["errorCode"], "UPSTREAM_UNAVAILABLE");
        assert_eq!(run["errorMessage"], "The AI Platform is unavailable (503)");
        nothing_stored(&s).await;
        assert_eq!(ai_status(&s).await["status"], "ERROR");
    }
);

both!(a_slow_gateway_times_out, |backend| async move {
    let s = setup_with(backend, |c| c.integrations.ai_gateway_timeout_ms = 300).await;
    completions()
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&s.ai)
        .await;
    let run = run(
        &s,
        "classifyRepository",
        json!({ "repositoryId": s.repo_gid }),
    )
    .await;
    assert_eq!(run["status"], "FAILED", "{run}");
    assert_eq!(run["errorCode"], "UPSTREAM_UNAVAILABLE");
    assert_eq!(
        run["errorMessage"],
        "The AI Platform did not answer in time"
    );
    assert_eq!(repository(&s).await["dataClassification"], "internal");
});

both!(
    rate_limiting_is_honoured_then_reported,
    |backend| async move {
        let s = setup(backend).await;
        completions()
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
            .expect(3)
            .mount(&s.ai)
            .await;
        let run = run(
            &s,
            "recommendMigrationPaths",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(run["status"], "FAILED", "{run}");
        assert_eq!(run["errorCode"], "RATE_LIMITED");
        let db = &s.app.services.db;
        assert_eq!(
            entities::recommendations::Entity::find()
                .count(db)
                .await
                .unwrap(),
            0
        );
    }
);

both!(
    not_configured_is_refused_before_anything_is_queued,
    |backend| async move {
        let s = setup_with(backend, |c| {
            c.integrations.ai_gateway_url = None;
            c.integrations.ai_gateway_key = None;
        })
        .await;
        let body = start_err(
            &s,
            &s.admin,
            "generateDocumentation",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("AI_GATEWAY_URL") && message.contains("AI_GATEWAY_KEY"),
            "{message}"
        );
        assert_eq!(
            ai_runs::Entity::find()
                .count(&s.app.services.db)
                .await
                .unwrap(),
            0
        );
        assert_eq!(ai_status(&s).await["status"], "NOT_CONFIGURED");
    }
);

both!(
    viewers_other_tenants_and_unknown_types_are_refused,
    |backend| async move {
        let s = setup(backend).await;
        completions().respond_with(Valid).mount(&s.ai).await;
        let viewer = s.app.token(&Who {
            tenant: "tenant-a",
            sub: "val",
            roles: &["viewer"],
            products: &["code"],
        });
        let body = start_err(
            &s,
            &viewer,
            "analyzeTechDebt",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(code(&body), "FORBIDDEN");
        let no_code = s.app.token(&Who {
            tenant: "tenant-a",
            sub: "mia",
            roles: &["admin"],
            products: &["migrate"],
        });
        let body = start_err(
            &s,
            &no_code,
            "analyzeTechDebt",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(code(&body), "FORBIDDEN");
        let other = s.app.token(&Who::ADMIN_B);
        let body = start_err(
            &s,
            &other,
            "generateDocumentation",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(code(&body), "NOT_FOUND");
        let (_, body) = s.app.gql(
            &s.admin,
            "mutation($id: ID!) { refreshDocument(input: { repositoryId: $id, docType: COMPLIANCE }) { run { id } } }",
            json!({ "id": s.repo_gid }),
        ).await;
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
        assert_eq!(
            ai_runs::Entity::find()
                .count(&s.app.services.db)
                .await
                .unwrap(),
            0
        );

        // Tenant A's run is invisible to tenant B, by `aiRun` and by `node`.
        let started = start(
            &s,
            &s.admin,
            "writeApplicationReview",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        let (_, body) = s
            .app
            .gql(
                &other,
                "query($id: ID!) { aiRun(id: $id) { id } }",
                json!({ "id": started["id"] }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let (_, body) = s
            .app
            .gql(
                &other,
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": started["id"] }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let (_, body) = s
            .app
            .gql(
                &s.admin,
                "query($id: ID!) { node(id: $id) { ... on AiRun { kind } } }",
                json!({ "id": started["id"] }),
            )
            .await;
        assert_eq!(body["data"]["node"]["kind"], "APPLICATION_REVIEW", "{body}");
    }
);
