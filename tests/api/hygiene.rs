//! Input hygiene (docs/decisions.md, "Input hygiene"): a NUL character anywhere a client sends
//! text is `BAD_USER_INPUT` naming the field on both databases (PostgreSQL had answered
//! `INTERNAL`, SQLite had stored it), and nothing is written.

use entities::{agents, findings, jobs, projects, sessions, users};
use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use stack_gateway::auth::claims::{MintRequest, mint};
use uuid::Uuid;

use crate::agents::{agent_call, register_agent};
use crate::both;
use crate::helpers::{Who, code, spawn_app};

const CREATE_PROJECT: &str =
    "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }";
const VIEWER: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "vera",
    roles: &["viewer"],
    products: &["code", "migrate"],
};

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or("")
}

/// A refusal before execution: 400 `BAD_USER_INPUT` whose message names `field`.
fn assert_refused(status: u16, body: &Value, field: &str) {
    assert_eq!((status, code(body)), (400, "BAD_USER_INPUT"), "{body}");
    assert!(message(body).contains(field), "{field}: {body}");
    assert!(message(body).contains("NUL"), "{body}");
}

both!(
    nul_characters_are_refused_in_graphql,
    |backend| async move {
        let app = spawn_app(backend).await;
        let admin = app.token(&Who::ADMIN_A);

        // In a variable, nested in an input object.
        let (status, body) = app
            .gql(
                &admin,
                CREATE_PROJECT,
                json!({ "i": { "name": "a\u{0}b" } }),
            )
            .await;
        assert_refused(status, &body, "variable `i.name`");
        // In an inline literal (the GraphQL escape \u0000).
        let inline = r#"mutation { createProject(input: { name: "x", description: "a\u0000" }) { project { id } } }"#;
        let (status, body) = app.gql(&admin, inline, json!({})).await;
        assert_refused(
            status,
            &body,
            "argument `input.description` of `createProject`",
        );
        assert_eq!(
            projects::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            0
        );

        // In a filter any viewer may send.
        let list =
            "query($f: ProjectFilter) { projects(first: 5, filter: $f) { edges { node { id } } } }";
        let (status, body) = app
            .gql(
                &app.token(&VIEWER),
                list,
                json!({ "f": { "nameContains": "\u{0}" } }),
            )
            .await;
        assert_refused(status, &body, "variable `f.nameContains`");

        // In a job's configuration: a value, then a key.
        let (_, body) = app
            .gql(&admin, CREATE_PROJECT, json!({ "i": { "name": "p" } }))
            .await;
        let project = body["data"]["createProject"]["project"]["id"].clone();
        assert!(project.is_string(), "{body}");
        let create_job = "mutation($i: CreateJobInput!) { createJob(input: $i) { job { id } } }";
        for (config, field) in [
            (
                json!({ "path": "\\\\srv\\share\u{0}" }),
                "variable `i.config.path`",
            ),
            (json!({ "pa\u{0}th": "x" }), "variable `i.config.pa"),
        ] {
            let input = json!({ "projectId": project, "kind": "FILE_SHARE", "name": "j", "config": config });
            let (status, body) = app.gql(&admin, create_job, json!({ "i": input })).await;
            assert_refused(status, &body, field);
        }
        assert_eq!(
            jobs::Entity::find().count(&app.services.db).await.unwrap(),
            0
        );

        // An agent's name.
        let register = "mutation($i: RegisterAgentInput!) { registerAgent(input: $i) { apiKey } }";
        let (status, body) = app
            .gql(&admin, register, json!({ "i": { "name": "agent\u{0}" } }))
            .await;
        assert_refused(status, &body, "variable `i.name`");
        assert_eq!(
            agents::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            0
        );
    }
);

both!(
    nul_characters_are_refused_in_rest_bodies,
    |backend| async move {
        let app = spawn_app(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let (_, key) = register_agent(&app, &admin, "box").await;

        let hello = json!({ "hostname": "host\u{0}", "version": "2.0.0" });
        let (status, body) =
            agent_call(&app, &key, Method::POST, "/api/agent/register", Some(hello)).await;
        assert_refused(status, &body, "`hostname`");
        let agent = agents::Entity::find()
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            agent.hostname.as_deref(),
            Some("box.local"),
            "nothing written"
        );

        let path = format!("/api/agent/jobs/{}/fail", Uuid::now_v7());
        let failure = json!({ "error": "disk\u{0}full" });
        let (status, body) = agent_call(&app, &key, Method::POST, &path, Some(failure)).await;
        assert_refused(status, &body, "`error`");
    }
);

/// A SARIF document with a NUL inside one result's message.
fn sarif_with_nul() -> String {
    let path = format!(
        "{}/tests/api/fixtures/gitleaks.sarif.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["runs"][0]["results"][0]["message"]["text"] = json!("leaked\u{0}secret");
    serde_json::to_string(&doc).unwrap()
}

both!(
    nul_characters_are_refused_in_scan_documents,
    |backend| async move {
        let app = spawn_app(backend).await;
        let admin = app.token(&Who::ADMIN_A);
        let tenant = app.tenant("tenant-a").await;
        let repo = app.seed_code(tenant, "n", 1, 1, 0).await[0];
        let doc = sarif_with_nul();
        let field = "`runs[0].results[0].message.text`";

        let response = app
            .client
            .post(app.url(&format!("/api/code/repositories/{repo}/scans?format=sarif")))
            .bearer_auth(&admin)
            .body(doc.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_refused(status, &body, field);

        let ingest =
            "mutation($i: IngestScanInput!) { ingestScan(input: $i) { scan { created } } }";
        let input = json!({
            "repositoryId": stack_gateway::graphql::relay::global_id("Repository", repo).0,
            "format": "SARIF",
            "document": doc,
        });
        let (_, body) = app.gql(&admin, ingest, json!({ "i": input })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(message(&body).contains(field), "{body}");
        assert_eq!(
            findings::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            0
        );
    }
);

both!(
    nul_characters_in_hub_token_claims_are_refused,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = mint(
            &app.sso,
            &MintRequest {
                sub: "mallory".into(),
                email: "mallory@example.com".into(),
                name: "Mal\u{0}lory".into(),
                tenant_id: "tenant-n".into(),
                tenant_name: "Tenant N".into(),
                roles: vec!["admin".into()],
                products: vec!["code".into()],
                ttl_seconds: 300,
                session_seconds: 3600,
            },
        );
        let (status, body) = app.gql(&token, "{ viewer { id } }", json!({})).await;
        assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
        assert!(message(&body).contains("`name`"), "{body}");

        let response = crate::auth::sso(&app, &token).await;
        assert_eq!(response.status(), 401);
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(
            users::Entity::find().count(&app.services.db).await.unwrap(),
            0
        );
        assert_eq!(
            sessions::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            0
        );
    }
);

both!(
    nul_characters_are_refused_over_websocket,
    |backend| async move {
        let app = spawn_app(backend).await;
        let mut ws = crate::ws_client::signed_in(&app, &app.token(&Who::ADMIN_A)).await;
        ws.subscribe("1", CREATE_PROJECT, json!({ "i": { "name": "a\u{0}" } }))
            .await;
        let reply = ws.next().await;
        let error = match reply["type"].as_str() {
            Some("error") => reply["payload"][0].clone(),
            _ => reply["payload"]["errors"][0].clone(),
        };
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{reply}");
        assert!(
            error["message"].as_str().unwrap().contains("`i.name`"),
            "{reply}"
        );
        assert_eq!(
            projects::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            0
        );
    }
);
