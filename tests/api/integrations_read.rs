//! The Integrations page: status from configuration and recorded outcomes.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Who, spawn_app_with};

both!(
    status_names_missing_variables_and_last_errors,
    |backend| async move {
        let app = spawn_app_with(backend, |c| {
            // No probe at start-up: it would call the made-up hosts and record errors.
            c.schedules
                .insert("integration-probes".into(), "off".into());
            c.integrations.psa_api_url = Some("http://psa.test".into());
            c.integrations.crm_api_url = Some("http://crm.test".into());
            c.integrations.crm_service_key = Some("k".into());
            c.integrations.cmdb_api_url = Some("http://cmdb.test".into());
            c.integrations.cmdb_service_key = Some("k".into());
        })
        .await;
        entities::integration_health::Entity::insert(entities::integration_health::ActiveModel {
            integration: Set("cmdb".into()),
            status: Set("error".into()),
            last_error: Set(Some(
                "CMDB answered 401: the service key was rejected".into(),
            )),
            last_success_at: Set(None),
            last_failure_at: Set(Some(Utc::now())),
            checked_at: Set(Some(Utc::now())),
            updated_at: Set(Utc::now()),
        })
        .exec_without_returning(&app.services.db)
        .await
        .unwrap();
        let token = app.token(&Who::ADMIN_A);
        let (_, body) = app
            .gql(
                &token,
                "{ integrations { name status missingVariables lastError } }",
                json!({}),
            )
            .await;
        let list = body["data"]["integrations"].as_array().unwrap();
        let find = |name: &str| -> &Value { list.iter().find(|i| i["name"] == name).unwrap() };
        assert_eq!(find("PSA")["status"], "NOT_CONFIGURED");
        assert_eq!(find("PSA")["missingVariables"], json!(["PSA_SERVICE_KEY"]));
        assert_eq!(find("CRM")["status"], "CONNECTED");
        assert_eq!(find("CMDB")["status"], "ERROR");
        assert_eq!(
            find("CMDB")["lastError"],
            "CMDB answered 401: the service key was rejected"
        );
        assert_eq!(
            find("SES")["missingVariables"],
            json!(["SES_ACCESS_KEY", "SES_SECRET_KEY", "SES_REGION"])
        );
        assert_eq!(
            find("BUS")["missingVariables"],
            json!(["BUS_API_URL", "BUS_INTEGRATION_KEY"])
        );
        assert_eq!(
            find("GITLAB")["missingVariables"],
            json!(["GITLAB_CLIENT_ID", "GITLAB_CLIENT_SECRET"])
        );
        assert_eq!(
            find("AZURE_DEVOPS")["missingVariables"],
            json!(["AZURE_DEVOPS_CLIENT_ID", "AZURE_DEVOPS_CLIENT_SECRET"])
        );
        assert_eq!(list.len(), 11);
        // Empty lists answer with empty pages.
        let (_, body) = app.gql(&token, "{ psaLinks(first: 5) { totalCount } crmOpportunities(first: 5) { totalCount } cmdbSyncRuns(first: 5) { totalCount } billingReports(first: 5) { totalCount } events(first: 5) { totalCount } }", json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["events"]["totalCount"], 0);
    }
);
