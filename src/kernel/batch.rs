//! Child lists of one page of parents, loaded once for all the parents: the first sibling whose
//! field resolves runs one statement for every sibling, the others read its result. With to-one
//! references loaded the same way (`lists::to_one`) this keeps a request at 1 + depth statements
//! whatever the page size.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use uuid::Uuid;

use super::errors::ApiResult;

type Slot = Arc<OnceCell<Arc<dyn Any + Send + Sync>>>;

/// The parents on one page, shared by each of them.
#[derive(Clone, Default)]
pub struct Siblings {
    ids: Arc<Vec<Uuid>>,
    loaded: Arc<Mutex<HashMap<String, Slot>>>,
    /// The response key of the field loading (see `in_field`); empty for to-one references.
    field: Arc<str>,
}

impl Siblings {
    pub fn new(ids: Vec<Uuid>) -> Self {
        Siblings {
            ids: Arc::new(ids),
            loaded: Default::default(),
            field: "".into(),
        }
    }

    /// The same siblings, their loads also keyed by the field's response key. A child list hands
    /// each parent its rows by moving them out of the shared load (no copy), which is right
    /// only if each parent takes them once: two aliases of one field with the same arguments
    /// get a load each.
    pub fn in_field(&self, response_key: &str) -> Siblings {
        Siblings {
            ids: self.ids.clone(),
            loaded: self.loaded.clone(),
            field: response_key.into(),
        }
    }

    /// Siblings for a parent resolved on its own (e.g. through `node`).
    pub fn single(id: Uuid) -> Self {
        Self::new(vec![id])
    }

    /// Runs `load` once per `key` (a field and its arguments) for all the siblings.
    pub async fn load<T, F, Fut>(&self, key: String, load: F) -> ApiResult<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce(Arc<Vec<Uuid>>) -> Fut,
        Fut: Future<Output = ApiResult<T>>,
    {
        let slot = self
            .loaded
            .lock()
            .expect("poisoned")
            .entry(format!("{}/{key}", self.field))
            .or_default()
            .clone();
        let value = slot
            .get_or_try_init(|| async {
                let value: Arc<dyn Any + Send + Sync> = Arc::new(load(self.ids.clone()).await?);
                ApiResult::Ok(value)
            })
            .await?
            .clone();
        Ok(value.downcast::<T>().expect("one key, one type"))
    }
}
