//! The neutral kernel every layer stands on: the error vocabulary, global ids and paging, sibling
//! batching, sort keys, input rules (money, NUL-free JSON) and the database helpers. It knows no
//! domain and no transport.

pub mod batch;
pub mod db;
pub mod db_errors;
pub mod errors;
pub mod hygiene;
pub mod lists;
pub mod money;
pub mod order;
pub mod paging;
pub mod text;
