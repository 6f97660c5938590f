//! Our own GraphQL-over-HTTP handlers around `Schema::execute` (the stock handler runs batches,
//! mutations over GET and form bodies): POST JSON and GET queries only, a body limit, the
//! `application/graphql-response+json` media type with its status codes, and masked internals.

use std::time::Duration;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ServerError, Variables};
use axum::body::{Body, to_bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{REQUEST_ID, error_body, error_response};
use crate::graphql::persisted::Refusal;
use crate::http::state::AppState;
use crate::kernel::errors::Code;
use crate::telemetry::metrics::{ANONYMOUS_OPERATION, GraphqlOutcome, UNKNOWN_OPERATION};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The body (or query string) of a GraphQL request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GraphqlRequest {
    query: Option<serde_json::Value>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Value>,
}

/// The GET form: every parameter is a string; `variables` and `extensions` are JSON text.
#[derive(Deserialize)]
pub struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// Which media type the client takes.
#[derive(Clone, Copy, PartialEq)]
enum Media {
    GraphqlResponse,
    Json,
}

/// The spec's watershed rules: `application/graphql-response+json` when the client names it;
/// `application/json` when it names that or a wildcard, or sends no `Accept` at all (legacy
/// clients, which expect 200 for request errors); nothing else is served (406).
fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    let mut json = false;
    for part in accept.split(',') {
        let mime = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            GRAPHQL_RESPONSE => return Some(Media::GraphqlResponse),
            JSON | "*/*" | "application/*" => json = true,
            _ => {}
        }
    }
    json.then_some(Media::Json)
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn reject(status: StatusCode, code: Code, message: &str, request_id: Option<&str>) -> Response {
    let mut response = (status, error_body(code, message, request_id).to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    with_outcome(response, UNKNOWN_OPERATION, code.as_str())
}

/// Leaves what the request came to for the metrics middleware.
fn with_outcome(mut response: Response, operation: &str, outcome: &'static str) -> Response {
    response.extensions_mut().insert(GraphqlOutcome {
        operation: operation.to_string(),
        outcome,
    });
    response
}

/// `POST /graphql` with a JSON body.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let rid = request_id(&headers);
    let rid = rid.as_deref();
    let Some(media) = negotiate(&headers) else {
        return reject(
            StatusCode::NOT_ACCEPTABLE,
            Code::BadUserInput,
            "accept application/graphql-response+json or application/json",
            rid,
        );
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != JSON {
        return reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::BadUserInput,
            "send the request as Content-Type: application/json",
            rid,
        );
    }
    let limit = state.services.config.graphql.max_body_bytes;
    let Ok(bytes) = to_bytes(body, limit).await else {
        let message = format!("the request body exceeds {limit} bytes");
        return reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            &message,
            rid,
        );
    };
    // A batch is refused by its first byte, so the body is parsed once, straight into the request.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return reject(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "batched requests are not supported: send one operation per request",
            rid,
        );
    }
    let request: GraphqlRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            let message = if e.is_data() {
                format!("the body is not a GraphQL request: {e}")
            } else {
                format!("the body is not valid JSON: {e}")
            };
            return reject(StatusCode::BAD_REQUEST, Code::BadUserInput, &message, rid);
        }
    };
    let query = match request.query {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(query)) => Some(query),
        Some(_) => {
            return reject(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                "`query` must be a string",
                rid,
            );
        }
    };
    let variables = match request.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(v @ serde_json::Value::Object(_)) => Variables::from_json(v),
        Some(_) => {
            return reject(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                "`variables` must be an object",
                rid,
            );
        }
    };
    if !matches!(
        request.extensions,
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::Object(_))
    ) {
        return reject(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "`extensions` must be an object",
            rid,
        );
    }
    let operation = Operation {
        query,
        extensions: request.extensions,
        operation_name: request.operation_name,
        variables,
    };
    execute(state, &headers, media, Method::POST, operation).await
}

/// `GET /graphql?query=…`: queries only.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<GetParams>,
) -> Response {
    let rid = request_id(&headers);
    let rid = rid.as_deref();
    let Some(media) = negotiate(&headers) else {
        return reject(
            StatusCode::NOT_ACCEPTABLE,
            Code::BadUserInput,
            "accept application/graphql-response+json or application/json",
            rid,
        );
    };
    let variables = match params
        .variables
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        None => Variables::default(),
        Some(Ok(v @ serde_json::Value::Object(_))) => Variables::from_json(v),
        Some(Ok(serde_json::Value::Null)) => Variables::default(),
        Some(_) => {
            return reject(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                "`variables` must be a JSON object",
                rid,
            );
        }
    };
    let extensions = match params
        .extensions
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        None => None,
        Some(Ok(ext @ serde_json::Value::Object(_))) => Some(ext),
        Some(_) => {
            return reject(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                "`extensions` must be a JSON object",
                rid,
            );
        }
    };
    let operation = Operation {
        query: params.query,
        extensions,
        operation_name: params.operation_name,
        variables,
    };
    execute(state, &headers, media, Method::GET, operation).await
}

/// The operation a request runs and its metrics label, chosen as the spec's GetOperation does:
/// the one `operationName` names, or the document's only one. `Err` says why there is none (a
/// request error, `BAD_USER_INPUT`: the document is valid, the request's choice is not).
pub(crate) fn select_operation(
    doc: &ExecutableDocument,
    name: Option<&str>,
) -> Result<(OperationType, String), &'static str> {
    let mut operations = doc.operations.iter();
    let (found, op) = match name {
        Some(name) => operations
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
            .ok_or("the document has no operation named by operationName")?,
        None => {
            let only = operations.next().ok_or("the document has no operation")?;
            if operations.next().is_some() {
                return Err(
                    "the document has several operations: name the one to run in operationName",
                );
            }
            only
        }
    };
    let label = found.map_or(ANONYMOUS_OPERATION.to_string(), |n| n.to_string());
    Ok((op.node.ty, label))
}

/// What a request asks to run, from its body or query string.
struct Operation {
    /// The document, or `None` when only a persisted hash was sent.
    query: Option<String>,
    extensions: Option<serde_json::Value>,
    operation_name: Option<String>,
    variables: Variables,
}

async fn execute(
    state: AppState,
    headers: &HeaderMap,
    media: Media,
    method: Method,
    operation: Operation,
) -> Response {
    let rid = request_id(headers);
    let limits = &state.services.config.graphql;
    let Operation {
        query,
        extensions,
        operation_name,
        variables,
    } = operation;
    let query = match state.persisted.resolve(query, extensions.as_ref()).await {
        Ok(query) => query,
        Err(Refusal::Api(error)) => return error_response(&error, rid.as_deref()),
        Err(Refusal::Protocol(code, message)) => {
            let body = serde_json::json!({
                "errors": [{ "message": message, "extensions": { "code": code } }]
            });
            let mut response = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            return response;
        }
    };
    if query.len() > limits.max_document_bytes {
        let message = format!("the document exceeds {} bytes", limits.max_document_bytes);
        return reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            &message,
            rid.as_deref(),
        );
    }
    let parsed = state.documents.parse(&query);
    if let Some(nul) = crate::graphql::hygiene::refusal(parsed.as_deref(), &variables) {
        return reject(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            &nul,
            rid.as_deref(),
        );
    }
    let operation = match parsed
        .as_deref()
        .map(|doc| select_operation(doc, operation_name.as_deref()))
    {
        Some(Err(message)) => {
            return reject(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                message,
                rid.as_deref(),
            );
        }
        Some(Ok(operation)) => Some(operation),
        // Not parsed: the schema parses it again and reports the error.
        None => None,
    };
    let label = operation
        .as_ref()
        .map_or(UNKNOWN_OPERATION, |(_, label)| label.as_str())
        .to_string();
    tracing::Span::current().record("operation", label.as_str());
    let operation_type = operation.map(|(ty, _)| ty);
    if method == Method::GET && operation_type.is_some_and(|t| t != OperationType::Query) {
        let mut response = reject(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::BadUserInput,
            "only queries may be sent with GET; use POST",
            rid.as_deref(),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if operation_type == Some(OperationType::Subscription) {
        return reject(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "subscriptions run over the graphql-transport-ws protocol at /graphql/ws",
            rid.as_deref(),
        );
    }
    let principal = match crate::http::auth::principal(&state, headers).await {
        Ok(p) => p,
        Err(error) => {
            let response = error_response(&error, rid.as_deref());
            return with_outcome(response, &label, error.code().as_str());
        }
    };
    let mut request = async_graphql::Request::new(query).variables(variables.clone());
    // A document that did not parse is parsed again by the schema, which reports the error.
    if let Some(doc) = &parsed {
        request.set_parsed_query(ExecutableDocument::clone(doc));
    }
    if let Some(name) = &operation_name {
        request = request.operation_name(name.clone());
    }
    request = request.data(principal);
    let timeout = Duration::from_millis(limits.timeout_ms);
    // Queries take a permit, held until the answer is serialized below: that is the memory it
    // bounds. Mutations do not: they may wait on an upstream (PSA, CRM, …) for seconds, and a
    // slow upstream must not hold up every reader.
    let capped = operation_type == Some(OperationType::Query);
    let execution = async {
        let permit = match capped {
            true => state.executions.clone().acquire_owned().await.ok(),
            false => None,
        };
        (permit, state.schema.execute(request).await)
    };
    let (_permit, mut response) = match tokio::time::timeout(timeout, execution).await {
        Ok(done) => done,
        Err(_) => {
            // Stopped part-way: nothing of it is answered, so no `data` entry (a request error).
            let message = format!("the operation ran longer than {} ms", limits.timeout_ms);
            let body = error_body(Code::QueryTooComplex, &message, None).to_string();
            let (status, content_type) = match media {
                Media::GraphqlResponse => (StatusCode::BAD_REQUEST, GRAPHQL_RESPONSE),
                Media::Json => (StatusCode::OK, JSON),
            };
            let mut http = (status, body).into_response();
            http.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            return http;
        }
    };
    let request_failed = mask_errors(&mut response.errors, rid.as_deref());
    if let Some(doc) = parsed.as_deref()
        && !request_failed
    {
        let name = operation_name.as_deref();
        crate::graphql::response_order::in_selection_order(
            doc,
            name,
            &variables,
            &mut response.data,
        );
    }
    let status = if media == Media::GraphqlResponse
        && request_failed
        && matches!(response.data, async_graphql::Value::Null)
    {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // A request error (parse, validation, limits) happened before execution: no `data` entry.
    let body = if request_failed && matches!(response.data, async_graphql::Value::Null) {
        serde_json::to_string(&serde_json::json!({ "errors": &response.errors }))
    } else {
        serde_json::to_string(&response)
    };
    let body = body.unwrap_or_else(|_| {
        error_body(Code::Internal, "internal error", rid.as_deref()).to_string()
    });
    let content_type = if media == Media::GraphqlResponse {
        GRAPHQL_RESPONSE
    } else {
        JSON
    };
    let outcome = response
        .errors
        .first()
        .and_then(|e| e.extensions.as_ref()?.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Code::parse(code),
            _ => None,
        })
        .map_or("ok", Code::as_str);
    let mut http = (status, body).into_response();
    http.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    with_outcome(http, &label, outcome)
}

/// Gives every error a code and the request id, masks internal ones, and says whether the
/// request itself was invalid (parse, validation and limit errors).
pub(crate) fn mask_errors(errors: &mut [ServerError], request_id: Option<&str>) -> bool {
    let mut request_failed = false;
    for error in errors.iter_mut() {
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(|v| match v {
                async_graphql::Value::String(s) => Some(s.clone()),
                _ => None,
            });
        match code {
            Some(code) => {
                if code == Code::Internal.as_str() {
                    error.message = "internal error".into();
                    error
                        .extensions
                        .get_or_insert_with(Default::default)
                        .set("requestId", request_id.unwrap_or(""));
                }
                request_failed |= [
                    Code::GraphqlParseFailed,
                    Code::GraphqlValidationFailed,
                    Code::QueryTooDeep,
                    Code::QueryTooComplex,
                    Code::TooManyAliases,
                ]
                .iter()
                .any(|c| c.as_str() == code && error.path.is_empty());
            }
            None if error.message.starts_with("Failed to parse")
                || error.message.starts_with("Invalid value") =>
            {
                let ext = error.extensions.get_or_insert_with(Default::default);
                ext.set("code", Code::BadUserInput.as_str());
            }
            None => {
                tracing::error!(message = %error.message, request_id, "uncoded error from execution");
                error.message = "internal error".into();
                let ext = error.extensions.get_or_insert_with(Default::default);
                ext.set("code", Code::Internal.as_str());
                ext.set("requestId", request_id.unwrap_or(""));
            }
        }
        if let Some(id) = request_id {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("requestId", id);
        }
    }
    request_failed
}
