//! PSA tickets and projects from Code, end to end through GraphQL, with PSA faked by wiremock:
//! the ticket body field by field, idempotency, failures that store nothing, who may act, and
//! the status refresh (timer and on demand).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use entities::enums::{AccessIssue, FindingKind, Severity};
use entities::{psa_links, repositories};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use stack_gateway::tasks::PsaStatusRefresh;
use uuid::Uuid;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::both;
use crate::code_seed::{self, gid};
use crate::helpers::{Backend, TestApp, Who, code, spawn_app_with, timers_off};

pub(crate) const TICKET: &str =
    "mutation($id: ID!) { createTicketFromFinding(input: { findingId: $id }) {
  created psaLink { id kind psaId title psaStatus statusCheckedAt findingId recommendationId
  finding { id kind severity } } } }";
pub(crate) const PROJECT: &str = "mutation($id: ID!) { createPsaProjectFromRecommendation(input: { recommendationId: $id }) {
  created psaLink { id kind psaId title psaStatus findingId recommendationId recommendation { id title } } } }";
pub(crate) const REFRESH: &str =
    "mutation($id: ID!) { refreshPsaStatus(input: { psaLinkId: $id }) {
  psaLink { id psaId psaStatus statusCheckedAt } } }";
pub(crate) const STATUS: &str = "{ integrations { name status lastError } }";

const TECHNICIAN_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "tess",
    roles: &["technician"],
    products: &["code"],
};
const VIEWER_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "vic",
    roles: &["viewer"],
    products: &["code"],
};

/// A server wired to a fake PSA, with tenant A's client, organization and repository.
pub(crate) struct Setup {
    pub app: TestApp,
    pub psa: MockServer,
    pub tenant: Uuid,
    pub repo: repositories::Model,
    pub admin: String,
}

pub(crate) async fn setup(
    backend: Backend,
    adjust: impl FnOnce(&mut stack_gateway::config::Config),
) -> Setup {
    let psa = MockServer::start().await;
    let uri = psa.uri();
    let app = spawn_app_with(backend, |c| {
        c.integrations.psa_api_url = Some(uri);
        c.integrations.psa_service_key = Some("psa-key".into());
        // Links in tickets go to the front-end, not to the gateway.
        c.frontend = stack_gateway::config::Frontend::same_as("https://app.example.com");
        // The probes' `GET /health` would race with what these tests count and assert.
        c.schedules
            .insert("integration-probes".into(), "off".into());
        adjust(c);
    })
    .await;
    let tenant = app.tenant("tenant-a").await;
    let client = code_seed::client(&app, tenant, "Contoso", Some("PSA-CONTOSO"), None).await;
    let org = code_seed::organization(&app, tenant, "contoso", Some(client.id)).await;
    let repo = code_seed::repository(&app, &org, "billing-api", |_| {}).await;
    let admin = app.token(&Who::ADMIN_A);
    Setup {
        app,
        psa,
        tenant,
        repo,
        admin,
    }
}

/// Answers creates with `T-1`, `T-2`, … and status `New`.
pub(crate) fn numbered_tickets(prefix: &'static str) -> impl Fn(&Request) -> ResponseTemplate {
    let n = Arc::new(AtomicU32::new(0));
    move |_: &Request| {
        let i = n.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(201)
            .set_body_json(json!({ "id": format!("{prefix}-{i}"), "status": "New" }))
    }
}

pub(crate) async fn mount_tickets(psa: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .and(header("authorization", "Bearer psa-key"))
        .respond_with(numbered_tickets("T"))
        .mount(psa)
        .await;
}

pub(crate) async fn links(app: &TestApp) -> u64 {
    psa_links::Entity::find()
        .count(&app.services.db)
        .await
        .unwrap()
}

pub(crate) fn status_of<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["data"]["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap()
}

pub(crate) fn header_of<'a>(request: &'a Request, name: &str) -> &'a str {
    request.headers.get(name).unwrap().to_str().unwrap()
}

both!(
    tickets_carry_every_field_of_each_finding_kind,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        mount_tickets(&s.psa).await;
        let repo = &s.repo;
        let vuln = code_seed::finding(
            &s.app,
            repo,
            FindingKind::Vulnerability,
            Severity::Critical,
            "Denial of service in body-parser",
            |f| {
                f.cve_id = Some("CVE-2024-45590".into());
                f.package_name = Some("body-parser".into());
                f.package_version = Some("1.20.2".into());
                f.file_path = Some("package-lock.json".into());
                f.remediation = Some("Upgrade body-parser to 1.20.3\n- Run npm audit again".into());
                f.tool = Some("npm-audit".into());
            },
        )
        .await;
        let secret = code_seed::finding(
            &s.app,
            repo,
            FindingKind::SecretDetected,
            Severity::High,
            "AWS access key committed",
            |f| {
                f.file_path = Some("config/settings.py".into());
                f.line = Some(42);
                f.secret_type = Some("aws-access-key".into());
            },
        )
        .await;
        let drift = code_seed::access_finding(
            &s.app,
            repo,
            AccessIssue::PermissionDrift,
            Severity::Medium,
            "carol has admin on billing-api",
        )
        .await;
        let orphan = code_seed::access_finding(
            &s.app,
            repo,
            AccessIssue::OrphanedAccess,
            Severity::Low,
            "dave has been inactive for 180 days",
        )
        .await;
        let no2fa = code_seed::access_finding(
            &s.app,
            repo,
            AccessIssue::Missing2fa,
            Severity::High,
            "erin has no two-factor authentication",
        )
        .await;
        let sunset = code_seed::finding(
            &s.app,
            repo,
            FindingKind::SunsetDecision,
            Severity::Low,
            "Retire the legacy portal",
            |_| {},
        )
        .await;

        // (finding, finding_type, priority, severity, in the title, in the description)
        let cases = [
            (
                &vuln,
                "vulnerability",
                "P1",
                "critical",
                vec!["CVE-2024-45590", "body-parser"],
                vec![
                    "CVE: CVE-2024-45590",
                    "Package: body-parser 1.20.2",
                    "File: package-lock.json",
                    "Reported by: npm-audit",
                ],
            ),
            (
                &secret,
                "secret_detected",
                "P2",
                "high",
                vec!["config/settings.py"],
                vec![
                    "File: config/settings.py, line 42",
                    "Secret type: aws-access-key",
                ],
            ),
            (
                &drift,
                "access_issue",
                "P3",
                "medium",
                vec!["Permission drift"],
                vec!["Access issue: Permission drift"],
            ),
            (
                &orphan,
                "access_issue",
                "P4",
                "low",
                vec!["Orphaned access"],
                vec!["Access issue: Orphaned access"],
            ),
            (
                &no2fa,
                "access_issue",
                "P2",
                "high",
                vec!["Missing 2FA"],
                vec!["Access issue: Missing 2FA"],
            ),
            (
                &sunset,
                "sunset_decision",
                "P4",
                "low",
                vec!["Sunset decision", "Retire the legacy portal"],
                vec![],
            ),
        ];
        for (finding, _, _, _, _, _) in &cases {
            let id = gid("Finding", finding.id);
            let (status, body) = s.app.gql(&s.admin, TICKET, json!({ "id": id })).await;
            assert_eq!(status, 200);
            assert!(body.get("errors").is_none(), "{body}");
            let out = &body["data"]["createTicketFromFinding"];
            assert_eq!(out["created"], true);
            let link = &out["psaLink"];
            assert_eq!(link["kind"], "TICKET");
            assert_eq!(link["psaStatus"], "New");
            assert!(link["psaId"].as_str().unwrap().starts_with("T-"));
            assert!(link["statusCheckedAt"].is_string());
            assert_eq!(link["findingId"], id);
            assert_eq!(link["recommendationId"], Value::Null);
            assert_eq!(link["finding"]["id"], id);
        }

        let requests = s.psa.received_requests().await.unwrap();
        assert_eq!(requests.len(), cases.len(), "one call per finding");
        let mut keys = HashSet::new();
        for (finding, kind, priority, severity, in_title, in_description) in &cases {
            let id = gid("Finding", finding.id);
            let request = requests
                .iter()
                .find(|r| r.body_json::<Value>().unwrap()["finding_id"] == id.as_str())
                .unwrap_or_else(|| panic!("no ticket for {}", finding.title));
            assert_eq!(header_of(request, "authorization"), "Bearer psa-key");
            assert_eq!(header_of(request, "content-type"), "application/json");
            let key = header_of(request, "idempotency-key");
            assert!(key.starts_with("code-psa-ticket-"), "{key}");
            keys.insert(key.to_string());
            let b: Value = request.body_json().unwrap();
            let what = &finding.title;
            assert_eq!(b["finding_type"], *kind, "{what}");
            assert_eq!(b["priority"], *priority, "{what}");
            assert_eq!(b["severity"], *severity, "{what}");
            let title = b["title"].as_str().unwrap();
            assert!(title.contains(finding.title.as_str()), "{title}");
            assert!(title.ends_with("(contoso/billing-api)"), "{title}");
            for part in in_title {
                assert!(title.contains(part), "{title} lacks {part}");
            }
            let description = b["description"].as_str().unwrap();
            let url = format!("https://app.example.com/findings/{id}");
            let mut expected: Vec<String> = in_description.iter().map(|p| p.to_string()).collect();
            expected.extend([
                finding.description.clone(),
                "Repository: contoso/billing-api (https://github.com/contoso/billing-api)".into(),
                format!("Finding type: {kind}"),
                format!("Severity: {severity} (priority {priority})"),
                "Remediation steps:\n1. ".into(),
                format!("Finding in The One Code: {url}"),
            ]);
            for part in &expected {
                assert!(
                    description.contains(part.as_str()),
                    "{what}: {description:?} lacks {part:?}"
                );
            }
            assert_eq!(
                b["repository"],
                json!({ "full_name": "contoso/billing-api", "url": "https://github.com/contoso/billing-api" })
            );
            assert_eq!(
                b["client"],
                json!({ "name": "Contoso", "psa_client_id": "PSA-CONTOSO" }),
                "the organization's client"
            );
            assert_eq!(b["finding_url"], url);
            let steps = b["remediation_steps"].as_array().unwrap();
            assert!(!steps.is_empty(), "{what}");
            for step in steps {
                assert!(
                    description.contains(step.as_str().unwrap()),
                    "{what}: step {step} not in the description"
                );
            }
        }
        assert_eq!(keys.len(), cases.len(), "one key per finding");

        let body_of = |f: &entities::findings::Model| -> Value {
            let id = gid("Finding", f.id);
            requests
                .iter()
                .map(|r| r.body_json::<Value>().unwrap())
                .find(|b| b["finding_id"] == id.as_str())
                .unwrap()
        };
        let v = body_of(&vuln);
        assert_eq!(v["cve_id"], "CVE-2024-45590");
        assert_eq!(
            v["package"],
            json!({ "name": "body-parser", "version": "1.20.2" })
        );
        assert_eq!(v["file_path"], "package-lock.json");
        assert_eq!(v["access_issue"], Value::Null);
        assert_eq!(
            v["remediation_steps"],
            json!(["Upgrade body-parser to 1.20.3", "Run npm audit again"])
        );
        let sec = body_of(&secret);
        assert_eq!(sec["file_path"], "config/settings.py");
        assert_eq!(sec["line"], 42);
        assert_eq!(sec["secret_type"], "aws-access-key");
        assert_eq!(sec["cve_id"], Value::Null);
        assert!(
            sec["remediation_steps"][0]
                .as_str()
                .unwrap()
                .contains("aws-access-key")
        );
        assert_eq!(body_of(&drift)["access_issue"], "permission_drift");
        assert_eq!(body_of(&orphan)["access_issue"], "orphaned_access");
        assert_eq!(body_of(&no2fa)["access_issue"], "missing_2fa");
        assert_eq!(body_of(&no2fa)["file_path"], Value::Null);
        assert_eq!(body_of(&sunset)["access_issue"], Value::Null);

        // The Integrations → PSA page lists them with their findings.
        let (_, body) = s.app.gql(&s.admin, "{ psaLinks(first: 10, kind: TICKET) { totalCount nodes { psaId psaStatus findingId finding { id title repository { fullName } } recommendation { id } } } }", json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["psaLinks"]["totalCount"], 6);
        for node in body["data"]["psaLinks"]["nodes"].as_array().unwrap() {
            assert_eq!(node["finding"]["id"], node["findingId"]);
            assert_eq!(
                node["finding"]["repository"]["fullName"],
                "contoso/billing-api"
            );
            assert_eq!(node["recommendation"], Value::Null);
        }
    }
);

both!(
    projects_carry_every_step_and_the_estimate,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        Mock::given(method("POST"))
            .and(path("/projects"))
            .and(header("authorization", "Bearer psa-key"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({ "id": "P-1187", "status": "Planning" })),
            )
            .expect(1)
            .mount(&s.psa)
            .await;
        let rec = code_seed::recommendation(
            &s.app,
            &s.repo,
            "Move to Azure App Service",
            &[
                "Containerise the API",
                "Provision App Service",
                "Cut over DNS",
            ],
            82.5,
        )
        .await;
        let id = gid("Recommendation", rec.id);
        let (_, body) = s.app.gql(&s.admin, PROJECT, json!({ "id": id })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let out = &body["data"]["createPsaProjectFromRecommendation"];
        assert_eq!(out["created"], true);
        let link = &out["psaLink"];
        assert_eq!(link["kind"], "PROJECT");
        assert_eq!(link["psaId"], "P-1187");
        assert_eq!(link["psaStatus"], "Planning");
        assert_eq!(link["recommendationId"], id);
        assert_eq!(link["findingId"], Value::Null);
        assert_eq!(link["recommendation"]["title"], "Move to Azure App Service");

        let requests = s.psa.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        assert!(header_of(&requests[0], "idempotency-key").starts_with("code-psa-project-"));
        let b: Value = requests[0].body_json().unwrap();
        assert_eq!(b["finding_type"], "migration_recommendation");
        assert_eq!(b["estimate_hours"], 82.5);
        assert_eq!(
            b["steps"],
            json!([
                "Containerise the API",
                "Provision App Service",
                "Cut over DNS"
            ])
        );
        assert_eq!(
            b["title"],
            "Migration: Move to Azure App Service (contoso/billing-api)"
        );
        assert_eq!(b["target_platform"], "Azure App Service");
        assert_eq!(b["client"]["psa_client_id"], "PSA-CONTOSO");
        assert_eq!(b["repository"]["full_name"], "contoso/billing-api");
        let url = format!("https://app.example.com/recommendations/{id}");
        assert_eq!(b["recommendation_url"], url);
        let description = b["description"].as_str().unwrap();
        for part in [
            "Why: Move to Azure App Service.",
            "Migration steps:\n1. Containerise the API\n2. Provision App Service\n3. Cut over DNS",
            "Effort estimate: 82.5 hours",
            "Target platform: Azure App Service",
            url.as_str(),
        ] {
            assert!(description.contains(part), "{description:?} lacks {part:?}");
        }

        // Again: the same project, without calling PSA (`expect(1)` above).
        let (_, body) = s.app.gql(&s.admin, PROJECT, json!({ "id": id })).await;
        assert_eq!(
            body["data"]["createPsaProjectFromRecommendation"]["created"],
            false
        );
        assert_eq!(
            body["data"]["createPsaProjectFromRecommendation"]["psaLink"]["id"],
            link["id"]
        );
        assert_eq!(links(&s.app).await, 1);
        // Projects have no status to refresh.
        let (_, body) = s
            .app
            .gql(&s.admin, REFRESH, json!({ "id": link["id"] }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
);

both!(a_repeated_create_makes_one_ticket, |backend| async move {
    let s = setup(backend, |_| {}).await;
    let first = code_seed::finding(
        &s.app,
        &s.repo,
        FindingKind::Vulnerability,
        Severity::High,
        "Prototype pollution in lodash",
        |_| {},
    )
    .await;
    let second = code_seed::finding(
        &s.app,
        &s.repo,
        FindingKind::SecretDetected,
        Severity::Critical,
        "Stripe key committed",
        |_| {},
    )
    .await;
    let first_id = gid("Finding", first.id);
    let second_id = gid("Finding", second.id);
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .and(body_partial_json(json!({ "finding_id": first_id })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "id": "T-1", "status": "New" })),
        )
        .expect(1)
        .mount(&s.psa)
        .await;
    // A double click: the second answer is the stored link, PSA is called once.
    let (_, one) = s.app.gql(&s.admin, TICKET, json!({ "id": first_id })).await;
    let (_, two) = s.app.gql(&s.admin, TICKET, json!({ "id": first_id })).await;
    assert_eq!(
        one["data"]["createTicketFromFinding"]["created"], true,
        "{one}"
    );
    assert_eq!(
        two["data"]["createTicketFromFinding"]["created"], false,
        "{two}"
    );
    assert_eq!(
        one["data"]["createTicketFromFinding"]["psaLink"]["id"],
        two["data"]["createTicketFromFinding"]["psaLink"]["id"]
    );
    assert_eq!(links(&s.app).await, 1);

    // Two simultaneous calls: both reach PSA (with the same key, so PSA makes one ticket) and
    // one row is stored; the loser answers with the winner's link.
    Mock::given(method("POST"))
        .and(path("/tickets"))
        .and(body_partial_json(json!({ "finding_id": second_id })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({ "id": "C-1", "status": "New" }))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&s.psa)
        .await;
    let vars = json!({ "id": second_id });
    let (a, b) = tokio::join!(
        s.app.gql(&s.admin, TICKET, vars.clone()),
        s.app.gql(&s.admin, TICKET, vars.clone())
    );
    let (a, b) = (
        &a.1["data"]["createTicketFromFinding"],
        &b.1["data"]["createTicketFromFinding"],
    );
    assert_eq!(a["psaLink"]["id"], b["psaLink"]["id"], "{a} {b}");
    assert_eq!(a["psaLink"]["psaId"], "C-1");
    let created: Vec<bool> = [a, b]
        .iter()
        .map(|p| p["created"].as_bool().unwrap())
        .collect();
    assert_eq!(created.iter().filter(|c| **c).count(), 1, "{created:?}");
    assert_eq!(links(&s.app).await, 2);
    let keys: HashSet<String> = s
        .psa
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.body_json::<Value>().unwrap()["finding_id"] == second_id.as_str())
        .map(|r| header_of(r, "idempotency-key").to_string())
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "every attempt for one finding carries one key"
    );
});

both!(
    only_technicians_and_admins_of_the_tenant,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        let finding = code_seed::finding(
            &s.app,
            &s.repo,
            FindingKind::Vulnerability,
            Severity::High,
            "Ours",
            |_| {},
        )
        .await;
        let tenant_b = s.app.tenant("tenant-b").await;
        let org_b = code_seed::organization(&s.app, tenant_b, "globex", None).await;
        let repo_b = code_seed::repository(&s.app, &org_b, "hr", |_| {}).await;
        let theirs = code_seed::finding(
            &s.app,
            &repo_b,
            FindingKind::Vulnerability,
            Severity::High,
            "Theirs",
            |_| {},
        )
        .await;
        let rec_b = code_seed::recommendation(&s.app, &repo_b, "Theirs", &["x"], 3.0).await;

        let (_, body) = s
            .app
            .gql(&s.admin, TICKET, json!({ "id": gid("Finding", theirs.id) }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let (_, body) = s
            .app
            .gql(
                &s.admin,
                PROJECT,
                json!({ "id": gid("Recommendation", rec_b.id) }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let missing = json!({ "id": gid("Finding", Uuid::now_v7()) });
        let (_, body) = s.app.gql(&s.admin, TICKET, missing).await;
        assert_eq!(code(&body), "NOT_FOUND");
        for bad in ["not-an-id".to_string(), gid("Repository", s.repo.id)] {
            let (_, body) = s.app.gql(&s.admin, TICKET, json!({ "id": bad })).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        }
        let vars = json!({ "id": gid("Finding", finding.id) });
        let viewer = s.app.token(&VIEWER_A);
        let (_, body) = s.app.gql(&viewer, TICKET, vars.clone()).await;
        assert_eq!(code(&body), "FORBIDDEN");
        let migrate_only = s.app.token(&Who {
            tenant: "tenant-a",
            sub: "mia",
            roles: &["admin"],
            products: &["migrate"],
        });
        let (_, body) = s.app.gql(&migrate_only, TICKET, vars.clone()).await;
        assert_eq!(code(&body), "FORBIDDEN");
        assert_eq!(s.psa.received_requests().await.unwrap().len(), 0);
        assert_eq!(links(&s.app).await, 0);

        mount_tickets(&s.psa).await;
        let technician = s.app.token(&TECHNICIAN_A);
        let (_, body) = s.app.gql(&technician, TICKET, vars).await;
        assert!(body.get("errors").is_none(), "{body}");
        let link_id = body["data"]["createTicketFromFinding"]["psaLink"]["id"].clone();
        // Tenant B sees neither the link nor can refresh it.
        let admin_b = s.app.token(&Who::ADMIN_B);
        let (_, body) = s
            .app
            .gql(&admin_b, "{ psaLinks(first: 5) { totalCount } }", json!({}))
            .await;
        assert_eq!(body["data"]["psaLinks"]["totalCount"], 0);
        crate::helpers::assert_node_only_for(&s.app, &link_id, "PsaLink", &technician, &admin_b)
            .await;
        let (_, body) = s.app.gql(&admin_b, REFRESH, json!({ "id": link_id })).await;
        assert_eq!(code(&body), "NOT_FOUND");
        let (_, body) = s.app.gql(&viewer, REFRESH, json!({ "id": link_id })).await;
        assert_eq!(code(&body), "FORBIDDEN");
    }
);

both!(
    statuses_refresh_on_the_timer_and_on_demand,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        let open = code_seed::finding(
            &s.app,
            &s.repo,
            FindingKind::Vulnerability,
            Severity::High,
            "Open one",
            |_| {},
        )
        .await;
        let closed = code_seed::finding(
            &s.app,
            &s.repo,
            FindingKind::Vulnerability,
            Severity::High,
            "Closed one",
            |_| {},
        )
        .await;
        let gone = code_seed::finding(
            &s.app,
            &s.repo,
            FindingKind::Vulnerability,
            Severity::High,
            "Deleted in PSA",
            |_| {},
        )
        .await;
        for (finding, id, status) in [
            (&gone, "T-GONE", "New"),
            (&open, "T-OPEN", "New"),
            (&closed, "T-CLOSED", "Closed"),
        ] {
            Mock::given(method("POST"))
                .and(path("/tickets"))
                .and(body_partial_json(
                    json!({ "finding_id": gid("Finding", finding.id) }),
                ))
                .respond_with(
                    ResponseTemplate::new(201).set_body_json(json!({ "id": id, "status": status })),
                )
                .mount(&s.psa)
                .await;
            let (_, body) = s
                .app
                .gql(
                    &s.admin,
                    TICKET,
                    json!({ "id": gid("Finding", finding.id) }),
                )
                .await;
            assert!(body.get("errors").is_none(), "{body}");
        }
        Mock::given(method("GET"))
            .and(path("/tickets/T-OPEN"))
            .and(header("authorization", "Bearer psa-key"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({ "id": "T-OPEN", "status": "In Progress", "assignee": "sam" }),
            ))
            .expect(1)
            .mount(&s.psa)
            .await;
        Mock::given(method("GET"))
            .and(path("/tickets/T-CLOSED"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&s.psa)
            .await;
        // One ticket failing does not stop the others.
        Mock::given(method("GET"))
            .and(path("/tickets/T-GONE"))
            .respond_with(ResponseTemplate::new(404))
            .expect(1)
            .mount(&s.psa)
            .await;

        // The timer's task, through the real queue, for a tick after both were checked.
        let tick = chrono::Utc::now() + chrono::Duration::hours(1);
        s.app
            .services
            .queue
            .push(
                PsaStatusRefresh { tick },
                Some(&format!("test-{}", Uuid::new_v4())),
            )
            .await
            .unwrap();
        let statuses = || async {
            let (_, body) = s
                .app
                .gql(
                    &s.admin,
                    "{ psaLinks(first: 5) { nodes { id psaId psaStatus } } }",
                    json!({}),
                )
                .await;
            body["data"]["psaLinks"]["nodes"]
                .as_array()
                .unwrap()
                .clone()
        };
        let mut nodes = Vec::new();
        for _ in 0..100 {
            nodes = statuses().await;
            let gone_asked = s
                .psa
                .received_requests()
                .await
                .unwrap()
                .iter()
                .any(|r| r.url.path() == "/tickets/T-GONE");
            if gone_asked && nodes.iter().any(|n| n["psaStatus"] == "In Progress") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let by_psa = |id: &str| nodes.iter().find(|n| n["psaId"] == id).unwrap().clone();
        assert_eq!(by_psa("T-OPEN")["psaStatus"], "In Progress");
        assert_eq!(by_psa("T-GONE")["psaStatus"], "New", "kept when PSA fails");
        assert_eq!(
            by_psa("T-CLOSED")["psaStatus"],
            "Closed",
            "closed tickets are not polled"
        );
        s.psa.verify().await;

        // On demand.
        s.psa.reset().await;
        Mock::given(method("GET"))
            .and(path("/tickets/T-OPEN"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "id": "T-OPEN", "status": "Resolved" })),
            )
            .expect(1)
            .mount(&s.psa)
            .await;
        let link = by_psa("T-OPEN")["id"].clone();
        let (_, body) = s.app.gql(&s.admin, REFRESH, json!({ "id": link })).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(
            body["data"]["refreshPsaStatus"]["psaLink"]["psaStatus"],
            "Resolved"
        );
        s.psa.verify().await;
        // PSA no longer knows the ticket: the error says so, the stored status stays.
        s.psa.reset().await;
        Mock::given(method("GET"))
            .and(path("/tickets/T-OPEN"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&s.psa)
            .await;
        let (_, body) = s.app.gql(&s.admin, REFRESH, json!({ "id": link })).await;
        assert_eq!(code(&body), "UPSTREAM_REJECTED", "{body}");
        let nodes = statuses().await;
        assert_eq!(
            nodes.iter().find(|n| n["psaId"] == "T-OPEN").unwrap()["psaStatus"],
            "Resolved"
        );
    }
);

both!(
    psa_links_cost_one_statement_per_level,
    |backend| async move {
        let s = setup(backend, timers_off).await;
        mount_tickets(&s.psa).await;
        Mock::given(method("POST"))
            .and(path("/projects"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({ "id": "P-1", "status": "Planning" })),
            )
            .mount(&s.psa)
            .await;
        let other_org = code_seed::organization(&s.app, s.tenant, "fabrikam", None).await;
        let other_repo = code_seed::repository(&s.app, &other_org, "shop", |_| {}).await;
        for (i, repo) in [&s.repo, &other_repo, &s.repo].into_iter().enumerate() {
            let f = code_seed::finding(
                &s.app,
                repo,
                FindingKind::Vulnerability,
                Severity::Medium,
                &format!("Finding {i}"),
                |_| {},
            )
            .await;
            let (_, body) = s
                .app
                .gql(&s.admin, TICKET, json!({ "id": gid("Finding", f.id) }))
                .await;
            assert!(body.get("errors").is_none(), "{body}");
        }
        let rec =
            code_seed::recommendation(&s.app, &other_repo, "Modernise", &["a", "b"], 12.0).await;
        let (_, body) = s
            .app
            .gql(
                &s.admin,
                PROJECT,
                json!({ "id": gid("Recommendation", rec.id) }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");

        let query = "query($n: Int!) { psaLinks(last: $n) { nodes { psaId finding { title repository { name } } recommendation { title repository { name } } } } }";
        let (_, body) = s.app.gql(&s.admin, query, json!({ "n": 10 })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let nodes = body["data"]["psaLinks"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 4);
        assert_eq!(nodes[1]["finding"]["repository"]["name"], "shop");
        assert_eq!(nodes[3]["recommendation"]["repository"]["name"], "shop");
        s.app.settle().await;
        // links, findings, recommendations, and one repository statement for each of the two; the
        // last two links are a ticket and a project, so a page of 2 has every level too.
        for n in [10, 2] {
            let before = s.app.statements();
            let (_, body) = s.app.gql(&s.admin, query, json!({ "n": n })).await;
            assert!(body.get("errors").is_none(), "{body}");
            assert_eq!(s.app.statements() - before, 5, "page of {n}");
        }
    }
);
