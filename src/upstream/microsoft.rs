//! The Microsoft identity platform v2 (Entra ID): its endpoints, the authorize URL of a
//! delegated sign-in with PKCE, and what an Entra tenant may be. Token redemption for Azure
//! Storage is `azure_storage::redeem`, for Azure DevOps `azure_devops`.

use crate::kernel::errors::{ApiError, ApiResult, Code};

/// Delegated access to Blob storage as the signed-in user, and a refresh token.
pub const SCOPE: &str = "https://storage.azure.com/user_impersonation offline_access";

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

/// A sign-in's parameters: who asks, where Microsoft sends the browser back, the sealed state
/// and its PKCE challenge.
pub struct SignIn<'a> {
    pub login_url: &'a str,
    pub azure_tenant: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub challenge: &'a str,
}

/// The authorize URL of a delegated sign-in for Blob storage (`SCOPE`).
pub fn authorize_url(sign_in: SignIn<'_>) -> ApiResult<url::Url> {
    let mut url = endpoint(sign_in.login_url, sign_in.azure_tenant, "authorize")?;
    url.query_pairs_mut()
        .append_pair("client_id", sign_in.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", sign_in.redirect_uri)
        .append_pair("response_mode", "query")
        .append_pair("scope", SCOPE)
        .append_pair("state", sign_in.state)
        .append_pair("code_challenge", sign_in.challenge)
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
