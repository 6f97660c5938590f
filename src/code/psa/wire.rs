//! The PSA wire shapes (docs/psa-crm.md) and how a finding or recommendation maps onto them.

use entities::enums::{AccessIssue, FindingKind, Severity};
use entities::{clients, findings, recommendations, repositories};
use serde::{Deserialize, Serialize};

use crate::code::insight::{RepositoryRef, UpstreamId, hours};

/// The client as PSA knows it.
#[derive(Serialize, Debug)]
pub struct ClientRef {
    pub name: String,
    pub psa_client_id: Option<String>,
}

impl From<&clients::Model> for ClientRef {
    fn from(client: &clients::Model) -> Self {
        ClientRef {
            name: client.name.clone(),
            psa_client_id: client.psa_client_id.clone(),
        }
    }
}

/// A vulnerable package.
#[derive(Serialize, Debug)]
pub struct PackageRef {
    pub name: String,
    pub version: Option<String>,
}

/// `POST {PSA_API_URL}/tickets`.
#[derive(Serialize, Debug)]
pub struct TicketRequest {
    pub finding_type: &'static str,
    pub priority: &'static str,
    pub severity: &'static str,
    pub title: String,
    pub description: String,
    pub repository: RepositoryRef,
    pub client: Option<ClientRef>,
    pub file_path: Option<String>,
    pub line: Option<i32>,
    pub cve_id: Option<String>,
    pub package: Option<PackageRef>,
    pub access_issue: Option<&'static str>,
    pub secret_type: Option<String>,
    pub remediation_steps: Vec<String>,
    pub finding_id: String,
    pub finding_url: String,
}

/// `POST {PSA_API_URL}/projects`.
#[derive(Serialize, Debug)]
pub struct ProjectRequest {
    pub finding_type: &'static str,
    pub title: String,
    pub description: String,
    pub steps: Vec<String>,
    pub estimate_hours: f64,
    pub target_platform: Option<String>,
    pub repository: RepositoryRef,
    pub client: Option<ClientRef>,
    pub recommendation_id: String,
    pub recommendation_url: String,
}

/// The answer to a create: `{"id": "...", "status": "..."}`.
#[derive(Deserialize, Debug)]
pub struct Created {
    pub id: UpstreamId,
    #[serde(default)]
    pub status: Option<String>,
}

/// The answer to `GET {PSA_API_URL}/tickets/{id}` (other fields are ignored).
#[derive(Deserialize, Debug)]
pub struct TicketState {
    pub status: UpstreamId,
}

/// critical → P1, high → P2, medium → P3, low → P4.
pub fn priority(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "P1",
        Severity::High => "P2",
        Severity::Medium => "P3",
        Severity::Low => "P4",
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}

pub fn finding_type(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::SecretDetected => "secret_detected",
        FindingKind::Vulnerability => "vulnerability",
        FindingKind::AccessIssue => "access_issue",
        FindingKind::SunsetDecision => "sunset_decision",
    }
}

fn access_issue_key(issue: AccessIssue) -> &'static str {
    match issue {
        AccessIssue::PermissionDrift => "permission_drift",
        AccessIssue::OrphanedAccess => "orphaned_access",
        AccessIssue::Missing2fa => "missing_2fa",
    }
}

fn access_issue_label(issue: AccessIssue) -> &'static str {
    match issue {
        AccessIssue::PermissionDrift => "Permission drift",
        AccessIssue::OrphanedAccess => "Orphaned access",
        AccessIssue::Missing2fa => "Missing 2FA",
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The finding's own remediation (one step per line), else the standard steps for its kind.
fn remediation_steps(f: &findings::Model) -> Vec<String> {
    if let Some(text) = present(&f.remediation) {
        let steps: Vec<String> = text
            .lines()
            .map(|l| l.trim().trim_start_matches(['-', '*']).trim())
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if !steps.is_empty() {
            return steps;
        }
    }
    let file = present(&f.file_path).unwrap_or("the affected file");
    let steps: Vec<String> = match f.kind {
        FindingKind::SecretDetected => vec![
            format!(
                "Revoke and rotate the exposed {} now",
                present(&f.secret_type).unwrap_or("credential")
            ),
            format!("Remove the secret from {file} and from the repository history"),
            "Load the secret from a secrets manager or the environment instead".into(),
        ],
        FindingKind::Vulnerability => vec![
            format!(
                "Upgrade {} to a version that fixes {}",
                present(&f.package_name).unwrap_or("the affected dependency"),
                present(&f.cve_id).unwrap_or("the vulnerability")
            ),
            "Run the test suite and redeploy".into(),
        ],
        FindingKind::AccessIssue => match f.access_issue {
            Some(AccessIssue::PermissionDrift) => vec![
                "Reduce the permissions to the organization's base permission".into(),
                "Record who approved any exception that remains".into(),
            ],
            Some(AccessIssue::OrphanedAccess) => {
                vec!["Remove the collaborator's access, or confirm it is still needed".into()]
            }
            Some(AccessIssue::Missing2fa) => vec![
                "Ask the member to enable two-factor authentication".into(),
                "Require 2FA for the organization, or remove the member".into(),
            ],
            None => vec!["Review the access and correct it".into()],
        },
        FindingKind::SunsetDecision => vec![
            "Confirm the retirement date with the application owner".into(),
            "Back up and archive the repository".into(),
            "Decommission the hosting and revoke the application's access".into(),
        ],
    };
    steps
}

fn numbered(steps: &[String]) -> String {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {s}", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ticket for a finding.
pub fn ticket(
    f: &findings::Model,
    repo: &repositories::Model,
    client: Option<&clients::Model>,
    finding_id: String,
    finding_url: String,
) -> TicketRequest {
    let access = f
        .access_issue
        .filter(|_| f.kind == FindingKind::AccessIssue);
    let cve = present(&f.cve_id);
    let package = present(&f.package_name);
    let file = present(&f.file_path);
    let issue = f.title.trim();
    let title = match f.kind {
        FindingKind::Vulnerability => match (cve, package) {
            (Some(cve), Some(pkg)) => format!("{cve} in {pkg}: {issue}"),
            (Some(cve), None) => format!("{cve}: {issue}"),
            (None, Some(pkg)) => format!("Vulnerable {pkg}: {issue}"),
            (None, None) => format!("Vulnerability: {issue}"),
        },
        FindingKind::SecretDetected => match file {
            Some(file) => format!("Secret detected in {file}: {issue}"),
            None => format!("Secret detected: {issue}"),
        },
        FindingKind::AccessIssue => match access {
            Some(a) => format!("{}: {issue}", access_issue_label(a)),
            None => format!("Access issue: {issue}"),
        },
        FindingKind::SunsetDecision => format!("Sunset decision: {issue}"),
    };
    let title = format!("{title} ({})", repo.full_name);
    let steps = remediation_steps(f);
    let mut facts = vec![
        format!("Finding type: {}", finding_type(f.kind)),
        format!(
            "Severity: {} (priority {})",
            severity_name(f.severity),
            priority(f.severity)
        ),
        format!("Repository: {} ({})", repo.full_name, repo.url),
    ];
    if let Some(file) = file {
        match f.line {
            Some(line) => facts.push(format!("File: {file}, line {line}")),
            None => facts.push(format!("File: {file}")),
        }
    }
    if let Some(cve) = cve {
        facts.push(format!("CVE: {cve}"));
    }
    if let Some(pkg) = package {
        match present(&f.package_version) {
            Some(v) => facts.push(format!("Package: {pkg} {v}")),
            None => facts.push(format!("Package: {pkg}")),
        }
    }
    if let Some(a) = access {
        facts.push(format!("Access issue: {}", access_issue_label(a)));
    }
    if let Some(secret) = present(&f.secret_type) {
        facts.push(format!("Secret type: {secret}"));
    }
    if let Some(tool) = present(&f.tool) {
        facts.push(format!("Reported by: {tool}"));
    }
    let description = format!(
        "{}\n\n{}\n\nRemediation steps:\n{}\n\nFinding in The One Code: {finding_url}",
        f.description.trim(),
        facts.join("\n"),
        numbered(&steps)
    );
    TicketRequest {
        finding_type: finding_type(f.kind),
        priority: priority(f.severity),
        severity: severity_name(f.severity),
        title,
        description,
        repository: repo.into(),
        client: client.map(Into::into),
        file_path: file.map(str::to_string),
        line: f.line,
        cve_id: cve.map(str::to_string),
        package: package.map(|name| PackageRef {
            name: name.to_string(),
            version: present(&f.package_version).map(str::to_string),
        }),
        access_issue: access.map(access_issue_key),
        secret_type: present(&f.secret_type).map(str::to_string),
        remediation_steps: steps,
        finding_id,
        finding_url,
    }
}

/// The project for a migration recommendation.
pub fn project(
    rec: &recommendations::Model,
    repo: &repositories::Model,
    client: Option<&clients::Model>,
    recommendation_id: String,
    recommendation_url: String,
) -> ProjectRequest {
    let steps: Vec<String> = serde_json::from_value::<Vec<String>>(rec.steps.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let mut facts = vec![format!("Repository: {} ({})", repo.full_name, repo.url)];
    if let Some(target) = present(&rec.target_platform) {
        facts.push(format!("Target platform: {target}"));
    }
    facts.push(format!(
        "Effort estimate: {} hours",
        hours(rec.effort_hours)
    ));
    let description = format!(
        "{}\n\n{}\n\nMigration steps:\n{}\n\nRecommendation in The One Code: {recommendation_url}",
        rec.summary.trim(),
        facts.join("\n"),
        numbered(&steps)
    );
    ProjectRequest {
        finding_type: "migration_recommendation",
        title: format!("Migration: {} ({})", rec.title.trim(), repo.full_name),
        description,
        steps,
        estimate_hours: rec.effort_hours,
        target_platform: present(&rec.target_platform).map(str::to_string),
        repository: repo.into(),
        client: client.map(Into::into),
        recommendation_id,
        recommendation_url,
    }
}
