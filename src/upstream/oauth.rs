//! The OAuth 2.0 token endpoint as the OAuth providers (GitLab, Azure DevOps) share it: the
//! grant being redeemed (authorization code with PKCE, or refresh token; RFC 6749 §4.1.3, §6),
//! the form post, and the token answer. What differs per provider (the endpoint, the pairs sent
//! with every grant, how a refusal is worded) stays in its client. Token answers are secrets:
//! never logged, not even when they do not parse.

use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};
use serde::Deserialize;

use super::provider_wire::{self as wire, ProviderResult, RetryAt};
use crate::kernel::errors::ApiError;
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

/// The grant being redeemed.
#[derive(Clone, Copy)]
pub enum Grant<'a> {
    Code { code: &'a str, verifier: &'a str },
    Refresh(&'a str),
}

impl<'a> Grant<'a> {
    /// The grant's own form pairs.
    fn pairs(self) -> Vec<(&'static str, &'a str)> {
        match self {
            Grant::Code { code, verifier } => vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", verifier),
            ],
            Grant::Refresh(token) => {
                vec![("grant_type", "refresh_token"), ("refresh_token", token)]
            }
        }
    }
}

/// A token endpoint answer. Deliberately not `Debug`: it holds secrets.
#[derive(Deserialize)]
pub struct Tokens {
    pub access_token: String,
    /// Both providers rotate it on every refresh: the new one replaces the stored one at once.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds the access token lives.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// Redeems `grant` at `url`, sending `pairs` (the client's credentials and whatever else the
/// provider wants) with the grant's own. A code is single use and sent once; a refresh is
/// retried on 5xx (both providers keep the old refresh token valid until the new one is used).
/// `explain` turns a refusal into the provider's words.
pub async fn redeem(
    upstream: &UpstreamClient,
    integration: Integration,
    url: &str,
    pairs: &[(&str, &str)],
    grant: Grant<'_>,
    explain: impl Fn(StatusCode, &HeaderMap, &str, &RetryAt) -> Option<ApiError>,
) -> ProviderResult<Tokens> {
    let retry = match grant {
        Grant::Code { .. } => Retry::Never,
        Grant::Refresh(_) => Retry::Safe,
    };
    let mut form = pairs.to_vec();
    form.extend(grant.pairs());
    let response = post_form(upstream, integration, retry, url, &form, explain).await?;
    wire::decode_secret(upstream, integration, response).await
}

/// A form-encoded POST (`application/x-www-form-urlencoded`) through the shared client.
pub async fn post_form(
    upstream: &UpstreamClient,
    integration: Integration,
    retry: Retry,
    url: &str,
    pairs: &[(&str, &str)],
    explain: impl Fn(StatusCode, &HeaderMap, &str, &RetryAt) -> Option<ApiError>,
) -> ProviderResult<Response> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    wire::send(
        upstream,
        integration,
        retry,
        |http| {
            http.post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.clone())
        },
        explain,
    )
    .await
}

/// The `error` of an RFC 6749 §5.2 refusal (400/401 with a JSON body), if that is what came.
pub fn refusal(status: StatusCode, body: &str) -> Option<String> {
    if !matches!(status.as_u16(), 400 | 401) {
        return None;
    }
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
    }
    Some(serde_json::from_str::<OAuthError>(body).ok()?.error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_and_refusals() {
        let code = Grant::Code {
            code: "c",
            verifier: "v",
        };
        assert_eq!(
            code.pairs(),
            [
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("code_verifier", "v")
            ]
        );
        assert_eq!(
            Grant::Refresh("r").pairs(),
            [("grant_type", "refresh_token"), ("refresh_token", "r")]
        );
        let body = r#"{"error":"invalid_grant","error_description":"secret detail"}"#;
        assert_eq!(
            refusal(StatusCode::BAD_REQUEST, body).as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(refusal(StatusCode::INTERNAL_SERVER_ERROR, body), None);
        assert_eq!(refusal(StatusCode::UNAUTHORIZED, "<html>"), None);
    }
}
