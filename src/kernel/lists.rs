//! Lists over sea-orm selects: keyset pages, child lists of a page of parents in one statement,
//! counts, to-one references, and tenant-scoped reads.

use std::collections::HashMap;
use std::sync::Mutex;

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, PaginatorTrait,
    QueryFilter, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use super::batch::Siblings;
use super::errors::ApiResult;
use super::order::Sort;
use super::paging::Window;
use super::paging::{HasId, Listed, Page, TotalCount, cursor, keyset};

/// Up to `window.limit + 1` children per parent in one statement (a window function), grouped by
/// parent and ordered by id in the window's direction.
pub async fn children_per_parent<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    parent: E::Column,
    id: E::Column,
    window: &Window,
    parent_of: impl Fn(&E::Model) -> Uuid,
) -> Result<HashMap<Uuid, Vec<E::Model>>, DbErr>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
{
    let mut select = select;
    if let Some(after) = window.after {
        select = select.filter(id.gt(after));
    }
    if let Some(before) = window.before {
        select = select.filter(id.lt(before));
    }
    let direction = if window.backward { "DESC" } else { "ASC" };
    let mut inner = select.into_query();
    inner.expr_as(
        Expr::cust(format!(
            "ROW_NUMBER() OVER (PARTITION BY \"{}\" ORDER BY \"{}\" {direction})",
            parent.as_str(),
            id.as_str()
        )),
        Alias::new("rn"),
    );
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("rn")).lte(window.limit as i64 + 1))
        .to_owned();
    let statement = db.get_database_backend().build(&outer);
    let rows = E::find().from_raw_sql(statement).all(db).await?;
    let mut grouped: HashMap<Uuid, Vec<E::Model>> = HashMap::new();
    for row in rows {
        grouped.entry(parent_of(&row)).or_default().push(row);
    }
    Ok(grouped)
}

/// Rows per parent for `select` (one GROUP BY statement), for nested `totalCount`.
pub async fn count_per_parent<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    parent: E::Column,
) -> Result<HashMap<Uuid, u64>, DbErr>
where
    E: EntityTrait,
{
    let rows: Vec<(Uuid, i64)> = select
        .select_only()
        .column(parent)
        .column_as(Expr::col(Asterisk).count(), "n")
        .group_by(parent)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(p, n)| (p, std::cmp::max(n, 0) as u64))
        .collect())
}

/// `COUNT(*)` of a filtered select.
pub async fn count<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
) -> Result<u64, DbErr>
where
    E::Model: Sync,
{
    select.count(db).await
}

/// One page of a top-level list: one statement, plus one for `totalCount` when asked.
pub async fn list_page<E>(
    db: &sea_orm::DatabaseConnection,
    select: Select<E>,
    id: E::Column,
    window: Window,
) -> ApiResult<Listed<E::Model>>
where
    E: EntityTrait,
    E::Model: HasId + Sync,
{
    unordered(&window)?;
    let rows = keyset(select.clone(), id, &window).all(db).await?;
    let page = Page::from_rows(rows, &window, |r| cursor(r.id()));
    listed(db, select, page)
}

/// Cursors of an ordered list do not fit a list in id order.
fn unordered(window: &Window) -> ApiResult<()> {
    if window.after_key.is_some() || window.before_key.is_some() {
        return Err(super::errors::ApiError::bad_input(
            "the cursor comes from a list in another order; start again without it",
        ));
    }
    Ok(())
}

/// One page of a top-level list in `sort` order (id order without one).
pub async fn sorted_page<E>(
    db: &sea_orm::DatabaseConnection,
    select: Select<E>,
    id: E::Column,
    sort: Option<Sort<E::Model>>,
    window: Window,
) -> ApiResult<Listed<E::Model>>
where
    E: EntityTrait,
    E::Model: HasId + Sync,
{
    let Some(sort) = sort else {
        return list_page(db, select, id, window).await;
    };
    let rows = sort.apply(select.clone(), id, &window)?.all(db).await?;
    let page = Page::from_rows(rows, &window, |r| sort.cursor(r, r.id()));
    listed(db, select, page)
}

/// A page with its lazy total and the siblings its child lists load for.
fn listed<E>(
    db: &sea_orm::DatabaseConnection,
    select: Select<E>,
    page: Page<E::Model>,
) -> ApiResult<Listed<E::Model>>
where
    E: EntityTrait,
    E::Model: HasId + Sync,
{
    let siblings = Siblings::new(page.items.iter().map(|r| r.id()).collect());
    let db = db.clone();
    let total = TotalCount::new(move || {
        let (db, select) = (db.clone(), select.clone());
        async move { Ok(select.count(&db).await?) }
    });
    Ok(Listed {
        page,
        total,
        siblings,
    })
}

/// One parent's page of a nested list, loaded once for all the parent's siblings (`select` holds
/// the tenant and the filter; `key` names the field and its arguments).
#[allow(clippy::too_many_arguments)]
pub async fn nested_page<E>(
    db: &sea_orm::DatabaseConnection,
    siblings: &Siblings,
    key: String,
    select: Select<E>,
    parent: E::Column,
    id: E::Column,
    window: Window,
    parent_id: Uuid,
    parent_of: fn(&E::Model) -> Uuid,
) -> ApiResult<Listed<E::Model>>
where
    E: EntityTrait,
    E::Model: HasId + Clone + Sync,
{
    unordered(&window)?;
    let grouped = siblings
        .load(format!("{key}/{window:?}"), |ids| {
            let select = select.clone().filter(parent.is_in(ids.iter().copied()));
            let window = window.clone();
            async move {
                let grouped =
                    children_per_parent(db, select, parent, id, &window, parent_of).await?;
                // Every child of this level shares one `Siblings`, so the next level loads once.
                let all = grouped.values().flatten().map(|r| r.id()).collect();
                Ok((Mutex::new(grouped), Siblings::new(all)))
            }
        })
        .await?;
    let (grouped, children) = &*grouped;
    // Each parent takes its rows once (the load is keyed by the field's response key, see
    // `Siblings::in_field`), so they are moved, not copied.
    let mut rows = grouped
        .lock()
        .expect("poisoned")
        .remove(&parent_id)
        .unwrap_or_default();
    rows.sort_by_key(|r| r.id());
    if window.backward {
        rows.reverse();
    }
    let page = Page::from_rows(rows, &window, |r| cursor(r.id()));
    let (db, siblings) = (db.clone(), siblings.clone());
    let total = TotalCount::new(move || {
        let (db, siblings, select, key) =
            (db.clone(), siblings.clone(), select.clone(), key.clone());
        async move {
            let counts = siblings
                .load(format!("{key}/count"), |ids| {
                    let select = select.filter(parent.is_in(ids.iter().copied()));
                    async move { Ok(count_per_parent(&db, select, parent).await?) }
                })
                .await?;
            Ok(counts.get(&parent_id).copied().unwrap_or(0))
        }
    });
    Ok(Listed {
        page,
        total,
        siblings: children.clone(),
    })
}

/// `LOWER(column) LIKE '%text%'` with the user's text taken literally (wildcards escaped).
pub fn name_contains<C: ColumnTrait>(
    column: C,
    text: &str,
) -> ApiResult<sea_orm::sea_query::SimpleExpr> {
    use sea_orm::sea_query::{Func, LikeExpr};
    if text.len() > 200 {
        return Err(super::errors::ApiError::bad_input(
            "a search text is limited to 200 characters",
        ));
    }
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Ok(Func::lower(Expr::col(column)).like(LikeExpr::new(format!("%{escaped}%")).escape('\\')))
}

/// The to-one reference (e.g. job → agent) of every sibling, in one JOIN statement, cached for the
/// level; returns the one for `child_id`. `select` holds the tenant filter.
pub async fn to_one<E, R>(
    db: &sea_orm::DatabaseConnection,
    siblings: &Siblings,
    key: &str,
    select: Select<E>,
    id: E::Column,
    child_id: Uuid,
) -> ApiResult<Option<R::Model>>
where
    E: EntityTrait + sea_orm::Related<R>,
    R: EntityTrait,
    E::Model: HasId,
    R::Model: Clone + Send + Sync,
{
    let found = siblings
        .load(format!("to-one/{key}"), |ids| async move {
            let rows = select
                .filter(id.is_in(ids.iter().copied()))
                .find_also_related(R::default())
                .all(db)
                .await?;
            let by_child: HashMap<Uuid, R::Model> = rows
                .into_iter()
                .filter_map(|(child, referenced)| referenced.map(|r| (child.id(), r)))
                .collect();
            Ok(by_child)
        })
        .await?;
    Ok(found.get(&child_id).cloned())
}

/// The row `id` if it belongs to `tenant` (another tenant's row is as missing as a missing one).
pub async fn one_of_tenant<E: EntityTrait>(
    db: &sea_orm::DatabaseConnection,
    tenant_column: E::Column,
    id_column: E::Column,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<Option<E::Model>> {
    Ok(E::find()
        .filter(tenant_column.eq(tenant))
        .filter(id_column.eq(id))
        .one(db)
        .await?)
}
