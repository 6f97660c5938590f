//! Documentation: the eight types, versions on refresh, both events, the request contract.

use serde_json::{Value, json};
use wiremock::Mock;
use wiremock::matchers::{body_partial_json, header, method, path};

use super::*;
use crate::both;

fn contract(s: &Setup) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("x-ai-namespace", "code"))
        .and(body_partial_json(json!({
            "model": "claude-sonnet-4-5",
            "response_format": { "type": "json_object" },
            "user": format!("code:{}", s.tenant),
            "metadata": { "namespace": "code", "tenant_id": s.tenant.to_string() }
        })))
}

both!(
    generates_all_eight_document_types_in_a_queue_task,
    |backend| async move {
        let s = setup(backend).await;
        contract(&s)
            .respond_with(Valid)
            .expect(8)
            .mount(&s.ai)
            .await;
        let run = run(
            &s,
            "generateDocumentation",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(run["status"], "SUCCEEDED", "{run}");
        assert_eq!(run["kind"], "DOCUMENTATION");
        assert!(run["errorCode"].is_null());
        assert_eq!(run["result"]["documents"].as_array().unwrap().len(), 8);

        let repo = repository(&s).await;
        let docs = repo["documents"].as_array().unwrap();
        let types: Vec<&str> = docs
            .iter()
            .map(|d| d["docType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "ARCHITECTURE",
                "API",
                "DATABASE",
                "DEPLOYMENT",
                "ONBOARDING",
                "DATA_FLOW",
                "SECURITY",
                "HANDOFF"
            ]
        );
        assert!(docs.iter().all(|d| d["version"] == 1));
        assert!(
            docs[0]["title"]
                .as_str()
                .unwrap()
                .contains("architecture overview")
        );
        assert!(
            docs[0]["content"]
                .as_str()
                .unwrap()
                .starts_with("# an architecture overview")
        );
        assert_eq!(repo["aiRuns"][0]["id"], run["id"]);

        // The prompt carries the repository's real context.
        let requests = s.ai.received_requests().await.unwrap();
        let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
        let user = body["messages"][1]["content"].as_str().unwrap();
        assert!(user.contains("Repository: a-org-0/a-repo-0-0"), "{user}");
        assert!(user.contains("Tech stack: rust, postgresql"), "{user}");
        assert!(
            user.contains("Open findings: 3 (critical 1, high 1, medium 1, low 0)"),
            "{user}"
        );
        assert!(user.contains("a finding 0-0-0 in src/main.rs"), "{user}");
        assert_eq!(body["messages"][0]["role"], "system");
        assert!(
            body["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains("\"title\"")
        );

        assert_eq!(
            events(&s, "code.documentation.generated").await,
            [json!({ "doc_count": 8, "repo_id": s.repo })]
        );
        assert!(events(&s, "code.documentation.refreshed").await.is_empty());
        assert_eq!(ai_status(&s).await["status"], "CONNECTED");
    }
);

both!(
    refreshing_one_type_increments_its_version_only,
    |backend| async move {
        let s = setup(backend).await;
        contract(&s)
            .respond_with(Valid)
            .expect(3)
            .mount(&s.ai)
            .await;
        let first = run(
            &s,
            "generateDocumentation",
            json!({ "repositoryId": s.repo_gid, "docTypes": ["SECURITY", "API"] }),
        )
        .await;
        assert_eq!(first["status"], "SUCCEEDED", "{first}");
        assert_eq!(first["docTypes"], json!(["SECURITY", "API"]));
        let before = repository(&s).await;
        assert_eq!(before["documents"].as_array().unwrap().len(), 2);

        let refreshed = run(
            &s,
            "refreshDocument",
            json!({ "repositoryId": s.repo_gid, "docType": "SECURITY" }),
        )
        .await;
        assert_eq!(refreshed["status"], "SUCCEEDED", "{refreshed}");
        assert_eq!(refreshed["kind"], "DOCUMENT_REFRESH");
        let after = repository(&s).await;
        let docs = after["documents"].as_array().unwrap();
        let api = docs.iter().find(|d| d["docType"] == "API").unwrap();
        let security = docs.iter().find(|d| d["docType"] == "SECURITY").unwrap();
        assert_eq!(api["version"], 1);
        assert_eq!(security["version"], 2);
        let old = before["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["docType"] == "SECURITY")
            .unwrap()
            .clone();
        assert_eq!(security["id"], old["id"]);
        assert_eq!(security["createdAt"], old["createdAt"]);
        assert_ne!(security["generatedAt"], old["generatedAt"]);

        assert_eq!(
            events(&s, "code.documentation.refreshed").await,
            [json!({ "doc_type": "security", "repo_id": s.repo })]
        );
        assert_eq!(
            events(&s, "code.documentation.generated").await,
            [json!({ "doc_count": 2, "repo_id": s.repo })]
        );
    }
);

both!(
    documents_and_runs_on_a_list_cost_one_statement_each,
    |backend| async move {
        let s = setup_with(backend, crate::helpers::timers_off).await;
        contract(&s).respond_with(Valid).mount(&s.ai).await;
        let done = run(
            &s,
            "generateDocumentation",
            json!({ "repositoryId": s.repo_gid, "docTypes": ["API", "SECURITY"] }),
        )
        .await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        s.app.seed_code(s.tenant, "b", 1, 6, 0).await;
        let list = |first: usize| {
            format!(
                "{{ repositories(first: {first}) {{ nodes {{ id documents {{ docType }} aiRuns {{ status }} }} }} }}"
            )
        };
        let (_, body) = s.app.gql(&s.admin, &list(20), json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        let nodes = body["data"]["repositories"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 7);
        for node in nodes {
            let (docs, runs) = (
                node["documents"].as_array().unwrap(),
                node["aiRuns"].as_array().unwrap(),
            );
            if node["id"] == s.repo_gid.as_str() {
                assert_eq!(docs.len(), 2, "{node}");
                assert_eq!(runs[0]["status"], "SUCCEEDED", "{node}");
            } else {
                assert!(docs.is_empty() && runs.is_empty(), "{node}");
            }
        }
        // Repositories, their documents, their runs: three statements whatever the page size.
        s.app.settle().await;
        for first in [2, 20] {
            let before = s.app.statements();
            s.app.gql(&s.admin, &list(first), json!({})).await;
            assert_eq!(s.app.statements() - before, 3, "page of {first}");
        }
    }
);
