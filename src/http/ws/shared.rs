//! One execution per identical subscription: sockets that send the same operation with the same
//! variables as the same principal share one resolver stream, and every result is serialized
//! once and sent as the same bytes to all of them. A socket that joins late first gets the latest
//! result. The execution stops when its last subscriber leaves.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use futures::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use crate::auth::Principal;
use crate::http::state::AppState;
use crate::kernel::errors::Code;

/// Results kept for a slow socket; past that it skips to the newest.
const BUFFER: usize = 16;

/// What a shared execution produces, serialized once.
#[derive(Clone, Debug)]
pub enum Frame {
    /// An execution result (`next`).
    Next(Arc<str>),
    /// The operation failed at its start (`error`); nothing follows.
    Error(Arc<str>),
    /// The source ended (`complete`).
    Complete,
}

/// Who asks for what: only identical keys share an execution.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Key {
    principal: String,
    query: String,
    operation_name: Option<String>,
    variables: String,
}

impl Key {
    pub fn new(
        principal: &Principal,
        query: &str,
        operation_name: Option<&str>,
        variables: &serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        Key {
            // Everything resolvers may look at: tenant, user, roles, products.
            principal: format!("{principal:?}"),
            query: query.to_string(),
            operation_name: operation_name.map(str::to_string),
            variables: serde_json::Value::Object(variables.clone()).to_string(),
        }
    }
}

struct Shared {
    generation: u64,
    key: Key,
    registry: Weak<Registry>,
    sender: broadcast::Sender<Frame>,
    /// The latest result, for sockets that join later; `ended` once the source is done.
    latest: Mutex<(Option<Frame>, bool)>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Shared {
    /// The last socket left: stop the execution and forget it. (Never dropped while the registry
    /// lock is held: `join` releases the lock before it lets go of an execution.)
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().expect("shared task").take() {
            task.abort();
        }
        forget(&self.registry, &self.key, self.generation);
    }
}

type Registry = Mutex<HashMap<Key, (u64, Weak<Shared>)>>;

/// The shared executions of this process.
#[derive(Clone, Default)]
pub struct SharedExecutions {
    registry: Arc<Registry>,
    generations: Arc<AtomicU64>,
}

/// A socket's view of one shared execution: holds it alive while the socket listens.
pub type Subscription = std::pin::Pin<Box<dyn Stream<Item = Frame> + Send>>;

impl SharedExecutions {
    /// Joins the execution for `key`, starting it if there is none (or only an ended one).
    pub fn join(
        &self,
        state: &AppState,
        key: Key,
        principal: Principal,
        request_id: String,
    ) -> Subscription {
        let mut registry = self.registry.lock().expect("shared registry");
        let existing = registry.get(&key).and_then(|(_, weak)| weak.upgrade());
        let (shared, receiver, latest) = match existing {
            Some(shared) => {
                let latest = shared.latest.lock().expect("shared latest");
                if latest.1 {
                    drop(latest);
                    // Ended: start afresh below; the old one is dropped outside the lock.
                    let fresh = self.start(&mut registry, state, key, principal, request_id);
                    drop(registry);
                    drop(shared);
                    return fresh;
                }
                let receiver = shared.sender.subscribe();
                let replay = latest.0.clone();
                drop(latest);
                (shared, receiver, replay)
            }
            None => {
                return self.start(&mut registry, state, key, principal, request_id);
            }
        };
        drop(registry);
        listen(shared, receiver, latest)
    }

    fn start(
        &self,
        registry: &mut HashMap<Key, (u64, Weak<Shared>)>,
        state: &AppState,
        key: Key,
        principal: Principal,
        request_id: String,
    ) -> Subscription {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = broadcast::channel(BUFFER);
        let shared = Arc::new(Shared {
            generation,
            key: key.clone(),
            registry: Arc::downgrade(&self.registry),
            sender,
            latest: Mutex::new((None, false)),
            task: Mutex::new(None),
        });
        registry.insert(key.clone(), (generation, Arc::downgrade(&shared)));
        let task = tokio::spawn(run(
            state.clone(),
            Arc::downgrade(&shared),
            Arc::downgrade(&self.registry),
            key,
            principal,
            request_id,
        ));
        *shared.task.lock().expect("shared task") = Some(task.abort_handle());
        listen(shared, receiver, None)
    }
}

/// The frames a socket receives: the replayed latest result, then the live ones, up to the end.
fn listen(
    shared: Arc<Shared>,
    receiver: broadcast::Receiver<Frame>,
    replay: Option<Frame>,
) -> Subscription {
    // A lagging socket skips what it missed (`Lagged`) and goes on with the newest.
    let live = BroadcastStream::new(receiver).filter_map(|frame| std::future::ready(frame.ok()));
    let mut done = false;
    let frames = futures::stream::iter(replay)
        .chain(live)
        .take_while(move |frame| {
            let go_on = !done;
            done = !matches!(frame, Frame::Next(_));
            std::future::ready(go_on)
        })
        // Keeps the execution alive as long as this socket listens.
        .map(move |frame| {
            let _alive = &shared;
            frame
        });
    Box::pin(frames)
}

/// Runs the operation once and publishes each result to every subscriber.
async fn run(
    state: AppState,
    shared: Weak<Shared>,
    registry: Weak<Registry>,
    key: Key,
    principal: Principal,
    request_id: String,
) {
    let variables = serde_json::from_str(&key.variables).unwrap_or_default();
    let variables = async_graphql::Variables::from_json(variables);
    let document = state.documents.parse(&key.query);
    let mut request = async_graphql::Request::new(key.query.clone())
        .variables(variables.clone())
        .data(principal);
    if let Some(name) = &key.operation_name {
        request = request.operation_name(name.clone());
    }
    let mut results = state.schema.execute_stream(request);
    let mut first = true;
    while let Some(mut response) = results.next().await {
        super::super::graphql::mask_errors(&mut response.errors, Some(&request_id));
        let failed_at_start =
            first && !response.errors.is_empty() && response.data == async_graphql::Value::Null;
        first = false;
        let frame = if failed_at_start {
            Frame::Error(serialize(&response.errors, &request_id))
        } else {
            if let Some(doc) = document.as_deref() {
                let name = key.operation_name.as_deref();
                crate::graphql::response_order::in_selection_order(
                    doc,
                    name,
                    &variables,
                    &mut response.data,
                );
            }
            Frame::Next(serialize(&response, &request_id))
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let ended = matches!(frame, Frame::Error(_));
        if ended {
            forget(&registry, &key, shared.generation);
        }
        publish(&shared, frame, ended);
        if ended {
            return;
        }
    }
    if let Some(shared) = shared.upgrade() {
        forget(&registry, &key, shared.generation);
        publish(&shared, Frame::Complete, true);
    }
}

/// Records `frame` as the latest and sends it, under one lock so a joining socket gets it
/// exactly once (replayed or live).
fn publish(shared: &Shared, frame: Frame, ended: bool) {
    let mut latest = shared.latest.lock().expect("shared latest");
    latest.1 = ended;
    if !ended {
        latest.0 = Some(frame.clone());
    }
    let _ = shared.sender.send(frame);
}

/// Removes the registry entry of this execution (a newer one for the same key stays).
fn forget(registry: &Weak<Registry>, key: &Key, generation: u64) {
    if let Some(registry) = registry.upgrade() {
        let mut registry = registry.lock().expect("shared registry");
        if registry.get(key).is_some_and(|(g, _)| *g == generation) {
            registry.remove(key);
        }
    }
}

fn serialize<T: serde::Serialize>(value: &T, request_id: &str) -> Arc<str> {
    serde_json::to_string(value)
        .unwrap_or_else(|_| {
            let body = crate::http::error_body(Code::Internal, "internal error", Some(request_id));
            body["errors"].to_string()
        })
        .into()
}
