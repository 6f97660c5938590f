//! The OAuth connect flows' one `state`: who connects what (`S`, the flow's own subject), the
//! PKCE verifier (RFC 7636, S256) and an expiry, sealed with the `SecretBox` (AES-256-GCM) for
//! one purpose per flow. Opaque to the browser, tamper-evident, and it carries everything the
//! callback needs, so nothing is stored until the callback succeeds. Used by GitHub's, GitLab's
//! and Azure DevOps' connections (Code) and by Azure Storage's (Migrate).

use std::ops::Deref;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kernel::errors::{ApiError, ApiResult};
use crate::secrets::SecretBox;

/// How long a sign-in link may take to come back.
pub const STATE_TTL_MINUTES: i64 = 15;

/// One connect flow: the purpose its states are sealed for, and the words of its errors.
pub struct Flow {
    pub purpose: &'static str,
    /// What is being connected, as users know it: `GitHub`, `Azure DevOps`, `Azure`.
    pub product: &'static str,
    /// Whose sign-in it is: `GitHub`, `Microsoft`, `Azure`.
    pub sign_in: &'static str,
    /// The mutation that starts again.
    pub mutation: &'static str,
}

/// A state in flight: the flow's subject, the PKCE verifier and the expiry. Reads as its subject.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ConnectState<S> {
    #[serde(flatten)]
    pub subject: S,
    /// PKCE code verifier: it travels sealed, so only this server can redeem the code.
    pub verifier: String,
    pub expires_at: DateTime<Utc>,
}

impl<S> Deref for ConnectState<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.subject
    }
}

impl<S: Serialize + DeserializeOwned> ConnectState<S> {
    pub fn new(subject: S) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        ConnectState {
            subject,
            verifier: URL_SAFE_NO_PAD.encode(bytes),
            expires_at: Utc::now() + TimeDelta::minutes(STATE_TTL_MINUTES),
        }
    }

    /// The PKCE S256 challenge of the verifier.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }

    /// The opaque `state` parameter (URL-safe).
    pub fn seal(&self, flow: &Flow, secrets: &SecretBox) -> String {
        secrets.seal_for_url(flow.purpose, self)
    }
}

impl Flow {
    /// Forged, altered, foreign-purpose or expired states are `BAD_USER_INPUT`.
    pub fn open<S: DeserializeOwned>(
        &self,
        secrets: &SecretBox,
        state: &str,
    ) -> ApiResult<ConnectState<S>> {
        let invalid = || {
            ApiError::bad_input(format!(
                "the {} sign-in state is invalid or has expired: start again with {}",
                self.product, self.mutation
            ))
        };
        let state: ConnectState<S> = secrets
            .open_from_url(self.purpose, state)
            .ok_or_else(invalid)?;
        if state.expires_at <= Utc::now() {
            return Err(invalid());
        }
        Ok(state)
    }

    /// The callback's query: the state opened, the provider's `error=` refused (its code only
    /// echoed when it is a plain OAuth error code), the code required.
    pub fn callback<'a, S: DeserializeOwned>(
        &self,
        secrets: &SecretBox,
        code: Option<&'a str>,
        state: Option<&str>,
        error: Option<&str>,
    ) -> ApiResult<(ConnectState<S>, &'a str)> {
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
        product: "A",
        sign_in: "A",
        mutation: "connectA",
    };
    const B: Flow = Flow {
        purpose: "b-connect-state:v1:",
        product: "B",
        sign_in: "B",
        mutation: "connectB",
    };

    #[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
    struct Subject {
        target: String,
    }

    fn state() -> ConnectState<Subject> {
        ConnectState::new(Subject {
            target: "acme".into(),
        })
    }

    #[test]
    fn states_round_trip_and_refuse_tampering_foreign_purpose_and_age() {
        let secrets = SecretBox::new(&[1u8; 32]);
        let s = state();
        let sealed = s.seal(&A, &secrets);
        assert!(!sealed.contains(&s.verifier) && !sealed.contains("acme"));
        assert_eq!(A.open::<Subject>(&secrets, &sealed).unwrap(), s);
        assert_eq!(s.target, "acme");
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        bytes[20] ^= 1;
        assert!(
            A.open::<Subject>(&secrets, &URL_SAFE_NO_PAD.encode(bytes))
                .is_err()
        );
        assert!(
            A.open::<Subject>(&SecretBox::new(&[2u8; 32]), &sealed)
                .is_err()
        );
        assert!(B.open::<Subject>(&secrets, &sealed).is_err());
        // Another sealed value (say a refresh token) is no state.
        let other = URL_SAFE_NO_PAD.encode(
            base64::engine::general_purpose::STANDARD
                .decode(secrets.seal("{}"))
                .unwrap(),
        );
        assert!(A.open::<Subject>(&secrets, &other).is_err());
        let old = ConnectState {
            expires_at: Utc::now() - TimeDelta::seconds(1),
            ..s
        };
        assert!(
            A.open::<Subject>(&secrets, &old.seal(&A, &secrets))
                .is_err()
        );
    }

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let s = ConnectState {
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            ..state()
        };
        assert_eq!(s.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
