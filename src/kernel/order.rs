//! `orderBy` for top-level lists: keyset pagination on (sort value, id), with the sort value in
//! the cursor. Sortable fields are NOT NULL columns or nullable integers with a sentinel that puts
//! unknown values last in either direction (so every row has a comparable key).

use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Value};
use uuid::Uuid;

use crate::kernel::errors::{ApiError, ApiResult};
use crate::kernel::paging::{Window, sorted_cursor};

/// What a sort value is, to read it back from a cursor.
#[derive(Clone, Copy, Debug)]
pub enum SortType {
    Text,
    Int,
    Time,
}

/// Computes a row's sort value (as it goes into its cursor).
pub type ValueOf<M> = Box<dyn Fn(&M) -> serde_json::Value + Send + Sync>;

/// One sortable field of a list of `M`.
pub struct Sort<M> {
    /// The field's name in cursors (a cursor of another order is refused).
    pub name: &'static str,
    /// The SQL expression sorted on.
    pub expr: SimpleExpr,
    pub kind: SortType,
    /// The same value computed from a row (for its cursor).
    pub value_of: ValueOf<M>,
    pub descending: bool,
}

impl<M> Sort<M> {
    /// `name` in cursors includes the direction: a cursor of the other direction is refused too.
    fn key(&self) -> String {
        format!(
            "{}.{}",
            self.name,
            if self.descending { "desc" } else { "asc" }
        )
    }

    pub fn cursor(&self, row: &M, id: Uuid) -> String {
        sorted_cursor(&self.key(), &(self.value_of)(row), id)
    }

    fn bind(&self, value: &str) -> ApiResult<Value> {
        let bad = || ApiError::bad_input("the cursor does not fit this ordering");
        let value: serde_json::Value = serde_json::from_str(value).map_err(|_| bad())?;
        Ok(match self.kind {
            SortType::Text => Value::from(value.as_str().ok_or_else(bad)?.to_string()),
            SortType::Int => Value::from(value.as_i64().ok_or_else(bad)?),
            SortType::Time => {
                let text = value.as_str().ok_or_else(bad)?;
                let at = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| bad())?;
                Value::from(at.with_timezone(&chrono::Utc))
            }
        })
    }

    /// Filters, orders and limits `select` to the window: rows after (or before) the cursor's
    /// (value, id), `limit + 1` of them.
    pub fn apply<E>(
        &self,
        mut select: Select<E>,
        id: E::Column,
        window: &Window,
    ) -> ApiResult<Select<E>>
    where
        E: EntityTrait<Model = M>,
    {
        let key = self.key();
        for (cursor_id, cursor_key, later) in [
            (window.after, &window.after_key, true),
            (window.before, &window.before_key, false),
        ] {
            let Some(cursor_id) = cursor_id else { continue };
            let Some(cursor_key) = cursor_key.as_ref().filter(|k| k.field == key) else {
                return Err(ApiError::bad_input(
                    "the cursor comes from a list in another order; start again without it",
                ));
            };
            let value = self.bind(&cursor_key.value)?;
            // Rows that come later in list order than the cursor (or earlier, for `before`), as
            // one row comparison: the index on (tenant, value, id) seeks to it.
            let forward = later != self.descending;
            let row = Expr::tuple([self.expr.clone(), Expr::col(id)]);
            let cursor = Expr::tuple([Expr::val(value), Expr::val(cursor_id)]);
            select = select.filter(if forward {
                row.gt(cursor)
            } else {
                row.lt(cursor)
            });
        }
        let ascending = self.descending == window.backward;
        let order = if ascending {
            sea_orm::Order::Asc
        } else {
            sea_orm::Order::Desc
        };
        Ok(select
            .order_by(self.expr.clone(), order.clone())
            .order_by(id, order)
            .limit(window.limit + 1))
    }
}

/// A nullable integer column sorted with unknown values last in either direction. The sentinel is
/// written into the SQL, not bound: an index on the expression (migration
/// `m20261205_000050_list_indexes`) serves only the same expression.
pub fn int_last<C: sea_orm::ColumnTrait + sea_orm::IdenStatic>(
    column: C,
    descending: bool,
) -> (SimpleExpr, i64) {
    let sentinel = if descending { -1 } else { i64::from(i32::MAX) };
    (
        Expr::cust(format!("COALESCE(\"{}\", {sentinel})", column.as_str())),
        sentinel,
    )
}
