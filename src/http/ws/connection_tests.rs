//! The connection's parsing under arbitrary input, and the size of its task.

use super::*;
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_text_message_parses_or_is_refused(text in any::<String>()) {
        let _ = parse(Message::Text(Utf8Bytes::from(text)));
    }

    #[test]
    fn any_binary_message_is_refused(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assert!(parse(Message::Binary(bytes.into())).is_err());
    }

    /// Protocol-shaped messages with hostile fields, the init token among them.
    #[test]
    fn protocol_shaped_messages_never_panic(
        kind in prop::sample::select(vec!["connection_init", "ping", "pong", "subscribe", "complete", ""]),
        id in any::<String>(),
        token in any::<String>(),
        query in any::<String>(),
    ) {
        let message = serde_json::json!({
            "type": kind, "id": id,
            "payload": { "authorization": token, "query": query, "operationName": id },
        });
        if let Ok(Input::Message(ClientMessage::ConnectionInit { payload: Some(p) })) =
            parse(Message::Text(Utf8Bytes::from(message.to_string())))
        {
            let _ = p["authorization"].as_str().map(crate::http::auth::bearer_header);
        }
    }
}

fn future_size<F, Fut>(_: &F) -> usize
where
    F: Fn(AppState, HeaderMap, String, WebSocket) -> Fut,
{
    std::mem::size_of::<Fut>()
}

/// Every idle connection's task holds this future: it must stay small (it was 25 KB with
/// `AppState` by value and the sign-in future inline; `AppState` is now one `Arc`).
#[test]
fn a_connection_task_stays_small() {
    let size = future_size(&run);
    assert!(size < 4096, "the connection future is {size} bytes");
}
