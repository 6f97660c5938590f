//! The demo-data switch: `demo_data::seed` fills one tenant with data the API serves,
//! covers every kind, severity and state, is idempotent, and stays inside its tenant.

use std::collections::HashSet;

use entities::enums::{AgentStatus, FindingKind, JobKind, JobStatus};
use entities::{agents, findings, jobs, tenants};
use sea_orm::{ColumnTrait, EntityTrait, Iterable, QueryFilter};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Who, spawn_app};

const TOTALS: &str = "{
  organizations(first: 100) { totalCount nodes { provider } }
  repositories(first: 1) { totalCount }
  findings(first: 1) { totalCount }
  recommendations(first: 1) { totalCount }
}";

const FINDINGS_OF_KIND: &str =
    "query($kind: FindingKind) { findings(first: 1, filter: { kind: $kind }) { totalCount } }";

const FINDINGS_OF_SEVERITY: &str = "query($severity: [Severity!]) {
  findings(first: 1, filter: { severity: $severity }) { totalCount } }";

fn count(body: &Value, field: &str) -> u64 {
    body["data"][field]["totalCount"]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field}.totalCount in {body}"))
}

both!(demo_seed_fills_one_tenant_once, |backend| async move {
    let app = spawn_app(backend).await;
    let summary = demo_data::seed(&app.services.db, "tenant-a", "Tenant A")
        .await
        .unwrap();
    assert!(!summary.already_seeded);
    assert!(summary.projects > 0 && summary.agents > 0 && summary.jobs > 0);
    let token = app.token(&Who::ADMIN_A);

    let (status, body) = app.gql(&token, TOTALS, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    assert!(count(&body, "organizations") >= 6);
    assert_eq!(count(&body, "organizations"), summary.organizations);
    let providers: HashSet<&str> = body["data"]["organizations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        providers,
        HashSet::from(["GITHUB", "GITLAB", "AZURE_DEVOPS"])
    );
    let repositories = count(&body, "repositories");
    assert!((200..=500).contains(&repositories), "{repositories}");
    assert_eq!(repositories, summary.repositories);
    assert_eq!(count(&body, "findings"), summary.findings);
    assert_eq!(count(&body, "recommendations"), summary.recommendations);
    assert!(summary.recommendations > 0);

    let mut by_kind = 0;
    for kind in [
        "SECRET_DETECTED",
        "VULNERABILITY",
        "ACCESS_ISSUE",
        "SUNSET_DECISION",
    ] {
        let (_, body) = app
            .gql(&token, FINDINGS_OF_KIND, json!({ "kind": kind }))
            .await;
        let n = count(&body, "findings");
        assert!(n > 0, "no {kind} findings");
        by_kind += n;
    }
    assert_eq!(by_kind, summary.findings);
    let mut by_severity = 0;
    for severity in ["CRITICAL", "HIGH", "MEDIUM", "LOW"] {
        let (_, body) = app
            .gql(
                &token,
                FINDINGS_OF_SEVERITY,
                json!({ "severity": [severity] }),
            )
            .await;
        let n = count(&body, "findings");
        assert!(n > 0, "no {severity} findings");
        by_severity += n;
    }
    assert_eq!(by_severity, summary.findings);

    // Idempotent: a second run finds the data and writes nothing.
    let again = demo_data::seed(&app.services.db, "tenant-a", "Tenant A")
        .await
        .unwrap();
    assert!(again.already_seeded);
    assert_eq!(
        demo_data::DemoSummary {
            already_seeded: false,
            ..again
        },
        summary
    );
    let (_, body) = app.gql(&token, TOTALS, json!({})).await;
    assert_eq!(count(&body, "repositories"), summary.repositories);
    assert_eq!(count(&body, "findings"), summary.findings);

    // Another tenant sees none of it.
    let (_, body) = app.gql(&app.token(&Who::ADMIN_B), TOTALS, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(count(&body, "organizations"), 0);
    assert_eq!(count(&body, "repositories"), 0);
    assert_eq!(count(&body, "findings"), 0);

    // The Migrate side and the access-issue kinds, straight from the database.
    let db = &app.services.db;
    let tenant = tenants::Entity::find()
        .filter(tenants::Column::HubTenantId.eq("tenant-a"))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let jobs = jobs::Entity::find()
        .filter(jobs::Column::TenantId.eq(tenant))
        .all(db)
        .await
        .unwrap();
    assert_eq!(jobs.len() as u64, summary.jobs);
    let statuses: HashSet<JobStatus> = jobs.iter().map(|j| j.status).collect();
    assert_eq!(statuses, JobStatus::iter().collect());
    let kinds: HashSet<JobKind> = jobs.iter().map(|j| j.kind).collect();
    assert_eq!(kinds, JobKind::iter().collect());
    for job in &jobs {
        match job.status {
            JobStatus::Completed => {
                assert_eq!(Some(job.items_done), job.items_total, "{}", job.name);
                assert!(job.gb_transferred > 0.0, "{}", job.name);
                assert!(job.finished_at.is_some(), "{}", job.name);
            }
            JobStatus::Queued => {
                assert_eq!(job.items_done, 0, "{}", job.name);
                assert_eq!(job.bytes_done, 0, "{}", job.name);
                assert_eq!(job.gb_transferred, 0.0, "{}", job.name);
                assert!(job.started_at.is_none(), "{}", job.name);
            }
            JobStatus::Failed => assert!(job.error.is_some(), "{}", job.name),
            _ => {}
        }
        if job.kind == JobKind::Mailbox {
            assert!(job.mailbox_count > 0, "{}", job.name);
        }
    }
    let agents = agents::Entity::find()
        .filter(agents::Column::TenantId.eq(tenant))
        .all(db)
        .await
        .unwrap();
    let agent_statuses: HashSet<AgentStatus> = agents.iter().map(|a| a.status).collect();
    assert_eq!(agent_statuses, AgentStatus::iter().collect());
    assert!(agents.iter().all(|a| a.api_key_hash.len() == 64));

    let access = findings::Entity::find()
        .filter(findings::Column::TenantId.eq(tenant))
        .filter(findings::Column::Kind.eq(FindingKind::AccessIssue))
        .all(db)
        .await
        .unwrap();
    let issues: HashSet<_> = access.iter().filter_map(|f| f.access_issue).collect();
    assert_eq!(issues.len(), 3);
});

/// `stack-gateway demo` and `serve --demo` refuse a production deployment before they touch its
/// database (nothing is created in the data directory).
#[test]
fn demo_data_is_refused_in_production() {
    for args in [&["demo"][..], &["serve", "--demo"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_stack-gateway"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GATEWAY_ENV", "production")
            .env("PORTAL_SSO_SECRET", crate::helpers::SECRET)
            .env("GATEWAY_ENCRYPTION_KEY", "2a".repeat(32))
            .env("DATA_DIR", dir.path())
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains("GATEWAY_ENV is production"),
            "{args:?}: {stderr}"
        );
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(files.is_empty(), "{args:?} wrote {files:?}");
    }
}
