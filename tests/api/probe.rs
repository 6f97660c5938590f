//! The Integrations page's probes: re-check now, with the upstream answering well, refusing the
//! key, or down.

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::both;
use crate::helpers::{Who, code, spawn_app_with};

both!(
    recheck_reports_connected_auth_failures_and_outages,
    |backend| async move {
        let psa = MockServer::start().await;
        let crm = MockServer::start().await;
        let ai = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/health"))
            .and(header("authorization", "Bearer psa-key"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&psa)
            .await;
        Mock::given(method("GET"))
            .and(path("/health"))
            .respond_with(ResponseTemplate::new(401))
            .mount(&crm)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&ai)
            .await;
        let (p, c, a) = (psa.uri(), crm.uri(), ai.uri());
        let app = spawn_app_with(backend, move |cfg| {
            cfg.integrations.psa_api_url = Some(p);
            cfg.integrations.psa_service_key = Some("psa-key".into());
            cfg.integrations.crm_api_url = Some(c);
            cfg.integrations.crm_service_key = Some("rotated".into());
            cfg.integrations.ai_gateway_url = Some(a);
            cfg.integrations.ai_gateway_key = Some("ai-key".into());
        })
        .await;
        let admin = app.token(&Who::ADMIN_A);
        let m = "mutation($n: IntegrationName!) { recheckIntegration(input: { name: $n }) { integration { name status lastError missingVariables } } }";
        let (_, body) = app.gql(&admin, m, json!({ "n": "PSA" })).await;
        assert_eq!(
            body["data"]["recheckIntegration"]["integration"]["status"], "CONNECTED",
            "{body}"
        );
        let (_, body) = app.gql(&admin, m, json!({ "n": "CRM" })).await;
        let crm_status = &body["data"]["recheckIntegration"]["integration"];
        assert_eq!(crm_status["status"], "ERROR");
        assert!(
            crm_status["lastError"]
                .as_str()
                .unwrap()
                .contains("credentials (401)"),
            "{crm_status}"
        );
        let (_, body) = app.gql(&admin, m, json!({ "n": "AI_PLATFORM" })).await;
        assert_eq!(
            body["data"]["recheckIntegration"]["integration"]["status"],
            "ERROR"
        );
        let (_, body) = app.gql(&admin, m, json!({ "n": "BUS" })).await;
        assert_eq!(
            body["data"]["recheckIntegration"]["integration"]["status"],
            "NOT_CONFIGURED"
        );
        assert_eq!(
            body["data"]["recheckIntegration"]["integration"]["missingVariables"],
            json!(["BUS_API_URL", "BUS_INTEGRATION_KEY"])
        );
        // The page shows the same.
        let (_, body) = app
            .gql(&admin, "{ integrations { name status } }", json!({}))
            .await;
        let list = body["data"]["integrations"].as_array().unwrap();
        assert!(list.contains(&json!({ "name": "CRM", "status": "ERROR" })));
        assert!(list.contains(&json!({ "name": "PSA", "status": "CONNECTED" })));
        // Only admins may probe.
        let tech = app.token(&Who {
            tenant: "tenant-a",
            sub: "t",
            roles: &["technician"],
            products: &["code"],
        });
        let (_, body) = app.gql(&tech, m, json!({ "n": "PSA" })).await;
        assert_eq!(code(&body), "FORBIDDEN");
        let (_, body) = app.gql(&admin, m, json!({ "n": "NOPE" })).await;
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
    }
);
