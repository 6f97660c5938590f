//! The Code insights a CRM opportunity can be made from: each source's precondition, how its
//! effort hours are derived (docs/decisions.md, "CRM opportunities"), its name and description.

use entities::enums::{FindingKind, FindingStatus, Lifecycle, Severity};
use entities::{findings, recommendations, repositories};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::code::insight::{RepoContext, hours, link_back, repository_context};
use crate::kernel::errors::{ApiError, ApiResult};
use crate::kernel::paging::global_id;

/// A technical-debt opportunity needs at least this debt score (0–100).
pub const MIN_DEBT_SCORE: i32 = 60;
/// Debt reduction effort per point of debt score.
pub const HOURS_PER_DEBT_POINT: f64 = 2.0;
/// A critical-vulnerabilities opportunity needs at least this many open critical findings.
pub const MIN_CRITICAL_FINDINGS: u64 = 2;
/// Remediation effort per open critical finding (triage, fix, test, deploy).
pub const HOURS_PER_CRITICAL_FINDING: f64 = 8.0;
/// Modernization effort of a sunset or dead application without a migration recommendation.
pub const DEFAULT_MODERNIZATION_HOURS: f64 = 80.0;
/// Critical findings listed in a description.
const LISTED: u64 = 20;

/// What an opportunity is made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    MigrationRecommendation,
    TechnicalDebt,
    CriticalVulnerabilities,
    SunsetApplication,
}

impl Source {
    /// Stored in `crm_opportunities.source_kind` and sent as `source`.
    pub fn key(self) -> &'static str {
        match self {
            Source::MigrationRecommendation => "migration_recommendation",
            Source::TechnicalDebt => "technical_debt",
            Source::CriticalVulnerabilities => "critical_vulnerabilities",
            Source::SunsetApplication => "sunset_application",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        [
            Source::MigrationRecommendation,
            Source::TechnicalDebt,
            Source::CriticalVulnerabilities,
            Source::SunsetApplication,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }

    /// The name clients use (the GraphQL enum value).
    pub fn name(self) -> String {
        self.key().to_uppercase()
    }
}

/// An insight ready to become an opportunity (everything but the money).
pub struct Insight {
    pub context: RepoContext,
    pub name: String,
    /// Details of the insight, without the value (added once the rate is known).
    pub description: String,
    pub hours: f64,
    /// How `hours` was derived, for the description.
    pub hours_basis: String,
    pub source_global_id: String,
    pub source_url: String,
}

/// Loads the source row (`NOT_FOUND` when it is not the tenant's) and checks its precondition
/// (`BAD_USER_INPUT` saying why not).
pub async fn build(
    db: &DatabaseConnection,
    tenant: Uuid,
    source: Source,
    id: Uuid,
    frontend_url: &str,
) -> ApiResult<Insight> {
    match source {
        Source::MigrationRecommendation => recommendation(db, tenant, id, frontend_url).await,
        Source::TechnicalDebt => technical_debt(db, tenant, id, frontend_url).await,
        Source::CriticalVulnerabilities => {
            critical_vulnerabilities(db, tenant, id, frontend_url).await
        }
        Source::SunsetApplication => sunset(db, tenant, id, frontend_url).await,
    }
}

fn repo_insight(
    context: RepoContext,
    name: String,
    description: String,
    (effort, hours_basis): (f64, String),
    frontend_url: &str,
) -> Insight {
    let id = context.repo.id;
    Insight {
        name: format!("{name} — {}", context.repo.full_name),
        description,
        hours: effort,
        hours_basis,
        source_global_id: global_id("Repository", id),
        source_url: link_back(frontend_url, "repositories", "Repository", id),
        context,
    }
}

fn profile(repo: &repositories::Model) -> String {
    let mut lines = vec![format!("Repository: {} ({})", repo.full_name, repo.url)];
    let stack: Vec<String> = serde_json::from_value(repo.tech_stack.clone()).unwrap_or_default();
    if !stack.is_empty() {
        lines.push(format!("Tech stack: {}", stack.join(", ")));
    }
    if let Some(app) = &repo.app_type {
        lines.push(format!("App type: {app}"));
    }
    if let Some(score) = repo.health_score {
        lines.push(format!("Health score: {score}/100"));
    }
    if let Some(score) = repo.debt_score {
        lines.push(format!("Debt score: {score}/100"));
    }
    if let Some(at) = repo.last_commit_at {
        lines.push(format!("Last commit: {}", at.format("%Y-%m-%d")));
    }
    if let Some(freq) = repo.commit_frequency {
        lines.push(format!("Commit frequency: {freq:.1} commits/week"));
    }
    if let Some(host) = &repo.hosting_platform {
        lines.push(format!("Hosting platform: {host}"));
    }
    lines.join("\n")
}

async fn recommendation(
    db: &DatabaseConnection,
    tenant: Uuid,
    id: Uuid,
    frontend_url: &str,
) -> ApiResult<Insight> {
    let rec = recommendations::Entity::find_by_id(id)
        .filter(recommendations::Column::TenantId.eq(tenant))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("recommendation"))?;
    if !rec.effort_hours.is_finite() || rec.effort_hours <= 0.0 {
        return Err(ApiError::bad_input(format!(
            "recommendation {:?} has no effort estimate, so the opportunity has no value",
            rec.title
        )));
    }
    let context = repository_context(db, tenant, rec.repository_id).await?;
    let steps: Vec<String> = serde_json::from_value(rec.steps.clone()).unwrap_or_default();
    let steps = steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {}", i + 1, s.trim()))
        .collect::<Vec<_>>()
        .join("\n");
    let target = rec
        .target_platform
        .as_deref()
        .map(|t| format!("Target platform: {t}\n"))
        .unwrap_or_default();
    let description = format!(
        "Migration recommendation: {}\n{}\n\n{}\n{target}\nMigration steps:\n{steps}",
        rec.title.trim(),
        rec.summary.trim(),
        profile(&context.repo)
    );
    Ok(Insight {
        name: format!(
            "Migration: {} — {}",
            rec.title.trim(),
            context.repo.full_name
        ),
        description,
        hours: rec.effort_hours,
        hours_basis: "the recommendation's effort estimate".into(),
        source_global_id: global_id("Recommendation", rec.id),
        source_url: link_back(frontend_url, "recommendations", "Recommendation", rec.id),
        context,
    })
}

async fn technical_debt(
    db: &DatabaseConnection,
    tenant: Uuid,
    id: Uuid,
    frontend_url: &str,
) -> ApiResult<Insight> {
    let context = repository_context(db, tenant, id).await?;
    let repo = &context.repo;
    let score = match repo.debt_score {
        Some(score) if score >= MIN_DEBT_SCORE => score,
        Some(score) => {
            return Err(ApiError::bad_input(format!(
                "{} has a debt score of {score}; a TECHNICAL_DEBT opportunity needs a debt score of at least {MIN_DEBT_SCORE}",
                repo.full_name
            )));
        }
        None => {
            return Err(ApiError::bad_input(format!(
                "{} has no debt score yet; a TECHNICAL_DEBT opportunity needs a debt score of at least {MIN_DEBT_SCORE}",
                repo.full_name
            )));
        }
    };
    let effort = f64::from(score) * HOURS_PER_DEBT_POINT;
    let basis = format!(
        "{} hours per point of debt score × {score}",
        hours(HOURS_PER_DEBT_POINT)
    );
    let description = format!(
        "High technical debt: debt score {score}/100 (threshold {MIN_DEBT_SCORE}). Debt reduction services.\n\n{}",
        profile(repo)
    );
    let name = "Technical debt reduction".to_string();
    Ok(repo_insight(
        context,
        name,
        description,
        (effort, basis),
        frontend_url,
    ))
}

async fn critical_vulnerabilities(
    db: &DatabaseConnection,
    tenant: Uuid,
    id: Uuid,
    frontend_url: &str,
) -> ApiResult<Insight> {
    let context = repository_context(db, tenant, id).await?;
    let select = findings::Entity::find()
        .filter(findings::Column::TenantId.eq(tenant))
        .filter(findings::Column::RepositoryId.eq(id))
        .filter(findings::Column::Status.eq(FindingStatus::Open))
        .filter(findings::Column::Severity.eq(Severity::Critical))
        .filter(findings::Column::Kind.ne(FindingKind::SunsetDecision));
    let count = select.clone().count(db).await?;
    if count < MIN_CRITICAL_FINDINGS {
        return Err(ApiError::bad_input(format!(
            "{} has {count} open critical finding(s); a CRITICAL_VULNERABILITIES opportunity needs at least {MIN_CRITICAL_FINDINGS}",
            context.repo.full_name
        )));
    }
    let listed = select
        .order_by_asc(findings::Column::Id)
        .limit(LISTED)
        .all(db)
        .await?;
    let mut lines: Vec<String> = listed
        .iter()
        .map(|f| {
            let mut line = format!("- {}", f.title.trim());
            for detail in [&f.cve_id, &f.package_name, &f.file_path]
                .into_iter()
                .flatten()
            {
                line.push_str(&format!(" [{detail}]"));
            }
            line
        })
        .collect();
    if count > LISTED {
        lines.push(format!("- … and {} more", count - LISTED));
    }
    let effort = count as f64 * HOURS_PER_CRITICAL_FINDING;
    let basis = format!(
        "{} hours per open critical finding × {count}",
        hours(HOURS_PER_CRITICAL_FINDING)
    );
    let description = format!(
        "{count} open critical security findings. Security remediation as a managed service.\n\n{}\n\nCritical findings:\n{}",
        profile(&context.repo),
        lines.join("\n")
    );
    let name = format!("Security remediation of {count} critical vulnerabilities");
    Ok(repo_insight(
        context,
        name,
        description,
        (effort, basis),
        frontend_url,
    ))
}

async fn sunset(
    db: &DatabaseConnection,
    tenant: Uuid,
    id: Uuid,
    frontend_url: &str,
) -> ApiResult<Insight> {
    let context = repository_context(db, tenant, id).await?;
    let stage = match context.repo.lifecycle {
        Lifecycle::Sunset => "sunset",
        Lifecycle::Dead => "dead",
        Lifecycle::Active => {
            return Err(ApiError::bad_input(format!(
                "{} is an active application; a SUNSET_APPLICATION opportunity needs a sunset or dead one",
                context.repo.full_name
            )));
        }
    };
    let largest = recommendations::Entity::find()
        .filter(recommendations::Column::TenantId.eq(tenant))
        .filter(recommendations::Column::RepositoryId.eq(id))
        .filter(recommendations::Column::EffortHours.gt(0.0))
        .order_by_desc(recommendations::Column::EffortHours)
        .one(db)
        .await?;
    let (effort, basis, plan) = match &largest {
        Some(rec) => (
            rec.effort_hours,
            format!("the largest migration recommendation ({:?})", rec.title),
            format!(
                "\n\nMigration recommendation: {}\n{}",
                rec.title, rec.summary
            ),
        ),
        None => (
            DEFAULT_MODERNIZATION_HOURS,
            "the standard modernization estimate (no migration recommendation yet)".into(),
            String::new(),
        ),
    };
    let description = format!(
        "The application is {stage}. Application modernization project.\n\n{}{plan}",
        profile(&context.repo)
    );
    let name = format!("Application modernization ({stage} app)");
    Ok(repo_insight(
        context,
        name,
        description,
        (effort, basis),
        frontend_url,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip() {
        for s in [
            Source::MigrationRecommendation,
            Source::TechnicalDebt,
            Source::CriticalVulnerabilities,
            Source::SunsetApplication,
        ] {
            assert_eq!(Source::parse(s.key()), Some(s));
        }
        assert_eq!(Source::TechnicalDebt.name(), "TECHNICAL_DEBT");
        assert_eq!(hours(HOURS_PER_DEBT_POINT * 72.0), "144");
    }
}
