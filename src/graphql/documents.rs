//! Parsed documents kept by their text: front-ends send the same few operations over and over,
//! and parsing (pest) was ≈ 10 % of the server's CPU per request in the read-graph benchmark
//! (docs/benchmarks.md). Only documents that parse are kept; a failing one is parsed again by
//! the schema so its error is reported exactly as before. Validation still runs per request
//! (it depends on the variables).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// How many distinct documents are kept (least recently used go first). Documents are at most
/// `GRAPHQL_MAX_DOCUMENT_BYTES`, and a front-end has a few hundred operations.
const CAPACITY: usize = 512;

#[derive(Clone)]
pub struct DocumentCache(Arc<Mutex<LruCache<String, Arc<ExecutableDocument>>>>);

impl Default for DocumentCache {
    fn default() -> Self {
        let capacity = NonZeroUsize::new(CAPACITY).expect("non-zero");
        DocumentCache(Arc::new(Mutex::new(LruCache::new(capacity))))
    }
}

impl DocumentCache {
    /// The parsed document, or `None` when it does not parse.
    pub fn parse(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        if let Some(doc) = self.0.lock().expect("poisoned").get(query) {
            return Some(doc.clone());
        }
        let doc = Arc::new(parse_query(query).ok()?);
        self.0
            .lock()
            .expect("poisoned")
            .put(query.to_string(), doc.clone());
        Some(doc)
    }

    /// How many documents are kept (tests).
    pub fn len(&self) -> usize {
        self.0.lock().expect("poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_documents_that_parse_and_only_those() {
        let cache = DocumentCache::default();
        let first = cache.parse("{ viewer { id } }").expect("parses");
        let again = cache.parse("{ viewer { id } }").expect("parses");
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second lookup is the kept document"
        );
        assert!(cache.parse("{ viewer { id }").is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn forgets_the_least_recently_used_past_capacity() {
        let cache = DocumentCache::default();
        for i in 0..CAPACITY + 10 {
            cache.parse(&format!("{{ f{i} }}"));
        }
        assert_eq!(cache.len(), CAPACITY);
        let oldest = cache.0.lock().unwrap().contains("{ f0 }");
        assert!(!oldest);
    }
}
