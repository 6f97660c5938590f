//! How the kernel's error vocabulary reaches a GraphQL client: the message and
//! `extensions.code`; an internal error is logged here, once, and masked.

use async_graphql::ErrorExtensions;

use crate::kernel::errors::ApiError;

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        error.extend()
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let ApiError::Internal(inner) = self {
            tracing::error!(error = ?inner, "internal error");
        }
        async_graphql::Error::new(self.message())
            .extend_with(|_, e| e.set("code", self.code().as_str()))
    }
}
