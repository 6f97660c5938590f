//! The one error vocabulary of DESIGN.md §5. Every service error carries a code; internal errors
//! are logged and masked before they reach a client.

/// The codes a client can see in `extensions.code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    QueryTooDeep,
    QueryTooComplex,
    TooManyAliases,
    PayloadTooLarge,
    RateLimited,
    IntegrationNotConfigured,
    UpstreamUnavailable,
    UpstreamRejected,
    UpstreamAuthFailed,
    DbUnavailable,
    Internal,
}

impl Code {
    pub const ALL: [Code; 18] = [
        Code::Unauthenticated,
        Code::Forbidden,
        Code::NotFound,
        Code::BadUserInput,
        Code::Conflict,
        Code::GraphqlParseFailed,
        Code::GraphqlValidationFailed,
        Code::QueryTooDeep,
        Code::QueryTooComplex,
        Code::TooManyAliases,
        Code::PayloadTooLarge,
        Code::RateLimited,
        Code::IntegrationNotConfigured,
        Code::UpstreamUnavailable,
        Code::UpstreamRejected,
        Code::UpstreamAuthFailed,
        Code::DbUnavailable,
        Code::Internal,
    ];

    /// The code spelled `text` (as in `extensions.code`).
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::Conflict => "CONFLICT",
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::QueryTooDeep => "QUERY_TOO_DEEP",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::TooManyAliases => "TOO_MANY_ALIASES",
            Code::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Code::RateLimited => "RATE_LIMITED",
            Code::IntegrationNotConfigured => "INTEGRATION_NOT_CONFIGURED",
            Code::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
            Code::UpstreamRejected => "UPSTREAM_REJECTED",
            Code::UpstreamAuthFailed => "UPSTREAM_AUTH_FAILED",
            Code::DbUnavailable => "DB_UNAVAILABLE",
            Code::Internal => "INTERNAL",
        }
    }

    /// Codes that mean the request itself was not a valid GraphQL request (HTTP 400).
    pub fn is_request_error(self) -> bool {
        matches!(
            self,
            Code::GraphqlParseFailed
                | Code::GraphqlValidationFailed
                | Code::QueryTooDeep
                | Code::QueryTooComplex
                | Code::TooManyAliases
                | Code::PayloadTooLarge
        )
    }
}

/// An error a service returns: a code and a message safe to show.
///
/// Deliberately not `Display`: async-graphql turns any `Display` error into a client error
/// without a code, so `?` must go through the GraphQL layer's `From` (`graphql/errors.rs`).
#[derive(Debug)]
pub enum ApiError {
    Coded(Code, String),
    /// Anything unexpected: logged in full, shown as `INTERNAL` with the request id.
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError::Coded(code, message.into())
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Code::BadUserInput, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            Code::Unauthenticated,
            "sign in through Hub SSO or send a Hub token",
        )
    }
    /// The message a client may see.
    pub fn message(&self) -> &str {
        match self {
            ApiError::Coded(_, message) => message,
            ApiError::Internal(_) => "internal error",
        }
    }

    /// For logs and task failures, where the full cause is wanted.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            ApiError::Coded(code, message) => anyhow::anyhow!("{}: {message}", code.as_str()),
            ApiError::Internal(inner) => inner,
        }
    }

    pub fn code(&self) -> Code {
        match self {
            ApiError::Coded(code, _) => *code,
            ApiError::Internal(_) => Code::Internal,
        }
    }
}

impl ApiError {
    fn db_unavailable(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "database unavailable");
        ApiError::new(
            Code::DbUnavailable,
            "the database is unavailable; try again",
        )
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        if super::db_errors::unavailable(&error) {
            return ApiError::db_unavailable(&error);
        }
        ApiError::Internal(error.into())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        if super::db_errors::chain_unavailable(&error) {
            return ApiError::db_unavailable(&format!("{error:#}"));
        }
        ApiError::Internal(error)
    }
}
