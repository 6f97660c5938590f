//! Relay in the GraphQL layer: global ids as `ID`, `PageInfo`, and the connection types over the
//! kernel's pages.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use crate::kernel::lists::Fields;
use crate::kernel::paging::PageInfo;
pub use crate::kernel::paging::{decode_global_id, expect_id};

/// `Type:uuid`, base64url without padding, as a GraphQL `ID`.
pub fn global_id(type_name: &str, id: Uuid) -> ID {
    ID(crate::kernel::paging::global_id(type_name, id))
}

/// The fields the query selects on the nodes of the connection being resolved (through `edges {
/// node }` and `nodes`, fragments included), so the service reads only the columns they need.
pub fn node_fields(ctx: &Context<'_>) -> Fields {
    let ahead = ctx.look_ahead();
    let mut names = std::collections::BTreeSet::new();
    for node in [ahead.field("edges").field("node"), ahead.field("nodes")] {
        for field in node.selection_fields() {
            names.extend(field.selection_set().map(|f| f.name().to_string()));
        }
    }
    Fields(Some(names))
}

/// Where a page sits in its list.
#[Object]
impl PageInfo {
    /// More items follow this page.
    async fn has_next_page(&self) -> bool {
        self.has_next_page
    }
    /// Items precede this page.
    async fn has_previous_page(&self) -> bool {
        self.has_previous_page
    }
    /// Cursor of the first item on this page.
    async fn start_cursor(&self) -> Option<&str> {
        self.start_cursor.as_deref()
    }
    /// Cursor of the last item on this page.
    async fn end_cursor(&self) -> Option<&str> {
        self.end_cursor.as_deref()
    }
}

/// Declares `XConnection` and `XEdge` for a node type.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty, $doc:literal) => {
        #[doc = $doc]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: $crate::kernel::paging::PageInfo,
            pub total: $crate::kernel::paging::TotalCount,
        }

        /// An item of the list with its cursor.
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// Opaque cursor for `after` / `before`.
            pub cursor: String,
            /// The item.
            pub node: $node,
        }

        #[doc = $doc]
        #[async_graphql::Object]
        impl $connection {
            /// The items on this page with their cursors.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }
            /// The items on this page.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }
            /// Where this page sits in the whole list.
            async fn page_info(&self) -> &$crate::kernel::paging::PageInfo {
                &self.page_info
            }
            /// How many items the whole list holds (with the same filter).
            async fn total_count(&self) -> async_graphql::Result<u64> {
                Ok(self.total.get().await?)
            }
        }

        impl $connection {
            /// Wraps a listed page; every node shares the page's `Siblings` for its child lists.
            pub fn build<T: $crate::kernel::paging::HasId>(
                listed: $crate::kernel::paging::Listed<T>,
                node: impl Fn(T, $crate::kernel::batch::Siblings) -> $node,
            ) -> Self {
                let siblings = listed.siblings;
                let cursors = listed.page.cursors;
                let edges = listed
                    .page
                    .items
                    .into_iter()
                    .zip(cursors)
                    .map(|(item, cursor)| $edge {
                        cursor,
                        node: node(item, siblings.clone()),
                    })
                    .collect();
                $connection {
                    edges,
                    page_info: listed.page.info,
                    total: listed.total,
                }
            }
        }
    };
}
pub(crate) use connection;
