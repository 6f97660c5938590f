//! SARIF 2.1.0 → findings, parsed with `serde-sarif` (types generated from the OASIS schema).
//!
//! Secret scanners' results become `secret_detected`; everything else `vulnerability`. A secret's
//! value never reaches the database: snippets, region text and the result message are not read
//! for secrets (some tools put the match there); their text comes from the rule, and the text of
//! a secret or credential finding is redacted (`redact.rs`).

use std::collections::BTreeMap;

use entities::enums::{FindingKind, Severity};
use serde::Deserialize;
use serde_sarif::sarif::{Result as SarifResult, ResultKind, ResultLevel, Run, Sarif};

use super::identity::{distinct, document_fingerprint, package_of, region};
use super::redact::redact;
use super::sarif_rules::{credential, find_rule, level_severity, security_severity, tags, text};
use super::source::{failure, sarif_source};
use super::{Detected, Parsed, Source, clip, cve_in, deserialize, head, severity_of_score};
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
    for (i, run) in log.runs.iter().enumerate() {
        map_run(i, run, &mut parsed);
    }
    Ok(parsed)
}

/// The key this result had before identity was location-first (kept so that findings stored
/// then are taken over rather than announced again; see docs/scans.md).
fn legacy_identity(result: &SarifResult, line: Option<i32>) -> String {
    let joined = |map: Option<&BTreeMap<String, String>>| {
        let map = map.filter(|m| !m.is_empty())?;
        let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Some(parts.join(","))
    };
    joined(result.fingerprints.as_ref())
        .or_else(|| joined(result.partial_fingerprints.as_ref()))
        .unwrap_or_else(|| line.map(|l| l.to_string()).unwrap_or_default())
}

fn map_run(index: usize, run: &Run, parsed: &mut Parsed) {
    let driver = &run.tool.driver;
    let tool = driver.name.trim().to_string();
    let source = sarif_source(run, &tool);
    let failure = failure(run);
    if let Some(why) = failure {
        parsed.warnings.push(format!(
            "run {index} ({tool}) {why}: a failed scan, it resolved nothing"
        ));
    }
    if let Some(known) = parsed.sources.iter_mut().find(|s| s.key == source) {
        known.complete &= failure.is_none();
    } else {
        parsed.sources.push(Source {
            key: source.clone(),
            complete: failure.is_none(),
            named: true,
        });
    }
    let secret_tool = {
        let lower = tool.to_ascii_lowercase();
        SECRET_TOOLS.iter().any(|t| lower.contains(t))
    };
    let problems: Vec<&SarifResult> = run
        .results
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|r| is_problem(r))
        .collect();
    let fingerprints: Vec<Option<String>> = problems
        .iter()
        .map(|r| document_fingerprint(r.fingerprints.as_ref(), r.partial_fingerprints.as_ref()))
        .collect();
    let usable = distinct(fingerprints.iter().map(Option::as_deref));
    for (result, fp) in problems.into_iter().zip(&fingerprints) {
        let fp = fp.as_deref().filter(|fp| usable.contains(fp));
        let context = Context {
            run,
            tool: &tool,
            source: &source,
            secret_tool,
        };
        parsed.findings.push(map_result(result, &context, fp));
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

/// What every result of a run shares.
struct Context<'a> {
    run: &'a Run,
    tool: &'a str,
    source: &'a str,
    secret_tool: bool,
}

/// The file of a location: its URI, else the URI of the run's artifact it points at by index
/// (CodeQL's style), without `file://`.
fn file_of(run: &Run, location: Option<&serde_sarif::sarif::PhysicalLocation>) -> Option<String> {
    let artifact = location?.artifact_location.as_ref()?;
    let uri = artifact.uri.clone().or_else(|| {
        let index = usize::try_from(artifact.index?).ok()?;
        run.artifacts
            .as_deref()?
            .get(index)?
            .location
            .as_ref()?
            .uri
            .clone()
    })?;
    Some(uri.strip_prefix("file://").unwrap_or(&uri).to_string())
}

fn map_result(result: &SarifResult, cx: &Context<'_>, fingerprint: Option<&str>) -> Detected {
    let (run, tool, secret_tool) = (cx.run, cx.tool, cx.secret_tool);
    let rule = find_rule(result, &run.tool);
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
    let file_path = file_of(run, location);
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
            Some(help.clone().unwrap_or_else(|| {
                "Revoke and rotate the credential, then remove it from the code and from the \
                 repository's history."
                    .into()
            })),
        )
    } else {
        // Semgrep's `Semgrep Finding: {id}` and a name that is the id say nothing the id does not.
        let label = |t: &String| !(t.len() > rule_id.len() && t.ends_with(&rule_id));
        let title = short
            .clone()
            .filter(label)
            .or_else(|| rule.and_then(|r| r.name.clone()).filter(|n| *n != rule_id))
            .or_else(|| {
                message
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| rule_id.clone());
        let description = message.clone().or(full).or(short).unwrap_or_default();
        (title, description, help.clone())
    };
    let (package_name, package_version) = if secret {
        (None, None)
    } else {
        package_of(message.iter().chain(&help).map(String::as_str))
    };
    let title = match (&package_name, &package_version) {
        (Some(p), Some(v)) if !title.contains(p.as_str()) => format!("{title} in {p} {v}"),
        _ => title,
    };
    // A secret's or credential's text may quote it (Bandit: "Possible hardcoded password: '…'").
    let sensitive = secret || credential(rule, &rule_id);
    let scrub = |t: String| if sensitive { redact(&t) } else { t };
    let (title, description, remediation) =
        (scrub(title), scrub(description), remediation.map(scrub));

    let region = region(location.and_then(|p| p.region.as_ref()));
    let file = file_path.as_deref().unwrap_or("");
    let key = format!(
        "{rule_id}|{file}|{region}|{}|{}|{}",
        package_name.as_deref().unwrap_or(""),
        package_version.as_deref().unwrap_or(""),
        fingerprint.unwrap_or("")
    );
    let legacy_key = format!("{rule_id}|{file}|{}", legacy_identity(result, line));
    let cve_id = cve_in(&rule_id);
    Detected {
        key,
        legacy_key,
        tool: tool.to_string(),
        source: cx.source.to_string(),
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
        package_name,
        package_version,
        secret_type: secret.then(|| rule_id.clone()),
        remediation: remediation.map(|r| clip(&r, TEXT_MAX)),
        closed: false,
    }
}
