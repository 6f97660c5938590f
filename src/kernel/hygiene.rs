//! No JSON a client sends (a REST body, a scan document) may decode to a NUL character:
//! PostgreSQL cannot store one in `text`, SQLite can, so both refuse it up front with the same
//! `BAD_USER_INPUT` naming the field (docs/decisions.md, "Input hygiene"). The GraphQL walk is
//! `graphql::hygiene`.

use super::errors::{ApiError, ApiResult};

/// The path of the first NUL in a JSON value (in a string or an object key), under `path`.
pub fn json_nul(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    let join = |key: &str| match path {
        "" => key.to_string(),
        _ => format!("{path}.{key}"),
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(path.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| json_nul(v, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, v)| {
            if key.contains('\0') {
                Some(join(key))
            } else {
                json_nul(v, &join(key))
            }
        }),
        _ => None,
    }
}

/// Whether JSON text decodes to a NUL anywhere, without decoding it: in valid JSON a NUL can
/// only be written `\u0000` (a raw control character is invalid), and a backslash only occurs
/// in strings, so escapes are read pairwise (`\\u0000` is a backslash and the text u0000).
pub fn json_text_has_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0 => return true,
            b'\\' if bytes[i + 1..].starts_with(b"u0000") => return true,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    false
}

/// A JSON body (REST call, scan document) that decodes to a NUL is refused, naming where.
pub fn check_json(bytes: &[u8], what: &str) -> ApiResult<()> {
    if !json_text_has_nul(bytes) {
        return Ok(());
    }
    let place = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| json_nul(&v, ""))
        .filter(|p| !p.is_empty())
        .map_or_else(|| what.to_string(), |p| format!("{what} field `{p}`"));
    Err(ApiError::bad_input(format!(
        "{place} contains a NUL character (\\u0000), which is not accepted"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_are_read_pairwise() {
        assert!(json_text_has_nul(br#"{"a":"x\u0000"}"#));
        assert!(!json_text_has_nul(br#"{"a":"x\\u0000"}"#));
        assert!(json_text_has_nul(br#"{"a":"x\\\u0000"}"#));
        assert!(!json_text_has_nul(br#"{"a":"\u0041"}"#));
    }

    #[test]
    fn the_field_is_named() {
        let body = br#"{"hostname":"ok","tags":["a","b\u0000"]}"#;
        let error = check_json(body, "the body").unwrap_err();
        assert!(error.message().contains("`tags[1]`"), "{}", error.message());
    }
}
