//! SARIF 2.1.0 → findings, parsed with `serde-sarif` (types generated from the OASIS schema).
//!
//! Secret scanners' results become `secret_detected`; everything else `vulnerability`. A secret's
//! value never reaches the database: snippets, region text and the result message are not read
//! for secrets (some tools put the match there); their text comes from the rule.

use std::collections::BTreeMap;

use entities::enums::{FindingKind, Severity};
use serde::Deserialize;
use serde_sarif::sarif::{
    MultiformatMessageString, PropertyBag, ReportingDescriptor, Result as SarifResult, ResultKind,
    ResultLevel, Run, Sarif,
};

use super::{Detected, Parsed, clip, deserialize, head, severity_of_score};
use crate::kernel::errors::{ApiError, ApiResult};

const TITLE_MAX: usize = 300;
const TEXT_MAX: usize = 8_000;

/// Tool names that mark every result as a secret.
const SECRET_TOOLS: [&str; 4] = ["gitleaks", "trufflehog", "detect-secrets", "secret"];

#[derive(Deserialize)]
struct Head {
    version: Option<serde_json::Value>,
    runs: Option<serde::de::IgnoredAny>,
}

/// Parses a SARIF 2.1.0 log; refuses other versions and other documents with `BAD_USER_INPUT`.
pub fn parse(bytes: &[u8]) -> ApiResult<Parsed> {
    let head: Head = head(bytes, "SARIF log")?;
    match head.version.as_ref() {
        Some(serde_json::Value::String(v)) if v == "2.1.0" => {}
        Some(other) => {
            return Err(ApiError::bad_input(format!(
                "SARIF version {other} is not supported: send SARIF 2.1.0"
            )));
        }
        None => {
            return Err(ApiError::bad_input(
                "not a SARIF log: version is missing (expected \"2.1.0\")",
            ));
        }
    }
    if head.runs.is_none() {
        return Err(ApiError::bad_input("not a SARIF log: runs is missing"));
    }
    let log: Sarif = deserialize(bytes, "SARIF 2.1.0")?;
    let mut parsed = Parsed::default();
    for run in &log.runs {
        map_run(run, &mut parsed);
    }
    Ok(parsed)
}

fn text(m: Option<&MultiformatMessageString>) -> Option<String> {
    m.map(|m| m.text.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn tags(bag: Option<&PropertyBag>) -> Vec<String> {
    bag.and_then(|b| b.tags.clone()).unwrap_or_default()
}

/// `security-severity` as GitHub code scanning reads it: a CVSS-like number, as text or number.
fn security_severity(bag: Option<&PropertyBag>) -> Option<f64> {
    let value = bag?.additional_properties.get("security-severity")?;
    match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn level_severity(level: &str) -> Severity {
    match level {
        "error" => Severity::High,
        "note" | "none" => Severity::Low,
        _ => Severity::Medium, // "warning", SARIF's default
    }
}

/// Fingerprints as one stable string, keys sorted.
fn joined(map: Option<&BTreeMap<String, String>>) -> Option<String> {
    let map = map.filter(|m| !m.is_empty())?;
    Some(
        map.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

fn map_run(run: &Run, parsed: &mut Parsed) {
    let driver = &run.tool.driver;
    let tool = driver.name.trim().to_string();
    let secret_tool = {
        let lower = tool.to_ascii_lowercase();
        SECRET_TOOLS.iter().any(|t| lower.contains(t))
    };
    let rules: &[ReportingDescriptor] = driver.rules.as_deref().unwrap_or(&[]);
    for result in run.results.as_deref().unwrap_or(&[]) {
        if !is_problem(result) {
            continue;
        }
        parsed
            .findings
            .push(map_result(result, rules, &tool, secret_tool));
    }
    if !parsed.tools.contains(&tool) {
        parsed.tools.push(tool);
    }
}

/// Passes, not-applicable results and accepted suppressions are not findings.
fn is_problem(result: &SarifResult) -> bool {
    let kind_ok = !matches!(
        result.kind,
        Some(ResultKind::Pass) | Some(ResultKind::NotApplicable)
    );
    let suppressed = result
        .suppressions
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .any(|s| {
            s.status
                .as_ref()
                .and_then(|v| v.as_str())
                .is_none_or(|status| status == "accepted")
        });
    kind_ok && !suppressed
}

fn find_rule<'a>(
    result: &SarifResult,
    rules: &'a [ReportingDescriptor],
) -> Option<&'a ReportingDescriptor> {
    let index = result
        .rule_index
        .or_else(|| result.rule.as_ref().and_then(|r| r.index))
        .filter(|i| *i >= 0)
        .and_then(|i| rules.get(i as usize));
    let id = result
        .rule_id
        .as_deref()
        .or_else(|| result.rule.as_ref().and_then(|r| r.id.as_deref()));
    index
        .filter(|r| id.is_none_or(|id| r.id == id))
        .or_else(|| id.and_then(|id| rules.iter().find(|r| r.id == id)))
}

fn map_result(
    result: &SarifResult,
    rules: &[ReportingDescriptor],
    tool: &str,
    secret_tool: bool,
) -> Detected {
    let rule = find_rule(result, rules);
    let rule_id = result
        .rule_id
        .clone()
        .or_else(|| result.rule.as_ref().and_then(|r| r.id.clone()))
        .or_else(|| rule.map(|r| r.id.clone()))
        .unwrap_or_else(|| "unknown-rule".into());
    let secret = secret_tool
        || tags(rule.and_then(|r| r.properties.as_ref()))
            .iter()
            .chain(&tags(result.properties.as_ref()))
            .any(|t| t.to_ascii_lowercase().contains("secret"));
    let location = result
        .locations
        .as_deref()
        .and_then(|l| l.first())
        .and_then(|l| l.physical_location.as_ref());
    let file_path = location
        .and_then(|p| p.artifact_location.as_ref())
        .and_then(|a| a.uri.as_deref())
        .map(|uri| uri.strip_prefix("file://").unwrap_or(uri).to_string());
    let line = location
        .and_then(|p| p.region.as_ref())
        .and_then(|r| r.start_line)
        .and_then(|l| i32::try_from(l).ok());

    let score = security_severity(result.properties.as_ref())
        .or_else(|| security_severity(rule.and_then(|r| r.properties.as_ref())));
    let level = result
        .level
        .as_ref()
        .map(ResultLevel::to_string)
        .or_else(|| {
            rule.and_then(|r| r.default_configuration.as_ref())
                .and_then(|c| c.level.as_ref())
                .and_then(|l| l.as_str().map(str::to_string))
        });
    let severity = match (score, secret) {
        (Some(s), _) => severity_of_score(s),
        (None, true) => Severity::High,
        (None, false) => level_severity(level.as_deref().unwrap_or("warning")),
    };

    let short = text(rule.and_then(|r| r.short_description.as_ref()));
    let full = text(rule.and_then(|r| r.full_description.as_ref()));
    let help = text(rule.and_then(|r| r.help.as_ref()));
    let message = result
        .message
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let (title, description, remediation) = if secret {
        (
            format!("Secret detected: {rule_id}"),
            full.or(short)
                .unwrap_or_else(|| format!("A {rule_id} secret.")),
            Some(help.unwrap_or_else(|| {
                "Revoke and rotate the credential, then remove it from the code and from the \
                 repository's history."
                    .into()
            })),
        )
    } else {
        let title = short
            .clone()
            .or_else(|| rule.and_then(|r| r.name.clone()))
            .or_else(|| {
                message
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| rule_id.clone());
        let description = message.or(full).or(short).unwrap_or_default();
        (title, description, help)
    };

    let identity = joined(result.fingerprints.as_ref())
        .or_else(|| joined(result.partial_fingerprints.as_ref()))
        .unwrap_or_else(|| line.map(|l| l.to_string()).unwrap_or_default());
    let key = format!(
        "{rule_id}|{}|{identity}",
        file_path.as_deref().unwrap_or("")
    );
    let cve_id = rule_id
        .to_ascii_uppercase()
        .starts_with("CVE-")
        .then(|| rule_id.to_ascii_uppercase());
    Detected {
        key,
        tool: tool.to_string(),
        kind: if secret {
            FindingKind::SecretDetected
        } else {
            FindingKind::Vulnerability
        },
        severity,
        title: clip(&title, TITLE_MAX),
        description: clip(&description, TEXT_MAX),
        file_path,
        line,
        cve_id,
        package_name: None,
        package_version: None,
        secret_type: secret.then(|| rule_id.clone()),
        remediation: remediation.map(|r| clip(&r, TEXT_MAX)),
    }
}
