//! A small `graphql-transport-ws` client for the tests: connect (with headers), send protocol
//! messages, and read what the server answers or how it closed.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did next.
#[derive(Debug, PartialEq)]
pub enum Got {
    Message(Value),
    Closed(u16, String),
    /// Nothing within the wait.
    Silence,
}

/// Opens `/graphql/ws` of `base` ("127.0.0.1:port") with the subprotocol and `headers`; an
/// HTTP refusal comes back as its status.
pub async fn connect_to(base: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
    let mut request = format!("ws://{base}/graphql/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((stream, response)) => {
            assert_eq!(
                response.headers()["sec-websocket-protocol"],
                "graphql-transport-ws"
            );
            Ok(Ws { stream })
        }
        Err(Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}

pub async fn connect(app: &TestApp, headers: &[(&str, &str)]) -> Result<Ws, u16> {
    connect_to(&app.addr.to_string(), headers).await
}

impl Ws {
    pub async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Message::text(text)).await.unwrap();
    }

    /// The next protocol message or close, waiting at most `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Got {
        loop {
            let Ok(item) = tokio::time::timeout(wait, self.stream.next()).await else {
                return Got::Silence;
            };
            match item {
                Some(Ok(Message::Text(text))) => {
                    return Got::Message(serde_json::from_str(text.as_str()).unwrap());
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Got::Closed(code, reason);
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Got::Closed(1006, String::new()),
            }
        }
    }

    /// The next message, which must come within five seconds.
    pub async fn next(&mut self) -> Value {
        match self.next_within(Duration::from_secs(5)).await {
            Got::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// How the server closed the socket (within five seconds).
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            match self.next_within(Duration::from_secs(5)).await {
                Got::Closed(code, reason) => return (code, reason),
                Got::Message(_) => continue,
                Got::Silence => panic!("the server did not close the socket"),
            }
        }
    }

    /// `connection_init` with `payload`; expects `connection_ack`.
    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        assert_eq!(self.next().await, json!({ "type": "connection_ack" }));
    }

    /// Ping and wait for the pong: the server has handled every message sent before.
    pub async fn barrier(&mut self) {
        self.send(json!({ "type": "ping" })).await;
        assert_eq!(self.next().await, json!({ "type": "pong" }));
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The payload of the next `next` message for `id`.
    pub async fn next_data(&mut self, id: &str) -> Value {
        let message = self.next().await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id, "{message}");
        message["payload"].clone()
    }
}

/// Connects with `token` in the init payload and acknowledges.
pub async fn signed_in(app: &TestApp, token: &str) -> Ws {
    let mut ws = connect(app, &[]).await.expect("upgrade");
    ws.init(json!({ "authorization": format!("Bearer {token}") }))
        .await;
    ws
}
