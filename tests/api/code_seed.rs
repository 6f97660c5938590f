//! Code rows for the PSA and CRM tests: a client, an organization, repositories, findings and
//! recommendations shaped one at a time.

use chrono::Utc;
use entities::enums::{
    AccessIssue, FindingKind, FindingStatus, Lifecycle, OrgStatus, Provider, Severity,
};
use entities::{clients, findings, organizations, recommendations, repositories};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;

/// The global ID clients see.
pub fn gid(type_name: &str, id: Uuid) -> String {
    stack_gateway::graphql::relay::global_id(type_name, id).0
}

async fn insert<A>(app: &TestApp, model: <A::Entity as EntityTrait>::Model)
where
    A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let active: A = model.into_active_model().reset_all();
    <A::Entity as EntityTrait>::insert(active)
        .exec_without_returning(&app.services.db)
        .await
        .unwrap();
}

pub async fn client(
    app: &TestApp,
    tenant: Uuid,
    name: &str,
    psa: Option<&str>,
    crm: Option<&str>,
) -> clients::Model {
    let now = Utc::now();
    let row = clients::Model {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        name: name.into(),
        psa_client_id: psa.map(Into::into),
        crm_account_id: crm.map(Into::into),
        archived_at: None,
        created_at: now,
        updated_at: now,
    };
    insert::<clients::ActiveModel>(app, row.clone()).await;
    row
}

pub async fn organization(
    app: &TestApp,
    tenant: Uuid,
    login: &str,
    client: Option<Uuid>,
) -> organizations::Model {
    let now = Utc::now();
    let row = organizations::Model {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        client_id: client,
        provider: Provider::Github,
        login: login.into(),
        name: login.to_uppercase(),
        external_id: None,
        status: OrgStatus::Connected,
        status_error: None,
        status_error_code: None,
        base_permission: Some("read".into()),
        credentials_encrypted: None,
        repo_count: 1,
        connected_at: Some(now),
        last_discovered_at: None,
        next_retry_at: None,
        discovery_queued_at: None,
        last_discovery: None,
        created_at: now,
        updated_at: now,
    };
    insert::<organizations::ActiveModel>(app, row.clone()).await;
    row
}

pub async fn repository(
    app: &TestApp,
    org: &organizations::Model,
    name: &str,
    shape: impl FnOnce(&mut repositories::Model),
) -> repositories::Model {
    let now = Utc::now();
    let mut row = repositories::Model {
        id: Uuid::now_v7(),
        tenant_id: org.tenant_id,
        organization_id: org.id,
        client_id: None,
        name: name.into(),
        full_name: format!("{}/{name}", org.login),
        url: format!("https://github.com/{}/{name}", org.login),
        default_branch: Some("main".into()),
        visibility: Some("private".into()),
        archived: false,
        app_type: Some("web".into()),
        tech_stack: json!(["node", "postgresql"]),
        health_score: Some(70),
        debt_score: Some(30),
        last_commit_at: Some(now),
        commit_frequency: Some(3.0),
        hosting_platform: Some("azure".into()),
        data_classification: Some("internal".into()),
        lifecycle: Lifecycle::Active,
        app_type_overridden: false,
        hosting_platform_overridden: false,
        data_classification_overridden: false,
        lifecycle_reason: None,
        lifecycle_changed_at: None,
        external_id: None,
        missing_since: None,
        created_at: now,
        updated_at: now,
    };
    shape(&mut row);
    insert::<repositories::ActiveModel>(app, row.clone()).await;
    row
}

pub async fn finding(
    app: &TestApp,
    repo: &repositories::Model,
    kind: FindingKind,
    severity: Severity,
    title: &str,
    shape: impl FnOnce(&mut findings::Model),
) -> findings::Model {
    let now = Utc::now();
    let id = Uuid::now_v7();
    let mut row = findings::Model {
        id,
        tenant_id: repo.tenant_id,
        repository_id: repo.id,
        kind,
        access_issue: None,
        severity,
        status: FindingStatus::Open,
        title: title.into(),
        description: format!("{title}: details from the scanner."),
        file_path: None,
        line: None,
        cve_id: None,
        package_name: None,
        package_version: None,
        secret_type: None,
        remediation: None,
        fingerprint: format!("fp-{id}"),
        tool: None,
        scan_source: None,
        first_seen_at: now,
        last_seen_at: now,
        resolved_at: None,
        created_at: now,
        updated_at: now,
    };
    shape(&mut row);
    insert::<findings::ActiveModel>(app, row.clone()).await;
    row
}

/// An access-audit finding of the given kind.
pub async fn access_finding(
    app: &TestApp,
    repo: &repositories::Model,
    issue: AccessIssue,
    severity: Severity,
    title: &str,
) -> findings::Model {
    finding(app, repo, FindingKind::AccessIssue, severity, title, |f| {
        f.access_issue = Some(issue);
        f.tool = Some("access-audit".into());
    })
    .await
}

pub async fn recommendation(
    app: &TestApp,
    repo: &repositories::Model,
    title: &str,
    steps: &[&str],
    effort_hours: f64,
) -> recommendations::Model {
    let now = Utc::now();
    let row = recommendations::Model {
        id: Uuid::now_v7(),
        tenant_id: repo.tenant_id,
        repository_id: repo.id,
        title: title.into(),
        summary: format!("Why: {title}."),
        target_platform: Some("Azure App Service".into()),
        steps: json!(steps),
        effort_hours,
        created_at: now,
        updated_at: now,
    };
    insert::<recommendations::ActiveModel>(app, row.clone()).await;
    row
}
