//! One `graphql-transport-ws` connection: `connection_init` within the timeout (authenticated by
//! the upgrade request's cookie or by a token in the init payload), then subscriptions up to the
//! per-connection cap, each joined to its shared execution.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::http::{HeaderMap, header};
use futures::{SinkExt, StreamExt};
use tokio_stream::StreamMap;

use super::protocol::{self, ClientMessage, close};
use super::shared::{Frame, Key, Subscription};
use crate::auth::Principal;
use crate::http::state::AppState;
use crate::kernel::errors::Code;
use crate::telemetry::metrics::GaugeShare;

/// Why the server closes a connection.
struct Closing(u16, String);

impl Closing {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Closing(code, reason.into())
    }
}

pub async fn run(state: AppState, headers: HeaderMap, request_id: String, socket: WebSocket) {
    let mut open = GaugeShare::new(state.services.metrics.live_gauge("gateway_ws_connections"));
    open.set(1);
    let (mut sink, mut incoming) = socket.split();
    let outcome = serve(&state, &headers, &request_id, &mut sink, &mut incoming).await;
    if let Err(Closing(code, mut reason)) = outcome {
        // A close reason holds at most 123 bytes.
        if reason.len() > 120 {
            let mut end = 120;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
    let _ = sink.close().await;
}

type Sink = futures::stream::SplitSink<WebSocket, Message>;
type Incoming = futures::stream::SplitStream<WebSocket>;

async fn serve(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &str,
    sink: &mut Sink,
    incoming: &mut Incoming,
) -> Result<(), Closing> {
    let limits = &state.services.config.subscriptions;
    let init_timeout = Duration::from_millis(limits.init_timeout_ms);
    let deadline = tokio::time::Instant::now() + init_timeout;
    let principal = loop {
        let message = match tokio::time::timeout_at(deadline, incoming.next()).await {
            Err(_) => {
                return Err(Closing::new(
                    close::INIT_TIMEOUT,
                    "Connection initialisation timeout",
                ));
            }
            Ok(None | Some(Err(_))) => return Ok(()),
            Ok(Some(Ok(message))) => message,
        };
        match parse(message)? {
            Input::Closed => return Ok(()),
            Input::Control => {}
            Input::Message(ClientMessage::ConnectionInit { payload }) => {
                // Boxed: the sign-in lookup is a large future, and an inline one would size every
                // idle connection's task for it.
                break Box::pin(authenticate(state, headers, payload)).await?;
            }
            Input::Message(ClientMessage::Ping { .. }) => {
                send(sink, protocol::PONG.to_string()).await?
            }
            Input::Message(ClientMessage::Pong { .. }) => {}
            Input::Message(ClientMessage::Subscribe { .. } | ClientMessage::Complete { .. }) => {
                return Err(Closing::new(close::UNAUTHORIZED, "Unauthorized"));
            }
        }
    };
    send(sink, protocol::CONNECTION_ACK.to_string()).await?;

    // The connection lives no longer than the credential it was opened with. 4403 (not 4401):
    // graphql-ws clients reconnect after it, with fresh connection params.
    let lapse = tokio::time::sleep_until(lapses_at(&principal));
    tokio::pin!(lapse);
    // A cookie session also ends when it is signed out, on whichever replica.
    let mut signed_out = principal
        .session_id()
        .map(|id| SignOutWatch::new(state, id));
    let signed_out_at = async {
        match signed_out.as_mut() {
            Some(watch) => watch.wait().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(signed_out_at);
    // Signed out between the sign-in and the watch: the announcement came before the watch.
    if let Some(id) = principal.session_id()
        && !Box::pin(state.services.auth.session_active(id))
            .await
            .unwrap_or(false)
    {
        return Err(Closing::new(
            close::FORBIDDEN,
            "Forbidden: the session has ended",
        ));
    }
    let mut subscriptions: StreamMap<String, Subscription> = StreamMap::new();
    let mut active = GaugeShare::new(state.services.metrics.live_gauge("gateway_subscriptions"));
    loop {
        active.set(subscriptions.len());
        tokio::select! {
            () = &mut lapse => {
                return Err(Closing::new(close::FORBIDDEN, "Forbidden: the session has ended"));
            }
            () = &mut signed_out_at => {
                return Err(Closing::new(close::FORBIDDEN, "Forbidden: the session has ended"));
            }
            message = incoming.next() => {
                let Some(Ok(message)) = message else { return Ok(()) };
                let message = match parse(message)? {
                    Input::Closed => return Ok(()),
                    Input::Control => continue,
                    Input::Message(message) => message,
                };
                match message {
                    ClientMessage::ConnectionInit { .. } => {
                        return Err(Closing::new(
                            close::TOO_MANY_INITS,
                            "Too many initialisation requests",
                        ));
                    }
                    ClientMessage::Ping { .. } => send(sink, protocol::PONG.to_string()).await?,
                    ClientMessage::Pong { .. } => {}
                    ClientMessage::Complete { id } => {
                        subscriptions.remove(&id);
                    }
                    ClientMessage::Subscribe { id, payload } => {
                        if subscriptions.contains_key(&id) {
                            return Err(Closing::new(
                                close::DUPLICATE_ID,
                                format!("Subscriber for {id} already exists"),
                            ));
                        }
                        if subscriptions.len() >= limits.max_per_connection {
                            let message = format!(
                                "at most {} subscriptions per connection",
                                limits.max_per_connection
                            );
                            let errors =
                                crate::http::error_body(Code::RateLimited, &message, Some(request_id));
                            send(sink, protocol::error(&id, &errors["errors"].to_string())).await?;
                            continue;
                        }
                        if payload.query.len() > state.services.config.graphql.max_document_bytes {
                            let message = format!(
                                "the document exceeds {} bytes",
                                state.services.config.graphql.max_document_bytes
                            );
                            let errors = crate::http::error_body(
                                Code::PayloadTooLarge,
                                &message,
                                Some(request_id),
                            );
                            send(sink, protocol::error(&id, &errors["errors"].to_string())).await?;
                            continue;
                        }
                        if let Some(doc) = state.documents.parse(&payload.query)
                            && let Err(message) = crate::http::graphql::select_operation(
                                &doc,
                                payload.operation_name.as_deref(),
                            )
                        {
                            let errors =
                                crate::http::error_body(Code::BadUserInput, message, Some(request_id));
                            send(sink, protocol::error(&id, &errors["errors"].to_string())).await?;
                            continue;
                        }
                        let key = Key::new(
                            &principal,
                            &payload.query,
                            payload.operation_name.as_deref(),
                            &payload.variables.unwrap_or_default(),
                        );
                        let joined =
                            state.live_executions.join(state, key, principal.clone(), request_id.to_string());
                        subscriptions.insert(id, joined);
                    }
                }
            }
            Some((id, frame)) = subscriptions.next(), if !subscriptions.is_empty() => {
                let text = match &frame {
                    Frame::Next(payload) => protocol::next(&id, payload),
                    Frame::Error(errors) => protocol::error(&id, errors),
                    Frame::Complete => protocol::complete(&id),
                };
                if !matches!(frame, Frame::Next(_)) {
                    subscriptions.remove(&id);
                }
                send(sink, text).await?;
            }
        }
    }
}

/// Waits for the connection's cookie session to be signed out; its topic goes with it.
struct SignOutWatch {
    hub: crate::live::LiveHub,
    topic: String,
    receiver: Option<tokio::sync::broadcast::Receiver<crate::live::LiveEvent>>,
}

impl SignOutWatch {
    fn new(state: &AppState, session: uuid::Uuid) -> Self {
        let topic = crate::live::session_topic(session);
        let receiver = Some(state.services.live.subscribe(topic.clone()));
        SignOutWatch {
            hub: state.services.live.clone(),
            topic,
            receiver,
        }
    }

    /// Resolves at the sign-out (or if the hub could not tell: a lagged or closed topic).
    async fn wait(&mut self) {
        if let Some(receiver) = self.receiver.as_mut() {
            let _ = receiver.recv().await;
        }
    }
}

impl Drop for SignOutWatch {
    fn drop(&mut self) {
        self.receiver.take();
        self.hub.release(&self.topic);
    }
}

/// When the principal's credential lapses, as a timer instant (agents' keys do not lapse: they
/// are revoked, which the agent-status subscription reports).
fn lapses_at(principal: &Principal) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    match principal.expires_at() {
        Some(at) => now + (at - chrono::Utc::now()).to_std().unwrap_or_default(),
        None => now + Duration::from_secs(30 * 365 * 86_400),
    }
}

/// What arrived on the socket.
enum Input {
    Message(ClientMessage),
    /// A WebSocket ping or pong (the transport answers pings itself).
    Control,
    Closed,
}

/// A text message as a protocol message; anything else that is not a control frame is
/// `4400 Bad Request`.
fn parse(message: Message) -> Result<Input, Closing> {
    match message {
        Message::Text(text) => serde_json::from_str(text.as_str())
            .map(Input::Message)
            .map_err(|e| {
                Closing::new(close::BAD_REQUEST, format!("Invalid message received: {e}"))
            }),
        Message::Close(_) => Ok(Input::Closed),
        Message::Ping(_) | Message::Pong(_) => Ok(Input::Control),
        Message::Binary(_) => Err(Closing::new(
            close::BAD_REQUEST,
            "Invalid message received: binary frames are not part of the protocol",
        )),
    }
}

async fn send(sink: &mut Sink, text: String) -> Result<(), Closing> {
    sink.send(Message::Text(Utf8Bytes::from(text)))
        .await
        .map_err(|_| Closing::new(1000, ""))
}

/// The principal of the connection: a token in the init payload (`authorization: "Bearer …"`
/// or `token`) wins over the upgrade request's cookie or header. Nobody, or a token that does
/// not verify, is `4403 Forbidden`.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    payload: Option<serde_json::Value>,
) -> Result<Principal, Closing> {
    let mut headers = headers.clone();
    let payload = payload.unwrap_or_default();
    let given = ["authorization", "Authorization", "token"]
        .iter()
        .find_map(|field| payload.get(field).and_then(|v| v.as_str()));
    if let Some(given) = given {
        // A token no header could carry is refused, not dropped (the cookie must not stand in).
        let value = crate::http::auth::bearer_header(given)
            .ok_or_else(|| Closing::new(close::FORBIDDEN, "Forbidden"))?;
        headers.insert(header::AUTHORIZATION, value);
    }
    match crate::http::auth::principal(state, &headers).await {
        Ok(Principal::Anonymous) | Err(_) => Err(Closing::new(close::FORBIDDEN, "Forbidden")),
        Ok(principal) => Ok(principal),
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
