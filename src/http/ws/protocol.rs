//! The `graphql-transport-ws` messages and close codes
//! (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).

use serde::Deserialize;

pub const SUBPROTOCOL: &str = "graphql-transport-ws";

/// Close codes the protocol defines.
pub mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const DUPLICATE_ID: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
}

/// A message from the client.
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    ConnectionInit {
        payload: Option<serde_json::Value>,
    },
    Ping {
        #[allow(dead_code)]
        payload: Option<serde_json::Value>,
    },
    Pong {
        #[allow(dead_code)]
        payload: Option<serde_json::Value>,
    },
    Subscribe {
        id: String,
        payload: SubscribePayload,
    },
    Complete {
        id: String,
    },
}

/// The operation of a `subscribe` message.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SubscribePayload {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Option<serde_json::Map<String, serde_json::Value>>,
    #[allow(dead_code)]
    pub extensions: Option<serde_json::Value>,
}

/// `{"id":…,"type":"next","payload":…}` around a payload serialized once for every subscriber.
pub fn next(id: &str, payload: &str) -> String {
    framed(id, "next", Some(payload))
}

/// `{"id":…,"type":"error","payload":[…]}`: the operation failed before or at its start.
pub fn error(id: &str, errors: &str) -> String {
    framed(id, "error", Some(errors))
}

/// `{"id":…,"type":"complete"}`.
pub fn complete(id: &str) -> String {
    framed(id, "complete", None)
}

fn framed(id: &str, kind: &str, payload: Option<&str>) -> String {
    let id = serde_json::to_string(id).expect("a string serializes");
    let mut out = String::with_capacity(id.len() + payload.map_or(0, str::len) + 40);
    out.push_str("{\"id\":");
    out.push_str(&id);
    out.push_str(",\"type\":\"");
    out.push_str(kind);
    out.push('"');
    if let Some(payload) = payload {
        out.push_str(",\"payload\":");
        out.push_str(payload);
    }
    out.push('}');
    out
}

pub const CONNECTION_ACK: &str = r#"{"type":"connection_ack"}"#;
pub const PONG: &str = r#"{"type":"pong"}"#;
