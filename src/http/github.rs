//! GitHub's two returns in Connect Organization: the App's setup URL after an installation
//! (`/auth/github/setup`, which sends the admin on to sign in to GitHub) and the OAuth callback
//! (`/auth/github/callback`, which connects the installation once the user's access is proven).
//! A bad, expired, forged or replayed state is 400 `BAD_USER_INPUT`.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::credentials::{private, redirect_or_error};
use crate::http::state::AppState;

#[derive(Deserialize)]
pub struct SetupParams {
    installation_id: Option<String>,
    setup_action: Option<String>,
    state: Option<String>,
}

#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// Sent when the App requests user authorization during installation.
    installation_id: Option<String>,
}

/// `GET /auth/github/setup?installation_id&setup_action&state`.
pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<SetupParams>,
) -> Response {
    let result = state
        .services
        .providers
        .github_setup(
            params.installation_id.as_deref(),
            params.setup_action.as_deref(),
            params.state.as_deref(),
        )
        .await;
    private(redirect_or_error(&headers, result))
}

/// `GET /auth/github/callback?code&state[&installation_id]`.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let result = state
        .services
        .providers
        .github_callback(
            params.code.as_deref(),
            params.state.as_deref(),
            params.error.as_deref(),
            params.installation_id.as_deref(),
        )
        .await;
    private(redirect_or_error(&headers, result))
}
