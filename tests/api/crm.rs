//! CRM opportunities from Code insights, end to end through GraphQL with CRM faked by wiremock:
//! value = effort hours × the tenant's rate, each source's precondition, idempotency, failures.

use entities::enums::{FindingKind, FindingStatus, Lifecycle, Severity};
use entities::{crm_opportunities, organizations, repositories};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::both;
use crate::code_seed::{self, gid};
use crate::helpers::{Backend, TestApp, Who, code, spawn_app_with};

const CREATE: &str = "mutation($source: CrmOpportunitySource!, $id: ID!) {
  createCrmOpportunity(input: { source: $source, id: $id }) {
    created crmOpportunity { id crmId name source sourceKind sourceId estimatedValue description } } }";

struct Setup {
    app: TestApp,
    crm: MockServer,
    tenant: Uuid,
    org: organizations::Model,
    admin: String,
}

async fn setup(backend: Backend, adjust: impl FnOnce(&mut stack_gateway::config::Config)) -> Setup {
    let crm = MockServer::start().await;
    let uri = crm.uri();
    let app = spawn_app_with(backend, |c| {
        c.integrations.crm_api_url = Some(uri);
        c.integrations.crm_service_key = Some("crm-key".into());
        // The probes' `GET /health` would race with what these tests count and assert.
        c.schedules
            .insert("integration-probes".into(), "off".into());
        adjust(c);
    })
    .await;
    let tenant = app.tenant("tenant-a").await;
    let client = code_seed::client(&app, tenant, "Contoso", None, Some("CRM-CONTOSO")).await;
    let org = code_seed::organization(&app, tenant, "contoso", Some(client.id)).await;
    let admin = app.token(&Who::ADMIN_A);
    Setup {
        app,
        crm,
        tenant,
        org,
        admin,
    }
}

async fn set_rate(s: &Setup, rate: f64) {
    let (_, body) = s
        .app
        .gql(
            &s.admin,
            "mutation($r: Float!) { setCrmHourlyRate(input: { hourlyRate: $r }) { tenant { crmHourlyRate } } }",
            json!({ "r": rate }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

/// Answers creates with `O-1`, `O-2`, …
async fn mount_opportunities(crm: &MockServer) {
    let n = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    Mock::given(method("POST"))
        .and(path("/opportunities"))
        .and(header("authorization", "Bearer crm-key"))
        .respond_with(move |_: &Request| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            ResponseTemplate::new(201).set_body_json(json!({ "id": format!("O-{i}") }))
        })
        .mount(crm)
        .await;
}

async fn create(s: &Setup, source: &str, id: &str) -> Value {
    let (status, body) = s
        .app
        .gql(&s.admin, CREATE, json!({ "source": source, "id": id }))
        .await;
    assert_eq!(status, 200);
    body
}

async fn rows(app: &TestApp) -> u64 {
    crm_opportunities::Entity::find()
        .count(&app.services.db)
        .await
        .unwrap()
}

/// The last request CRM received, as JSON.
async fn last_body(crm: &MockServer) -> Value {
    crm.received_requests()
        .await
        .unwrap()
        .last()
        .unwrap()
        .body_json()
        .unwrap()
}

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

async fn repo(
    s: &Setup,
    name: &str,
    shape: impl FnOnce(&mut repositories::Model),
) -> repositories::Model {
    code_seed::repository(&s.app, &s.org, name, shape).await
}

both!(
    recommendations_are_valued_at_hours_times_the_rate,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        mount_opportunities(&s.crm).await;
        let own = code_seed::client(&s.app, s.tenant, "Northwind", None, Some("CRM-NW")).await;
        let billing = repo(&s, "billing-api", |r| r.client_id = Some(own.id)).await;
        let rec = code_seed::recommendation(
            &s.app,
            &billing,
            "Move to Azure",
            &["Containerise", "Provision", "Cut over"],
            82.5,
        )
        .await;
        let id = gid("Recommendation", rec.id);

        // No rate: a clear error for an admin to act on, not a zero-valued opportunity.
        let body = create(&s, "MIGRATION_RECOMMENDATION", &id).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(message(&body).contains("setCrmHourlyRate"), "{body}");
        assert_eq!(s.crm.received_requests().await.unwrap().len(), 0);

        set_rate(&s, 150.0).await;
        let body = create(&s, "MIGRATION_RECOMMENDATION", &id).await;
        assert!(body.get("errors").is_none(), "{body}");
        let out = &body["data"]["createCrmOpportunity"];
        assert_eq!(out["created"], true);
        let opp = &out["crmOpportunity"];
        assert_eq!(opp["crmId"], "O-1");
        assert_eq!(opp["source"], "MIGRATION_RECOMMENDATION");
        assert_eq!(opp["sourceKind"], "migration_recommendation");
        assert_eq!(opp["sourceId"], id);
        assert_eq!(opp["estimatedValue"], 12375.0, "82.5 h × 150");
        assert_eq!(
            opp["name"],
            "Migration: Move to Azure — contoso/billing-api"
        );

        let requests = s.crm.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        let key = requests[0]
            .headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            key.starts_with("code-crm-migration_recommendation-"),
            "{key}"
        );
        let b: Value = requests[0].body_json().unwrap();
        assert_eq!(b["name"], "Migration: Move to Azure — contoso/billing-api");
        assert_eq!(b["source"], "migration_recommendation");
        assert_eq!(
            b["client"],
            json!({ "name": "Northwind", "crm_account_id": "CRM-NW" }),
            "the repository's own client first"
        );
        assert_eq!(b["effort_hours"], 82.5);
        assert_eq!(b["hourly_rate"], 150.0);
        assert_eq!(b["estimated_value"], 12375.0);
        assert_eq!(b["estimated_value_cents"], 1_237_500);
        assert_eq!(b["repository"]["full_name"], "contoso/billing-api");
        assert_eq!(b["source_id"], id);
        let url = format!("http://gateway.test/recommendations/{id}");
        assert_eq!(b["source_url"], url);
        let description = b["description"].as_str().unwrap();
        for part in [
            "Migration recommendation: Move to Azure",
            "Why: Move to Azure.",
            "Target platform: Azure App Service",
            "1. Containerise\n2. Provision\n3. Cut over",
            "Estimated effort: 82.5 hours (the recommendation's effort estimate)",
            "Estimated value: 82.5 hours × 150.00 per hour = 12375.00",
            url.as_str(),
        ] {
            assert!(description.contains(part), "{description:?} lacks {part:?}");
        }
        assert_eq!(opp["description"], description);

        // Again: the stored opportunity, CRM not called.
        let body = create(&s, "MIGRATION_RECOMMENDATION", &id).await;
        assert_eq!(body["data"]["createCrmOpportunity"]["created"], false);
        assert_eq!(
            body["data"]["createCrmOpportunity"]["crmOpportunity"]["id"],
            opp["id"]
        );
        assert_eq!(s.crm.received_requests().await.unwrap().len(), 1);
        assert_eq!(rows(&s.app).await, 1);
        let stranger = s.app.token(&crate::helpers::Who::ADMIN_B);
        crate::helpers::assert_node_only_for(
            &s.app,
            &opp["id"],
            "CrmOpportunity",
            &s.admin,
            &stranger,
        )
        .await;
        let (_, body) = s
            .app
            .gql(
                &s.admin,
                "{ crmOpportunities(first: 5) { totalCount nodes { crmId source estimatedValue } } }",
                json!({}),
            )
            .await;
        assert_eq!(body["data"]["crmOpportunities"]["totalCount"], 1);
        assert_eq!(
            body["data"]["crmOpportunities"]["nodes"][0]["estimatedValue"],
            12375.0
        );
    }
);

both!(each_source_checks_its_precondition, |backend| async move {
    let s = setup(backend, |_| {}).await;
    mount_opportunities(&s.crm).await;
    set_rate(&s, 200.0).await;
    let mut calls = 0;

    // TECHNICAL_DEBT: debt score ≥ 60; 2 h per point.
    let low = repo(&s, "tidy", |r| r.debt_score = Some(35)).await;
    let body = create(&s, "TECHNICAL_DEBT", &gid("Repository", low.id)).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(
        message(&body).contains("debt score of 35") && message(&body).contains("at least 60"),
        "{body}"
    );
    let unscored = repo(&s, "new", |r| r.debt_score = None).await;
    let body = create(&s, "TECHNICAL_DEBT", &gid("Repository", unscored.id)).await;
    assert!(message(&body).contains("no debt score"), "{body}");
    let erp = repo(&s, "legacy-erp", |r| r.debt_score = Some(72)).await;
    let body = create(&s, "TECHNICAL_DEBT", &gid("Repository", erp.id)).await;
    assert!(body.get("errors").is_none(), "{body}");
    calls += 1;
    let opp = &body["data"]["createCrmOpportunity"]["crmOpportunity"];
    assert_eq!(opp["estimatedValue"], 28800.0, "72 × 2 h × 200");
    assert_eq!(opp["source"], "TECHNICAL_DEBT");
    assert_eq!(opp["sourceId"], gid("Repository", erp.id));
    let b = last_body(&s.crm).await;
    assert_eq!(b["name"], "Technical debt reduction — contoso/legacy-erp");
    assert_eq!(b["effort_hours"], 144.0);
    assert_eq!(
        b["client"],
        json!({ "name": "Contoso", "crm_account_id": "CRM-CONTOSO" }),
        "the organization's client"
    );
    let description = b["description"].as_str().unwrap();
    assert!(description.contains("Debt score: 72/100"), "{description}");
    assert!(
        description.contains("2 hours per point of debt score × 72"),
        "{description}"
    );

    // CRITICAL_VULNERABILITIES: ≥ 2 open critical findings; 8 h each. Resolved ones, lower
    // severities and sunset decisions do not count.
    let shop = repo(&s, "shop", |_| {}).await;
    let first = code_seed::finding(
        &s.app,
        &shop,
        FindingKind::Vulnerability,
        Severity::Critical,
        "RCE in struts",
        |f| f.cve_id = Some("CVE-2017-5638".into()),
    )
    .await;
    code_seed::finding(
        &s.app,
        &shop,
        FindingKind::Vulnerability,
        Severity::Critical,
        "Fixed already",
        |f| f.status = FindingStatus::Resolved,
    )
    .await;
    code_seed::finding(
        &s.app,
        &shop,
        FindingKind::Vulnerability,
        Severity::High,
        "Only high",
        |_| {},
    )
    .await;
    code_seed::finding(
        &s.app,
        &shop,
        FindingKind::SunsetDecision,
        Severity::Critical,
        "Retire",
        |_| {},
    )
    .await;
    let body = create(&s, "CRITICAL_VULNERABILITIES", &gid("Repository", shop.id)).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(
        message(&body).contains("1 open critical finding") && message(&body).contains("at least 2"),
        "{body}"
    );
    code_seed::finding(
        &s.app,
        &shop,
        FindingKind::SecretDetected,
        Severity::Critical,
        "Root key committed",
        |f| f.file_path = Some(".env".into()),
    )
    .await;
    // From a finding's page: the opportunity is its repository's.
    let body = create(&s, "CRITICAL_VULNERABILITIES", &gid("Finding", first.id)).await;
    assert!(body.get("errors").is_none(), "{body}");
    calls += 1;
    let opp = &body["data"]["createCrmOpportunity"]["crmOpportunity"];
    assert_eq!(opp["estimatedValue"], 3200.0, "2 × 8 h × 200");
    assert_eq!(opp["sourceId"], gid("Repository", shop.id));
    let b = last_body(&s.crm).await;
    assert_eq!(
        b["name"],
        "Security remediation of 2 critical vulnerabilities — contoso/shop"
    );
    let description = b["description"].as_str().unwrap();
    for part in [
        "- RCE in struts [CVE-2017-5638]",
        "- Root key committed [.env]",
    ] {
        assert!(description.contains(part), "{description:?} lacks {part:?}");
    }
    assert!(!description.contains("Fixed already") && !description.contains("Only high"));
    // The same repository again, from its ID: the same opportunity.
    let body = create(&s, "CRITICAL_VULNERABILITIES", &gid("Repository", shop.id)).await;
    assert_eq!(body["data"]["createCrmOpportunity"]["created"], false);

    // SUNSET_APPLICATION: sunset or dead; the largest recommendation, else 80 h.
    let active = repo(&s, "active-app", |_| {}).await;
    let body = create(&s, "SUNSET_APPLICATION", &gid("Repository", active.id)).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(message(&body).contains("active"), "{body}");
    let portal = repo(&s, "portal", |r| r.lifecycle = Lifecycle::Sunset).await;
    let body = create(&s, "SUNSET_APPLICATION", &gid("Repository", portal.id)).await;
    assert!(body.get("errors").is_none(), "{body}");
    calls += 1;
    assert_eq!(
        body["data"]["createCrmOpportunity"]["crmOpportunity"]["estimatedValue"], 16000.0,
        "80 h × 200"
    );
    let dead = repo(&s, "fax-gateway", |r| r.lifecycle = Lifecycle::Dead).await;
    code_seed::recommendation(&s.app, &dead, "Lift and shift", &["a"], 40.0).await;
    code_seed::recommendation(&s.app, &dead, "Rewrite as a service", &["b"], 120.0).await;
    let body = create(&s, "SUNSET_APPLICATION", &gid("Repository", dead.id)).await;
    assert!(body.get("errors").is_none(), "{body}");
    calls += 1;
    assert_eq!(
        body["data"]["createCrmOpportunity"]["crmOpportunity"]["estimatedValue"], 24000.0,
        "120 h × 200"
    );
    let b = last_body(&s.crm).await;
    assert_eq!(
        b["name"],
        "Application modernization (dead app) — contoso/fax-gateway"
    );
    assert!(
        b["description"]
            .as_str()
            .unwrap()
            .contains("Rewrite as a service")
    );

    // MIGRATION_RECOMMENDATION needs an estimate; IDs must fit the source.
    let rec = code_seed::recommendation(&s.app, &erp, "Someday", &["?"], 0.0).await;
    let body = create(
        &s,
        "MIGRATION_RECOMMENDATION",
        &gid("Recommendation", rec.id),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(message(&body).contains("no effort estimate"), "{body}");
    for (source, id) in [
        ("MIGRATION_RECOMMENDATION", gid("Repository", erp.id)),
        ("TECHNICAL_DEBT", gid("Recommendation", rec.id)),
        ("TECHNICAL_DEBT", "garbage".to_string()),
    ] {
        let body = create(&s, source, &id).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{source} {id}: {body}");
    }
    let (status, body) = s
        .app
        .gql(
            &s.admin,
            CREATE,
            json!({ "source": "GUESSWORK", "id": "x" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, "GRAPHQL_VALIDATION_FAILED"),
        "{body}"
    );

    assert_eq!(s.crm.received_requests().await.unwrap().len(), calls);
    assert_eq!(rows(&s.app).await, calls as u64);
});

both!(crm_failures_store_nothing, |backend| async move {
    let s = setup(backend, |_| {}).await;
    set_rate(&s, 100.0).await;
    let erp = repo(&s, "erp", |r| r.debt_score = Some(90)).await;
    let id = gid("Repository", erp.id);
    Mock::given(method("POST"))
        .and(path("/opportunities"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&s.crm)
        .await;
    let body = create(&s, "TECHNICAL_DEBT", &id).await;
    assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
    assert_eq!(rows(&s.app).await, 0);
    s.crm.verify().await;

    s.crm.reset().await;
    Mock::given(method("POST"))
        .and(path("/opportunities"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "opportunity": 5 })))
        .expect(1)
        .mount(&s.crm)
        .await;
    let body = create(&s, "TECHNICAL_DEBT", &id).await;
    assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
    assert_eq!(rows(&s.app).await, 0);
    s.crm.verify().await;

    s.crm.reset().await;
    Mock::given(method("POST"))
        .and(path("/opportunities"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&s.crm)
        .await;
    let body = create(&s, "TECHNICAL_DEBT", &id).await;
    assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
    let (_, page) = s
        .app
        .gql(
            &s.admin,
            "{ integrations { name status lastError } }",
            json!({}),
        )
        .await;
    let crm = page["data"]["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "CRM")
        .unwrap();
    assert_eq!(crm["status"], "ERROR");
    assert_eq!(
        crm["lastError"],
        "CRM refused our credentials (401): check the service key"
    );
    assert_eq!(rows(&s.app).await, 0);
});

both!(crm_access_and_configuration, |backend| async move {
    let s = setup(backend, |_| {}).await;
    set_rate(&s, 100.0).await;
    let erp = repo(&s, "erp", |r| r.debt_score = Some(90)).await;
    let id = gid("Repository", erp.id);
    let viewer = s.app.token(&Who {
        tenant: "tenant-a",
        sub: "vic",
        roles: &["viewer"],
        products: &["code"],
    });
    let (_, body) = s
        .app
        .gql(
            &viewer,
            CREATE,
            json!({ "source": "TECHNICAL_DEBT", "id": id }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let tenant_b = s.app.tenant("tenant-b").await;
    let org_b = code_seed::organization(&s.app, tenant_b, "globex", None).await;
    let repo_b = code_seed::repository(&s.app, &org_b, "hr", |r| r.debt_score = Some(99)).await;
    let finding_b = code_seed::finding(
        &s.app,
        &repo_b,
        FindingKind::Vulnerability,
        Severity::Critical,
        "Theirs",
        |_| {},
    )
    .await;
    let rec_b = code_seed::recommendation(&s.app, &repo_b, "Theirs", &["x"], 5.0).await;
    for (source, other) in [
        ("TECHNICAL_DEBT", gid("Repository", repo_b.id)),
        ("CRITICAL_VULNERABILITIES", gid("Finding", finding_b.id)),
        ("MIGRATION_RECOMMENDATION", gid("Recommendation", rec_b.id)),
    ] {
        let body = create(&s, source, &other).await;
        assert_eq!(code(&body), "NOT_FOUND", "{source}: {body}");
    }
    assert_eq!(s.crm.received_requests().await.unwrap().len(), 0);

    let bare = spawn_app_with(backend, |c| {
        c.integrations.crm_api_url = Some("http://crm.invalid".into())
    })
    .await;
    let tenant = bare.tenant("tenant-a").await;
    let org = code_seed::organization(&bare, tenant, "acme", None).await;
    let repo = code_seed::repository(&bare, &org, "erp", |r| r.debt_score = Some(80)).await;
    let admin = bare.token(&Who::ADMIN_A);
    bare.gql(
        &admin,
        "mutation { setCrmHourlyRate(input: { hourlyRate: 100 }) { tenant { id } } }",
        json!({}),
    )
    .await;
    let (_, body) = bare
        .gql(
            &admin,
            CREATE,
            json!({ "source": "TECHNICAL_DEBT", "id": gid("Repository", repo.id) }),
        )
        .await;
    assert_eq!(code(&body), "INTEGRATION_NOT_CONFIGURED", "{body}");
    assert!(message(&body).contains("CRM_SERVICE_KEY"), "{body}");
    assert_eq!(rows(&bare).await, 0);
});

both!(
    simultaneous_creates_store_one_opportunity,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        set_rate(&s, 120.0).await;
        Mock::given(method("POST"))
            .and(path("/opportunities"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({ "id": "O-7" }))
                    .set_delay(std::time::Duration::from_millis(300)),
            )
            .mount(&s.crm)
            .await;
        let erp = repo(&s, "erp", |r| r.debt_score = Some(60)).await;
        let id = gid("Repository", erp.id);
        let (a, b) = tokio::join!(
            create(&s, "TECHNICAL_DEBT", &id),
            create(&s, "TECHNICAL_DEBT", &id)
        );
        let (a, b) = (
            &a["data"]["createCrmOpportunity"],
            &b["data"]["createCrmOpportunity"],
        );
        assert_eq!(
            a["crmOpportunity"]["id"], b["crmOpportunity"]["id"],
            "{a} {b}"
        );
        assert_eq!(
            a["crmOpportunity"]["estimatedValue"], 14400.0,
            "60 × 2 h × 120"
        );
        assert_eq!(
            [a, b].iter().filter(|p| p["created"] == true).count(),
            1,
            "{a} {b}"
        );
        assert_eq!(rows(&s.app).await, 1);
        let keys: std::collections::HashSet<String> = s
            .crm
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_string())
            .collect();
        assert_eq!(keys.len(), 1, "one Idempotency-Key for both calls");
    }
);

both!(
    a_sunset_set_through_the_api_becomes_an_opportunity,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        set_rate(&s, 200.0).await;
        mount_opportunities(&s.crm).await;
        let app_repo = repo(&s, "intranet", |_| {}).await;
        let id = gid("Repository", app_repo.id);
        let body = create(&s, "SUNSET_APPLICATION", &id).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

        let (_, body) = s
            .app
            .gql(
                &s.admin,
                "mutation($i: SetRepositoryLifecycleInput!) { setRepositoryLifecycle(input: $i) {
                  sunsetDecision { id } } }",
                json!({ "i": { "repositoryId": id, "lifecycle": "SUNSET",
                    "reason": "Moved to SharePoint" } }),
            )
            .await;
        let finding = body["data"]["setRepositoryLifecycle"]["sunsetDecision"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        let body = create(&s, "SUNSET_APPLICATION", &id).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["createCrmOpportunity"]["created"], true);
        assert_eq!(
            body["data"]["createCrmOpportunity"]["crmOpportunity"]["estimatedValue"], 16000.0,
            "80 h × 200"
        );
        // From the sunset decision's page: the same opportunity.
        let body = create(&s, "SUNSET_APPLICATION", &finding).await;
        assert_eq!(
            body["data"]["createCrmOpportunity"]["created"], false,
            "{body}"
        );
    }
);
