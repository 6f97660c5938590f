//! Relay helpers of the GraphQL layer.

pub use crate::kernel::paging::{decode_global_id, expect_id, global_id};
