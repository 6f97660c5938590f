//! The GitHub App acting for a signed-in GitHub user (a user-to-server token): how the gateway
//! proves that the admin who connects an installation can access it. GitHub's docs warn that
//! the `installation_id` of the setup redirect can be spoofed; `GET /user/installations` with
//! the user's token lists the App's installations that user can really reach.

use reqwest::StatusCode;
use serde::Deserialize;

use super::github::{Call, Github, Installation};
use super::provider_wire::{self as wire, ProviderResult};
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::upstream::client::Retry;
use crate::upstream::integration::Integration;

/// GitHub's token answer. GitHub answers a refused code with 200 and an `error` field, so both
/// shapes are read. Deliberately not `Debug`: it holds a secret.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct InstallationPage {
    installations: Vec<Installation>,
}

/// The App's OAuth client, as configured.
pub struct OauthClient<'a> {
    pub id: &'a str,
    secret: &'a str,
}

impl Github {
    /// The App's slug and OAuth client: needed to connect, not to discover.
    pub fn connect_settings(&self) -> ApiResult<(&str, OauthClient<'_>)> {
        self.upstream().require(Integration::Github)?;
        let c = self.upstream().config();
        let missing: Vec<&str> = [
            ("GITHUB_APP_SLUG", c.github_app_slug.is_none()),
            ("GITHUB_APP_CLIENT_ID", c.github_app_client_id.is_none()),
            (
                "GITHUB_APP_CLIENT_SECRET",
                c.github_app_client_secret.is_none(),
            ),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        if !missing.is_empty() {
            return Err(ApiError::new(
                Code::IntegrationNotConfigured,
                format!(
                    "connecting GitHub organizations is not configured: set {}",
                    missing.join(", ")
                ),
            ));
        }
        let client = OauthClient {
            id: c.github_app_client_id.as_deref().unwrap_or_default(),
            secret: c.github_app_client_secret.as_deref().unwrap_or_default(),
        };
        Ok((c.github_app_slug.as_deref().unwrap_or_default(), client))
    }

    /// GitHub's web base: the install page and the OAuth endpoints.
    pub fn web_base(&self) -> &str {
        &self.upstream().config().github_url
    }

    /// `POST {GITHUB_URL}/login/oauth/access_token`: the user's token for a sign-in code (with
    /// its PKCE verifier). A code is single use: sent once, never retried.
    pub async fn redeem_user_code(
        &self,
        redirect_uri: &str,
        code: &str,
        verifier: &str,
    ) -> ProviderResult<String> {
        let (_, client) = self.connect_settings()?;
        let url = format!("{}/login/oauth/access_token", self.web_base());
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", client.id),
                ("client_secret", client.secret),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .finish();
        let response = wire::send(
            self.upstream(),
            Integration::Github,
            Retry::Never,
            |http| {
                http.post(&url)
                    .header("Accept", "application/json")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body.clone())
            },
            |status, _, _, _| refused_status(status),
        )
        .await?;
        let answer: TokenAnswer =
            wire::decode_secret(self.upstream(), Integration::Github, response).await?;
        match (answer.access_token, answer.error) {
            (Some(token), None) => Ok(token),
            (_, error) => Err(refused_code(error.as_deref().unwrap_or("no token")).into()),
        }
    }

    /// `GET /user/installations`, every page: the App's installations the user can access.
    pub async fn user_installations(&self, user_token: &str) -> ProviderResult<Vec<Installation>> {
        let url = format!("{}/user/installations?per_page=100", self.base());
        let pages: Vec<InstallationPage> = self.pages_as(url, user_token, Call::User).await?;
        Ok(pages.into_iter().flat_map(|p| p.installations).collect())
    }
}

/// The token endpoint's HTTP-level refusals (GitHub uses them for a wrong client).
fn refused_status(status: StatusCode) -> Option<ApiError> {
    matches!(status.as_u16(), 400 | 401 | 403 | 404).then(|| {
        ApiError::new(
            Code::UpstreamAuthFailed,
            "GitHub refused the App's OAuth client: check GITHUB_APP_CLIENT_ID and GITHUB_APP_CLIENT_SECRET",
        )
    })
}

/// GitHub's `error` of a refused code, in words; only plain error codes are echoed.
fn refused_code(error: &str) -> ApiError {
    let error = super::oauth_state::plain_error_code(error);
    let message = match error {
        "incorrect_client_credentials" | "unverified_user_email" => format!(
            "GitHub refused the sign-in ({error}): check GITHUB_APP_CLIENT_ID and GITHUB_APP_CLIENT_SECRET"
        ),
        _ => format!(
            "GitHub refused the sign-in code ({error}): it was used or has expired; start again with connectGithubOrganization"
        ),
    };
    ApiError::new(Code::UpstreamAuthFailed, message)
}
