//! The analyses: each stores its validated answer and feeds the repository where it should.

use serde_json::json;
use wiremock::Mock;
use wiremock::matchers::{header, method, path};

use super::*;
use crate::both;

both!(
    tech_debt_sets_the_debt_score_and_keeps_the_plan,
    |backend| async move {
        let s = setup(backend).await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(Valid)
            .expect(1)
            .mount(&s.ai)
            .await;
        assert_eq!(repository(&s).await["debtScore"], 20);
        let run = run(&s, "analyzeTechDebt", json!({ "repositoryId": s.repo_gid })).await;
        assert_eq!(run["status"], "SUCCEEDED", "{run}");
        assert_eq!(run["result"]["debt_score"], 64);
        assert_eq!(run["result"]["items"][0]["category"], "security");
        assert_eq!(
            run["result"]["remediation_plan"].as_array().unwrap().len(),
            2
        );
        assert_eq!(repository(&s).await["debtScore"], 64);
    }
);

both!(
    migration_paths_become_recommendations_a_psa_project_can_be_made_from,
    |backend| async move {
        let psa = wiremock::MockServer::start().await;
        let psa_uri = psa.uri();
        let s = setup_with(backend, |c| {
            c.integrations.psa_api_url = Some(psa_uri);
            c.integrations.psa_service_key = Some("psa-key".into());
        })
        .await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(Valid)
            .expect(1)
            .mount(&s.ai)
            .await;
        let run = run(
            &s,
            "recommendMigrationPaths",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(run["status"], "SUCCEEDED", "{run}");
        let ids = run["result"]["recommendation_ids"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(ids.len(), 2);

        let (_, body) = s.app.gql(
            &s.admin,
            "query($id: ID!) { recommendations(first: 10, filter: { repositoryId: $id }) { nodes { id title targetPlatform steps effortHours } } }",
            json!({ "id": s.repo_gid }),
        ).await;
        let recs = body["data"]["recommendations"]["nodes"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(recs.len(), 2, "{body}");
        assert_eq!(recs[0]["id"], ids[0]);
        assert_eq!(recs[0]["title"], "Move to Azure Container Apps");
        assert_eq!(
            recs[0]["steps"],
            json!([
                "Write a Dockerfile",
                "Provision Container Apps",
                "Cut over DNS"
            ])
        );
        assert_eq!(recs[1]["effortHours"], 24.5);

        Mock::given(method("POST"))
            .and(path("/projects"))
            .and(header("authorization", "Bearer psa-key"))
            .respond_with(
                wiremock::ResponseTemplate::new(201)
                    .set_body_json(json!({ "id": "P-2001", "status": "Planning" })),
            )
            .expect(1)
            .mount(&psa)
            .await;
        let (_, body) = s
            .app
            .gql(&s.admin, crate::psa::PROJECT, json!({ "id": ids[0] }))
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(
            body["data"]["createPsaProjectFromRecommendation"]["psaLink"]["psaId"],
            "P-2001"
        );
        let sent: serde_json::Value =
            serde_json::from_slice(&psa.received_requests().await.unwrap()[0].body).unwrap();
        assert!(
            sent.to_string().contains("Provision Container Apps"),
            "{sent}"
        );
    }
);

both!(
    classification_sets_the_data_classification,
    |backend| async move {
        let s = setup(backend).await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(Valid)
            .expect(1)
            .mount(&s.ai)
            .await;
        assert_eq!(repository(&s).await["dataClassification"], "internal");
        let run = run(
            &s,
            "classifyRepository",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(run["status"], "SUCCEEDED", "{run}");
        assert_eq!(run["result"]["regulations"], json!(["GDPR", "PCI-DSS"]));
        assert_eq!(repository(&s).await["dataClassification"], "regulated");
    }
);

both!(
    handoff_files_and_the_review_narrative_are_stored_on_the_run,
    |backend| async move {
        let s = setup(backend).await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(Valid)
            .expect(2)
            .mount(&s.ai)
            .await;
        let files = run(
            &s,
            "identifyHandoffFiles",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(files["status"], "SUCCEEDED", "{files}");
        assert_eq!(files["kind"], "HANDOFF_FILES");
        assert_eq!(files["result"]["critical_files"][0]["path"], "src/main.rs");
        let review = run(
            &s,
            "writeApplicationReview",
            json!({ "repositoryId": s.repo_gid }),
        )
        .await;
        assert_eq!(review["status"], "SUCCEEDED", "{review}");
        assert!(
            review["result"]["narrative"]
                .as_str()
                .unwrap()
                .starts_with("## Review")
        );
        assert_eq!(review["result"]["risks"][0], "A committed secret");
        // Neither touches the repository's scores.
        let repo = repository(&s).await;
        assert_eq!(
            (
                repo["debtScore"].clone(),
                repo["dataClassification"].clone()
            ),
            (json!(20), json!("internal"))
        );
    }
);
