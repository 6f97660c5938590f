//! Text input rules: trimmed, bounded, required or optional.

use super::errors::{ApiError, ApiResult};

/// A required text, trimmed, 1 to `max` characters.
pub fn required(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::bad_input(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(ApiError::bad_input(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok(value.to_string())
}

/// An optional text, trimmed; empty means none; at most `max` characters.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => required(field, v, max).map(Some),
    }
}
