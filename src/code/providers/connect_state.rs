//! What GitLab's and Azure DevOps' OAuth connect flows share: the sealed `state` (who connects
//! what, and the PKCE verifier; AES-256-GCM with a purpose per provider, valid 15 minutes) and
//! the callback's checks of its query parameters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::kernel::errors::{ApiError, ApiResult};
use crate::secrets::SecretBox;

/// How long a sign-in link may take to come back.
pub const STATE_TTL_MINUTES: i64 = 15;

/// One provider's connect flow: the purpose its states are sealed for, and the words of its
/// errors.
pub struct Flow {
    pub purpose: &'static str,
    /// As users know it: `GitLab`, `Microsoft`.
    pub sign_in: &'static str,
    /// The mutation that starts again.
    pub mutation: &'static str,
}

/// What the callback needs: who connects which group or organization (`target`), and the PKCE
/// verifier.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ConnectState {
    pub tenant: Uuid,
    pub user: Uuid,
    pub target: String,
    pub verifier: String,
    pub expires_at: DateTime<Utc>,
}

impl ConnectState {
    pub fn new(tenant: Uuid, user: Uuid, target: String) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        ConnectState {
            tenant,
            user,
            target,
            verifier: URL_SAFE_NO_PAD.encode(bytes),
            expires_at: Utc::now() + TimeDelta::minutes(STATE_TTL_MINUTES),
        }
    }

    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }

    pub fn seal(&self, flow: &Flow, secrets: &SecretBox) -> String {
        secrets.seal_for_url(flow.purpose, self)
    }
}

impl Flow {
    /// Forged, altered, foreign-purpose or expired states are `BAD_USER_INPUT`.
    pub fn open(&self, secrets: &SecretBox, state: &str) -> ApiResult<ConnectState> {
        let invalid = || {
            ApiError::bad_input(format!(
                "the {} sign-in state is invalid or has expired: start again with {}",
                self.state_owner(),
                self.mutation
            ))
        };
        let state: ConnectState = secrets
            .open_from_url(self.purpose, state)
            .ok_or_else(invalid)?;
        if state.expires_at <= Utc::now() {
            return Err(invalid());
        }
        Ok(state)
    }

    /// The callback's query: the state opened, the provider's `error=` refused (its code only
    /// echoed when it is a plain OAuth error code), the code required.
    pub fn callback<'a>(
        &self,
        secrets: &SecretBox,
        code: Option<&'a str>,
        state: Option<&str>,
        error: Option<&str>,
    ) -> ApiResult<(ConnectState, &'a str)> {
        let state = self.open(
            secrets,
            state.ok_or_else(|| ApiError::bad_input("the state parameter is required"))?,
        )?;
        if let Some(error) = error {
            let error = plain_error_code(error);
            return Err(ApiError::bad_input(format!(
                "the {} sign-in was not completed ({error}): start again with {}",
                self.sign_in, self.mutation
            )));
        }
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ApiError::bad_input("the code parameter is required"))?;
        Ok((state, code))
    }

    /// The invalid-state message names the product whose connection it is.
    fn state_owner(&self) -> &'static str {
        match self.sign_in {
            "Microsoft" => "Azure DevOps",
            other => other,
        }
    }
}

/// An OAuth `error=` from a callback's query, fit to echo: a plain error code (lower-case
/// letters and `_`, as RFC 6749 defines them) as it is, anything else (free text from the
/// query) as `error`.
pub fn plain_error_code(error: &str) -> &str {
    if error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        error
    } else {
        "error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Flow = Flow {
        purpose: "a-connect-state:v1:",
        sign_in: "A",
        mutation: "connectA",
    };
    const B: Flow = Flow {
        purpose: "b-connect-state:v1:",
        sign_in: "B",
        mutation: "connectB",
    };

    #[test]
    fn states_round_trip_and_refuse_tampering_foreign_purpose_and_age() {
        let secrets = SecretBox::new(&[1u8; 32]);
        let s = ConnectState::new(Uuid::now_v7(), Uuid::now_v7(), "acme".into());
        let sealed = s.seal(&A, &secrets);
        assert!(!sealed.contains(&s.verifier));
        assert_eq!(A.open(&secrets, &sealed).unwrap(), s);
        assert!(A.open(&SecretBox::new(&[2u8; 32]), &sealed).is_err());
        assert!(B.open(&secrets, &sealed).is_err());
        let old = ConnectState {
            expires_at: Utc::now() - TimeDelta::seconds(1),
            ..s
        };
        assert!(A.open(&secrets, &old.seal(&A, &secrets)).is_err());
    }
}
