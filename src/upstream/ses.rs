//! AWS SES v2: `SendEmail` (`POST {endpoint}/v2/email/outbound-emails`), SigV4-signed with
//! `SES_ACCESS_KEY` / `SES_SECRET_KEY` for `SES_REGION`. What is sent and when: the Migrate
//! notifications (`migrate::notifications`, docs/notifications.md).
//!
//! The SES v2 `SendEmail` request, its SigV4 signature (the `aws-sigv4` crate, service `ses`)
//! and what its answers mean. SendEmail is not idempotent: it is sent once per attempt, never
//! again inline after an answer we did not get (the caller's queue retries, see
//! docs/notifications.md). Every outcome is recorded for the status page.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use reqwest::StatusCode;
use serde_json::json;

use crate::config::IntegrationsConfig;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::upstream::client::UpstreamClient;
use crate::upstream::integration::Integration;

/// One plain-text e-mail to one recipient.
#[derive(Clone, Debug)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// `SES_ENDPOINT`, else the region's public endpoint.
pub fn endpoint(config: &IntegrationsConfig) -> String {
    match &config.ses_endpoint {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!(
            "https://email.{}.amazonaws.com",
            config.ses_region.as_deref().unwrap_or_default()
        ),
    }
}

/// The JSON body of `SendEmail`.
fn body(from: &str, email: &Email) -> serde_json::Value {
    json!({
        "FromEmailAddress": from,
        "Destination": { "ToAddresses": [email.to] },
        "Content": {
            "Simple": {
                "Subject": { "Data": email.subject, "Charset": "UTF-8" },
                "Body": { "Text": { "Data": email.text, "Charset": "UTF-8" } }
            }
        }
    })
}

/// The SigV4 headers (`authorization`, `x-amz-date`) for a JSON POST of `payload` to `url`.
fn signature(
    config: &IntegrationsConfig,
    url: &str,
    payload: &[u8],
    at: SystemTime,
) -> ApiResult<Vec<(String, String)>> {
    let identity: Identity = Credentials::new(
        config.ses_access_key.as_deref().unwrap_or_default(),
        config.ses_secret_key.as_deref().unwrap_or_default(),
        None,
        None,
        "SES_ACCESS_KEY",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(config.ses_region.as_deref().unwrap_or_default())
        .name("ses")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| anyhow::anyhow!("SES signing parameters: {e}"))?
        .into();
    let headers = [("content-type", "application/json")];
    let request = SignableRequest::new(
        "POST",
        url,
        headers.into_iter(),
        SignableBody::Bytes(payload),
    )
    .map_err(|e| anyhow::anyhow!("SES request to sign: {e}"))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| anyhow::anyhow!("signing the SES request: {e}"))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect())
}

/// Sends `email` once; returns SES's message id. A rejection (4xx other than 401/403/408/429)
/// is `UPSTREAM_REJECTED` naming SES's error type, never its body.
pub async fn send(upstream: &UpstreamClient, email: &Email) -> ApiResult<String> {
    upstream.require(Integration::Ses)?;
    let config = upstream.config();
    let url = format!("{}/v2/email/outbound-emails", endpoint(config));
    let payload =
        serde_json::to_vec(&body(&config.ses_from_address, email)).map_err(anyhow::Error::from)?;
    let mut request = upstream
        .http()
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in signature(config, &url, &payload, SystemTime::now())? {
        request = request.header(name, value);
    }
    let outcome = match request.body(payload).send().await {
        Ok(response) if response.status().is_success() => {
            let answer: serde_json::Value = response.json().await.unwrap_or_default();
            Ok(answer["MessageId"].as_str().unwrap_or_default().to_string())
        }
        Ok(response) => {
            let status = response.status();
            let kind = response
                .headers()
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(':').next().unwrap_or(v).to_string());
            let text = response.text().await.unwrap_or_default();
            let kind = kind.or_else(|| error_type(&text));
            tracing::warn!(%status, kind = ?kind, body = %text.chars().take(500).collect::<String>(), "AWS SES answered with an error");
            Err(classify(status, kind.as_deref(), &text))
        }
        Err(error) => {
            tracing::warn!(%error, "AWS SES call failed");
            let what = if error.is_timeout() {
                "did not answer in time"
            } else {
                "could not be reached"
            };
            Err(ApiError::new(
                Code::UpstreamUnavailable,
                format!("AWS SES {what}"),
            ))
        }
    };
    upstream
        .record(Integration::Ses, outcome.as_ref().map(|_| ()))
        .await;
    outcome
}

/// SES's error type from a JSON error body (`__type` or `code`), if any.
fn error_type(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let raw = value["__type"].as_str().or(value["code"].as_str())?;
    Some(raw.rsplit('#').next().unwrap_or(raw).to_string())
}

/// Error types of a 403 that mean the caller's keys are fine but the IAM identity may not send.
const NOT_PERMITTED: &[&str] = &["AccessDeniedException", "AccessDenied"];

/// What SES's answer means, in our words: the error type names what is wrong; SES's own text is
/// only looked at for the one case its type leaves open (which address is not verified), never
/// quoted.
fn classify(status: StatusCode, kind: Option<&str>, body: &str) -> ApiError {
    let code = status.as_u16();
    let named = kind.map(|k| format!(": {k}")).unwrap_or_default();
    match code {
        401 | 403 if kind.is_some_and(|k| NOT_PERMITTED.contains(&k)) => ApiError::new(
            Code::UpstreamAuthFailed,
            format!(
                "AWS SES accepted our keys but refused the send ({code}{named}): the IAM user \
                 of SES_ACCESS_KEY lacks the ses:SendEmail permission for the sender identity"
            ),
        ),
        401 | 403 => ApiError::new(
            Code::UpstreamAuthFailed,
            format!(
                "AWS SES refused our credentials ({code}{named}): check SES_ACCESS_KEY and SES_SECRET_KEY"
            ),
        ),
        429 => ApiError::new(
            Code::RateLimited,
            format!("AWS SES is throttling sends ({code}{named})"),
        ),
        408 | 500..=599 => ApiError::new(
            Code::UpstreamUnavailable,
            format!("AWS SES is unavailable ({code}{named})"),
        ),
        _ => {
            let why = match kind {
                Some("MessageRejected") if body.to_ascii_lowercase().contains("not verified") => {
                    ": an address is unverified in SES (the sender SES_FROM_ADDRESS, or the \
                     recipient while the account is in the SES sandbox)"
                }
                Some("MailFromDomainNotVerifiedException") => {
                    ": the MAIL FROM domain of SES_FROM_ADDRESS is unverified in SES"
                }
                Some("AccountSuspendedException" | "SendingPausedException") => {
                    ": sending is paused for the SES account"
                }
                _ => "",
            };
            ApiError::new(
                Code::UpstreamRejected,
                format!("AWS SES rejected the e-mail ({code}{named}){why}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> IntegrationsConfig {
        IntegrationsConfig {
            ses_access_key: Some("AKIDEXAMPLE".into()),
            ses_secret_key: Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            ses_region: Some("eu-west-1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_default_endpoint_is_the_regions() {
        assert_eq!(endpoint(&config()), "https://email.eu-west-1.amazonaws.com");
    }

    #[test]
    fn requests_are_signed_for_ses_in_the_region() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let url = "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails";
        let headers = signature(&config(), url, b"{}", at).unwrap();
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(get("x-amz-date").as_deref(), Some("20231114T221320Z"));
        let auth = get("authorization").unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/ses/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="
            ),
            "{auth}"
        );
        // Same input, same signature; another body, another one.
        assert_eq!(signature(&config(), url, b"{}", at).unwrap(), headers);
        assert_ne!(signature(&config(), url, b"{ }", at).unwrap(), headers);
    }

    #[test]
    fn a_missing_permission_is_told_apart_from_wrong_keys() {
        let denied = classify(
            StatusCode::FORBIDDEN,
            Some("AccessDeniedException"),
            "User: arn:aws:iam::1:user/x is not authorized to perform: ses:SendEmail",
        );
        assert_eq!(denied.code(), Code::UpstreamAuthFailed);
        assert!(
            denied
                .message()
                .contains("lacks the ses:SendEmail permission")
        );
        assert!(!denied.message().contains("arn:aws"), "no upstream text");
        for wrong in ["UnrecognizedClientException", "InvalidSignatureException"] {
            let e = classify(StatusCode::FORBIDDEN, Some(wrong), "");
            assert!(
                e.message()
                    .contains("check SES_ACCESS_KEY and SES_SECRET_KEY"),
                "{wrong}"
            );
            assert!(!e.message().contains("ses:SendEmail"), "{wrong}");
        }
        let rejected = classify(
            StatusCode::BAD_REQUEST,
            Some("MessageRejected"),
            r#"{"message":"Email address is not verified. The following identities failed the check in region EU-WEST-1: a@b.c"}"#,
        );
        assert!(rejected.message().contains("unverified in SES"));
        assert!(!rejected.message().contains("a@b.c"));
    }

    #[test]
    fn errors_name_the_type_not_the_body() {
        let e = classify(StatusCode::BAD_REQUEST, Some("MessageRejected"), "");
        assert_eq!(e.code(), Code::UpstreamRejected);
        assert_eq!(
            e.message(),
            "AWS SES rejected the e-mail (400: MessageRejected)"
        );
        assert_eq!(
            error_type(r#"{"__type":"com.amazon#MessageRejected","message":"x"}"#).as_deref(),
            Some("MessageRejected")
        );
        assert_eq!(
            classify(StatusCode::SERVICE_UNAVAILABLE, None, "").code(),
            Code::UpstreamUnavailable
        );
    }
}
