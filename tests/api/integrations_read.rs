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

both!(
    providers_and_azure_show_each_tenant_its_own_errors,
    |backend| async move {
        use entities::enums::OrgStatus;
        use entities::{integration_health, organizations, projects};
        use sea_orm::{ColumnTrait, QueryFilter};
        let app = spawn_app_with(backend, |c| {
            c.schedules
                .insert("integration-probes".into(), "off".into());
            c.integrations.gitlab_client_id = Some("id".into());
            c.integrations.gitlab_client_secret = Some("secret".into());
            c.integrations.azure_client_id = Some("id".into());
            c.integrations.azure_client_secret = Some("secret".into());
        })
        .await;
        let db = &app.services.db;
        let tenant_a = app.tenant("tenant-a").await;
        app.tenant("tenant-b").await;
        // Tenant A: a GitHub and a GitLab organization; the GitLab one is in error.
        app.seed_code(tenant_a, "a", 2, 1, 0).await;
        let gitlab = organizations::Entity::find()
            .filter(organizations::Column::TenantId.eq(tenant_a))
            .filter(organizations::Column::Login.eq("a-org-1"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        organizations::Entity::update(organizations::ActiveModel {
            id: Set(gitlab.id),
            status: Set(OrgStatus::Error),
            status_error: Set(Some(
                "GitLab revoked the token: connect the group again".into(),
            )),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
        // Tenant A's project whose credential vending failed.
        app.seed_migrate(tenant_a, "a", 1, 1, 0).await;
        let project = projects::Entity::find()
            .filter(projects::Column::TenantId.eq(tenant_a))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        projects::Entity::update(projects::ActiveModel {
            id: Set(project.id),
            credentials_connected_at: Set(Some(Utc::now())),
            storage_error: Set(Some("Azure refused the refresh token: reconnect".into())),
            storage_error_at: Set(Some(Utc::now())),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
        // The last GitLab call of the deployment failed for tenant A's group: not shown as such.
        integration_health::Entity::insert(integration_health::ActiveModel {
            integration: Set("gitlab".into()),
            status: Set("error".into()),
            last_error: Set(Some("GitLab: group a-org-1 is gone".into())),
            last_success_at: Set(None),
            last_failure_at: Set(Some(Utc::now())),
            checked_at: Set(Some(Utc::now())),
            updated_at: Set(Utc::now()),
        })
        .exec_without_returning(db)
        .await
        .unwrap();

        let page = |who: Who<'static>| {
            let app = &app;
            async move {
                let (_, body) = app
                    .gql(
                        &app.token(&who),
                        "{ integrations { name status lastError lastFailureAt } }",
                        json!({}),
                    )
                    .await;
                body
            }
        };
        let find = |body: &Value, name: &str| -> Value {
            body["data"]["integrations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["name"] == name)
                .unwrap()
                .clone()
        };
        let mine = page(Who::ADMIN_A).await;
        let gitlab_a = find(&mine, "GITLAB");
        assert_eq!(gitlab_a["status"], "ERROR", "{mine}");
        assert_eq!(
            gitlab_a["lastError"],
            "a-org-1: GitLab revoked the token: connect the group again"
        );
        assert!(gitlab_a["lastFailureAt"].is_string());
        assert_eq!(find(&mine, "GITHUB")["status"], "NOT_CONFIGURED");
        let azure_a = find(&mine, "AZURE");
        assert_eq!(azure_a["status"], "ERROR");
        let error = azure_a["lastError"].as_str().unwrap();
        assert!(
            error.contains(&project.name) && error.contains("reconnect"),
            "{error}"
        );

        let theirs = page(Who::ADMIN_B).await;
        assert_eq!(find(&theirs, "GITLAB")["status"], "CONNECTED", "{theirs}");
        assert!(find(&theirs, "GITLAB")["lastError"].is_null());
        assert_eq!(find(&theirs, "AZURE")["status"], "CONNECTED");
        let text = theirs.to_string();
        assert!(
            !text.contains("a-org") && !text.contains(&project.name),
            "{text}"
        );
    }
);
