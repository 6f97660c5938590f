//! Scan ingestion: SARIF 2.1.0 (secrets, code findings) and CycloneDX JSON with vulnerabilities
//! become findings of one repository, deduplicated by fingerprint, with the repository's scores
//! recomputed. The rules are in docs/scans.md; `service.rs` owns the transaction.

pub mod cyclonedx;
pub mod graphql;
mod identity;
mod plan;
mod redact;
pub mod sarif;
mod sarif_rules;
pub mod scores;
pub mod service;
mod source;

use entities::enums::{FindingKind, Product, Severity};
use serde::de::DeserializeOwned;

use crate::auth::{Access, User};
use crate::kernel::errors::{ApiError, ApiResult};

pub use plan::fingerprint;
pub use service::{ScanService, ScanSummary};
pub use source::{Source, explicit_source, source_key};

/// The document formats a scanner may upload (GraphQL's mirror: `graphql::ScanFormat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFormat {
    Sarif,
    Cyclonedx,
}

impl ScanFormat {
    /// `sarif` or `cyclonedx`, as in the REST endpoint's `format` parameter.
    pub fn parse_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sarif" => Some(ScanFormat::Sarif),
            "cyclonedx" => Some(ScanFormat::Cyclonedx),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ScanFormat::Sarif => "sarif",
            ScanFormat::Cyclonedx => "cyclonedx",
        }
    }
}

/// One finding as a document reports it, before it is matched against the stored ones.
#[derive(Clone, Debug, PartialEq)]
pub struct Detected {
    /// What identifies the finding within its tool (hashed with the repository and the tool into
    /// the stored fingerprint).
    pub key: String,
    /// The key under the identity rules before location-first identity: a stored finding found
    /// only by it is taken over (its fingerprint rewritten) instead of created again.
    pub legacy_key: String,
    pub tool: String,
    /// The key of the source that reported it (see `Source`).
    pub source: String,
    pub kind: FindingKind,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub file_path: Option<String>,
    pub line: Option<i32>,
    pub cve_id: Option<String>,
    pub package_name: Option<String>,
    pub package_version: Option<String>,
    pub secret_type: Option<String>,
    pub remediation: Option<String>,
    /// The document says it does not apply (a VEX analysis `not_affected`, `false_positive`,
    /// `resolved`): it opens nothing and closes an open finding of the same identity.
    pub closed: bool,
}

/// What a document holds: the tools that scanned (each scanned the whole repository when the
/// scan is full) and their findings.
#[derive(Debug, Default)]
pub struct Parsed {
    pub tools: Vec<String>,
    pub sources: Vec<Source>,
    pub findings: Vec<Detected>,
    /// What was read but is worth telling the uploader (a newer spec version, a failed run).
    pub warnings: Vec<String>,
}

/// Parses `bytes` as `format`, with the upload's explicit source (if any) added to every source.
/// Every refusal is `BAD_USER_INPUT` naming what is wrong.
pub fn parse(format: ScanFormat, bytes: &[u8], explicit: Option<&str>) -> ApiResult<Parsed> {
    let mut parsed = parse_document(format, bytes)?;
    if let Some(explicit) = explicit {
        for source in &mut parsed.sources {
            source.key = source_key([source.key.as_str(), explicit]);
            source.named = true;
        }
        for d in &mut parsed.findings {
            d.source = source_key([d.source.as_str(), explicit]);
        }
    }
    for source in &parsed.sources {
        if source.complete && !source.named {
            parsed.warnings.push(
                "the document does not name the tool that wrote it and the upload names no \
                 source: nothing was resolved (send a source to let its full scans resolve)"
                    .into(),
            );
        }
    }
    Ok(parsed)
}

fn parse_document(format: ScanFormat, bytes: &[u8]) -> ApiResult<Parsed> {
    // Windows tools (and PowerShell redirection) write a UTF-8 byte-order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    crate::kernel::hygiene::check_json(bytes, "the document")?;
    match format {
        ScanFormat::Sarif => sarif::parse(bytes),
        ScanFormat::Cyclonedx => cyclonedx::parse(bytes),
    }
}

/// Technicians and admins with The One Code may upload scans; viewers may not.
pub fn uploader(user: &User) -> ApiResult<&User> {
    user.may(Product::Code, Access::Operate, "upload scan results")
}

/// Reads the few top-level fields that say what a document is, so that a document of another
/// kind is refused as such rather than with a type error deep inside it.
pub(crate) fn head<T: DeserializeOwned>(bytes: &[u8], what: &str) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        if !is_json(bytes) {
            ApiError::bad_input(format!("the document is not valid JSON: {e}"))
        } else {
            ApiError::bad_input(format!(
                "not a {what}: expected a JSON object at the top level ({e})"
            ))
        }
    })
}

/// Deserializes the whole document; a mismatch names the path that does not fit the schema.
pub(crate) fn deserialize<T: DeserializeOwned>(bytes: &[u8], schema: &str) -> ApiResult<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        // serde_json files some errors of valid JSON under "syntax" (nesting deeper than 128,
        // a number too large for its field): only JSON that does not parse is called invalid.
        if (inner.is_syntax() || inner.is_eof()) && !is_json(bytes) {
            ApiError::bad_input(format!("the document is not valid JSON: {inner}"))
        } else {
            ApiError::bad_input(format!(
                "the document does not match the {schema} schema at {path}: {}",
                without_strings(&inner.to_string())
            ))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_input(format!("the document is not valid JSON: {e}")))?;
    Ok(value)
}

/// serde's message without the string it quotes (`invalid type: string "…"`): the string is the
/// client's own value, which in a scanner document may be a secret; the path and the expected
/// type say what is wrong.
fn without_strings(message: &str) -> String {
    let Some(start) = message.find("string \"") else {
        return message.to_string();
    };
    let body = &message[start + 8..];
    let mut escaped = false;
    let end = body.char_indices().find_map(|(i, c)| {
        let close = c == '"' && !escaped;
        escaped = c == '\\' && !escaped;
        close.then_some(i)
    });
    match end {
        Some(end) => format!("{}a string{}", &message[..start], &body[end + 1..]),
        None => format!("{}a string", &message[..start]),
    }
}

/// Whether `bytes` is one JSON value (of any shape), without building it.
fn is_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// A CVE id (`CVE-YYYY-NNNN`, four or more digits) at the start of `text`, upper-cased; text
/// after it must not continue the number (Grype's SARIF rule `CVE-1999-0001-package-1` names
/// CVE-1999-0001, `CVE-2021-44228x` names none).
pub fn cve_in(text: &str) -> Option<String> {
    let upper = text.trim().to_ascii_uppercase();
    let rest = upper.strip_prefix("CVE-")?;
    let year: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let rest = rest[year.len()..].strip_prefix('-')?;
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = rest[number.len()..].chars().next();
    let ok = year.len() == 4
        && number.len() >= 4
        && after.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
    ok.then(|| format!("CVE-{year}-{number}"))
}

/// Severity order, worst highest.
pub fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

/// CVSS-style score bands (as GitHub code scanning reads `security-severity`).
pub fn severity_of_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// At most `max` characters, cut at a character boundary.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_ids_must_look_like_one() {
        assert_eq!(cve_in("CVE-2021-44228").as_deref(), Some("CVE-2021-44228"));
        assert_eq!(
            cve_in("cve-2024-123456").as_deref(),
            Some("CVE-2024-123456")
        );
        assert_eq!(
            cve_in("CVE-1999-0001-package-1").as_deref(),
            Some("CVE-1999-0001")
        );
        for not in [
            "CVE-2",
            "CVE-21-44228",
            "CVE-2021-442",
            "CVE-2021-44228x",
            "GHSA-1",
        ] {
            assert_eq!(cve_in(not), None, "{not}");
        }
    }

    #[test]
    fn a_refusal_does_not_repeat_the_value_sent() {
        let doc = br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t"}},"results":[
            {"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":
            {"uri":"a.py"},"region":{"startLine":"ghp_s3cr3t\"quoted"}}}]}]}]}"#;
        let error = parse(ScanFormat::Sarif, doc, None).unwrap_err();
        let message = error.message();
        assert!(!message.contains("s3cr3t"), "{message}");
        assert!(message.contains("startLine"), "{message}");
        assert!(
            message.contains("invalid type: a string, expected"),
            "{message}"
        );
        assert_eq!(
            without_strings(r#"x string "a\"b" y"#),
            "x a string y".to_string()
        );
    }
}
