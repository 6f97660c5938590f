//! Documents as current tools write them (see tests/api/fixtures/README.md for where each one
//! comes from): CycloneDX 1.7 from the spec and its Python library, VEX analyses, CodeQL's rules
//! in query packs, Grype's SARIF rule ids, a byte-order mark, and refusals that say what is wrong.

use entities::enums::{FindingKind, FindingStatus, Severity};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Who, spawn_app};
use crate::scans::{
    counts, findings_of, fixture, fixture_json, ingest, ingest_with, refused, setup, titled,
};

fn doc(value: &Value) -> String {
    value.to_string()
}

both!(cyclonedx_1_7_and_vex_analyses, |backend| async move {
    let app = spawn_app(backend).await;
    let repos = setup(&app, 3).await;

    // The spec's own 1.7 example, its VEX analysis (not_affected) taken out: one open finding.
    let mut open = fixture_json("cdx-spec-vulnerability-1.7.cdx.json");
    open["vulnerabilities"][0]
        .as_object_mut()
        .unwrap()
        .remove("analysis");
    let scan = ingest(&app, repos[0], "CYCLONEDX", &doc(&open)).await;
    assert_eq!(counts(&scan), [1, 0, 0, 0, 0]);
    // The spec's example names no tool: its full scans resolve nothing (scans_sources.rs).
    let warning = scan["warnings"][0].as_str().unwrap();
    assert!(warning.contains("does not name the tool"), "{warning}");
    let rows = findings_of(&app, repos[0]).await;
    let jackson = titled(
        &rows,
        "SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111 in jackson-databind 2.9.4",
    );
    assert_eq!(jackson.severity, Severity::Critical);
    assert_eq!(jackson.cve_id.as_deref(), Some("CVE-2018-7489"));
    assert_eq!(
        (
            jackson.package_name.as_deref(),
            jackson.package_version.as_deref()
        ),
        (Some("jackson-databind"), Some("2.9.4"))
    );
    assert!(
        jackson
            .description
            .starts_with("FasterXML jackson-databind before 2.7.9.3")
            && jackson.description.ends_with(
                "Affected component: pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.4"
            ),
        "{}",
        jackson.description
    );
    // The document as published says not_affected: the open finding closes, even incrementally.
    let spec = fixture("cdx-spec-vulnerability-1.7.cdx.json");
    let scan = ingest_with(&app, &Who::ADMIN_A, repos[0], "CYCLONEDX", &spec, false).await;
    assert_eq!(counts(&scan["data"]["ingestScan"]["scan"]), [0, 0, 0, 1, 0]);
    let jackson = findings_of(&app, repos[0]).await.remove(0);
    assert_eq!(jackson.status, FindingStatus::Resolved);
    // Again: nothing to close, nothing opens.
    let scan = ingest(&app, repos[0], "CYCLONEDX", &spec).await;
    assert_eq!(counts(&scan), [0, 0, 0, 0, 0]);
    assert_eq!(findings_of(&app, repos[0]).await.len(), 1);

    // cyclonedx-python-lib's snapshot: `exploitable` opens, with the worst of two ratings.
    let scan = ingest(
        &app,
        repos[1],
        "CYCLONEDX",
        &fixture("cdx-lib-setuptools-1.7.cdx.json"),
    )
    .await;
    assert_eq!(counts(&scan), [1, 0, 0, 0, 0]);
    let rows = findings_of(&app, repos[1]).await;
    let setuptools = titled(&rows, "CVE-2018-7489 in setuptools 50.3.2");
    assert_eq!(
        (setuptools.kind, setuptools.severity),
        (FindingKind::Vulnerability, Severity::Critical)
    );
    assert_eq!(setuptools.remediation.as_deref(), Some("Upgrade"));
    assert_eq!(
        setuptools.description,
        "A description here\n\nAffected component: pkg:pypi/setuptools@50.3.2?extension=tar.gz"
    );

    // One vulnerability per VEX state: exploitable and in_triage open, the four others do not.
    let scan = ingest(
        &app,
        repos[2],
        "CYCLONEDX",
        &fixture("cdx-lib-vex-states-1.7.cdx.json"),
    )
    .await;
    assert_eq!(counts(&scan), [2, 0, 0, 0, 0]);
    let rows = findings_of(&app, repos[2]).await;
    let titles: Vec<_> = rows
        .iter()
        .map(|f| (f.title.as_str(), f.severity))
        .collect();
    assert_eq!(
        titles,
        [
            ("vuln-wit-state-EXPLOITABLE", Severity::Medium),
            ("vuln-wit-state-IN_TRIAGE", Severity::Medium)
        ]
    );
    assert!(
        rows.iter()
            .all(|f| f.cve_id.is_none() && f.package_name.is_none())
    );

    // cyclonedx-py's 1.7 SBOM (no vulnerabilities) is clean; a later 1.x is read with a warning.
    let sbom = fixture_json("cyclonedx-py-1.7.cdx.json");
    let scan = ingest_with(
        &app,
        &Who::ADMIN_A,
        repos[1],
        "CYCLONEDX",
        &doc(&sbom),
        false,
    )
    .await;
    let scan = &scan["data"]["ingestScan"]["scan"];
    assert_eq!(
        (scan["tool"].as_str(), counts(scan)),
        (Some("cyclonedx-py"), [0, 0, 0, 0, 0])
    );
    let mut later = sbom.clone();
    later["specVersion"] = json!("1.8");
    let scan = ingest_with(
        &app,
        &Who::ADMIN_A,
        repos[1],
        "CYCLONEDX",
        &doc(&later),
        false,
    )
    .await;
    assert_eq!(
        scan["data"]["ingestScan"]["scan"]["warnings"],
        json!(["CycloneDX specVersion \"1.8\" is newer than 1.7, the latest known: read as 1.7"])
    );
    let mut major = sbom;
    major["specVersion"] = json!("2.0");
    refused(
        &app,
        &Who::ADMIN_A,
        repos[1],
        "CYCLONEDX",
        &doc(&major),
        "BAD_USER_INPUT",
        "specVersion \"2.0\" is not supported: send 1.4 to 1.7",
    )
    .await;
});

both!(codeql_rules_in_query_packs, |backend| async move {
    let app = spawn_app(backend).await;
    let repos = setup(&app, 2).await;
    let scan = ingest(&app, repos[0], "SARIF", &fixture("codeql-java.sarif.json")).await;
    assert_eq!(
        (scan["tool"].as_str(), counts(&scan)),
        (Some("CodeQL"), [2, 0, 0, 0, 0])
    );
    let rows = findings_of(&app, repos[0]).await;
    let sql = titled(&rows, "Query built from user-controlled sources");
    assert_eq!(
        sql.severity,
        Severity::High,
        "security-severity 8.8 of the pack's rule"
    );
    assert_eq!(
        sql.description,
        "This query depends on a [user-provided value](1)."
    );
    assert_eq!(
        sql.remediation.as_deref(),
        Some(
            "Use a prepared statement with parameters instead of building the query by concatenation."
        )
    );
    assert_eq!(
        (sql.file_path.as_deref(), sql.line),
        (Some("src/main/java/com/acme/UserDao.java"), Some(42))
    );
    let ssrf = titled(&rows, "Server-side request forgery");
    assert_eq!(ssrf.severity, Severity::Critical, "security-severity 9.1");

    let scan = ingest(
        &app,
        repos[1],
        "SARIF",
        &fixture("codeql-javascript.sarif.json"),
    )
    .await;
    assert_eq!(counts(&scan), [2, 0, 0, 0, 0]);
    let rows = findings_of(&app, repos[1]).await;
    let got: Vec<_> = rows
        .iter()
        .map(|f| (f.title.as_str(), f.severity))
        .collect();
    assert_eq!(
        got,
        [
            (
                "Database query built from user-controlled sources",
                Severity::High
            ),
            ("Reflected cross-site scripting", Severity::Medium)
        ]
    );
});

both!(
    grype_sarif_names_real_cves_and_a_bom_is_read,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repo = setup(&app, 1).await[0];
        let grype = fixture("grype-directory.sarif.json");
        let scan = ingest(&app, repo, "SARIF", &grype).await;
        assert_eq!(
            (scan["tool"].as_str(), counts(&scan)),
            (Some("grype"), [2, 0, 0, 0, 0])
        );
        let rows = findings_of(&app, repo).await;
        let got: Vec<_> = rows
            .iter()
            .map(|f| {
                (
                    f.title.as_str(),
                    f.cve_id.as_deref(),
                    f.severity,
                    f.package_name.as_deref(),
                    f.package_version.as_deref(),
                    f.file_path.as_deref(),
                    f.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "CVE-1999-0001 low vulnerability for package-1 package",
                    Some("CVE-1999-0001"),
                    Severity::Medium, // security-severity 4.0 wins over the text's "low"
                    Some("package-1"),
                    Some("1.1.1"),
                    Some("/some/path/somefile-1.txt"),
                    Some(1)
                ),
                (
                    "CVE-1999-0002 critical vulnerability for package-2 package",
                    Some("CVE-1999-0002"),
                    Severity::Low, // security-severity 1.0
                    Some("package-2"),
                    Some("2.2.2"),
                    Some("/some/path/somefile-2.txt"),
                    Some(1)
                ),
            ]
        );
        // The same document behind a UTF-8 byte-order mark, as Windows tools write it.
        let scan = ingest(&app, repo, "SARIF", &format!("\u{feff}{grype}")).await;
        assert_eq!(counts(&scan), [0, 0, 2, 0, 0]);
    }
);

both!(refusals_say_what_is_wrong, |backend| async move {
    let app = spawn_app(backend).await;
    let repo = setup(&app, 1).await[0];
    let a = Who::ADMIN_A;
    // Valid JSON, nested deeper than the parser follows: not called invalid JSON.
    let mut deep = fixture_json("semgrep.sarif.json");
    let mut nested = json!("bottom");
    for _ in 0..200 {
        nested = json!([nested]);
    }
    deep["runs"][0]["properties"] = json!({ "nested": nested });
    let body = crate::scans::ingest_as(&app, &a, repo, "SARIF", &doc(&deep)).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("does not match the SARIF 2.1.0 schema at runs[0].properties")
            && !message.contains("not valid JSON"),
        "{message}"
    );
    refused(
        &app,
        &a,
        repo,
        "SARIF",
        &fixture("semgrep.sarif.json")[..300],
        "BAD_USER_INPUT",
        "the document is not valid JSON: EOF while parsing",
    )
    .await;
});

both!(
    a_nul_character_is_refused_alike_on_both_databases,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repo = setup(&app, 1).await[0];
        // Valid JSON: the escape `\u0000` in a message. PostgreSQL cannot store it in text.
        let mut nul = fixture_json("semgrep.sarif.json");
        nul["runs"][0]["results"][2]["message"]["text"] = json!("SQL built with \u{0}formatting");
        refused(
            &app,
            &Who::ADMIN_A,
            repo,
            "SARIF",
            &doc(&nul),
            "BAD_USER_INPUT",
            "the document field `runs[0].results[2].message.text` contains a NUL character",
        )
        .await;
    }
);
