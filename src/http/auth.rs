//! The SSO endpoint Hub sends users to, logout, and reading the principal off a request.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use serde::Deserialize;

use crate::auth::Principal;
use crate::http::error_response;
use crate::http::state::AppState;
use crate::kernel::errors::{ApiError, ApiResult};

pub const SESSION_COOKIE: &str = "code_session";

#[derive(Deserialize)]
pub struct SsoParams {
    token: Option<String>,
    /// Where to send the browser afterwards: a path on this server only.
    redirect: Option<String>,
}

/// `GET /auth/sso?token=…`: Hub's SSO hand-off.
pub async fn sso_get(State(state): State<AppState>, Query(params): Query<SsoParams>) -> Response {
    sso(state, params).await
}

/// `POST /auth/sso` with a form body `token=…` (Hub may post instead of redirecting).
pub async fn sso_post(State(state): State<AppState>, Form(params): Form<SsoParams>) -> Response {
    sso(state, params).await
}

async fn sso(state: AppState, params: SsoParams) -> Response {
    let Some(token) = params.token.filter(|t| !t.is_empty()) else {
        return error_response(
            &ApiError::bad_input("the token parameter is required"),
            None,
        );
    };
    match state.services.auth.sign_in(&token).await {
        Ok(session) => {
            let max_age = (session.expires_at - chrono::Utc::now())
                .num_seconds()
                .max(0);
            let cookie = Cookie::build((SESSION_COOKIE, session.token))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(state.services.config.secure_cookies())
                .max_age(cookie::time::Duration::seconds(max_age))
                .build();
            let target = crate::auth::redirect::safe_redirect(params.redirect.as_deref());
            let mut response = StatusCode::SEE_OTHER.into_response();
            let headers = response.headers_mut();
            headers.insert(
                SET_COOKIE,
                HeaderValue::from_str(&cookie.to_string()).expect("cookie is ASCII"),
            );
            headers.insert(
                LOCATION,
                HeaderValue::from_str(&target).unwrap_or(HeaderValue::from_static("/")),
            );
            response
        }
        Err(error) => error_response(&error, None),
    }
}

/// `POST /auth/logout`: ends the cookie session and clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        match state.services.auth.sign_out(&token).await {
            Ok(ended) => {
                for session in ended {
                    state.services.live.session_ended(session).await;
                }
            }
            Err(error) => return error_response(&error, None),
        }
    }
    let cleared = Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_str(&cleared.to_string()).expect("cookie is ASCII"),
    );
    response
}

pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_string()).filter_map(Result::ok))
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// The `Authorization` value for a token given outside a header (the WebSocket init payload):
/// `Bearer <token>` unless it already names the scheme. `None` for anything but printable
/// ASCII, which no token is.
pub fn bearer_header(given: &str) -> Option<HeaderValue> {
    let named = given
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "));
    let value = if named {
        given.to_string()
    } else {
        format!("Bearer {given}")
    };
    if !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return None;
    }
    HeaderValue::from_str(&value).ok()
}

pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Who sent this request. A Bearer token that does not verify is an error (the client meant to
/// authenticate); a missing or expired cookie is simply anonymous. A Bearer token starting with
/// `sgak_` is an agent key; a backup runner's (`sgbr_`) is refused outside its own API.
pub async fn principal(state: &AppState, headers: &HeaderMap) -> ApiResult<Principal> {
    if let Some(token) = bearer_token(headers) {
        if token.starts_with(crate::code::backup_runners::TOKEN_PREFIX) {
            return Err(ApiError::forbidden(
                "a backup runner token works only on /api/code/backup-runner/…",
            ));
        }
        if token.starts_with(crate::migrate::agents::KEY_PREFIX) {
            return Ok(Principal::Agent(
                state.services.agents.authenticate(&token).await?,
            ));
        }
        return Ok(Principal::User(
            state.services.auth.bearer_user(&token).await?,
        ));
    }
    if let Some(token) = session_token(headers) {
        return Ok(state
            .services
            .auth
            .session_user(&token)
            .await?
            .map(Principal::User)
            .unwrap_or_default());
    }
    Ok(Principal::Anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_multi_byte_scheme_is_a_token_not_a_panic() {
        let value = bearer_header("Beare\u{20ac} x");
        assert!(value.is_none(), "non-ASCII is no token");
        assert_eq!(bearer_header("bearer abc").unwrap(), "bearer abc");
        assert_eq!(bearer_header("abc").unwrap(), "Bearer abc");
    }

    proptest! {
        #[test]
        fn init_tokens_never_panic(given in any::<String>()) {
            if let Some(value) = bearer_header(&given) {
                prop_assert!(value.to_str().is_ok());
            }
        }

        #[test]
        fn headers_never_panic(authorization in proptest::collection::vec(any::<u8>(), 0..64),
                               cookie in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&authorization) {
                headers.insert(AUTHORIZATION, value);
            }
            if let Ok(value) = HeaderValue::from_bytes(&cookie) {
                headers.insert(COOKIE, value);
            }
            let _ = bearer_token(&headers);
            let _ = session_token(&headers);
        }

        #[test]
        fn bearer_text_never_panics(text in "(?i:bearer)?[ \t]{0,3}.{0,40}") {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&text) {
                headers.insert(AUTHORIZATION, value);
            }
            let _ = bearer_token(&headers);
        }
    }
}
