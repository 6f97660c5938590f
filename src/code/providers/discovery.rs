//! Discovery: the provider's list of repositories applied to ours in one transaction (the caller
//! fetched every page first, so a failed page writes nothing). Repositories are matched by the
//! provider's id (renames follow), then by name; new ones emit `code.repo.discovered`; ones the
//! provider no longer lists get `missing_since` and are never deleted.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entities::enums::{Lifecycle, OrgStatus};
use entities::{organizations, repositories};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::Value;
use uuid::Uuid;

use super::provider_name;
use crate::code::profile_rules as rules;
use crate::integrations::bus::{
    self,
    events::{OrgConnected, RepoDiscovered},
};
use crate::kernel::errors::ApiResult;
use crate::upstream::github::{OrgInfo, Repo};

/// What `apply` changed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Applied {
    pub new: usize,
    pub missing: usize,
}

/// Writes a connected organization (a new row, or a disconnected/failed one connected again)
/// and, when it is `connected` already (its repositories listed), `code.org.connected`, which
/// goes before the `code.repo.discovered` events it announces. A `connecting` one is announced
/// by its first discovery.
pub async fn connect(
    txn: &DatabaseTransaction,
    org: organizations::Model,
    exists: bool,
) -> ApiResult<organizations::Model> {
    // Every column written, on insert and on the update of a reconnected row alike.
    let row = organizations::ActiveModel::from(org).reset_all();
    let org = if exists {
        organizations::Entity::update(row).exec(txn).await?
    } else {
        organizations::Entity::insert(row)
            .exec_with_returning(txn)
            .await?
    };
    if org.status == OrgStatus::Connected {
        announce(txn, &org).await?;
    }
    Ok(org)
}

/// `code.org.connected` with the organization's repository count.
pub async fn announce(txn: &DatabaseTransaction, org: &organizations::Model) -> ApiResult<()> {
    let event = OrgConnected {
        org_id: org.id,
        provider: provider_name(org.provider).into(),
        org_login: org.login.clone(),
        repo_count: org.repo_count as i64,
    };
    bus::enqueue(txn, org.tenant_id, &event).await?;
    Ok(())
}

/// The organization after a successful listing: connected, error cleared, counts and details
/// refreshed. `None` when it was disconnected meanwhile (nothing is written then).
pub async fn refresh_org(
    txn: &DatabaseTransaction,
    org: &organizations::Model,
    info: Option<OrgInfo>,
    repo_count: usize,
    now: DateTime<Utc>,
) -> ApiResult<Option<organizations::Model>> {
    let mut row = organizations::ActiveModel {
        status: Set(OrgStatus::Connected),
        status_error: Set(None),
        status_error_code: Set(None),
        next_retry_at: Set(None),
        repo_count: Set(repo_count as i32),
        last_discovered_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(info) = info {
        row.name = Set(info.name.unwrap_or_else(|| info.login.clone()));
        row.base_permission = Set(info.default_repository_permission);
    }
    let changed = organizations::Entity::update_many()
        .set(row)
        .filter(organizations::Column::Id.eq(org.id))
        .filter(organizations::Column::Status.ne(OrgStatus::Disconnected))
        .exec(txn)
        .await?;
    if changed.rows_affected == 0 {
        return Ok(None);
    }
    Ok(organizations::Entity::find_by_id(org.id).one(txn).await?)
}

/// Applies the provider's list to the organization's repositories.
pub async fn apply(
    txn: &DatabaseTransaction,
    org: &organizations::Model,
    listed: &[Repo],
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let known = repositories::Entity::find()
        .filter(repositories::Column::TenantId.eq(org.tenant_id))
        .filter(repositories::Column::OrganizationId.eq(org.id))
        .order_by_asc(repositories::Column::Id)
        .all(txn)
        .await?;
    let by_external: HashMap<&str, &repositories::Model> = known
        .iter()
        .filter_map(|r| r.external_id.as_deref().map(|e| (e, r)))
        .collect();
    let by_name: HashMap<&str, &repositories::Model> =
        known.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut seen = HashSet::new();
    let mut applied = Applied::default();
    for repo in listed {
        let matched = by_external
            .get(repo.id.as_str())
            .or_else(|| by_name.get(repo.name.as_str()))
            .copied()
            .filter(|r| seen.insert(r.id));
        match matched {
            Some(row) => update(txn, row, repo, now).await?,
            None => {
                if insert(txn, org, repo, now).await? {
                    applied.new += 1;
                }
            }
        }
    }
    for row in known.iter().filter(|r| !seen.contains(&r.id)) {
        if row.missing_since.is_none() {
            let mark = repositories::ActiveModel {
                id: Set(row.id),
                missing_since: Set(Some(now)),
                updated_at: Set(now),
                ..Default::default()
            };
            repositories::Entity::update(mark).exec(txn).await?;
        }
        applied.missing += 1;
    }
    Ok(applied)
}

/// Reads each listed repository's latest commits with `read` (given a copy of it), one call
/// per repository, before the listing is applied. A repository whose read fails keeps no dates
/// (its profile keeps what an earlier run found) and the run goes on; after a rate limit or a
/// refused credential no further repository is read (docs/application-profile.md).
pub async fn read_commits<F, Fut>(repos: &mut [Repo], mut read: F)
where
    F: FnMut(Repo) -> Fut,
    Fut: std::future::Future<
            Output = crate::upstream::provider_wire::ProviderResult<Vec<DateTime<Utc>>>,
        >,
{
    use crate::kernel::errors::Code;
    for repo in repos.iter_mut() {
        match read(repo.clone()).await {
            Ok(dates) => repo.recent_commits = Some(dates),
            Err(e) => {
                let code = e.error.code();
                tracing::info!(repo = %repo.full_name, code = code.as_str(), message = e.error.message(), "commits not read; the profile keeps its activity");
                if matches!(code, Code::RateLimited | Code::UpstreamAuthFailed) {
                    break;
                }
            }
        }
    }
}

/// Reads the names at each listed repository's root with `read` (one call per repository),
/// for app type and hosting inference; failures as in `read_commits`.
pub async fn read_root_files<F, Fut>(repos: &mut [Repo], mut read: F)
where
    F: FnMut(Repo) -> Fut,
    Fut: std::future::Future<Output = crate::upstream::provider_wire::ProviderResult<Vec<String>>>,
{
    use crate::kernel::errors::Code;
    for repo in repos.iter_mut() {
        match read(repo.clone()).await {
            Ok(names) => repo.root_files = names,
            Err(e) => {
                let code = e.error.code();
                tracing::info!(repo = %repo.full_name, code = code.as_str(), message = e.error.message(), "root files not read");
                if matches!(code, Code::RateLimited | Code::UpstreamAuthFailed) {
                    break;
                }
            }
        }
    }
}

/// The repositories the access audit looks at: listed at the last discovery and not archived.
pub async fn auditable(
    db: &impl ConnectionTrait,
    org: &organizations::Model,
) -> ApiResult<Vec<repositories::Model>> {
    Ok(repositories::Entity::find()
        .filter(repositories::Column::TenantId.eq(org.tenant_id))
        .filter(repositories::Column::OrganizationId.eq(org.id))
        .filter(repositories::Column::MissingSince.is_null())
        .filter(repositories::Column::Archived.eq(false))
        .order_by_asc(repositories::Column::Id)
        .all(db)
        .await?)
}

/// The provider's languages added to what we already know of the stack (kept in order).
fn tech_stack(known: &Value, repo: &Repo) -> Value {
    let mut stack: Vec<String> = serde_json::from_value(known.clone()).unwrap_or_default();
    for language in repo.language.iter().chain(&repo.languages) {
        if !stack.iter().any(|s| s.eq_ignore_ascii_case(language)) {
            stack.push(language.clone());
        }
    }
    serde_json::json!(stack)
}

/// What discovery infers of a repository's profile (docs/application-profile.md): `None`
/// where it cannot tell.
#[derive(Debug, Clone)]
struct Observed {
    last_commit_at: Option<DateTime<Utc>>,
    commits_per_week: Option<f64>,
    app_type: Option<String>,
    hosting_platform: Option<String>,
}

impl Observed {
    fn of(repo: &Repo, now: DateTime<Utc>) -> Observed {
        let activity = repo
            .recent_commits
            .as_deref()
            .map(|dates| rules::activity(dates, now));
        let languages: Vec<String> = repo
            .language
            .iter()
            .chain(&repo.languages)
            .cloned()
            .collect();
        Observed {
            // The newest commit read, else the provider's last push.
            last_commit_at: activity.and_then(|a| a.last_commit_at).or(repo.pushed_at),
            commits_per_week: activity.map(|a| a.commits_per_week),
            app_type: rules::app_type(&languages, &repo.root_files).map(String::from),
            hosting_platform: rules::hosting_platform(&repo.root_files).map(String::from),
        }
    }
}

fn visibility(repo: &Repo) -> String {
    repo.visibility
        .clone()
        .unwrap_or_else(|| if repo.private { "private" } else { "public" }.into())
}

async fn update(
    txn: &DatabaseTransaction,
    row: &repositories::Model,
    repo: &Repo,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let observed = Observed::of(repo, now);
    let changed = repositories::ActiveModel {
        id: Set(row.id),
        name: Set(repo.name.clone()),
        full_name: Set(repo.full_name.clone()),
        url: Set(repo.html_url.clone()),
        default_branch: Set(repo.default_branch.clone()),
        visibility: Set(Some(visibility(repo))),
        archived: Set(repo.archived),
        tech_stack: Set(tech_stack(&row.tech_stack, repo)),
        // A read that failed this time keeps what an earlier one found.
        last_commit_at: Set(observed.last_commit_at.or(row.last_commit_at)),
        commit_frequency: Set(observed.commits_per_week.or(row.commit_frequency)),
        // What was set by hand stays; an inference that knows nothing keeps what was inferred.
        app_type: Set(if row.app_type_overridden {
            row.app_type.clone()
        } else {
            observed.app_type.or(row.app_type.clone())
        }),
        hosting_platform: Set(if row.hosting_platform_overridden {
            row.hosting_platform.clone()
        } else {
            observed.hosting_platform.or(row.hosting_platform.clone())
        }),
        external_id: Set(Some(repo.id.clone())),
        missing_since: Set(None),
        updated_at: Set(now),
        ..Default::default()
    };
    repositories::Entity::update(changed).exec(txn).await?;
    Ok(())
}

/// Inserts a new repository and its `code.repo.discovered`; `false` when a concurrent run
/// inserted it first (no second event).
async fn insert(
    txn: &DatabaseTransaction,
    org: &organizations::Model,
    repo: &Repo,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let id = Uuid::now_v7();
    let observed = Observed::of(repo, now);
    let row = repositories::ActiveModel {
        id: Set(id),
        tenant_id: Set(org.tenant_id),
        organization_id: Set(org.id),
        // None: the repository follows its organization's client until one is set on it.
        client_id: Set(None),
        name: Set(repo.name.clone()),
        full_name: Set(repo.full_name.clone()),
        url: Set(repo.html_url.clone()),
        default_branch: Set(repo.default_branch.clone()),
        visibility: Set(Some(visibility(repo))),
        archived: Set(repo.archived),
        app_type: Set(observed.app_type),
        tech_stack: Set(tech_stack(&Value::Array(vec![]), repo)),
        health_score: Set(None),
        debt_score: Set(None),
        last_commit_at: Set(observed.last_commit_at),
        commit_frequency: Set(observed.commits_per_week),
        hosting_platform: Set(observed.hosting_platform),
        data_classification: Set(None),
        lifecycle: Set(Lifecycle::Active),
        app_type_overridden: Set(false),
        hosting_platform_overridden: Set(false),
        data_classification_overridden: Set(false),
        lifecycle_reason: Set(None),
        lifecycle_changed_at: Set(None),
        external_id: Set(Some(repo.id.clone())),
        missing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let inserted = repositories::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                repositories::Column::OrganizationId,
                repositories::Column::Name,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    let event = RepoDiscovered {
        repo_id: id,
        org_id: org.id,
        provider: provider_name(org.provider).into(),
        repo_name: repo.name.clone(),
    };
    bus::enqueue(txn, org.tenant_id, &event).await?;
    Ok(true)
}
