//! One finding per real result: gitleaks' shared and empty fingerprints, Semgrep's placeholder,
//! Trivy's packages all at line 1, Bandit's quoted passwords that must never be stored, and
//! findings stored under the identity of before taken over rather than announced again.

use chrono::Utc;
use entities::enums::{FindingKind, FindingStatus, Severity};
use entities::findings;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use stack_gateway::code::scans::fingerprint;
use uuid::Uuid;

use crate::both;
use crate::helpers::{TestApp, Who, spawn_app};
use crate::scans::{
    counts, findings_of, fixture, fixture_json, ingest, ingest_as, org_of, secret_events, setup,
};

/// The secret values in tests/api/fixtures (sample keys written for the scanners to find).
const SECRETS: [&str; 8] = [
    "AKIAZ5YQ2D7W3XKJ4PLM",
    "AKIA4MTWNQ7R2LHX6YBE",
    "AKIAQ3VX7ZP2MNK5RT4D",
    "ghp_4fT9kL2mQ8rV6wX1yZ3aB5cD7eF9gH0jK2lM",
    "q8Kd7+Vb2Lr9Xw4Zp1Tn6Ym3Hc5Gf0Js8Ae2Ru7Wi",
    "hunter2-prod-Zq81xK",
    "s3cr3t-Default-Pw",
    "xoxb-123456789012",
];

async fn assert_no_secret_stored(app: &TestApp, response: &Value) {
    let rows = serde_json::to_string(
        &findings::Entity::find()
            .all(&app.services.db)
            .await
            .unwrap(),
    )
    .unwrap();
    let answered = response.to_string();
    for secret in SECRETS {
        assert!(!rows.contains(secret), "{secret} stored: {rows}");
        assert!(!answered.contains(secret), "{secret} answered: {answered}");
    }
}

/// (secret type, line) of a repository's findings, by line.
async fn secrets_by_line(app: &TestApp, repo: Uuid) -> Vec<(String, i32)> {
    let mut rows: Vec<_> = findings_of(app, repo)
        .await
        .into_iter()
        .map(|f| {
            assert_eq!(
                (f.kind, f.severity),
                (FindingKind::SecretDetected, Severity::High)
            );
            assert_eq!(f.file_path.as_deref(), Some("config/settings.py"));
            (f.secret_type.unwrap(), f.line.unwrap())
        })
        .collect();
    rows.sort_by_key(|r| r.1);
    rows
}

both!(
    gitleaks_keys_with_shared_or_empty_fingerprints,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repos = setup(&app, 2).await;
        let org = org_of(&app, repos[0]).await;
        let event = |kind: &str, repo: Uuid| json!({ "repo_id": repo, "org_id": org, "secret_type": kind, "severity": "high" });
        // `gitleaks git`: three leaks of one commit, all with the same partialFingerprints.
        let body = ingest_as(
            &app,
            &Who::ADMIN_A,
            repos[0],
            "SARIF",
            &fixture("gitleaks-git.sarif.json"),
        )
        .await;
        let scan = &body["data"]["ingestScan"]["scan"];
        assert_eq!(
            (scan["tool"].as_str(), counts(scan)),
            (Some("gitleaks"), [3, 0, 0, 0, 3])
        );
        let aws = "aws-access-token".to_string();
        let pat = "github-pat".to_string();
        assert_eq!(
            secrets_by_line(&app, repos[0]).await,
            [(aws.clone(), 3), (aws.clone(), 4), (pat.clone(), 5)]
        );
        assert_eq!(
            secret_events(&app).await,
            [
                event("aws-access-token", repos[0]),
                event("aws-access-token", repos[0]),
                event("github-pat", repos[0])
            ]
        );
        assert_no_secret_stored(&app, &body).await;

        // `gitleaks dir`: the same leaks with every fingerprint empty, then a fourth key added.
        let scan = ingest(&app, repos[1], "SARIF", &fixture("gitleaks-dir.sarif.json")).await;
        assert_eq!(counts(&scan), [3, 0, 0, 0, 3]);
        let body = ingest_as(
            &app,
            &Who::ADMIN_A,
            repos[1],
            "SARIF",
            &fixture("gitleaks-dir-added.sarif.json"),
        )
        .await;
        assert_eq!(counts(&body["data"]["ingestScan"]["scan"]), [1, 0, 3, 0, 1]);
        assert_eq!(
            secrets_by_line(&app, repos[1]).await,
            [(aws.clone(), 3), (aws.clone(), 4), (pat, 5), (aws, 6)]
        );
        let events = secret_events(&app).await;
        assert_eq!(events.len(), 7);
        assert_eq!(events[6], event("aws-access-token", repos[1]));
        assert_no_secret_stored(&app, &body).await;
    }
);

both!(
    semgrep_placeholder_fingerprints_keep_seven_results_apart,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repo = setup(&app, 1).await[0];
        let doc = fixture("semgrep.sarif.json");
        let scan = ingest(&app, repo, "SARIF", &doc).await;
        assert_eq!(
            (scan["tool"].as_str(), counts(&scan)),
            (Some("Semgrep OSS"), [7, 0, 0, 0, 0])
        );
        let mut got: Vec<_> = findings_of(&app, repo)
            .await
            .into_iter()
            .map(|f| (f.line.unwrap(), f.title, f.severity))
            .collect();
        got.sort_by_key(|g| g.0);
        let want = [
            (
                11,
                "Deserializing untrusted data with pickle can execute arbitrary code.",
                Severity::High,
            ),
            (
                15,
                "subprocess called with shell=True; pass a list of arguments instead.",
                Severity::High,
            ),
            (
                20,
                "SQL built with string formatting; use query parameters.",
                Severity::Medium,
            ),
            (25, "MD5 is not a secure hash.", Severity::Medium),
            (
                29,
                "eval() on input executes arbitrary code.",
                Severity::High,
            ),
            (37, "Hard-coded path in /tmp.", Severity::Low),
            (
                41,
                "eval() on input executes arbitrary code.",
                Severity::High,
            ),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(l, t, s)| (*l, t.to_string(), *s))
            .collect();
        assert_eq!(got, want);
        let scan = ingest(&app, repo, "SARIF", &doc).await;
        assert_eq!(counts(&scan), [0, 0, 7, 0, 0]);
    }
);

both!(
    trivy_packages_all_at_line_1_stay_apart,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repo = setup(&app, 1).await[0];
        let doc = fixture("trivy-alpine-310.sarif.json");
        let scan = ingest(&app, repo, "SARIF", &doc).await;
        assert_eq!(
            (scan["tool"].as_str(), counts(&scan)),
            (Some("Trivy"), [8, 0, 0, 0, 0])
        );
        let rows = findings_of(&app, repo).await;
        let mut got: Vec<_> = rows
            .iter()
            .map(|f| (f.title.as_str(), f.cve_id.as_deref().unwrap(), f.severity))
            .collect();
        got.sort_by(|a, b| a.0.cmp(b.0));
        let mut want = vec![];
        for package in ["libcrypto1.1", "libssl1.1"] {
            for (cve, severity) in [
                ("CVE-2019-1547", Severity::Low),
                ("CVE-2019-1549", Severity::Medium),
                ("CVE-2019-1551", Severity::Medium),
                ("CVE-2019-1563", Severity::Medium),
            ] {
                want.push((format!("{cve} in {package} 1.1.1c-r0"), cve, severity));
            }
        }
        let mut want: Vec<_> = want.iter().map(|(t, c, s)| (t.as_str(), *c, *s)).collect();
        want.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(got, want);
        assert!(rows.iter().all(|f| f.line == Some(1)
            && f.file_path.as_deref() == Some("testdata/fixtures/images/alpine-310.tar.gz")
            && f.package_version.as_deref() == Some("1.1.1c-r0")));
        let scan = ingest(&app, repo, "SARIF", &doc).await;
        assert_eq!(counts(&scan), [0, 0, 8, 0, 0]);
    }
);

both!(
    bandit_passwords_are_never_stored_or_answered,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repo = setup(&app, 1).await[0];
        let body = ingest_as(
            &app,
            &Who::ADMIN_A,
            repo,
            "SARIF",
            &fixture("bandit.sarif.json"),
        )
        .await;
        let scan = &body["data"]["ingestScan"]["scan"];
        assert_eq!(
            (scan["tool"].as_str(), counts(scan)),
            (Some("Bandit"), [12, 0, 0, 0, 0])
        );
        let rows = findings_of(&app, repo).await;
        let mut passwords: Vec<_> = rows
            .iter()
            .filter(|f| f.title.starts_with("hardcoded_password"))
            .map(|f| {
                (
                    f.file_path.clone().unwrap(),
                    f.line.unwrap(),
                    f.description.as_str(),
                    f.severity,
                )
            })
            .collect();
        passwords.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let said = "Possible hardcoded password: '[REDACTED]'";
        assert_eq!(
            passwords,
            [
                ("app/settings.py".to_string(), 2, said, Severity::Low),
                ("app/settings.py".to_string(), 3, said, Severity::Low),
                ("app/views.py".to_string(), 7, said, Severity::Low),
                ("app/views.py".to_string(), 32, said, Severity::Low),
            ]
        );
        let shell = rows.iter().find(|f| f.line == Some(15)).unwrap();
        assert_eq!(
            (
                shell.title.as_str(),
                shell.description.as_str(),
                shell.severity
            ),
            (
                "subprocess_popen_with_shell_equals_true",
                "subprocess call with shell=True identified, security issue.",
                Severity::High
            )
        );
        assert!(rows.iter().all(|f| f.kind == FindingKind::Vulnerability));
        assert!(secret_events(&app).await.is_empty());
        assert_no_secret_stored(&app, &body).await;
    }
);

/// Stores a finding as ingestion did before identity was location-first.
async fn store_legacy(app: &TestApp, repo: Uuid, secret_type: &str, line: i32, key: &str) -> Uuid {
    let tenant = app.tenant("tenant-a").await;
    let now = Utc::now();
    let id = Uuid::now_v7();
    let row = findings::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        repository_id: Set(repo),
        kind: Set(FindingKind::SecretDetected),
        access_issue: Set(None),
        severity: Set(Severity::High),
        status: Set(FindingStatus::Open),
        title: Set(format!("Secret detected: {secret_type}")),
        description: Set("stored before".into()),
        file_path: Set(Some("config/settings.py".into())),
        line: Set(Some(line)),
        cve_id: Set(None),
        package_name: Set(None),
        package_version: Set(None),
        secret_type: Set(Some(secret_type.into())),
        remediation: Set(None),
        fingerprint: Set(fingerprint(repo, "gitleaks", key)),
        tool: Set(Some("gitleaks".into())),
        scan_source: Set(None),
        first_seen_at: Set(now),
        last_seen_at: Set(now),
        resolved_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    findings::Entity::insert(row)
        .exec(&app.services.db)
        .await
        .unwrap();
    id
}

both!(
    findings_stored_before_are_taken_over_not_announced,
    |backend| async move {
        let app = spawn_app(backend).await;
        let repo = setup(&app, 1).await[0];
        // Before: key `rule|file|partialFingerprints`, so the two AWS keys of one commit were one.
        let doc = fixture_json("gitleaks-git.sarif.json");
        let partial = &doc["runs"][0]["results"][0]["partialFingerprints"];
        let mut pairs: Vec<_> = partial
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        pairs.sort();
        let identity = pairs.join(",");
        let aws = store_legacy(
            &app,
            repo,
            "aws-access-token",
            3,
            &format!("aws-access-token|config/settings.py|{identity}"),
        )
        .await;
        let pat = store_legacy(
            &app,
            repo,
            "github-pat",
            5,
            &format!("github-pat|config/settings.py|{identity}"),
        )
        .await;

        let scan = ingest(&app, repo, "SARIF", &doc.to_string()).await;
        // The second AWS key was never stored: it alone is new and announced.
        assert_eq!(counts(&scan), [1, 2, 0, 0, 1]);
        assert_eq!(secret_events(&app).await.len(), 1);
        let rows = findings_of(&app, repo).await;
        assert_eq!(rows.len(), 3);
        let taken: Vec<_> = rows.iter().filter(|f| f.id == aws || f.id == pat).collect();
        assert_eq!(taken.len(), 2);
        assert!(
            taken
                .iter()
                .all(|f| f.status == FindingStatus::Open && f.description != "stored before")
        );
        // Taken over once: the next upload finds them under today's identity.
        let scan = ingest(&app, repo, "SARIF", &doc.to_string()).await;
        assert_eq!(counts(&scan), [0, 0, 3, 0, 0]);
    }
);
