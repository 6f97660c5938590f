//! The OAuth connect flow's own pieces: the `state` we hand to Microsoft and get back, PKCE, and
//! the authorize URL. The state is sealed with the `SecretBox` (AES-256-GCM): opaque to the
//! browser, tamper-evident, and it carries everything the callback needs (project, tenant, the
//! storage names, the PKCE verifier, the expiry), so nothing is stored until the callback succeeds.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::secrets::SecretBox;

/// Delegated access to Blob storage as the signed-in user, and a refresh token.
pub const SCOPE: &str = "https://storage.azure.com/user_impersonation offline_access";
/// How long a sign-in link may take to come back.
pub const STATE_TTL_MINUTES: i64 = 15;
/// Sealed states start with this, so no other sealed value can pass for one.
const PURPOSE: &str = "azure-connect-state:v1:";

/// What the callback needs to finish a connection.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ConnectState {
    pub tenant: Uuid,
    pub project: Uuid,
    pub user: Uuid,
    pub account: String,
    pub container: String,
    pub azure_tenant: String,
    /// PKCE code verifier: it travels sealed, so only this server can redeem the code.
    pub verifier: String,
    pub expires_at: DateTime<Utc>,
}

impl ConnectState {
    pub fn new(
        tenant: Uuid,
        project: Uuid,
        user: Uuid,
        account: String,
        container: String,
        azure_tenant: String,
    ) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        ConnectState {
            tenant,
            project,
            user,
            account,
            container,
            azure_tenant,
            verifier: URL_SAFE_NO_PAD.encode(bytes),
            expires_at: Utc::now() + TimeDelta::minutes(STATE_TTL_MINUTES),
        }
    }

    /// The PKCE S256 challenge of the verifier.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }

    /// The opaque `state` parameter (URL-safe).
    pub fn seal(&self, secrets: &SecretBox) -> String {
        secrets.seal_for_url(PURPOSE, self)
    }

    /// Opens a `state` parameter: forged, altered, foreign or expired ones are `BAD_USER_INPUT`.
    pub fn open(secrets: &SecretBox, state: &str) -> ApiResult<Self> {
        let invalid = || {
            ApiError::bad_input(
                "the Azure sign-in state is invalid or has expired: start again with \
                 connectProjectStorage",
            )
        };
        let state: ConnectState = secrets.open_from_url(PURPOSE, state).ok_or_else(invalid)?;
        if state.expires_at <= Utc::now() {
            return Err(invalid());
        }
        Ok(state)
    }
}

/// `{login}/{tenant}/oauth2/v2.0/{endpoint}` (endpoint `authorize` or `token`).
pub fn endpoint(login_url: &str, azure_tenant: &str, endpoint: &str) -> ApiResult<url::Url> {
    let bad = || {
        ApiError::new(
            Code::IntegrationNotConfigured,
            "AZURE_LOGIN_URL is not a usable URL",
        )
    };
    let mut url = url::Url::parse(login_url).map_err(|_| bad())?;
    url.path_segments_mut()
        .map_err(|_| bad())?
        .pop_if_empty()
        .extend([azure_tenant, "oauth2", "v2.0", endpoint]);
    Ok(url)
}

/// Where Microsoft sends the browser back.
pub fn redirect_uri(public_url: &str) -> String {
    format!("{}/auth/azure/callback", public_url.trim_end_matches('/'))
}

/// The Microsoft identity platform v2 authorize URL for `state`.
pub fn authorize_url(
    login_url: &str,
    client_id: &str,
    public_url: &str,
    state: &ConnectState,
    sealed: &str,
) -> ApiResult<url::Url> {
    let mut url = endpoint(login_url, &state.azure_tenant, "authorize")?;
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &redirect_uri(public_url))
        .append_pair("response_mode", "query")
        .append_pair("scope", SCOPE)
        .append_pair("state", sealed)
        .append_pair("code_challenge", &state.challenge())
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

/// An Entra tenant: a GUID, a domain, or `organizations` (any work or school account).
pub fn azure_tenant(value: Option<&str>) -> ApiResult<String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok("organizations".into());
    };
    let valid = value.len() <= 100
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !value.starts_with(['-', '.']);
    if !valid || value.eq_ignore_ascii_case("consumers") || value.eq_ignore_ascii_case("common") {
        return Err(ApiError::bad_input(
            "azureTenant must be an Entra tenant ID or domain (personal accounts cannot hold \
             storage delegations); leave it out for any work or school account",
        ));
    }
    Ok(value.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ConnectState {
        ConnectState::new(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            "acct".into(),
            "box".into(),
            "organizations".into(),
        )
    }

    #[test]
    fn states_round_trip_and_refuse_tampering_and_age() {
        let secrets = SecretBox::new(&[1u8; 32]);
        let s = state();
        let sealed = s.seal(&secrets);
        assert!(!sealed.contains("acct") && !sealed.contains(&s.verifier));
        assert_eq!(ConnectState::open(&secrets, &sealed).unwrap(), s);
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        bytes[20] ^= 1;
        assert!(ConnectState::open(&secrets, &URL_SAFE_NO_PAD.encode(bytes)).is_err());
        assert!(ConnectState::open(&SecretBox::new(&[2u8; 32]), &sealed).is_err());
        // Another sealed value (say a refresh token) is no state.
        let other = URL_SAFE_NO_PAD.encode(
            base64::engine::general_purpose::STANDARD
                .decode(secrets.seal("{}"))
                .unwrap(),
        );
        assert!(ConnectState::open(&secrets, &other).is_err());
        let old = ConnectState {
            expires_at: Utc::now() - TimeDelta::seconds(1),
            ..s
        };
        assert!(ConnectState::open(&secrets, &old.seal(&secrets)).is_err());
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

    #[test]
    fn tenants() {
        assert_eq!(azure_tenant(None).unwrap(), "organizations");
        assert_eq!(
            azure_tenant(Some("Contoso.onmicrosoft.com")).unwrap(),
            "contoso.onmicrosoft.com"
        );
        assert!(azure_tenant(Some("a/b")).is_err());
        assert!(azure_tenant(Some("consumers")).is_err());
    }
}
