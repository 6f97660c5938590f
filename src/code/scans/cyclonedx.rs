//! CycloneDX JSON (1.4–1.7, a later 1.x with a warning) with `vulnerabilities[]` → findings of
//! kind `vulnerability`; a VEX analysis saying the vulnerability does not apply closes instead.
//!
//! Serde types written to the CycloneDX JSON schema, covering only what ingestion reads: the
//! official `cyclonedx-bom` crate (0.8) stops at spec 1.5, while current scanners (Trivy, Grype)
//! write 1.6 and 1.7, and it brings an XML stack we do not need (see docs/scans.md).

use std::collections::HashMap;

use entities::enums::{FindingKind, Severity};
use serde::Deserialize;

use super::{Detected, Parsed, Source, clip, cve_in, deserialize, head, rank, severity_of_score};
use crate::kernel::errors::{ApiError, ApiResult};

/// The spec versions that can carry vulnerabilities, as far as they are known. A later minor
/// version of 1 is read (the fields read are unchanged since 1.4) with a warning.
const VERSIONS: [&str; 4] = ["1.4", "1.5", "1.6", "1.7"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    bom_format: Option<serde_json::Value>,
    spec_version: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Vec<Component>,
    #[serde(default)]
    vulnerabilities: Vec<Vulnerability>,
}

#[derive(Deserialize)]
struct Metadata {
    tools: Option<Tools>,
    component: Option<Component>,
}

/// 1.4 lists tools; 1.5 and later describe them as components and services.
#[derive(Deserialize)]
#[serde(untagged)]
enum Tools {
    Legacy(Vec<NamedTool>),
    Modern(ModernTools),
}

#[derive(Deserialize)]
struct ModernTools {
    #[serde(default)]
    components: Vec<NamedTool>,
    #[serde(default)]
    services: Vec<NamedTool>,
}

#[derive(Deserialize)]
struct NamedTool {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    #[serde(rename = "type")]
    _kind: String,
    name: String,
    version: Option<String>,
    purl: Option<String>,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Deserialize)]
struct Vulnerability {
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    id: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(default)]
    ratings: Vec<Rating>,
    description: Option<String>,
    detail: Option<String>,
    recommendation: Option<String>,
    #[serde(default)]
    affects: Vec<Affect>,
    analysis: Option<Analysis>,
}

/// VEX: what the producer concluded about the vulnerability in this product.
#[derive(Deserialize)]
struct Analysis {
    state: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    id: String,
}

#[derive(Deserialize)]
struct Rating {
    score: Option<f64>,
    severity: Option<RatingSeverity>,
    method: Option<String>,
    source: Option<RatingSource>,
}

#[derive(Deserialize)]
struct RatingSource {
    name: Option<String>,
}

impl Rating {
    /// A score on the CVSS scale: not an EPSS probability (0–1, as `other` or named EPSS),
    /// not an SSVC decision.
    fn cvss_score(&self) -> Option<f64> {
        let method = self.method.as_deref().unwrap_or("").to_ascii_lowercase();
        let source = self.source.as_ref().and_then(|s| s.name.as_deref());
        let epss = method.contains("epss")
            || source.is_some_and(|n| n.to_ascii_lowercase().contains("epss"));
        let scale = method.is_empty() || method.starts_with("cvss") || method == "owasp";
        self.score.filter(|_| scale && !epss)
    }
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RatingSeverity {
    Critical,
    High,
    Medium,
    Low,
    Info,
    None,
    Unknown,
}

#[derive(Deserialize)]
struct Affect {
    #[serde(rename = "ref")]
    reference: String,
}

/// Parses a CycloneDX JSON document; refuses anything else with `BAD_USER_INPUT`.
pub fn parse(bytes: &[u8]) -> ApiResult<Parsed> {
    let head: Head = head(bytes, "CycloneDX BOM")?;
    match head.bom_format.as_ref().and_then(|v| v.as_str()) {
        Some("CycloneDX") => {}
        Some(other) => {
            return Err(ApiError::bad_input(format!(
                "not a CycloneDX document: bomFormat is {other:?}, expected \"CycloneDX\""
            )));
        }
        None => {
            return Err(ApiError::bad_input(
                "not a CycloneDX document: bomFormat \"CycloneDX\" is missing",
            ));
        }
    }
    let version = head.spec_version.as_ref().and_then(|v| v.as_str());
    let mut warnings = Vec::new();
    match version {
        Some(v) if VERSIONS.contains(&v) => {}
        Some(v) if later_minor(v) => warnings.push(format!(
            "CycloneDX specVersion {v:?} is newer than 1.7, the latest known: read as 1.7"
        )),
        _ => {
            let given = head
                .spec_version
                .map(|v| v.to_string())
                .unwrap_or_else(|| "missing".into());
            return Err(ApiError::bad_input(format!(
                "CycloneDX specVersion {given} is not supported: send 1.4 to 1.7 (the versions \
                 with vulnerabilities)"
            )));
        }
    }
    let bom: Bom = deserialize(bytes, "CycloneDX")?;
    let mut parsed = map(bom);
    parsed.warnings = warnings;
    Ok(parsed)
}

/// `1.N` with N above the latest known minor version.
fn later_minor(version: &str) -> bool {
    version
        .strip_prefix("1.")
        .and_then(|minor| minor.parse::<u32>().ok())
        .is_some_and(|minor| minor > 7)
}

/// The first tool `metadata.tools` names, if any.
fn tool_name(metadata: Option<&Metadata>) -> Option<String> {
    let tools = metadata.and_then(|m| m.tools.as_ref());
    let first = match tools {
        Some(Tools::Legacy(list)) => list.iter().find_map(|t| t.name.clone()),
        Some(Tools::Modern(m)) => m
            .components
            .iter()
            .chain(&m.services)
            .find_map(|t| t.name.clone()),
        None => None,
    };
    first
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
}

fn index<'a>(components: &'a [Component], into: &mut HashMap<&'a str, &'a Component>) {
    for c in components {
        if let Some(r) = c.bom_ref.as_deref() {
            into.insert(r, c);
        }
        index(&c.components, into);
    }
}

fn severity(ratings: &[Rating]) -> Severity {
    let named = ratings.iter().filter_map(|r| match r.severity? {
        RatingSeverity::Critical => Some(Severity::Critical),
        RatingSeverity::High => Some(Severity::High),
        RatingSeverity::Medium => Some(Severity::Medium),
        RatingSeverity::Low | RatingSeverity::Info | RatingSeverity::None => Some(Severity::Low),
        RatingSeverity::Unknown => None,
    });
    let scored = ratings
        .iter()
        .filter(|r| r.severity.is_none())
        .filter_map(|r| r.cvss_score().map(severity_of_score));
    named
        .chain(scored)
        .max_by_key(|s| rank(*s))
        .unwrap_or(Severity::Medium)
}

fn cve(v: &Vulnerability) -> Option<String> {
    v.id.iter()
        .map(String::as_str)
        .chain(v.references.iter().map(|r| r.id.as_str()))
        .find_map(cve_in)
}

/// VEX states under which the vulnerability does not affect the product.
fn does_not_apply(v: &Vulnerability) -> bool {
    let state = v.analysis.as_ref().and_then(|a| a.state.as_deref());
    matches!(
        state,
        Some("not_affected" | "false_positive" | "resolved" | "resolved_with_pedigree")
    )
}

fn map(bom: Bom) -> Parsed {
    let named = tool_name(bom.metadata.as_ref());
    let tool = named.clone().unwrap_or_else(|| "cyclonedx".into());
    let mut by_ref = HashMap::new();
    index(&bom.components, &mut by_ref);
    if let Some(subject) = bom.metadata.as_ref().and_then(|m| m.component.as_ref()) {
        index(std::slice::from_ref(subject), &mut by_ref);
    }
    let mut findings = Vec::new();
    for v in &bom.vulnerabilities {
        let cve_id = cve(v);
        // Before CVE ids were checked, any id starting with `CVE-` counted.
        let legacy_cve =
            v.id.iter()
                .map(String::as_str)
                .chain(v.references.iter().map(|r| r.id.as_str()))
                .find(|id| id.to_ascii_uppercase().starts_with("CVE-"))
                .map(|id| id.trim().to_ascii_uppercase());
        let name =
            v.id.clone()
                .or_else(|| cve_id.clone())
                .or_else(|| v.bom_ref.clone())
                .unwrap_or_else(|| "unnamed vulnerability".into());
        let severity = severity(&v.ratings);
        let closed = does_not_apply(v);
        let description = v
            .description
            .clone()
            .or_else(|| v.detail.clone())
            .unwrap_or_default();
        // One finding per affected component; none listed still makes one finding.
        let targets: Vec<Option<&str>> = if v.affects.is_empty() {
            vec![None]
        } else {
            v.affects
                .iter()
                .map(|a| Some(a.reference.as_str()))
                .collect()
        };
        for target in targets {
            let component = target.and_then(|r| by_ref.get(r));
            let package_name = component.map(|c| c.name.clone());
            let package_version = component.and_then(|c| c.version.clone());
            let title = match (&package_name, &package_version) {
                (Some(p), Some(ver)) => format!("{name} in {p} {ver}"),
                (Some(p), None) => format!("{name} in {p}"),
                _ => name.clone(),
            };
            let mut text = description.clone();
            if let Some(purl) = component.and_then(|c| c.purl.as_deref()) {
                text = format!("{text}\n\nAffected component: {purl}")
                    .trim()
                    .into();
            } else if let (None, Some(r)) = (component, target) {
                text = format!("{text}\n\nAffected component: {r}").trim().into();
            }
            let package = package_name.as_deref().or(target).unwrap_or("");
            let version = package_version.as_deref().unwrap_or("");
            let key = format!(
                "{name}|{}|{package}|{version}",
                cve_id.as_deref().unwrap_or("")
            );
            let legacy_key = format!(
                "{name}|{}|{package}|{version}",
                legacy_cve.as_deref().unwrap_or("")
            );
            findings.push(Detected {
                key,
                legacy_key,
                tool: tool.clone(),
                source: tool.clone(),
                kind: FindingKind::Vulnerability,
                severity,
                title: clip(&title, 300),
                description: clip(&text, 8_000),
                file_path: None,
                line: None,
                cve_id: cve_id.clone(),
                package_name,
                package_version,
                secret_type: None,
                remediation: v.recommendation.as_deref().map(|r| clip(r, 8_000)),
                closed,
            });
        }
    }
    Parsed {
        sources: vec![Source {
            key: tool.clone(),
            complete: true,
            named: named.is_some(),
        }],
        tools: vec![tool],
        findings,
        warnings: Vec::new(),
    }
}
