//! The reports of one period, for every tenant at once: Code's and Migrate's own measures
//! (`code::usage`, `migrate::usage`), one grouped statement per metric.

use chrono::{NaiveDate, TimeDelta};
use entities::enums::Product;
use sea_orm::{DatabaseConnection, DbErr};

use super::{BillingDelivery, GB_TRANSFERRED, MAILBOXES, REPOS_PROTECTED};

/// Each report of `period` with its quantity. A tenant that uses a product reports every
/// metric of it, zero included. `repos_protected` is the count now (no history is kept: a
/// missed day reported late carries the count of its catch-up); the transfers are the period's.
pub(super) async fn usage(
    db: &DatabaseConnection,
    period: NaiveDate,
) -> Result<Vec<(BillingDelivery, f64)>, DbErr> {
    let start = period
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let end = start + TimeDelta::days(1);
    let report = |tenant_id, product, metric: &str| BillingDelivery {
        tenant_id,
        product,
        metric: metric.to_string(),
        period: period.to_string(),
    };
    let mut reports = Vec::new();
    for (tenant, repos) in crate::code::usage::repos_protected(db).await? {
        reports.push((report(tenant, Product::Code, REPOS_PROTECTED), repos as f64));
    }
    for (tenant, usage) in crate::migrate::usage::transfers(db, start, end).await? {
        reports.push((report(tenant, Product::Migrate, GB_TRANSFERRED), usage.gb));
        let mailboxes = usage.mailboxes as f64;
        reports.push((report(tenant, Product::Migrate, MAILBOXES), mailboxes));
    }
    // A stable order: deliveries are queued in it.
    reports.sort_by_key(|a| a.0.key());
    Ok(reports)
}
