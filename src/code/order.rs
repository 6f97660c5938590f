//! `orderBy` of the Code lists.

use async_graphql::{Enum, InputObject};
use entities::{findings, repositories};
use sea_orm::sea_query::{Expr, SimpleExpr};
use serde_json::json;

use crate::graphql::order::OrderDirection;
use crate::kernel::order::{Sort, SortType, int_last};

/// What repositories can be sorted by.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum RepositoryOrderField {
    /// Name.
    Name,
    /// Health score (repositories without one come last).
    HealthScore,
    /// Technical-debt score (repositories without one come last).
    DebtScore,
    /// When the gateway first saw the repository.
    CreatedAt,
}

/// The order of a list of repositories (ties broken by id).
#[derive(InputObject, Debug)]
pub struct RepositoryOrder {
    /// Sort key.
    pub field: RepositoryOrderField,
    /// Direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl RepositoryOrder {
    pub fn sort(&self) -> Sort<repositories::Model> {
        let descending = self.direction == OrderDirection::Desc;
        let score = |column, read: fn(&repositories::Model) -> Option<i32>, name| {
            let (expr, sentinel) = int_last(column, descending);
            Sort {
                name,
                expr,
                kind: SortType::Int,
                value_of: Box::new(move |r: &repositories::Model| {
                    json!(read(r).map(i64::from).unwrap_or(sentinel))
                }),
                descending,
            }
        };
        match self.field {
            RepositoryOrderField::Name => Sort {
                name: "name",
                expr: Expr::col(repositories::Column::Name),
                kind: SortType::Text,
                value_of: Box::new(|r| json!(r.name)),
                descending,
            },
            RepositoryOrderField::HealthScore => score(
                repositories::Column::HealthScore,
                |r| r.health_score,
                "health",
            ),
            RepositoryOrderField::DebtScore => {
                score(repositories::Column::DebtScore, |r| r.debt_score, "debt")
            }
            RepositoryOrderField::CreatedAt => Sort {
                name: "created",
                expr: Expr::col(repositories::Column::CreatedAt),
                kind: SortType::Time,
                value_of: Box::new(|r| json!(r.created_at.to_rfc3339())),
                descending,
            },
        }
    }
}

/// What findings can be sorted by.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum FindingOrderField {
    /// Severity (low < medium < high < critical).
    Severity,
    /// When the finding was first seen.
    FirstSeenAt,
    /// When the finding was last seen.
    LastSeenAt,
}

/// The order of a list of findings (ties broken by id).
#[derive(InputObject, Debug)]
pub struct FindingOrder {
    /// Sort key.
    pub field: FindingOrderField,
    /// Direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Severity as a number, in SQL and in Rust alike.
fn severity_rank() -> SimpleExpr {
    Expr::cust(
        "CASE \"severity\" WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 \
         WHEN 'low' THEN 1 ELSE 0 END",
    )
}

fn rank(severity: entities::enums::Severity) -> i64 {
    use entities::enums::Severity::*;
    match severity {
        Critical => 4,
        High => 3,
        Medium => 2,
        Low => 1,
    }
}

impl FindingOrder {
    pub fn sort(&self) -> Sort<findings::Model> {
        let descending = self.direction == OrderDirection::Desc;
        let time = |column: findings::Column,
                    read: fn(&findings::Model) -> chrono::DateTime<chrono::Utc>,
                    name| Sort {
            name,
            expr: Expr::col(column),
            kind: SortType::Time,
            value_of: Box::new(move |r: &findings::Model| json!(read(r).to_rfc3339())),
            descending,
        };
        match self.field {
            FindingOrderField::Severity => Sort {
                name: "severity",
                expr: severity_rank(),
                kind: SortType::Int,
                value_of: Box::new(|r| json!(rank(r.severity))),
                descending,
            },
            FindingOrderField::FirstSeenAt => {
                time(findings::Column::FirstSeenAt, |r| r.first_seen_at, "first")
            }
            FindingOrderField::LastSeenAt => {
                time(findings::Column::LastSeenAt, |r| r.last_seen_at, "last")
            }
        }
    }
}
