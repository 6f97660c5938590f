//! The GitLab access audit, from the members and users APIs (rules in docs/providers.md):
//! - `missing_2fa`: a member with access to the project whose `two_factor_enabled` is false
//!   (GitLab shows the field to group owners and administrators only; absent, the rule is not
//!   judged);
//! - `orphaned_access`: a direct project member who is not a member of the project's group
//!   (GitLab's outside collaborator), or an external user, whose `last_activity_on` is older
//!   than `INACTIVE_DAYS` or null (shown to instance administrators only; absent, not judged);
//! - `permission_drift`: a direct project grant above the member's role in the project's group.
//!
//! What a list GitLab would not show (403/404) or a field it left out cannot tell is recorded
//! as `Unjudged`: those findings stay as they were. Findings are written by the shared writer.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, TimeDelta, Utc};
use entities::enums::{AccessIssue, Severity};
use entities::repositories;

use super::audit::{INACTIVE_DAYS, Issue, Unjudged};
use crate::upstream::gitlab::{Gitlab, Member, UserDetails};
use crate::upstream::provider_wire::ProviderResult;

/// The `tool` of the findings this audit owns.
pub const TOOL: &str = "gitlab-access-audit";

const GUEST: i32 = 10;
const DEVELOPER: i32 = 30;
const MAINTAINER: i32 = 40;

/// What GitLab showed; `None` where a list could not be read.
#[derive(Debug, Default)]
pub struct Seen {
    /// Namespace full path → `/groups/:path/members/all` (the group's and its ancestors').
    pub inherited: HashMap<String, Option<Vec<Member>>>,
    /// Project id → `/projects/:id/members` (direct grants).
    pub direct: HashMap<String, Option<Vec<Member>>>,
    /// User id → `/users/:id`, for every direct member.
    pub users: HashMap<i64, Option<UserDetails>>,
}

/// The group a project lives in: its path without the project's own segment.
pub fn namespace(repo: &repositories::Model) -> &str {
    repo.full_name.rsplit_once('/').map_or("", |(ns, _)| ns)
}

/// Reads what the rules need for `repos`: each namespace's members once, each project's direct
/// members, each direct member's user once. A 401, 429 or 5xx fails the run.
pub async fn fetch(
    gitlab: &Gitlab,
    token: &str,
    repos: &[repositories::Model],
) -> ProviderResult<Seen> {
    let mut seen = Seen::default();
    for repo in repos {
        let ns = namespace(repo);
        if !seen.inherited.contains_key(ns) {
            let members = gitlab.group_members(token, ns).await?;
            seen.inherited.insert(ns.to_string(), members);
        }
        let Some(id) = repo.external_id.as_deref() else {
            continue;
        };
        let direct = gitlab.project_members(token, id).await?;
        for member in direct.iter().flatten() {
            if let Entry::Vacant(slot) = seen.users.entry(member.id) {
                slot.insert(gitlab.user(token, member.id).await?);
            }
        }
        seen.direct.insert(id.to_string(), direct);
    }
    Ok(seen)
}

/// GitLab's role names for its access levels.
fn role(level: i32) -> String {
    match level {
        5 => "minimal access".into(),
        10 => "guest".into(),
        15 => "planner".into(),
        20 => "reporter".into(),
        30 => "developer".into(),
        40 => "maintainer".into(),
        50 => "owner".into(),
        other => format!("access level {other}"),
    }
}

/// Blocked and banned accounts cannot sign in (a deactivated one can, by signing in again).
fn can_sign_in(member: &Member) -> bool {
    member
        .state
        .as_deref()
        .is_none_or(|s| matches!(s, "active" | "deactivated"))
}

/// Every problem GitLab's answers show for `repos`, and what they could not tell.
pub fn collect(
    seen: &Seen,
    repos: &[repositories::Model],
    now: DateTime<Utc>,
) -> (Vec<Issue>, Unjudged) {
    let cutoff = (now - TimeDelta::days(INACTIVE_DAYS)).date_naive();
    let mut issues = Vec::new();
    let mut unjudged = Unjudged::default();
    for repo in repos {
        let rules = [
            AccessIssue::Missing2fa,
            AccessIssue::OrphanedAccess,
            AccessIssue::PermissionDrift,
        ];
        let Some(inherited) = seen.inherited.get(namespace(repo)).and_then(Option::as_ref) else {
            unjudged.rules.extend(rules.map(|rule| (repo.id, rule)));
            continue;
        };
        let group: HashMap<i64, &Member> = inherited
            .iter()
            .filter(|m| m.access_level >= GUEST && can_sign_in(m))
            .map(|m| (m.id, m))
            .collect();
        let direct: Option<Vec<&Member>> = repo
            .external_id
            .as_ref()
            .and_then(|id| seen.direct.get(id))
            .and_then(Option::as_ref)
            .map(|list| {
                list.iter()
                    .filter(|m| m.access_level >= GUEST && can_sign_in(m))
                    .collect()
            });
        let Some(direct) = direct else {
            unjudged.rules.extend(rules.map(|rule| (repo.id, rule)));
            continue;
        };
        // Project and group access tokens act through bot users: not people, no 2FA, no
        // activity of their own to judge.
        let bot = |id: i64| {
            seen.users
                .get(&id)
                .and_then(Option::as_ref)
                .is_some_and(|u| u.bot)
        };
        let direct: Vec<&Member> = direct.into_iter().filter(|m| !bot(m.id)).collect();
        let granted = |id: i64| direct.iter().find(|m| m.id == id).map(|m| m.access_level);

        // The field is shown for the whole list or not at all (it follows the caller's rights).
        if inherited.iter().any(|m| m.two_factor_enabled.is_some()) {
            for m in group.values() {
                if m.two_factor_enabled == Some(false) {
                    let level = m.access_level.max(granted(m.id).unwrap_or(0));
                    issues.push(missing_2fa(repo, m, level));
                }
            }
            for m in direct.iter().filter(|m| !group.contains_key(&m.id)) {
                match m.two_factor_enabled {
                    Some(false) => issues.push(missing_2fa(repo, m, m.access_level)),
                    Some(true) => {}
                    None => {
                        let probe = missing_2fa(repo, m, m.access_level);
                        unjudged.fingerprints.insert(probe.fingerprint(TOOL));
                    }
                }
            }
        } else {
            unjudged.rules.insert((repo.id, AccessIssue::Missing2fa));
        }

        for m in &direct {
            let user = seen.users.get(&m.id).and_then(Option::as_ref);
            let external = user.and_then(|u| u.external) == Some(true);
            let in_group = group.get(&m.id);
            if in_group.is_none() || external {
                let issue = |last| orphaned(repo, m, external, last, now);
                match user.and_then(|u| u.last_activity_on) {
                    None => {
                        let probe = issue(None);
                        unjudged.fingerprints.insert(probe.fingerprint(TOOL));
                    }
                    Some(last) if last.is_none_or(|day| day < cutoff) => issues.push(issue(last)),
                    Some(_) => {}
                }
            }
            if let Some(g) = in_group
                && m.access_level > g.access_level
            {
                issues.push(drift(repo, m, g.access_level));
            }
        }
    }
    (issues, unjudged)
}

fn subject(member: &Member) -> String {
    format!("user:{}", member.username.to_lowercase())
}

fn missing_2fa(repo: &repositories::Model, m: &Member, level: i32) -> Issue {
    let role = role(level);
    Issue {
        repository: repo.id,
        issue: AccessIssue::Missing2fa,
        subject: subject(m),
        severity: if level >= DEVELOPER {
            Severity::High
        } else {
            Severity::Medium
        },
        title: format!(
            "{} has {role} access to {} without two-factor authentication",
            m.username, repo.name
        ),
        description: format!(
            "{} has {role} access to {} and has not enabled two-factor authentication.",
            m.username, repo.full_name
        ),
        remediation: "Require two-factor authentication in the group's settings, or ask the \
                      member to enrol now.",
    }
}

fn orphaned(
    repo: &repositories::Model,
    m: &Member,
    external: bool,
    last: Option<chrono::NaiveDate>,
    now: DateTime<Utc>,
) -> Issue {
    let role = role(m.access_level);
    let since = last.map_or("has never been active".to_string(), |day| {
        format!(
            "was last active {} days ago",
            (now.date_naive() - day).num_days()
        )
    });
    let (kind, who) = if external {
        ("External user", "an external user")
    } else {
        (
            "Direct project member",
            "a direct member of the project but not of its group",
        )
    };
    Issue {
        repository: repo.id,
        issue: AccessIssue::OrphanedAccess,
        subject: subject(m),
        severity: if m.access_level >= DEVELOPER {
            Severity::Medium
        } else {
            Severity::Low
        },
        title: format!("{kind} {} inactive on {}", m.username, repo.name),
        description: format!(
            "{} is {who} with {role} access to {} and {since} (no activity in the last \
             {INACTIVE_DAYS} days).",
            m.username, repo.full_name
        ),
        remediation: "Remove the member from the project, or renew the access with an \
                      expiration date if the engagement continues.",
    }
}

fn drift(repo: &repositories::Model, m: &Member, group_level: i32) -> Issue {
    let (role, base) = (role(m.access_level), role(group_level));
    Issue {
        repository: repo.id,
        issue: AccessIssue::PermissionDrift,
        subject: subject(m),
        severity: if m.access_level >= MAINTAINER {
            Severity::High
        } else {
            Severity::Medium
        },
        title: format!(
            "{} has {role} on {}, above their group role ({base})",
            m.username, repo.name
        ),
        description: format!(
            "{} was granted {role} on {} directly; their role in the group {} is {base}. \
             Direct grants bypass the group's review and are easy to forget.",
            m.username,
            repo.full_name,
            namespace(repo)
        ),
        remediation: "Remove the direct grant, or give the member the intended role in the \
                      group; review project maintainers every quarter.",
    }
}
