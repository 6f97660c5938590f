//! Paging: opaque global ids, page arguments (keyset cursors, no OFFSET) and pages as plain data.
//! The GraphQL connection types over them are in `graphql/relay.rs`.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::BoxFuture;
use uuid::Uuid;

use super::errors::{ApiError, ApiResult};

/// Largest page a client may ask for.
pub const MAX_PAGE: i32 = 100;

/// `Type:uuid`, base64url without padding.
pub fn global_id(type_name: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"))
}

/// Decodes a global ID into its type name and row id; anything malformed is `NOT_FOUND`-proof
/// `BAD_USER_INPUT`.
pub fn decode_global_id(id: &str) -> ApiResult<(String, Uuid)> {
    let bad = || ApiError::bad_input(format!("{id:?} is not a valid ID"));
    let raw = URL_SAFE_NO_PAD.decode(id.as_bytes()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (type_name, uuid) = text.split_once(':').ok_or_else(bad)?;
    Ok((
        type_name.to_string(),
        Uuid::parse_str(uuid).map_err(|_| bad())?,
    ))
}

/// Decodes a global ID that must name `expected`.
pub fn expect_id(id: &str, expected: &str) -> ApiResult<Uuid> {
    let (type_name, uuid) = decode_global_id(id)?;
    if type_name != expected {
        return Err(ApiError::bad_input(format!("{id} is not a {expected} ID")));
    }
    Ok(uuid)
}

pub(crate) fn cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("c:{id}"))
}

/// The cursor of a row in a list ordered by `field`: its sort value and its id (the tie-break).
pub(crate) fn sorted_cursor(field: &str, value: &serde_json::Value, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("s:{field}:{value}:{id}"))
}

/// Where an ordered cursor points: the sort field's name and value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SortKey {
    pub field: String,
    /// The value as JSON text.
    pub value: String,
}

fn decode_cursor(raw: &str) -> ApiResult<(Uuid, Option<SortKey>)> {
    let bad = || ApiError::bad_input(format!("{raw:?} is not a valid cursor"));
    let text =
        String::from_utf8(URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?).map_err(|_| bad())?;
    if let Some(id) = text.strip_prefix("c:") {
        return Ok((Uuid::parse_str(id).map_err(|_| bad())?, None));
    }
    let rest = text.strip_prefix("s:").ok_or_else(bad)?;
    let (field, rest) = rest.split_once(':').ok_or_else(bad)?;
    let (value, id) = rest.rsplit_once(':').ok_or_else(bad)?;
    let key = SortKey {
        field: field.to_string(),
        value: serde_json::from_str::<serde_json::Value>(value)
            .map_err(|_| bad())?
            .to_string(),
    };
    Ok((Uuid::parse_str(id).map_err(|_| bad())?, Some(key)))
}

/// The validated slice of a list a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub limit: u64,
    pub after: Option<Uuid>,
    pub before: Option<Uuid>,
    /// The sort values of `after` / `before` when the cursors come from an ordered list.
    pub after_key: Option<SortKey>,
    pub before_key: Option<SortKey>,
    /// `last` was given: the page is the end of the range, read backwards.
    pub backward: bool,
}

/// Checks `first`/`last` (1–100, exactly one) and decodes the cursors.
pub fn window(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> ApiResult<Window> {
    let (size, backward) = match (first, last) {
        (Some(n), None) => (n, false),
        (None, Some(n)) => (n, true),
        (None, None) => return Err(ApiError::bad_input("give `first` or `last` (1 to 100)")),
        (Some(_), Some(_)) => return Err(ApiError::bad_input("give `first` or `last`, not both")),
    };
    if !(1..=MAX_PAGE).contains(&size) {
        return Err(ApiError::bad_input(format!(
            "page size must be 1 to {MAX_PAGE}, not {size}"
        )));
    }
    let after = after.as_deref().map(decode_cursor).transpose()?;
    let before = before.as_deref().map(decode_cursor).transpose()?;
    Ok(Window {
        limit: size as u64,
        after: after.as_ref().map(|c| c.0),
        before: before.as_ref().map(|c| c.0),
        after_key: after.and_then(|c| c.1),
        before_key: before.and_then(|c| c.1),
        backward,
    })
}

/// Where a page sits in its list.
#[derive(Clone, Debug)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    /// Cursor of the first item on this page.
    pub start_cursor: Option<String>,
    /// Cursor of the last item on this page.
    pub end_cursor: Option<String>,
}

/// One page of rows, in list order, fetched with `limit + 1` rows to learn whether more follow.
pub struct Page<T> {
    pub items: Vec<T>,
    pub info: PageInfo,
    /// Each item's cursor, in item order.
    pub cursors: Vec<String>,
}

impl<T> Page<T> {
    /// Builds a page from rows read in the window's direction (`limit + 1` at most).
    pub fn from_rows(mut rows: Vec<T>, window: &Window, cursor_of: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as u64 > window.limit;
        rows.truncate(window.limit as usize);
        if window.backward {
            rows.reverse();
        }
        let (has_next_page, has_previous_page) = if window.backward {
            (window.before.is_some(), more)
        } else {
            (more, window.after.is_some())
        };
        let cursors: Vec<String> = rows.iter().map(cursor_of).collect();
        let info = PageInfo {
            has_next_page,
            has_previous_page,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        };
        Page {
            items: rows,
            info,
            cursors,
        }
    }
}

/// Filter for an `id`-ordered keyset query in a window's direction.
pub fn keyset<S, C>(mut select: S, column: C, window: &Window) -> S
where
    S: sea_orm::QueryFilter + sea_orm::QueryOrder + sea_orm::QuerySelect,
    C: sea_orm::ColumnTrait,
{
    if let Some(after) = window.after {
        select = select.filter(column.gt(after));
    }
    if let Some(before) = window.before {
        select = select.filter(column.lt(before));
    }
    let order = if window.backward {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    select.order_by(column, order).limit(window.limit + 1)
}

/// A page and the (lazy) size of the whole list, as a service returns it.
pub struct Listed<T> {
    pub page: Page<T>,
    pub total: TotalCount,
    /// The rows that share child-list loads with these: this page for a top-level list, every
    /// parent's page of the same level for a nested one.
    pub siblings: super::batch::Siblings,
}

/// Rows with a UUID primary key.
pub trait HasId {
    fn id(&self) -> Uuid;
}

macro_rules! has_id {
    ($($model:path),* $(,)?) => {
        $(impl HasId for $model {
            fn id(&self) -> Uuid {
                self.id
            }
        })*
    };
}

has_id!(
    entities::clients::Model,
    entities::organizations::Model,
    entities::repositories::Model,
    entities::findings::Model,
    entities::recommendations::Model,
    entities::projects::Model,
    entities::agents::Model,
    entities::jobs::Model,
    entities::job_events::Model,
    entities::psa_links::Model,
    entities::crm_opportunities::Model,
    entities::cmdb_sync_runs::Model,
    entities::billing_reports::Model,
    entities::notifications::Model,
    entities::documents::Model,
    entities::backups::Model,
    entities::backup_runners::Model,
);

impl HasId for entities::outbox_events::Model {
    fn id(&self) -> Uuid {
        self.event_id
    }
}

/// `totalCount`, computed only when asked for.
#[derive(Clone)]
pub struct TotalCount(Arc<dyn Fn() -> BoxFuture<'static, ApiResult<u64>> + Send + Sync>);

impl TotalCount {
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ApiResult<u64>> + Send + 'static,
    {
        TotalCount(Arc::new(move || Box::pin(f())))
    }
    pub async fn get(&self) -> ApiResult<u64> {
        (self.0)().await
    }
}
