//! The OpenAI-compatible chat-completion bodies (only the fields we send or read).

use serde::{Deserialize, Serialize};

use super::{MODEL, NAMESPACE, Scope};

/// One chat message.
#[derive(Serialize, Clone, Debug)]
pub struct Message {
    pub role: &'static str,
    pub content: String,
}

impl Message {
    pub fn system(content: String) -> Self {
        Message {
            role: "system",
            content,
        }
    }
    pub fn user(content: String) -> Self {
        Message {
            role: "user",
            content,
        }
    }
    pub fn assistant(content: String) -> Self {
        Message {
            role: "assistant",
            content,
        }
    }
}

#[derive(Serialize, Debug)]
struct ResponseFormat {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize, Debug)]
struct Metadata {
    namespace: &'static str,
    tenant_id: String,
    feature: String,
}

/// `POST /v1/chat/completions` body: JSON mode, low temperature, the namespace in `user` and
/// `metadata` as well as in the header.
#[derive(Serialize, Debug)]
pub struct ChatRequest {
    model: &'static str,
    messages: Vec<Message>,
    response_format: ResponseFormat,
    temperature: f32,
    max_tokens: u32,
    user: String,
    metadata: Metadata,
}

impl ChatRequest {
    pub fn new(scope: Scope<'_>, messages: &[Message]) -> Self {
        ChatRequest {
            model: MODEL,
            messages: messages.to_vec(),
            response_format: ResponseFormat {
                kind: "json_object",
            },
            temperature: 0.2,
            max_tokens: 8192,
            user: format!("{NAMESPACE}:{}", scope.tenant_id),
            metadata: Metadata {
                namespace: NAMESPACE,
                tenant_id: scope.tenant_id.to_string(),
                feature: scope.feature.to_string(),
            },
        }
    }
}

#[derive(Deserialize, Debug)]
pub struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Deserialize, Debug)]
struct Choice {
    message: Option<AnswerMessage>,
}

#[derive(Deserialize, Debug)]
struct AnswerMessage {
    content: Option<String>,
}

impl ChatResponse {
    /// The first choice's text, when there is one and it is not empty.
    pub fn text(self) -> Option<String> {
        self.choices
            .into_iter()
            .next()?
            .message?
            .content
            .filter(|c| !c.trim().is_empty())
    }
}
