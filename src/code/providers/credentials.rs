//! An organization's provider credentials, sealed as one value in
//! `organizations.credentials_encrypted`: for GitHub the installation id and the current
//! installation token with its expiry; for GitLab and Azure DevOps the OAuth access token, its
//! expiry and the refresh token. Shared through the database, so every replica reuses the
//! same token until it is close to expiry.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::kernel::errors::{ApiError, ApiResult};
use crate::secrets::SecretBox;

/// A token with less than this left is replaced before use.
pub const REFRESH_MARGIN_MINUTES: i64 = 5;
/// Sealed credentials start with this, so no other sealed value passes for them.
const PURPOSE: &str = "provider-credentials:v1:";

#[derive(Serialize, Deserialize)]
pub struct Credentials {
    /// GitHub: the App installation.
    #[serde(default)]
    pub installation_id: i64,
    pub token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// GitLab and Azure DevOps: the OAuth refresh token (both rotate it on every refresh: the
    /// new one is stored at once).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("installation_id", &self.installation_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn gitlab(tokens: &crate::upstream::gitlab::Tokens, now: DateTime<Utc>) -> Self {
        Credentials {
            installation_id: 0,
            token: Some(tokens.access_token.clone()),
            expires_at: Some(now + TimeDelta::seconds(tokens.expires_in.unwrap_or(7200))),
            refresh_token: tokens.refresh_token.clone(),
        }
    }

    pub fn azure_devops(
        tokens: &crate::upstream::azure_devops::Tokens,
        now: DateTime<Utc>,
    ) -> Self {
        let lifetime = tokens
            .expires_in
            .unwrap_or(crate::upstream::azure_devops::DEFAULT_TOKEN_SECONDS);
        Credentials {
            installation_id: 0,
            token: Some(tokens.access_token.clone()),
            expires_at: Some(now + TimeDelta::seconds(lifetime)),
            refresh_token: tokens.refresh_token.clone(),
        }
    }

    /// The stored token, if it still has more than the margin left at `now`.
    pub fn fresh_token(&self, now: DateTime<Utc>) -> Option<&str> {
        let expires = self.expires_at?;
        (expires - TimeDelta::minutes(REFRESH_MARGIN_MINUTES) > now)
            .then_some(self.token.as_deref())
            .flatten()
    }

    pub fn seal(&self, secrets: &SecretBox) -> String {
        let json = serde_json::to_string(self).expect("credentials serialize");
        secrets.seal(&format!("{PURPOSE}{json}"))
    }

    pub fn open(secrets: &SecretBox, sealed: &str) -> ApiResult<Self> {
        let plain = secrets
            .open(sealed)
            .map_err(|e| ApiError::Internal(e.context("opening provider credentials")))?;
        let json = plain
            .strip_prefix(PURPOSE)
            .ok_or_else(|| anyhow::anyhow!("sealed value is not provider credentials"))?;
        Ok(serde_json::from_str(json).map_err(anyhow::Error::from)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_reused_until_the_margin() {
        let now = Utc::now();
        let creds = Credentials {
            installation_id: 7,
            token: Some("ghs_x".into()),
            expires_at: Some(now + TimeDelta::minutes(6)),
            refresh_token: Some("glrt_y".into()),
        };
        assert_eq!(creds.fresh_token(now), Some("ghs_x"));
        assert_eq!(creds.fresh_token(now + TimeDelta::minutes(2)), None);
        let secrets = SecretBox::new(&[1u8; 32]);
        let sealed = creds.seal(&secrets);
        assert!(!sealed.contains("ghs_x") && !sealed.contains("glrt_y"));
        assert_eq!(
            Credentials::open(&secrets, &sealed)
                .unwrap()
                .installation_id,
            7
        );
        assert!(Credentials::open(&secrets, &secrets.seal("other")).is_err());
        assert!(!format!("{creds:?}").contains("ghs_x"));
        assert!(!format!("{creds:?}").contains("glrt_y"));
    }
}
