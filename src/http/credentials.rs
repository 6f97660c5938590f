//! `GET /api/jobs/{id}/credentials` (also under `/api/agent/jobs/…`): an agent's upload SAS for
//! one of its jobs, shaped like the rest of the agent API. `GET /auth/azure/callback`: where
//! Microsoft returns the browser after a project's storage sign-in; the GitLab and Azure DevOps
//! callbacks of Connect Organization.

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::agent_api::{caller, path_id, reply};
use super::{REQUEST_ID, error_response};
use crate::http::state::AppState;

/// Credentials must not be kept by caches, nor the callback's code leak through a referrer.
pub(super) fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// `GET /api/jobs/{id}/credentials` → `{sasToken, containerUrl, expiresAt, permissions}`.
pub async fn job_credentials(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let agent = caller(&state, &headers).await?;
        let vended = state
            .services
            .credentials
            .for_agent(&agent, path_id(&id, "Job")?)
            .await?;
        serde_json::to_value(vended).map_err(|e| anyhow::Error::from(e).into())
    };
    private(reply(&headers, result.await))
}

#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/gitlab/callback?code&state`: connects the GitLab group the state names and
/// redirects to the gateway; a bad, expired or forged state is 400 `BAD_USER_INPUT`.
pub async fn gitlab_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let result = state
        .services
        .providers
        .gitlab_callback(
            params.code.as_deref(),
            params.state.as_deref(),
            params.error.as_deref(),
        )
        .await;
    private(redirect_or_error(&headers, result))
}

/// `GET /auth/azure-devops/callback?code&state`: connects the Azure DevOps organization the
/// state names and redirects to the gateway; a bad, expired or forged state is 400
/// `BAD_USER_INPUT`.
pub async fn azure_devops_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let result = state
        .services
        .providers
        .azure_devops_callback(
            params.code.as_deref(),
            params.state.as_deref(),
            params.error.as_deref(),
        )
        .await;
    private(redirect_or_error(&headers, result))
}

pub(super) fn redirect_or_error(
    headers: &HeaderMap,
    result: crate::kernel::errors::ApiResult<String>,
) -> Response {
    match result {
        Ok(target) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(location) = HeaderValue::from_str(&target) {
                response.headers_mut().insert(LOCATION, location);
            }
            response
        }
        Err(error) => {
            let rid = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok());
            error_response(&error, rid)
        }
    }
}

/// `GET /auth/azure/callback?code&state`: stores the connection and redirects to the gateway;
/// a bad, expired or forged state is 400 `BAD_USER_INPUT` and stores nothing.
pub async fn azure_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let result = state
        .services
        .credentials
        .callback(
            params.code.as_deref(),
            params.state.as_deref(),
            params.error.as_deref(),
        )
        .await;
    private(redirect_or_error(&headers, result))
}
