//! The Azure wire: the Microsoft identity platform token endpoint (authorization code and refresh
//! token grants) and Blob storage's Get User Delegation Key. Every call goes through the shared
//! `UpstreamClient` (timeouts, retries, status recording). Token answers are parsed here and never
//! logged; error answers are explained from their OAuth `error` code, their bodies stay in the log.

use azure_storage_common::models::UserDelegationKey;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde::Deserialize;

use super::microsoft::{self, SCOPE};
use crate::config::IntegrationsConfig;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::upstream::client::{Retry, UpstreamClient};
use crate::upstream::integration::Integration;

/// The Blob service version we call and sign with (the SAS builder's own version).
pub const STORAGE_VERSION: &str = "2026-04-06";

/// A token endpoint answer. Deliberately not `Debug`: it holds secrets.
#[derive(Deserialize)]
pub struct Tokens {
    pub access_token: String,
    /// Present when Microsoft rotates (or first issues) the refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token expires, when the answer says.
    #[serde(default)]
    pub refresh_token_expires_in: Option<i64>,
}

/// The grant being redeemed, for the error message.
#[derive(Clone, Copy)]
pub enum Grant<'a> {
    Code { code: &'a str, verifier: &'a str },
    Refresh(&'a str),
}

/// The OAuth error code of an error answer, if it has one.
fn oauth_error(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
    }
    serde_json::from_str::<OAuthError>(body)
        .ok()
        .map(|e| e.error)
}

/// Explains the token endpoint's refusals (RFC 6749 §5.2): a dead grant means reconnecting, a
/// refused client means our app registration's variables.
fn explain_token(grant: Grant<'_>, status: StatusCode, body: &str) -> Option<ApiError> {
    if !matches!(status.as_u16(), 400 | 401) {
        return None;
    }
    let error = oauth_error(body)?;
    let message = match (error.as_str(), grant) {
        ("invalid_grant" | "interaction_required" | "consent_required", Grant::Refresh(_)) => {
            format!(
                "Azure refused a project's stored storage authorization ({error}): it was \
                 revoked or has expired; reconnect the project's storage account \
                 (connectProjectStorage)"
            )
        }
        ("invalid_grant", Grant::Code { .. }) => format!(
            "Azure refused the sign-in code ({error}): it was used or has expired; start again \
             with connectProjectStorage"
        ),
        ("invalid_client" | "unauthorized_client", _) => format!(
            "Azure refused the gateway's app registration ({error}): check AZURE_CLIENT_ID and \
             AZURE_CLIENT_SECRET"
        ),
        _ => return None,
    };
    Some(ApiError::new(Code::UpstreamAuthFailed, message))
}

/// Redeems a grant at `{AZURE_LOGIN_URL}/{tenant}/oauth2/v2.0/token`. A code is single use and
/// sent once; a refresh token may be sent again (Microsoft keeps the old one valid on rotation).
pub async fn redeem(
    upstream: &UpstreamClient,
    azure_tenant: &str,
    redirect_uri: &str,
    grant: Grant<'_>,
) -> ApiResult<Tokens> {
    upstream.require(Integration::Azure)?;
    let c = upstream.config();
    let url = microsoft::endpoint(&c.azure_login_url, azure_tenant, "token")?;
    let client_id = c.azure_client_id.as_deref().unwrap_or_default();
    let secret = c.azure_client_secret.as_deref().unwrap_or_default();
    let mut pairs = vec![
        ("client_id", client_id),
        ("client_secret", secret),
        ("scope", SCOPE),
    ];
    let retry = match grant {
        Grant::Code { code, verifier } => {
            pairs.extend([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ]);
            Retry::Never
        }
        Grant::Refresh(token) => {
            pairs.extend([("grant_type", "refresh_token"), ("refresh_token", token)]);
            Retry::Safe
        }
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let response = upstream
        .send_explained(
            Integration::Azure,
            retry,
            |http| {
                http.post(url.clone())
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.clone())
            },
            |status, body| explain_token(grant, status, body),
        )
        .await?;
    let bytes = response.bytes().await.map_err(|_| broke_off())?;
    match serde_json::from_slice::<Tokens>(&bytes) {
        Ok(tokens) if !tokens.access_token.is_empty() => Ok(tokens),
        // The body may hold tokens: it is not logged.
        _ => Err(upstream
            .fail(
                Integration::Azure,
                ApiError::new(
                    Code::UpstreamUnavailable,
                    "Azure sign-in answered with a body that is not a token answer",
                ),
            )
            .await),
    }
}

/// The Blob endpoint of `account`.
pub fn blob_base(config: &IntegrationsConfig, account: &str) -> String {
    config.azure_blob_url_template.replace("{account}", account)
}

/// Explains Get User Delegation Key refusals: the token is fine but its user may not delegate.
fn explain_key(status: StatusCode, _body: &str) -> Option<ApiError> {
    matches!(status.as_u16(), 401 | 403).then(|| {
        ApiError::new(
            Code::UpstreamAuthFailed,
            format!(
                "Azure Storage refused a user delegation key ({status}): the connected account \
                 needs a role with generateUserDelegationKey (e.g. Storage Blob Data \
                 Contributor) on the storage account; fix the role or reconnect with another \
                 account"
            ),
        )
    })
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `POST {blob}/?restype=service&comp=userdelegationkey` for `[start, expiry]`.
pub async fn user_delegation_key(
    upstream: &UpstreamClient,
    account: &str,
    access_token: &str,
    start: DateTime<Utc>,
    expiry: DateTime<Utc>,
) -> ApiResult<UserDelegationKey> {
    let url = format!(
        "{}/?restype=service&comp=userdelegationkey",
        blob_base(upstream.config(), account)
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><KeyInfo><Start>{}</Start><Expiry>{}</Expiry></KeyInfo>",
        iso(start),
        iso(expiry)
    );
    let response = upstream
        .send_explained(
            Integration::Azure,
            Retry::Safe,
            |http| {
                http.post(&url)
                    .bearer_auth(access_token)
                    .header("x-ms-version", STORAGE_VERSION)
                    .header(
                        "x-ms-date",
                        Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
                    )
                    .header(reqwest::header::CONTENT_TYPE, "application/xml")
                    .body(body.clone())
            },
            explain_key,
        )
        .await?;
    let bytes = response.bytes().await.map_err(|_| broke_off())?;
    match azure_core::xml::from_xml::<_, UserDelegationKey>(&bytes) {
        Ok(key) if key.value.as_ref().is_some_and(|v| !v.is_empty()) => Ok(key),
        _ => Err(upstream
            .fail(
                Integration::Azure,
                ApiError::new(
                    Code::UpstreamUnavailable,
                    "Azure Storage answered with a body that is not a user delegation key",
                ),
            )
            .await),
    }
}

fn broke_off() -> ApiError {
    ApiError::new(Code::UpstreamUnavailable, "Azure broke off its answer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_refusals_are_explained_by_their_oauth_code() {
        let refresh = Grant::Refresh("rt");
        let bad = StatusCode::BAD_REQUEST;
        let e = explain_token(refresh, bad, r#"{"error":"invalid_grant"}"#).unwrap();
        assert_eq!(e.code(), Code::UpstreamAuthFailed);
        assert!(e.message().contains("reconnect"));
        let e = explain_token(
            refresh,
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_client"}"#,
        );
        assert!(e.unwrap().message().contains("AZURE_CLIENT_SECRET"));
        assert!(explain_token(refresh, bad, r#"{"error":"invalid_scope"}"#).is_none());
        assert!(explain_token(refresh, bad, "not json").is_none());
        assert!(explain_token(refresh, StatusCode::BAD_GATEWAY, r#"{"error":"x"}"#).is_none());
    }
}
