//! The reviews' findings: the access audit (permission drift, orphaned access, missing 2FA)
//! and the lifecycle review (a repository nobody has decided to keep or retire).

use chrono::{DateTime, Utc};
use entities::enums::{AccessIssue, FindingKind, Lifecycle, Provider, Severity};
use rand::Rng;
use rand::rngs::StdRng;

use super::Repo;
use super::findings::Draft;
use crate::catalogue::CATALOGUE;
use crate::random::{pick, weighted};

pub(super) fn access_issue(rng: &mut StdRng, repo: &Repo) -> Option<Draft> {
    let issue = *weighted(
        rng,
        &[
            (AccessIssue::PermissionDrift, 40),
            (AccessIssue::OrphanedAccess, 35),
            (AccessIssue::Missing2fa, 25),
        ],
    );
    let name = &repo.name;
    let mut draft = match issue {
        AccessIssue::PermissionDrift => {
            let user = pick(rng, &CATALOGUE.members);
            let (role, default, severity) = match repo.org.provider {
                Provider::Github => {
                    let role = *pick(rng, &["admin", "maintain", "write"]);
                    let default = format!(
                        "the organization's base permission ({})",
                        repo.org.base_permission.as_deref().unwrap_or("read")
                    );
                    let severity = if role == "admin" {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    (role, default, severity)
                }
                Provider::Gitlab => {
                    let role = *pick(rng, &["Owner", "Maintainer"]);
                    let severity = if role == "Owner" {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    (role, "the group default (Developer)".to_string(), severity)
                }
                Provider::AzureDevops => {
                    let role = *pick(rng, &["Project Administrator", "Build Administrator"]);
                    let severity = if role == "Project Administrator" {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    (
                        role,
                        "the project default (Contributors)".to_string(),
                        severity,
                    )
                }
            };
            let granted = rng.random_range(20..400);
            let mut d = Draft::new(
                FindingKind::AccessIssue,
                severity,
                format!("{user} has {role} on {name}, above {default}"),
                format!(
                    "{user} was granted {role} directly on the repository {granted} days ago; \
                     team membership gives them only {default}. Direct grants bypass the team \
                     review and are easy to forget."
                ),
            );
            d.remediation = "Remove the direct grant, or move the person into a team that \
                             carries the intended permission; review repository admins every \
                             quarter."
                .to_string();
            d
        }
        AccessIssue::OrphanedAccess => {
            let user = pick(rng, &CATALOGUE.outsiders);
            let days = rng.random_range(95..=620);
            let write = rng.random_bool(0.4);
            let mut d = Draft::new(
                FindingKind::AccessIssue,
                if write {
                    Severity::Medium
                } else {
                    Severity::Low
                },
                format!("Outside collaborator {user} inactive for {days} days on {name}"),
                format!(
                    "{user} still has {access} access to {name} but has not pushed, reviewed or \
                     signed in for {days} days.",
                    access = if write { "write" } else { "read" }
                ),
            );
            d.remediation = "Remove the collaborator, or renew the access with an end date if \
                             the engagement continues."
                .to_string();
            d
        }
        AccessIssue::Missing2fa => {
            let user = pick(rng, &CATALOGUE.members);
            let (title, description) = match repo.org.provider {
                Provider::AzureDevops => (
                    format!("{user} can push to {name} without multi-factor authentication"),
                    format!(
                        "No Conditional Access policy requires MFA for {user}, who has \
                         Contributor rights on {name}."
                    ),
                ),
                _ => (
                    format!("{user} can push to {name} without two-factor authentication"),
                    format!(
                        "{user} is a member with write access to {name} and has not enabled \
                         two-factor authentication."
                    ),
                ),
            };
            let mut d = Draft::new(FindingKind::AccessIssue, Severity::High, title, description);
            d.remediation = "Require two-factor authentication for the organization (members \
                             must enrol before their access resumes), or ask the member to \
                             enrol now."
                .to_string();
            d
        }
    };
    draft.access_issue = Some(issue);
    draft.tool = Some("access-audit");
    Some(draft)
}

pub(super) fn sunset_decision(rng: &mut StdRng, now: DateTime<Utc>, repo: &Repo) -> Draft {
    let months = ((now - repo.last_commit).num_days() / 30).max(1);
    let severity = match (repo.lifecycle, repo.classification) {
        (Lifecycle::Dead, "regulated" | "confidential") => Severity::High,
        (Lifecycle::Dead, _) => Severity::Medium,
        (Lifecycle::Sunset, "regulated") => Severity::Medium,
        _ => Severity::Low,
    };
    let state = match repo.lifecycle {
        Lifecycle::Dead => "is marked dead",
        Lifecycle::Sunset => "is being retired",
        Lifecycle::Active => "is still marked active",
    };
    let mut draft = Draft::new(
        FindingKind::SunsetDecision,
        severity,
        format!("Decide whether to retire {}", repo.name),
        format!(
            "{name} {state}: last commit {months} month{s} ago, {freq} commits a week, health \
             {health}/100, still hosted on {hosting} and holding {class} data. Nobody has \
             decided whether it is retired or kept.",
            name = repo.name,
            s = if months == 1 { "" } else { "s" },
            freq = repo.frequency,
            health = repo.health,
            hosting = repo.hosting,
            class = repo.classification,
        ),
    );
    draft.remediation = if rng.random_bool(0.5) {
        "Confirm with the application owner. If it is retired: export its data under the \
         retention policy, archive the repository and remove its hosting. If it is kept: plan \
         the recommended migration."
    } else {
        "Check the access logs for the last 90 days; with no real use, archive the repository \
         and schedule the shutdown of its hosting with the client."
    }
    .to_string();
    draft.tool = Some("lifecycle-review");
    draft
}
