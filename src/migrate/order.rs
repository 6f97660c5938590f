//! `orderBy` of the Migrate job list.

use async_graphql::{Enum, InputObject};
use entities::jobs;
use sea_orm::sea_query::Expr;
use serde_json::json;

use crate::graphql::order::OrderDirection;
use crate::kernel::order::{Sort, SortType, ValueOf};

/// What jobs can be sorted by.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum JobOrderField {
    /// Name.
    Name,
    /// Created.
    CreatedAt,
    /// Last changed (status or progress).
    UpdatedAt,
}

/// The order of a list of jobs (ties broken by id).
#[derive(InputObject, Debug)]
pub struct JobOrder {
    /// Sort key.
    pub field: JobOrderField,
    /// Direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl JobOrder {
    pub fn sort(&self) -> Sort<jobs::Model> {
        let descending = self.direction == OrderDirection::Desc;
        let (name, column, kind, value_of): (_, _, _, ValueOf<jobs::Model>) = match self.field {
            JobOrderField::Name => (
                "name",
                jobs::Column::Name,
                SortType::Text,
                Box::new(|r| json!(r.name)),
            ),
            JobOrderField::CreatedAt => (
                "created",
                jobs::Column::CreatedAt,
                SortType::Time,
                Box::new(|r| json!(r.created_at.to_rfc3339())),
            ),
            JobOrderField::UpdatedAt => (
                "updated",
                jobs::Column::UpdatedAt,
                SortType::Time,
                Box::new(|r| json!(r.updated_at.to_rfc3339())),
            ),
        };
        Sort {
            name,
            expr: Expr::col(column),
            kind,
            value_of,
            descending,
        }
    }
}
