//! The neutral kernel every layer stands on: the error vocabulary, global ids and paging, sibling
//! batching, sort keys and the database helpers. It knows no domain and no transport.

pub mod batch;
pub mod db;
pub mod db_errors;
pub mod errors;
pub mod lists;
pub mod order;
pub mod paging;
