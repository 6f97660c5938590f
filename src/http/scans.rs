//! `POST /api/code/repositories/{id}/scans?format=sarif|cyclonedx[&fullScan=false][&source=…]`: a scanner in
//! a CI pipeline uploads its raw document with a Hub token (`Authorization: Bearer`). Same service
//! as `ingestScan`; errors in the GraphQL shape. The body limit is `SCAN_MAX_BYTES`, not the
//! GraphQL one, which is why large documents come this way.

use axum::body::{Body, to_bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use axum::response::Response;
use entities::enums::Product;
use serde_json::json;

use super::agent_api::{path_id, reply};
use crate::auth::Principal;
use crate::code::scans::{ScanFormat, ScanSummary};
use crate::http::state::AppState;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::paging::global_id;

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        Code::PayloadTooLarge,
        format!("the scan document exceeds {limit} bytes (SCAN_MAX_BYTES)"),
    )
}

/// `format` (required), `fullScan` (default true) and `source` from the query string.
fn options(query: Option<&str>) -> ApiResult<(ScanFormat, bool, Option<String>)> {
    let mut format = None;
    let mut full = true;
    let mut source = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "format" => {
                format = Some(ScanFormat::parse_name(&value).ok_or_else(|| {
                    ApiError::bad_input(format!(
                        "format {value:?} is not supported: use sarif or cyclonedx"
                    ))
                })?)
            }
            "fullScan" => {
                full = value.parse().map_err(|_| {
                    ApiError::bad_input(format!("fullScan must be true or false, not {value:?}"))
                })?
            }
            "source" => source = Some(value.into_owned()),
            _ => {}
        }
    }
    let format = format.ok_or_else(|| {
        ApiError::bad_input("the format query parameter is required: sarif or cyclonedx")
    })?;
    Ok((format, full, source))
}

fn view(s: ScanSummary) -> serde_json::Value {
    json!({ "scan": {
        "format": s.format.name(),
        "tool": s.tools.first(),
        "tools": s.tools,
        "sources": s.sources,
        "created": s.created,
        "updated": s.updated,
        "unchanged": s.unchanged,
        "resolved": s.resolved,
        "newSecrets": s.new_secrets,
        "warnings": s.warnings,
        "repository": {
            "id": global_id("Repository", s.repository.id),
            "healthScore": s.repository.health_score,
            "debtScore": s.repository.debt_score,
        },
    }})
}

pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let result = async {
        // A Hub token only: a cookie session must not be able to post here from a browser.
        if !headers.contains_key(AUTHORIZATION) {
            return Err(ApiError::new(
                Code::Unauthenticated,
                "send a Hub token as Authorization: Bearer",
            ));
        }
        let principal = crate::http::auth::principal(&state, &headers).await?;
        if matches!(principal, Principal::Agent(_)) {
            return Err(ApiError::forbidden("agent keys cannot upload scans"));
        }
        let user = principal.product_user(Product::Code)?;
        crate::code::scans::uploader(user)?;
        let (format, full_scan, source) = options(query.as_deref())?;
        let repository = path_id(&id, "Repository")?;
        let limit = state.services.scans.max_bytes();
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large(limit));
        }
        let bytes = to_bytes(body, limit).await.map_err(|_| too_large(limit))?;
        let summary = state
            .services
            .scans
            .ingest(
                user,
                repository,
                format,
                &bytes,
                full_scan,
                source.as_deref(),
            )
            .await?;
        Ok(view(summary))
    };
    reply(&headers, result.await)
}
