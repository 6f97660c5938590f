//! The AI Platform client: OpenAI-compatible `POST {AI_GATEWAY_URL}/v1/chat/completions`,
//! model `claude-sonnet-4-5`, Bearer `AI_GATEWAY_KEY`, scoped to the `code` namespace (header
//! `X-AI-Namespace: code`, plus `user` and `metadata` in the body). Structured answers are asked
//! for as JSON and validated into typed structs; an invalid answer is asked for again once, then
//! reported as an error — never returned half-parsed. Transport (timeouts, retries of 429/5xx,
//! error codes, the status page) is the shared upstream client's.

mod wire;

use std::time::Duration;

use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;
pub use wire::{ChatRequest, Message};

/// The model the AI gateway routes to.
pub const MODEL: &str = "claude-sonnet-4-5";
/// The AI Platform feature namespace of The One Code.
pub const NAMESPACE: &str = "code";
/// The header that carries the namespace.
pub const NAMESPACE_HEADER: &str = "X-AI-Namespace";

/// A structured answer: the JSON shape described to the model and the rules a parsed answer
/// must keep beyond its types (lengths, ranges, non-empty lists).
pub trait Structured: DeserializeOwned {
    /// The shape, as shown to the model in the system prompt (a JSON example with comments).
    const SHAPE: &'static str;
    /// `Err(reason)` when the answer parses but breaks a rule.
    fn validate(&self) -> Result<(), String>;
}

/// Who a call is for: carried to the gateway for its accounting, never used for auth.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub tenant_id: Uuid,
    /// The feature (`documentation`, `tech_debt`, …).
    pub feature: &'a str,
}

#[derive(Clone)]
pub struct AiClient {
    upstream: UpstreamClient,
}

impl AiClient {
    pub fn new(upstream: UpstreamClient) -> Self {
        AiClient { upstream }
    }

    /// `INTEGRATION_NOT_CONFIGURED` naming the missing variables, if any.
    pub fn require(&self) -> ApiResult<()> {
        self.upstream.require(Integration::AiPlatform)
    }

    /// Asks for a JSON answer of shape `T`. An answer that is not JSON, not of the shape or
    /// breaks `T`'s rules is asked for again once (with the reason); a second bad answer is
    /// `UPSTREAM_UNAVAILABLE` and recorded on the status page.
    pub async fn structured<T: Structured>(
        &self,
        scope: Scope<'_>,
        system: &str,
        user: &str,
    ) -> ApiResult<T> {
        let system = format!(
            "{system}\n\nAnswer with one JSON object only, no prose and no code fences, of exactly this shape:\n{}",
            T::SHAPE
        );
        let mut messages = vec![Message::system(system), Message::user(user.to_string())];
        let mut reason = String::new();
        for attempt in 0..2 {
            let content = self.complete(scope, &messages).await?;
            match parse::<T>(&content) {
                Ok(answer) => return Ok(answer),
                Err(why) => {
                    tracing::warn!(feature = scope.feature, attempt, reason = %why, "AI answer did not match its schema");
                    messages.push(Message::assistant(content));
                    messages.push(Message::user(format!(
                        "That answer is invalid: {why}. Answer again with only the JSON object of the required shape."
                    )));
                    reason = why;
                }
            }
        }
        // The status page is shared by every tenant: it gets the failure without the reason,
        // which may quote the answer about this tenant's repository.
        let shared = ApiError::new(
            Code::UpstreamUnavailable,
            "The AI Platform answered twice with an invalid answer",
        );
        self.upstream
            .record(Integration::AiPlatform, Err(&shared))
            .await;
        Err(ApiError::new(
            Code::UpstreamUnavailable,
            format!(
                "The AI Platform answered twice with an invalid answer ({reason}); nothing was stored"
            ),
        ))
    }

    /// One chat completion; returns the first choice's text. A cut-off answer
    /// (`finish_reason: length`) is returned too: the caller's validation rejects it.
    async fn complete(&self, scope: Scope<'_>, messages: &[Message]) -> ApiResult<String> {
        let config = self.upstream.config();
        let base = config.ai_gateway_url.as_deref().unwrap_or_default();
        let key = config.ai_gateway_key.as_deref().unwrap_or_default();
        let url = format!("{}/v1/chat/completions", base.trim_end_matches('/'));
        let timeout = Duration::from_millis(config.ai_gateway_timeout_ms);
        let body = ChatRequest::new(scope, messages);
        // A completion changes nothing upstream: sending it again costs tokens, not correctness.
        let answer: wire::ChatResponse = self
            .upstream
            .send_json(Integration::AiPlatform, Retry::Safe, |http| {
                http.post(&url)
                    .timeout(timeout)
                    .bearer_auth(key)
                    .header(NAMESPACE_HEADER, NAMESPACE)
                    .json(&body)
            })
            .await?;
        match answer.text() {
            Some(text) => Ok(text),
            None => {
                let error = ApiError::new(
                    Code::UpstreamUnavailable,
                    "The AI Platform answered without a completion",
                );
                Err(self.upstream.fail(Integration::AiPlatform, error).await)
            }
        }
    }
}

/// Parses and validates an answer. Tolerates a Markdown code fence around the JSON (models add
/// one despite being told not to); nothing else.
pub fn parse<T: Structured>(content: &str) -> Result<T, String> {
    let trimmed = content.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let answer: T = serde_json::from_str(unfenced).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            "it is not a JSON object".to_string()
        } else {
            format!("it does not have the required shape: {e}")
        }
    })?;
    answer.validate()?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Answer {
        score: i32,
    }

    impl Structured for Answer {
        const SHAPE: &'static str = r#"{"score": 0}"#;
        fn validate(&self) -> Result<(), String> {
            if (0..=100).contains(&self.score) {
                Ok(())
            } else {
                Err("score must be 0–100".into())
            }
        }
    }

    #[test]
    fn answers_are_parsed_fenced_or_not_and_validated() {
        assert_eq!(parse::<Answer>(r#"{"score": 7}"#).unwrap().score, 7);
        assert_eq!(
            parse::<Answer>("```json\n{\"score\": 8}\n```")
                .unwrap()
                .score,
            8
        );
        assert_eq!(
            parse::<Answer>("Sure! Here it is").unwrap_err(),
            "it is not a JSON object"
        );
        assert!(
            parse::<Answer>(r#"{"score": "high"}"#)
                .unwrap_err()
                .starts_with("it does not have the required shape")
        );
        assert_eq!(
            parse::<Answer>(r#"{"score": 700}"#).unwrap_err(),
            "score must be 0–100"
        );
    }
}
