//! A full scan resolves only what its own source scanned: CodeQL's per-language uploads, BOMs
//! that name no tool, an explicit source on the upload, and failed runs that resolve nothing.

use entities::enums::{FindingStatus, Severity};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{code, spawn_app};
use crate::scans::{
    TECH_A, counts, findings_of, fixture, fixture_json, ingest, ingest_from, secret_events, setup,
};

fn open_of(rows: &[entities::findings::Model]) -> Vec<(&str, Severity)> {
    rows.iter()
        .filter(|f| f.status == FindingStatus::Open)
        .map(|f| (f.title.as_str(), f.severity))
        .collect()
}

both!(
    codeql_languages_do_not_resolve_each_other,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repo = setup(&app, 1).await[0];
        let java = fixture_json("codeql-java.sarif.json");
        let js = fixture_json("codeql-javascript.sarif.json");
        let scan = ingest(&app, repo, "SARIF", &java.to_string()).await;
        assert_eq!(scan["sources"], json!(["CodeQL | /language:java-kotlin/"]));
        assert_eq!(counts(&scan), [2, 0, 0, 0, 0]);
        let scan = ingest(&app, repo, "SARIF", &js.to_string()).await;
        assert_eq!(
            scan["sources"],
            json!(["CodeQL | /language:javascript-typescript/"])
        );
        assert_eq!(counts(&scan), [2, 0, 0, 0, 0], "Java's findings stay");
        let scan = ingest(&app, repo, "SARIF", &java.to_string()).await;
        assert_eq!(counts(&scan), [0, 0, 2, 0, 0], "JavaScript's findings stay");

        // Java's code fixed: only Java's findings resolve.
        let mut clean = java.clone();
        clean["runs"][0]["results"] = json!([]);
        let scan = ingest(&app, repo, "SARIF", &clean.to_string()).await;
        assert_eq!(counts(&scan), [0, 0, 0, 2, 0]);
        let rows = findings_of(&app, repo).await;
        assert_eq!(
            open_of(&rows),
            [
                (
                    "Database query built from user-controlled sources",
                    Severity::High
                ),
                ("Reflected cross-site scripting", Severity::Medium)
            ]
        );
        // Without a category the query packs tell the languages apart.
        let mut bare = clean;
        bare["runs"][0]
            .as_object_mut()
            .unwrap()
            .remove("automationDetails");
        let scan = ingest(&app, repo, "SARIF", &bare.to_string()).await;
        assert_eq!(scan["sources"], json!(["CodeQL | codeql/java-queries"]));
        assert_eq!(counts(&scan), [0, 0, 0, 0, 0]);
        assert_eq!(open_of(&findings_of(&app, repo).await).len(), 2);
    }
);

both!(
    a_bom_naming_no_tool_resolves_only_with_its_source,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repos = setup(&app, 2).await;
        let vex = fixture("cdx-lib-vex-states-1.7.cdx.json");
        let clean = fixture("pip-audit-clean.cdx.json");
        // Neither names its tool: the clean pip-audit BOM resolves nothing of the other.
        let scan = ingest(&app, repos[0], "CYCLONEDX", &vex).await;
        assert_eq!(counts(&scan), [2, 0, 0, 0, 0]);
        let scan = ingest(&app, repos[0], "CYCLONEDX", &clean).await;
        assert_eq!(counts(&scan), [0, 0, 0, 0, 0]);
        let warning = scan["warnings"][0].as_str().unwrap();
        assert!(warning.contains("does not name the tool"), "{warning}");
        assert_eq!(open_of(&findings_of(&app, repos[0]).await).len(), 2);

        // With an explicit source, a full scan of that source resolves; another source does not.
        let body = ingest_from(&app, repos[1], "CYCLONEDX", &vex, "vex-feed").await;
        let scan = &body["data"]["ingestScan"]["scan"];
        assert_eq!(scan["sources"], json!(["cyclonedx | vex-feed"]));
        assert_eq!(counts(scan), [2, 0, 0, 0, 0]);
        let body = ingest_from(&app, repos[1], "CYCLONEDX", &clean, "pip-audit-ci").await;
        assert_eq!(counts(&body["data"]["ingestScan"]["scan"]), [0, 0, 0, 0, 0]);
        let response = app
            .client
            .post(app.url(&format!(
                "/api/code/repositories/{}/scans?format=cyclonedx&source=vex-feed",
                repos[1]
            )))
            .bearer_auth(app.token(&TECH_A))
            .body(clean.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scan"]["sources"], json!(["cyclonedx | vex-feed"]));
        assert_eq!(counts(&body["scan"]), [0, 0, 0, 2, 0]);
        assert!(open_of(&findings_of(&app, repos[1]).await).is_empty());

        let body = ingest_from(&app, repos[1], "CYCLONEDX", &clean, "  ").await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
);

both!(a_failed_run_resolves_nothing, |backend| async move {
    let app = spawn_app(backend).await;
    let repo = setup(&app, 1).await[0];
    let doc = fixture_json("gitleaks-git.sarif.json");
    let scan = ingest(&app, repo, "SARIF", &doc.to_string()).await;
    assert_eq!(counts(&scan), [3, 0, 0, 0, 3]);

    let mut null = doc.clone();
    null["runs"][0]["results"] = Value::Null;
    let mut missing = doc.clone();
    missing["runs"][0]
        .as_object_mut()
        .unwrap()
        .remove("results");
    let mut failed = doc.clone();
    failed["runs"][0]["results"] = json!([]);
    failed["runs"][0]["invocations"] = json!([{ "executionSuccessful": false }]);
    for (broken, why) in [
        (null, "has no results (missing or null)"),
        (missing, "has no results (missing or null)"),
        (failed, "reports executionSuccessful: false"),
    ] {
        let scan = ingest(&app, repo, "SARIF", &broken.to_string()).await;
        assert_eq!(counts(&scan), [0, 0, 0, 0, 0]);
        assert_eq!(
            scan["warnings"],
            json!([format!(
                "run 0 (gitleaks) {why}: a failed scan, it resolved nothing"
            )])
        );
    }
    assert_eq!(open_of(&findings_of(&app, repo).await).len(), 3);
    // The next good scan finds them as they were: no secret announced again.
    let scan = ingest(&app, repo, "SARIF", &doc.to_string()).await;
    assert_eq!(counts(&scan), [0, 0, 3, 0, 0]);
    assert_eq!(secret_events(&app).await.len(), 3);
});
