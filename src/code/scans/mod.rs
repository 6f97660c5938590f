//! Scan ingestion: SARIF 2.1.0 (secrets, code findings) and CycloneDX JSON with vulnerabilities
//! become findings of one repository, deduplicated by fingerprint, with the repository's scores
//! recomputed. The rules are in docs/scans.md; `service.rs` owns the transaction.

pub mod cyclonedx;
pub mod graphql;
pub mod sarif;
pub mod scores;
pub mod service;

use entities::enums::{FindingKind, Product, Severity};
use serde::de::DeserializeOwned;

use crate::auth::{Access, User};
use crate::kernel::errors::{ApiError, ApiResult};

pub use service::{ScanService, ScanSummary};

/// The document formats a scanner may upload.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFormat {
    /// SARIF 2.1.0 (secret scanners such as gitleaks, code-scanning tools).
    Sarif,
    /// CycloneDX JSON 1.4–1.6 with `vulnerabilities` (SBOM scanners).
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
    pub tool: String,
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
}

/// What a document holds: the tools that scanned (each scanned the whole repository when the
/// scan is full) and their findings.
#[derive(Debug, Default)]
pub struct Parsed {
    pub tools: Vec<String>,
    pub findings: Vec<Detected>,
}

/// Parses `bytes` as `format`. Every refusal is `BAD_USER_INPUT` naming what is wrong.
pub fn parse(format: ScanFormat, bytes: &[u8]) -> ApiResult<Parsed> {
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
        if e.is_syntax() || e.is_eof() {
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
        ApiError::bad_input(format!(
            "the document does not match the {schema} schema at {path}: {}",
            e.inner()
        ))
    })?;
    de.end()
        .map_err(|e| ApiError::bad_input(format!("the document is not valid JSON: {e}")))?;
    Ok(value)
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
