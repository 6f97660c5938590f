//! What The One Migrate bills (Hub billing's `gb_transferred` and `mailboxes`), for every tenant
//! at once, over one period.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::enums::{JobKind, JobStatus};
use entities::{jobs, projects};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

/// One tenant's Migrate usage over a period.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Transfers {
    /// The sum of `gb_transferred` of jobs that finished in the period, whatever their final
    /// status (the bytes moved either way), to the microgigabyte.
    pub gb: f64,
    /// The sum of `mailbox_count` of mailbox jobs completed in the period.
    pub mailboxes: i64,
}

/// Every tenant that uses Migrate (it has a project), with its usage in `[start, end)`.
pub async fn transfers(
    db: &DatabaseConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<HashMap<Uuid, Transfers>, DbErr> {
    let tenants: Vec<Uuid> = projects::Entity::find()
        .select_only()
        .column(projects::Column::TenantId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let finished = || {
        jobs::Entity::find()
            .select_only()
            .column(jobs::Column::TenantId)
            .filter(jobs::Column::FinishedAt.gte(start))
            .filter(jobs::Column::FinishedAt.lt(end))
            .group_by(jobs::Column::TenantId)
    };
    let gb: HashMap<Uuid, Option<f64>> = finished()
        .column_as(Expr::col(jobs::Column::GbTransferred).sum(), "q")
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mailboxes: HashMap<Uuid, Option<i64>> = finished()
        .column_as(Expr::col(jobs::Column::MailboxCount).sum(), "q")
        .filter(jobs::Column::Kind.eq(JobKind::Mailbox))
        .filter(jobs::Column::Status.eq(JobStatus::Completed))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(tenants
        .into_iter()
        .map(|tenant| {
            let usage = Transfers {
                gb: round_gb(gb.get(&tenant).copied().flatten().unwrap_or(0.0)),
                mailboxes: mailboxes.get(&tenant).copied().flatten().unwrap_or(0),
            };
            (tenant, usage)
        })
        .collect())
}

/// GB are reported to the microgigabyte (a kilobyte): sums of doubles carry float noise.
fn round_gb(gb: f64) -> f64 {
    (gb * 1e6).round() / 1e6
}
