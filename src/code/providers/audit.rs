//! The access audit, from the provider's API, as `access_issue` findings on the repositories
//! they concern (rules in docs/providers.md):
//! - `missing_2fa`: a member listed by `members?filter=2fa_disabled` who can access the repository;
//! - `orphaned_access`: an outside collaborator of the repository with no commit in it for
//!   `INACTIVE_DAYS` (read from the repository's commits by that author);
//! - `permission_drift`: a member's direct grant or a team's permission above the organization's
//!   base permission.
//!
//! Findings have stable fingerprints, so a re-audit updates instead of duplicating; an open one
//! the audit no longer reports is resolved, a resolved one that comes back is reopened, an
//! ignored one stays ignored.

use std::collections::{HashMap, HashSet};

use chrono::{TimeDelta, Utc};
use entities::enums::{AccessIssue, FindingKind, FindingStatus, Severity};
use entities::{findings, organizations, repositories};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::kernel::errors::{ApiResult, Code};
use crate::upstream::github::{Github, rank};
use crate::upstream::provider_wire::ProviderResult;

/// The `tool` of the findings the audit owns (it resolves only these).
pub const TOOL: &str = "github-access-audit";
/// An outside collaborator without a commit in the repository for this long is orphaned.
pub const INACTIVE_DAYS: i64 = 90;

/// What one audit left behind.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub open: usize,
    pub new: usize,
    pub resolved: usize,
}

/// One problem the audit found.
#[derive(Debug, Clone)]
pub struct Issue {
    pub repository: Uuid,
    pub issue: AccessIssue,
    /// `user:<login>` or `team:<slug>`.
    pub subject: String,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub remediation: &'static str,
}

impl Issue {
    /// `sha256(tool|repository|issue|subject)`: stable across runs, distinct per audit tool.
    pub fn fingerprint(&self, tool: &str) -> String {
        let issue = match self.issue {
            AccessIssue::PermissionDrift => "permission_drift",
            AccessIssue::OrphanedAccess => "orphaned_access",
            AccessIssue::Missing2fa => "missing_2fa",
        };
        let key = format!("{tool}|{}|{issue}|{}", self.repository, self.subject);
        hex::encode(Sha256::digest(key.as_bytes()))
    }
}

/// A list the app may not be allowed to read (or a personal account has no such list): `None`.
fn optional<T>(result: ProviderResult<T>) -> ProviderResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.error.code() == Code::UpstreamRejected => Ok(None),
        Err(e) if e.error.message().contains("lacks a permission") => Ok(None),
        Err(e) => Err(e),
    }
}

fn logins(users: Option<Vec<crate::upstream::github::User>>) -> HashSet<String> {
    users
        .unwrap_or_default()
        .into_iter()
        .map(|u| u.login.to_lowercase())
        .collect()
}

/// Asks GitHub and returns every problem found, and the rules it could not judge: a list the
/// app may not read, or an unknown base permission (nothing is written here).
pub async fn collect(
    github: &Github,
    token: &str,
    org: &organizations::Model,
    repos: &[repositories::Model],
) -> ProviderResult<(Vec<Issue>, Unjudged)> {
    let no_2fa = optional(github.members_without_2fa(token, &org.login).await)?;
    let outside = optional(github.outside_collaborators(token, &org.login).await)?;
    let base = org.base_permission.as_deref();
    let mut unjudged = Unjudged::default();
    for repo in repos {
        let unknown = [
            (no_2fa.is_none(), AccessIssue::Missing2fa),
            (outside.is_none(), AccessIssue::OrphanedAccess),
            (base.is_none(), AccessIssue::PermissionDrift),
        ];
        for (_, rule) in unknown.into_iter().filter(|(unknown, _)| *unknown) {
            unjudged.rules.insert((repo.id, rule));
        }
    }
    let (no_2fa, outside) = (logins(no_2fa), logins(outside));
    let cutoff = Utc::now() - TimeDelta::days(INACTIVE_DAYS);
    let mut issues = Vec::new();
    for repo in repos {
        let full = repo.full_name.as_str();
        let name = repo.name.as_str();
        for user in github.collaborators(token, full, "direct").await? {
            let login = user.login.to_lowercase();
            let role = user.role_name.as_deref().unwrap_or("read");
            if outside.contains(&login) {
                let last = github.last_commit_by(token, full, &user.login).await?;
                if last.is_none_or(|at| at < cutoff) {
                    let since = last.map_or("has never committed".to_string(), |at| {
                        format!("last committed {} days ago", (Utc::now() - at).num_days())
                    });
                    issues.push(Issue {
                        repository: repo.id,
                        issue: AccessIssue::OrphanedAccess,
                        subject: format!("user:{login}"),
                        severity: if rank(role) >= rank("write") {
                            Severity::Medium
                        } else {
                            Severity::Low
                        },
                        title: format!("Outside collaborator {} inactive on {name}", user.login),
                        description: format!(
                            "{} is an outside collaborator with {role} access to {full} and {since} \
                             (no commit in the last {INACTIVE_DAYS} days).",
                            user.login
                        ),
                        remediation: "Remove the collaborator, or renew the access with an end date \
                                      if the engagement continues.",
                    });
                }
            } else if let Some(base) = base
                && rank(role) > rank(base)
            {
                issues.push(drift(
                    repo,
                    format!("user:{login}"),
                    &user.login,
                    role,
                    base,
                ));
            }
        }
        if let Some(base) = base {
            for team in github.teams(token, full).await? {
                if rank(&team.permission) > rank(base) {
                    let who = format!("team {}", team.slug);
                    let subject = format!("team:{}", team.slug);
                    issues.push(drift(repo, subject, &who, &team.permission, base));
                }
            }
        }
        if !no_2fa.is_empty() {
            for user in github.collaborators(token, full, "all").await? {
                if !no_2fa.contains(&user.login.to_lowercase()) {
                    continue;
                }
                let role = user.role_name.as_deref().unwrap_or("read");
                issues.push(Issue {
                    repository: repo.id,
                    issue: AccessIssue::Missing2fa,
                    subject: format!("user:{}", user.login.to_lowercase()),
                    severity: if rank(role) >= rank("write") {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    title: format!(
                        "{} has {role} access to {name} without two-factor authentication",
                        user.login
                    ),
                    description: format!(
                        "{} is a member of {} with {role} access to {full} and has not enabled \
                         two-factor authentication.",
                        user.login, org.login
                    ),
                    remediation: "Require two-factor authentication for the organization, or ask \
                                  the member to enrol now.",
                });
            }
        }
    }
    Ok((issues, unjudged))
}

fn drift(repo: &repositories::Model, subject: String, who: &str, role: &str, base: &str) -> Issue {
    Issue {
        repository: repo.id,
        issue: AccessIssue::PermissionDrift,
        subject,
        severity: if rank(role) >= rank("admin") {
            Severity::High
        } else {
            Severity::Medium
        },
        title: format!(
            "{who} has {role} on {}, above the base permission ({base})",
            repo.name
        ),
        description: format!(
            "{who} was granted {role} on {} directly; the organization's base permission is \
             {base}. Direct grants bypass the usual review and are easy to forget.",
            repo.full_name
        ),
        remediation: "Remove the direct grant, or move the access into a team that carries the \
                      intended permission; review repository admins every quarter.",
    }
}

/// What an audit could not judge this run: its open findings there are neither confirmed nor
/// resolved (a list the provider would not show is no evidence that the problem is gone).
#[derive(Debug, Default)]
pub struct Unjudged {
    /// A whole rule on one repository.
    pub rules: HashSet<(Uuid, AccessIssue)>,
    /// One subject under one rule (`Issue::fingerprint`).
    pub fingerprints: HashSet<String>,
}

impl Unjudged {
    fn keeps(&self, finding: &findings::Model) -> bool {
        self.fingerprints.contains(&finding.fingerprint)
            || finding
                .access_issue
                .is_some_and(|issue| self.rules.contains(&(finding.repository_id, issue)))
    }
}

/// Writes the result of the audit `tool` for `repos` in one transaction (only that tool's
/// findings are updated or resolved).
pub async fn apply(
    db: &DatabaseConnection,
    tool: &'static str,
    org: &organizations::Model,
    repos: &[repositories::Model],
    issues: Vec<Issue>,
) -> ApiResult<Tally> {
    apply_judged(db, tool, org, repos, issues, &Unjudged::default()).await
}

/// `apply`, leaving alone what `unjudged` names.
pub async fn apply_judged(
    db: &DatabaseConnection,
    tool: &'static str,
    org: &organizations::Model,
    repos: &[repositories::Model],
    issues: Vec<Issue>,
    unjudged: &Unjudged,
) -> ApiResult<Tally> {
    let mut tally = Tally::default();
    if repos.is_empty() {
        return Ok(tally);
    }
    let now = Utc::now();
    let txn = crate::kernel::db::begin_write(db).await?;
    let ids: Vec<Uuid> = repos.iter().map(|r| r.id).collect();
    let mut known: HashMap<String, findings::Model> = findings::Entity::find()
        .filter(findings::Column::TenantId.eq(org.tenant_id))
        .filter(findings::Column::Tool.eq(tool))
        .filter(findings::Column::RepositoryId.is_in(ids))
        .all(&txn)
        .await?
        .into_iter()
        .map(|f| (f.fingerprint.clone(), f))
        .collect();
    let mut seen = HashSet::new();
    for issue in issues {
        let fingerprint = issue.fingerprint(tool);
        if !seen.insert(fingerprint.clone()) {
            continue;
        }
        tally.open += 1;
        let mut row = findings::ActiveModel {
            severity: Set(issue.severity),
            title: Set(issue.title),
            description: Set(issue.description),
            remediation: Set(Some(issue.remediation.to_string())),
            last_seen_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        match known.remove(&fingerprint) {
            Some(found) => {
                row.id = Set(found.id);
                if found.status == FindingStatus::Resolved {
                    row.status = Set(FindingStatus::Open);
                    row.resolved_at = Set(None);
                }
                findings::Entity::update(row).exec(&txn).await?;
            }
            None => {
                tally.new += 1;
                row.id = Set(Uuid::now_v7());
                row.tenant_id = Set(org.tenant_id);
                row.repository_id = Set(issue.repository);
                row.kind = Set(FindingKind::AccessIssue);
                row.access_issue = Set(Some(issue.issue));
                row.status = Set(FindingStatus::Open);
                row.file_path = Set(None);
                row.line = Set(None);
                row.cve_id = Set(None);
                row.package_name = Set(None);
                row.package_version = Set(None);
                row.secret_type = Set(None);
                row.fingerprint = Set(fingerprint);
                row.tool = Set(Some(tool.into()));
                row.first_seen_at = Set(now);
                row.resolved_at = Set(None);
                row.created_at = Set(now);
                findings::Entity::insert(row)
                    .on_conflict_do_nothing_on([
                        findings::Column::TenantId,
                        findings::Column::Fingerprint,
                    ])
                    .exec_without_returning(&txn)
                    .await?;
            }
        }
    }
    for gone in known.into_values() {
        if gone.status == FindingStatus::Open && !unjudged.keeps(&gone) {
            tally.resolved += 1;
            let row = findings::ActiveModel {
                id: Set(gone.id),
                status: Set(FindingStatus::Resolved),
                resolved_at: Set(Some(now)),
                updated_at: Set(now),
                ..Default::default()
            };
            findings::Entity::update(row).exec(&txn).await?;
        }
    }
    txn.commit().await?;
    Ok(tally)
}
