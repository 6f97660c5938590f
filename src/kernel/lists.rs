//! Lists over sea-orm selects: keyset pages, child lists of a page of parents in one statement,
//! counts, to-one references, and tenant-scoped reads.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, IdenStatic,
    Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement,
};
use uuid::Uuid;

use super::batch::Siblings;
use super::errors::ApiResult;
use super::order::Sort;
use super::paging::Window;
use super::paging::{HasId, Listed, Page, TotalCount, cursor, keyset};

/// Up to `window.limit + 1` children of each of `parents` in one statement, grouped by parent and
/// ordered by id in the window's direction (`select` holds the tenant and the filter).
///
/// On PostgreSQL the parents are one array parameter and each takes its rows through `LATERAL
/// (… ORDER BY id LIMIT k + 1)`: an index range scan of k + 1 entries per parent, and one
/// prepared statement whatever the page size. SQLite has no LATERAL: there a window function
/// ranks the children of all the parents (`parent IN (…)`).
pub async fn children_per_parent<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    parent: E::Column,
    id: E::Column,
    parents: &[Uuid],
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
    let backend = db.get_database_backend();
    let statement = if backend == DbBackend::Postgres {
        let order = if window.backward {
            sea_orm::Order::Desc
        } else {
            sea_orm::Order::Asc
        };
        let inner = select
            .filter(Expr::col((E::default(), parent)).eq(Expr::cust("\"parents\".\"id\"")))
            .order_by(id, order)
            .limit(window.limit + 1)
            .build(backend);
        let mut values = inner.values.map(|v| v.0).unwrap_or_default();
        let array = parents.iter().map(Uuid::to_string).collect::<Vec<_>>();
        values.push(format!("{{{}}}", array.join(",")).into());
        let sql = format!(
            "SELECT \"children\".* FROM unnest(CAST(${} AS uuid[])) AS \"parents\"(\"id\") \
             CROSS JOIN LATERAL ({}) AS \"children\"",
            values.len(),
            inner.sql
        );
        Statement::from_sql_and_values(backend, sql, values)
    } else {
        let direction = if window.backward { "DESC" } else { "ASC" };
        let mut inner = select
            .filter(parent.is_in(parents.iter().copied()))
            .into_query();
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
        backend.build(&outer)
    };
    let rows = E::find().from_raw_sql(statement).all(db).await?;
    let mut grouped: HashMap<Uuid, Vec<E::Model>> = HashMap::new();
    for row in rows {
        grouped.entry(parent_of(&row)).or_default().push(row);
    }
    Ok(grouped)
}

/// The fields a query selects on a list's nodes (their GraphQL names); `None` when they are not
/// known, and then every column is read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fields(pub Option<BTreeSet<String>>);

/// A text column a page may leave unread: the node field that shows it (empty: none does), and
/// the value it reads as then (`''` or `NULL`, the same SQL on both databases).
pub type Unread<C> = (&'static str, C, &'static str);

/// The columns of `text` that `fields` does not need, when every field of `fields` is known:
/// one of `text`, or one of `others` (fields that read only columns every page reads). An
/// unknown field, or unknown fields, read every column.
pub fn unread_columns<C: Copy>(
    fields: &Fields,
    text: &[Unread<C>],
    others: &[&str],
) -> Vec<(C, &'static str)> {
    let Some(selected) = &fields.0 else {
        return Vec::new();
    };
    let known = |f: &String| others.contains(&f.as_str()) || text.iter().any(|t| t.0 == f.as_str());
    if !selected.iter().all(known) {
        return Vec::new();
    }
    text.iter()
        .filter(|(field, _, _)| field.is_empty() || !selected.contains(*field))
        .map(|(_, column, default)| (*column, *default))
        .collect()
}

/// `select` reading `unread` columns as their defaults instead of from the table: less to send,
/// and no string to allocate, for columns the query does not show.
pub fn leave_unread<E: EntityTrait>(
    select: Select<E>,
    unread: &[(E::Column, &'static str)],
) -> Select<E> {
    if unread.is_empty() {
        return select;
    }
    let mut select = select.select_only();
    for column in E::Column::iter() {
        select = match unread.iter().find(|(c, _)| c.as_str() == column.as_str()) {
            Some((_, default)) => select.column_as(Expr::cust(*default), column.as_str()),
            None => select.column(column),
        };
    }
    select
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

/// One parent's page of a nested list, loaded once for all the parent's siblings (`select` gives
/// the tenant and the filter; `key` names the field and its arguments). Only the first parent to
/// resolve builds the select and runs it; the others read the level's load.
#[allow(clippy::too_many_arguments)]
pub async fn nested_page<E>(
    db: &sea_orm::DatabaseConnection,
    siblings: &Siblings,
    key: String,
    select: impl FnOnce() -> ApiResult<Select<E>>,
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
    let loaded = siblings
        .load(format!("{key}/{window:?}"), |ids| {
            let window = window.clone();
            async move {
                let select = select()?;
                let grouped =
                    children_per_parent(db, select.clone(), parent, id, &ids, &window, parent_of)
                        .await?;
                // Every child of this level shares one `Siblings`, so the next level loads once.
                let all = grouped.values().flatten().map(|r| r.id()).collect();
                Ok((Mutex::new(grouped), Siblings::new(all), select))
            }
        })
        .await?;
    let (grouped, children, _) = &*loaded;
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
    let children = children.clone();
    let (db, siblings) = (db.clone(), siblings.clone());
    let total = TotalCount::new(move || {
        let (db, siblings, loaded, key) =
            (db.clone(), siblings.clone(), loaded.clone(), key.clone());
        async move {
            let counts = siblings
                .load(format!("{key}/count"), |ids| {
                    let select = loaded.2.clone().filter(parent.is_in(ids.iter().copied()));
                    async move { Ok(count_per_parent(&db, select, parent).await?) }
                })
                .await?;
            Ok(counts.get(&parent_id).copied().unwrap_or(0))
        }
    });
    Ok(Listed {
        page,
        total,
        siblings: children,
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
