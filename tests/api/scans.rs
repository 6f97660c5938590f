//! Scan ingestion (SARIF 2.1.0, CycloneDX) through GraphQL and REST: findings with exact fields,
//! deduplication, resolution by full scans, `code.security.new_secret_detected` once per new
//! secret, rescoring, and refused documents that change nothing.

use chrono::{Duration, Utc};
use entities::enums::{FindingKind, FindingStatus, Severity};
use entities::{findings, outbox_events, repositories};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::{Value, json};
use stack_gateway::graphql::relay::global_id;
use uuid::Uuid;

use crate::both;
use crate::helpers::{TestApp, Who, code, spawn_app, spawn_app_with};

pub(crate) const INGEST: &str = "mutation($input: IngestScanInput!) { ingestScan(input: $input) { scan { \
    format tool tools sources created updated unchanged resolved newSecrets warnings \
    repository { id healthScore debtScore } } } }";

const NEW_SECRET: &str = "code.security.new_secret_detected";

pub(crate) fn fixture(name: &str) -> String {
    let path = format!("{}/tests/api/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

pub(crate) fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

const VIEWER_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "vera",
    roles: &["viewer"],
    products: &["code"],
};

pub(crate) const TECH_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "tom",
    roles: &["technician"],
    products: &["code"],
};

pub(crate) async fn ingest_as(
    app: &TestApp,
    who: &Who<'_>,
    repo: Uuid,
    format: &str,
    doc: &str,
) -> Value {
    ingest_with(app, who, repo, format, doc, true).await
}

pub(crate) async fn ingest_with(
    app: &TestApp,
    who: &Who<'_>,
    repo: Uuid,
    format: &str,
    doc: &str,
    full: bool,
) -> Value {
    let input = json!({
        "repositoryId": global_id("Repository", repo).0,
        "format": format,
        "document": doc,
        "fullScan": full,
    });
    let (status, body) = app
        .gql(&app.token(who), INGEST, json!({ "input": input }))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Ingests with an explicit `source` as tenant A's admin; returns the whole answer.
pub(crate) async fn ingest_from(
    app: &TestApp,
    repo: Uuid,
    format: &str,
    doc: &str,
    source: &str,
) -> Value {
    let input = json!({
        "repositoryId": global_id("Repository", repo).0,
        "format": format,
        "document": doc,
        "source": source,
    });
    let (status, body) = app
        .gql(&app.token(&Who::ADMIN_A), INGEST, json!({ "input": input }))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Ingests as tenant A's admin and returns the scan summary, failing on any error.
pub(crate) async fn ingest(app: &TestApp, repo: Uuid, format: &str, doc: &str) -> Value {
    let body = ingest_as(app, &Who::ADMIN_A, repo, format, doc).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["ingestScan"]["scan"].clone()
}

pub(crate) fn counts(scan: &Value) -> [i64; 5] {
    ["created", "updated", "unchanged", "resolved", "newSecrets"].map(|k| scan[k].as_i64().unwrap())
}

pub(crate) async fn findings_of(app: &TestApp, repo: Uuid) -> Vec<findings::Model> {
    findings::Entity::find()
        .filter(findings::Column::RepositoryId.eq(repo))
        .order_by_asc(findings::Column::Title)
        .all(&app.services.db)
        .await
        .unwrap()
}

pub(crate) fn titled<'a>(rows: &'a [findings::Model], title: &str) -> &'a findings::Model {
    rows.iter()
        .find(|f| f.title == title)
        .unwrap_or_else(|| panic!("no finding {title:?}"))
}

pub(crate) async fn secret_events(app: &TestApp) -> Vec<Value> {
    outbox_events::Entity::find()
        .filter(outbox_events::Column::EventType.eq(NEW_SECRET))
        .order_by_asc(outbox_events::Column::Seq)
        .all(&app.services.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.payload)
        .collect()
}

/// Everything an ingestion may write: findings, events (identity and payload), repositories.
pub(crate) async fn snapshot(
    app: &TestApp,
) -> (
    Vec<findings::Model>,
    Vec<(Uuid, String, Value)>,
    Vec<repositories::Model>,
) {
    let db = &app.services.db;
    let f = findings::Entity::find()
        .order_by_asc(findings::Column::Id)
        .all(db)
        .await
        .unwrap();
    let e = outbox_events::Entity::find()
        .order_by_asc(outbox_events::Column::Seq)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event_id, e.event_type, e.payload))
        .collect();
    let r = repositories::Entity::find()
        .order_by_asc(repositories::Column::Id)
        .all(db)
        .await
        .unwrap();
    (f, e, r)
}

/// Tenant A with one organization and `repos` repositories (no findings); returns their ids.
pub(crate) async fn setup(app: &TestApp, repos: usize) -> Vec<Uuid> {
    let tenant = app.tenant("tenant-a").await;
    app.seed_code(tenant, "scan", 1, repos, 0).await
}

pub(crate) async fn org_of(app: &TestApp, repo: Uuid) -> Uuid {
    repositories::Entity::find_by_id(repo)
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap()
        .organization_id
}

/// gitleaks' log with a third secret added.
fn gitleaks_with_slack() -> String {
    let mut doc = fixture_json("gitleaks.sarif.json");
    let mut extra = doc["runs"][0]["results"][0].clone();
    extra["ruleId"] = json!("slack-webhook-url");
    extra["message"]["text"] =
        json!("slack-webhook-url has detected secret for file deploy/notify.sh at commit 77aa.");
    extra["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        json!("deploy/notify.sh");
    extra["partialFingerprints"]["commitSha"] = json!("77aa00bb11cc22dd33ee44ff5566778899aabbcc");
    doc["runs"][0]["results"]
        .as_array_mut()
        .unwrap()
        .push(extra);
    doc.to_string()
}

/// gitleaks' log with only the first secret.
fn gitleaks_without_pat() -> String {
    let mut doc = fixture_json("gitleaks.sarif.json");
    doc["runs"][0]["results"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    doc.to_string()
}

both!(
    gitleaks_secrets_become_findings_and_are_announced_once,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repo = setup(&app, 1).await[0];
        let org = org_of(&app, repo).await;
        let doc = fixture("gitleaks.sarif.json");

        let scan = ingest(&app, repo, "SARIF", &doc).await;
        assert_eq!(scan["format"], "SARIF");
        assert_eq!(scan["tool"], "gitleaks");
        assert_eq!(scan["tools"], json!(["gitleaks"]));
        assert_eq!(counts(&scan), [2, 0, 0, 0, 2]);

        let rows = findings_of(&app, repo).await;
        assert_eq!(rows.len(), 2);
        let aws = titled(&rows, "Secret detected: aws-access-token");
        assert_eq!(aws.kind, FindingKind::SecretDetected);
        assert_eq!(aws.severity, Severity::High);
        assert_eq!(aws.status, FindingStatus::Open);
        assert_eq!(
            aws.description,
            "Identified a pattern that may indicate AWS credentials, risking unauthorized cloud \
             resource access and data breaches on AWS platforms."
        );
        assert_eq!(aws.file_path.as_deref(), Some("config/settings.py"));
        assert_eq!(aws.line, Some(12));
        assert_eq!(aws.secret_type.as_deref(), Some("aws-access-token"));
        assert_eq!(aws.tool.as_deref(), Some("gitleaks"));
        assert_eq!(
            aws.remediation.as_deref(),
            Some(
                "Revoke and rotate the credential, then remove it from the code and from the \
                 repository's history."
            )
        );
        assert_eq!(
            (aws.cve_id.as_ref(), aws.package_name.as_ref()),
            (None, None)
        );
        assert_eq!(aws.resolved_at, None);
        assert_eq!(aws.first_seen_at, aws.last_seen_at);
        assert_eq!(aws.fingerprint.len(), 64);
        let pat = titled(&rows, "Secret detected: github-pat");
        assert_eq!(
            (
                pat.file_path.as_deref(),
                pat.line,
                pat.secret_type.as_deref()
            ),
            (Some("scripts/release.sh"), Some(7), Some("github-pat"))
        );
        // Nothing of the result's message or snippet is kept.
        for f in &rows {
            let stored = serde_json::to_string(f).unwrap();
            assert!(
                !stored.contains("REDACTED") && !stored.contains("at commit"),
                "{stored}"
            );
        }

        let events = secret_events(&app).await;
        assert_eq!(
            events,
            vec![
                json!({ "repo_id": repo, "org_id": org, "secret_type": "aws-access-token", "severity": "high" }),
                json!({ "repo_id": repo, "org_id": org, "secret_type": "github-pat", "severity": "high" }),
            ]
        );

        // The same document again: nothing new, nothing changed, no second event.
        let before = findings_of(&app, repo).await;
        let scan = ingest_as(&app, &TECH_A, repo, "SARIF", &doc).await;
        let scan = &scan["data"]["ingestScan"]["scan"];
        assert_eq!(counts(scan), [0, 0, 2, 0, 0]);
        let after = findings_of(&app, repo).await;
        for (a, b) in before.iter().zip(&after) {
            assert!(b.last_seen_at >= a.last_seen_at);
            let b = findings::Model {
                last_seen_at: a.last_seen_at,
                ..b.clone()
            };
            assert_eq!(a, &b, "only last_seen_at moves");
        }
        assert_eq!(secret_events(&app).await.len(), 2);

        // A new secret alongside the known ones: one event, for it alone.
        let scan = ingest(&app, repo, "SARIF", &gitleaks_with_slack()).await;
        assert_eq!(counts(&scan), [1, 0, 2, 0, 1]);
        let events = secret_events(&app).await;
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[2],
            json!({ "repo_id": repo, "org_id": org, "secret_type": "slack-webhook-url", "severity": "high" })
        );
    }
);

both!(
    a_full_scan_resolves_only_its_own_tool_and_repository,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repos = setup(&app, 2).await;
        let (a, b) = (repos[0], repos[1]);
        let gitleaks = fixture("gitleaks.sarif.json");
        ingest(&app, a, "SARIF", &gitleaks).await;
        ingest(&app, b, "SARIF", &gitleaks).await;
        ingest(&app, a, "SARIF", &fixture("codeql.sarif.json")).await;
        assert_eq!(secret_events(&app).await.len(), 4);

        // Partial scans never resolve.
        let scan = ingest_with(
            &app,
            &Who::ADMIN_A,
            a,
            "SARIF",
            &gitleaks_without_pat(),
            false,
        )
        .await;
        assert_eq!(counts(&scan["data"]["ingestScan"]["scan"]), [0, 0, 1, 0, 0]);

        let scan = ingest(&app, a, "SARIF", &gitleaks_without_pat()).await;
        assert_eq!(counts(&scan), [0, 0, 1, 1, 0]);
        let rows = findings_of(&app, a).await;
        let pat = titled(&rows, "Secret detected: github-pat");
        assert_eq!(pat.status, FindingStatus::Resolved);
        assert!(pat.resolved_at.is_some());
        assert_eq!(
            titled(&rows, "Secret detected: aws-access-token").status,
            FindingStatus::Open
        );
        let codeql: Vec<_> = rows
            .iter()
            .filter(|f| f.tool.as_deref() == Some("CodeQL"))
            .collect();
        assert_eq!(codeql.len(), 3);
        assert!(
            codeql.iter().all(|f| f.status == FindingStatus::Open),
            "another tool's findings stay"
        );
        let other = findings_of(&app, b).await;
        assert!(
            other.iter().all(|f| f.status == FindingStatus::Open),
            "another repository's stay"
        );

        // The secret is back: reopened, and announced again (it was not in the previous scan).
        let scan = ingest(&app, a, "SARIF", &gitleaks).await;
        assert_eq!(counts(&scan), [0, 1, 1, 0, 1]);
        let pat = titled(&findings_of(&app, a).await, "Secret detected: github-pat").clone();
        assert_eq!((pat.status, pat.resolved_at), (FindingStatus::Open, None));
        assert_eq!(secret_events(&app).await.len(), 5);

        // A clean gitleaks run resolves all of gitleaks' findings in that repository.
        let mut clean = fixture_json("gitleaks.sarif.json");
        clean["runs"][0]["results"] = json!([]);
        let scan = ingest(&app, a, "SARIF", &clean.to_string()).await;
        assert_eq!(counts(&scan), [0, 0, 0, 2, 0]);
        let open: Vec<_> = findings_of(&app, a)
            .await
            .into_iter()
            .filter(|f| f.status == FindingStatus::Open)
            .collect();
        assert_eq!(open.len(), 3);
        assert!(open.iter().all(|f| f.tool.as_deref() == Some("CodeQL")));
    }
);

both!(
    code_scanning_sarif_maps_rules_and_security_severity,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repo = setup(&app, 1).await[0];
        let scan = ingest(&app, repo, "SARIF", &fixture("codeql.sarif.json")).await;
        assert_eq!(scan["tool"], "CodeQL");
        assert_eq!(counts(&scan), [3, 0, 0, 0, 0]);
        let rows = findings_of(&app, repo).await;
        let sql = titled(&rows, "Database query built from user-controlled sources");
        assert_eq!(sql.kind, FindingKind::Vulnerability);
        assert_eq!(sql.severity, Severity::High, "security-severity 8.8");
        assert_eq!(
            sql.description,
            "This query string depends on a [user-provided value](1)."
        );
        assert_eq!(
            (sql.file_path.as_deref(), sql.line),
            (Some("src/db/users.js"), Some(42))
        );
        assert_eq!(
            sql.remediation.as_deref(),
            Some(
                "Use parameterized queries (prepared statements) instead of concatenating user input into SQL."
            )
        );
        assert_eq!(
            (sql.secret_type.as_ref(), sql.cve_id.as_ref()),
            (None, None)
        );
        let xss = titled(&rows, "Reflected cross-site scripting");
        assert_eq!(xss.severity, Severity::Medium, "security-severity 6.1");
        let unused = titled(&rows, "Unused variable, import, function or class");
        assert_eq!(unused.severity, Severity::Low, "level note");
        assert_eq!(unused.remediation, None);
        assert!(secret_events(&app).await.is_empty());
    }
);

both!(
    cyclonedx_vulnerabilities_become_package_findings,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repos = setup(&app, 2).await;
        let scan = ingest(&app, repos[0], "CYCLONEDX", &fixture("trivy.cdx.json")).await;
        assert_eq!(scan["format"], "CYCLONEDX");
        assert_eq!(scan["tool"], "trivy");
        assert_eq!(counts(&scan), [3, 0, 0, 0, 0]);
        let rows = findings_of(&app, repos[0]).await;
        let log4j = titled(&rows, "CVE-2021-44228 in log4j-core 2.14.1");
        assert_eq!(log4j.kind, FindingKind::Vulnerability);
        assert_eq!(log4j.severity, Severity::Critical);
        assert_eq!(log4j.cve_id.as_deref(), Some("CVE-2021-44228"));
        assert_eq!(
            (
                log4j.package_name.as_deref(),
                log4j.package_version.as_deref()
            ),
            (Some("log4j-core"), Some("2.14.1"))
        );
        assert_eq!(
            log4j.remediation.as_deref(),
            Some("Upgrade org.apache.logging.log4j:log4j-core to 2.15.0 or later.")
        );
        assert_eq!(
            log4j.description,
            "Apache Log4j2 JNDI features do not protect against attacker controlled LDAP and \
             other JNDI related endpoints.\n\nAffected component: \
             pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!((log4j.file_path.as_ref(), log4j.line), (None, None));
        assert_eq!(log4j.tool.as_deref(), Some("trivy"));
        let injection = titled(&rows, "CVE-2021-23337 in lodash 4.17.20");
        assert_eq!(injection.severity, Severity::High);
        let redos = titled(&rows, "GHSA-29mw-wpgm-hmr9 in lodash 4.17.20");
        assert_eq!(redos.severity, Severity::Medium, "the highest rating wins");
        assert_eq!(
            redos.cve_id.as_deref(),
            Some("CVE-2020-28500"),
            "from references"
        );
        assert!(secret_events(&app).await.is_empty());

        // The same document through REST, raw, as a CI scanner sends it.
        let response = app
            .client
            .post(app.url(&format!(
                "/api/code/repositories/{}/scans?format=cyclonedx",
                repos[1]
            )))
            .bearer_auth(app.token(&TECH_A))
            .header("content-type", "application/vnd.cyclonedx+json")
            .body(fixture("trivy.cdx.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scan"]["tool"], "trivy");
        assert_eq!(counts(&body["scan"]), [3, 0, 0, 0, 0]);
        assert_eq!(
            body["scan"]["repository"]["id"],
            global_id("Repository", repos[1]).0
        );
        assert_eq!(findings_of(&app, repos[1]).await.len(), 3);

        // A BOM with no vulnerabilities is a clean result, not an error.
        let mut clean = fixture_json("trivy.cdx.json");
        clean.as_object_mut().unwrap().remove("vulnerabilities");
        let scan = ingest(&app, repos[0], "CYCLONEDX", &clean.to_string()).await;
        assert_eq!(
            counts(&scan),
            [0, 0, 0, 3, 0],
            "trivy's full scan reports none any more"
        );
    }
);

both!(scores_follow_the_documented_formula, |backend| async move {
    let app = spawn_app(backend).await;
    let repo = setup(&app, 1).await[0];
    // Seeded active: last commit now, 4.5 commits a week.
    let scan = ingest(&app, repo, "CYCLONEDX", &fixture("trivy.cdx.json")).await;
    // Open: critical, high, medium vulnerabilities. Health 100 − (25 + 10 + 4); debt 10 + 6 + 3.
    assert_eq!(scan["repository"]["healthScore"], 61);
    assert_eq!(scan["repository"]["debtScore"], 19);
    let scan = ingest(&app, repo, "SARIF", &fixture("gitleaks.sarif.json")).await;
    // Two high secrets cost health (2 × 10), not debt.
    assert_eq!(scan["repository"]["healthScore"], 41);
    assert_eq!(scan["repository"]["debtScore"], 19);

    // Log4j fixed; the repository went quiet (last commit 200 days ago, 0.1 commits a week).
    let mut row: repositories::ActiveModel = repositories::Entity::find_by_id(repo)
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    row.last_commit_at = Set(Some(Utc::now() - Duration::days(200)));
    row.commit_frequency = Set(Some(0.1));
    row.update(&app.services.db).await.unwrap();
    let mut fixed = fixture_json("trivy.cdx.json");
    fixed["vulnerabilities"].as_array_mut().unwrap().remove(0);
    let scan = ingest(&app, repo, "CYCLONEDX", &fixed.to_string()).await;
    assert_eq!(counts(&scan), [0, 0, 2, 1, 0]);
    // Health 100 − (10 + 4 + 20) − 20 (idle ≤ 365 days) − 5 (rare commits) = 41.
    assert_eq!(scan["repository"]["healthScore"], 41);
    // Debt 6 + 3 + 10 (idle > 180 days) + 5 (rare commits) = 24.
    assert_eq!(scan["repository"]["debtScore"], 24);
    let stored = repositories::Entity::find_by_id(repo)
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.health_score, stored.debt_score),
        (Some(41), Some(24))
    );
});

/// Refused with `code`, and the message contains `says`.
pub(crate) async fn refused(
    app: &TestApp,
    who: &Who<'_>,
    repo: Uuid,
    format: &str,
    doc: &str,
    code_: &str,
    says: &str,
) {
    let before = snapshot(app).await;
    let body = ingest_as(app, who, repo, format, doc).await;
    assert_eq!(code(&body), code_, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message:?} should say {says:?}");
    assert!(body["data"].is_null(), "{body}");
    assert!(
        snapshot(app).await == before,
        "a refused document changed nothing"
    );
}

both!(
    malformed_oversized_and_unauthorised_uploads_change_nothing,
    |backend| async move {
        let app = spawn_app_with(backend, |c| c.scan_max_bytes = 10_000).await;
        let repo = setup(&app, 1).await[0];
        ingest(&app, repo, "SARIF", &fixture("gitleaks.sarif.json")).await;
        let a = Who::ADMIN_A;

        let bad = "BAD_USER_INPUT";
        refused(
            &app,
            &a,
            repo,
            "SARIF",
            r#"{"version": "2.1.0", "runs": ["#,
            bad,
            "not valid JSON",
        )
        .await;
        let sarif_1 = json!({
            "version": "1.0.0",
            "runs": [{ "tool": { "name": "gitleaks" }, "results": [] }]
        });
        refused(
            &app,
            &a,
            repo,
            "SARIF",
            &sarif_1.to_string(),
            bad,
            "SARIF version \"1.0.0\" is not supported",
        )
        .await;
        let mut no_message = fixture_json("gitleaks.sarif.json");
        no_message["runs"][0]["results"][1]
            .as_object_mut()
            .unwrap()
            .remove("message");
        refused(
            &app,
            &a,
            repo,
            "SARIF",
            &no_message.to_string(),
            bad,
            "runs[0].results[1]",
        )
        .await;
        let not_a_bom =
            json!({ "name": "billing-service", "dependencies": { "lodash": "4.17.20" } });
        refused(
            &app,
            &a,
            repo,
            "CYCLONEDX",
            &not_a_bom.to_string(),
            bad,
            "not a CycloneDX document",
        )
        .await;
        refused(
            &app,
            &a,
            repo,
            "CYCLONEDX",
            &fixture("gitleaks.sarif.json"),
            bad,
            "not a CycloneDX document",
        )
        .await;
        let mut old = fixture_json("trivy.cdx.json");
        old["specVersion"] = json!("1.3");
        refused(
            &app,
            &a,
            repo,
            "CYCLONEDX",
            &old.to_string(),
            bad,
            "specVersion \"1.3\" is not supported",
        )
        .await;
        let mut urgent = fixture_json("trivy.cdx.json");
        urgent["vulnerabilities"][1]["ratings"][0]["severity"] = json!("urgent");
        refused(
            &app,
            &a,
            repo,
            "CYCLONEDX",
            &urgent.to_string(),
            bad,
            "vulnerabilities[1].ratings[0].severity",
        )
        .await;

        // Over SCAN_MAX_BYTES (10 000 here), through GraphQL and REST.
        let mut big = fixture_json("gitleaks.sarif.json");
        big["runs"][0]["properties"] = json!({ "padding": "x".repeat(10_000) });
        let big = big.to_string();
        refused(
            &app,
            &a,
            repo,
            "SARIF",
            &big,
            "PAYLOAD_TOO_LARGE",
            "10000 bytes",
        )
        .await;
        let before = snapshot(&app).await;
        let rest = |who: &Who<'_>, path_repo: String, body: String| {
            app.client
                .post(app.url(&format!(
                    "/api/code/repositories/{path_repo}/scans?format=sarif"
                )))
                .bearer_auth(app.token(who))
                .body(body)
                .send()
        };
        let response = rest(&a, repo.to_string(), big).await.unwrap();
        assert_eq!(response.status(), 413);
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "PAYLOAD_TOO_LARGE");

        // Another tenant's repository is not found; a viewer may not upload.
        let doc = gitleaks_with_slack();
        refused(
            &app,
            &Who::ADMIN_B,
            repo,
            "SARIF",
            &doc,
            "NOT_FOUND",
            "repository not found",
        )
        .await;
        let response = rest(&Who::ADMIN_B, repo.to_string(), doc.clone())
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        refused(
            &app,
            &VIEWER_A,
            repo,
            "SARIF",
            &doc,
            "FORBIDDEN",
            "technicians and admins",
        )
        .await;
        let response = rest(&VIEWER_A, repo.to_string(), doc.clone())
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "FORBIDDEN");

        // REST without a token, or without a format.
        let response = app
            .client
            .post(app.url(&format!("/api/code/repositories/{repo}/scans?format=sarif")))
            .body(doc.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let response = app
            .client
            .post(app.url(&format!("/api/code/repositories/{repo}/scans")))
            .bearer_auth(app.token(&a))
            .body(doc.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("format"),
            "{body}"
        );
        assert!(
            snapshot(&app).await == before,
            "refused uploads changed nothing"
        );

        // The repository as a global ID in the path works too.
        let response = rest(&a, global_id("Repository", repo).0.to_string(), doc)
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(counts(&body["scan"]), [1, 0, 2, 0, 1]);
    }
);
