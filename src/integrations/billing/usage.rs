//! The quantities a tick reports, for every tenant at once (one grouped statement per metric).

use std::collections::HashMap;

use chrono::{NaiveDate, TimeDelta};
use entities::enums::{JobKind, JobStatus, Lifecycle, Product};
use entities::{jobs as job_rows, organizations, projects, repositories};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{BillingDelivery, GB_TRANSFERRED, MAILBOXES, REPOS_PROTECTED};

/// Each report of `period` with its quantity. A tenant uses Code when it has an organization
/// and Migrate when it has a project; it then reports (zero included) every metric of the product:
/// - `repos_protected`: repositories with lifecycle `active` and not missing, at the tick;
/// - `gb_transferred`: the sum of `gb_transferred` of jobs that finished (`finished_at`, any
///   final status) during the period;
/// - `mailboxes`: the sum of `mailbox_count` of mailbox jobs completed during the period.
pub(super) async fn usage(
    db: &DatabaseConnection,
    period: NaiveDate,
) -> Result<Vec<(BillingDelivery, f64)>, DbErr> {
    let start = period
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let end = start + TimeDelta::days(1);
    let code: Vec<Uuid> = organizations::Entity::find()
        .select_only()
        .column(organizations::Column::TenantId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let migrate: Vec<Uuid> = projects::Entity::find()
        .select_only()
        .column(projects::Column::TenantId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let repos: HashMap<Uuid, i64> = repositories::Entity::find()
        .select_only()
        .column(repositories::Column::TenantId)
        .column_as(Expr::col(Asterisk).count(), "n")
        .filter(repositories::Column::Lifecycle.eq(Lifecycle::Active))
        .filter(repositories::Column::MissingSince.is_null())
        .group_by(repositories::Column::TenantId)
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let finished = || {
        job_rows::Entity::find()
            .select_only()
            .column(job_rows::Column::TenantId)
            .filter(job_rows::Column::FinishedAt.gte(start))
            .filter(job_rows::Column::FinishedAt.lt(end))
            .group_by(job_rows::Column::TenantId)
    };
    let gb: HashMap<Uuid, Option<f64>> = finished()
        .column_as(Expr::col(job_rows::Column::GbTransferred).sum(), "q")
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mailboxes: HashMap<Uuid, Option<i64>> = finished()
        .column_as(Expr::col(job_rows::Column::MailboxCount).sum(), "q")
        .filter(job_rows::Column::Kind.eq(JobKind::Mailbox))
        .filter(job_rows::Column::Status.eq(JobStatus::Completed))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let report = |tenant_id, product, metric: &str| BillingDelivery {
        tenant_id,
        product,
        metric: metric.to_string(),
        period: period.to_string(),
    };
    let mut reports = Vec::new();
    for tenant in code {
        let quantity = repos.get(&tenant).copied().unwrap_or(0) as f64;
        reports.push((report(tenant, Product::Code, REPOS_PROTECTED), quantity));
    }
    for tenant in migrate {
        let quantity = round_gb(gb.get(&tenant).copied().flatten().unwrap_or(0.0));
        reports.push((report(tenant, Product::Migrate, GB_TRANSFERRED), quantity));
        let quantity = mailboxes.get(&tenant).copied().flatten().unwrap_or(0) as f64;
        reports.push((report(tenant, Product::Migrate, MAILBOXES), quantity));
    }
    Ok(reports)
}

/// GB are reported to the microgigabyte (a kilobyte): sums of doubles carry float noise.
fn round_gb(gb: f64) -> f64 {
    (gb * 1e6).round() / 1e6
}
