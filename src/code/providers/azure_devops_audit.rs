//! The Azure DevOps access audit, from Member Entitlement Management (docs/providers.md):
//! - `orphaned_access`: a guest user (Entra B2B, `metaType: guest`) who has not signed in to the
//!   organization for `INACTIVE_DAYS` (or never did), on every repository of the projects they
//!   are entitled to.
//!
//! Not judged, because Azure DevOps does not expose them: `missing_2fa` (MFA is enforced by
//! Entra ID conditional access, invisible to the DevOps API) and `permission_drift` (there is no
//! organization base permission to drift from; access is per-project security groups).
//! Findings are written by the shared writer (`audit::apply`) under their own `tool`.

use chrono::{DateTime, TimeDelta, Utc};
use entities::enums::{AccessIssue, Severity};
use entities::repositories;

use super::audit::{INACTIVE_DAYS, Issue};
use crate::upstream::azure_devops::{Entitlement, ProjectEntitlement};

/// The `tool` of the findings this audit owns.
pub const TOOL: &str = "azure-devops-access-audit";

/// Every problem the entitlements show for `repos` (nothing is written here).
pub fn collect(
    entitlements: &[Entitlement],
    repos: &[repositories::Model],
    now: DateTime<Utc>,
) -> Vec<Issue> {
    let cutoff = now - TimeDelta::days(INACTIVE_DAYS);
    let mut issues = Vec::new();
    for e in entitlements {
        let guest = e
            .user
            .meta_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"));
        // Azure DevOps reports "never" as the year 1.
        let last = e.last_accessed_date.filter(|at| at.timestamp() > 0);
        if !guest || last.is_some_and(|at| at >= cutoff) {
            continue;
        }
        let who = e
            .user
            .principal_name
            .clone()
            .or_else(|| e.user.mail_address.clone())
            .unwrap_or_else(|| "a guest".into());
        let since = last.map_or("has never signed in".to_string(), |at| {
            format!("last signed in {} days ago", (now - at).num_days())
        });
        for grant in &e.project_entitlements {
            let prefix = format!("{}/", grant.project_ref.name);
            for repo in repos.iter().filter(|r| r.full_name.starts_with(&prefix)) {
                let group = group_name(grant);
                issues.push(Issue {
                    repository: repo.id,
                    issue: AccessIssue::OrphanedAccess,
                    subject: format!("user:{}", who.to_lowercase()),
                    severity: if writes(grant) {
                        Severity::Medium
                    } else {
                        Severity::Low
                    },
                    title: format!("Guest {who} inactive with access to {}", repo.name),
                    description: format!(
                        "{who} is a guest user of the Azure DevOps organization, a {group} of \
                         project {} (which holds {}), and {since} (no sign-in in the last \
                         {INACTIVE_DAYS} days).",
                        grant.project_ref.name, repo.full_name
                    ),
                    remediation: "Remove the guest from the organization, or renew the access \
                                  with an end date if the engagement continues.",
                });
            }
        }
    }
    issues
}

/// Contributors and administrators can push; readers and stakeholders cannot.
fn writes(grant: &ProjectEntitlement) -> bool {
    grant
        .group
        .as_ref()
        .and_then(|g| g.group_type.as_deref())
        .is_some_and(|t| matches!(t, "projectContributor" | "projectAdministrator"))
}

fn group_name(grant: &ProjectEntitlement) -> String {
    let group = grant.group.as_ref();
    group
        .and_then(|g| g.display_name.clone())
        .or_else(|| group.and_then(|g| g.group_type.clone()))
        .unwrap_or_else(|| "member".into())
}
