//! SARIF rules: where a result's rule is (the driver, or a query pack among the extensions),
//! and what its properties say (severity, tags, whether it is about a credential).

use entities::enums::Severity;
use serde_sarif::sarif::{
    MultiformatMessageString, PropertyBag, ReportingDescriptor, Result as SarifResult, Tool,
};

/// CWE tags of credential weaknesses (hard-coded password, credentials, key; unprotected
/// credentials): their findings' text is redacted like a secret's.
const CREDENTIAL_CWES: [&str; 5] = ["cwe-259", "cwe-798", "cwe-321", "cwe-522", "cwe-256"];

/// Words in a rule's id or name that make it about a credential.
const CREDENTIAL_WORDS: [&str; 6] = [
    "password",
    "passwd",
    "secret",
    "credential",
    "api-key",
    "private-key",
];

pub(super) fn text(m: Option<&MultiformatMessageString>) -> Option<String> {
    m.map(|m| m.text.trim().to_string())
        .filter(|t| !t.is_empty())
}

pub(super) fn tags(bag: Option<&PropertyBag>) -> Vec<String> {
    bag.and_then(|b| b.tags.clone()).unwrap_or_default()
}

/// `security-severity` as GitHub code scanning reads it: a CVSS-like number, as text or number.
pub(super) fn security_severity(bag: Option<&PropertyBag>) -> Option<f64> {
    let value = bag?.additional_properties.get("security-severity")?;
    match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn level_severity(level: &str) -> Severity {
    match level {
        "error" => Severity::High,
        "note" | "none" => Severity::Low,
        _ => Severity::Medium, // "warning", SARIF's default
    }
}

/// The rules of the driver (`None`) or of extension `i` (CodeQL keeps its rules in the query
/// packs it ran, `tool.extensions[]`, and results point there with `rule.toolComponent.index`).
fn rules_of(tool: &Tool, component: Option<usize>) -> &[ReportingDescriptor] {
    let component = match component {
        None => Some(&tool.driver),
        Some(i) => tool.extensions.as_deref().and_then(|e| e.get(i)),
    };
    component.and_then(|c| c.rules.as_deref()).unwrap_or(&[])
}

/// The result's rule: by index in the component the result names (the driver by default),
/// checked against its id; else by id in the driver, then in every extension.
pub(super) fn find_rule<'a>(
    result: &SarifResult,
    tool: &'a Tool,
) -> Option<&'a ReportingDescriptor> {
    let component = result
        .rule
        .as_ref()
        .and_then(|r| r.tool_component.as_ref())
        .and_then(|c| c.index)
        .and_then(|i| usize::try_from(i).ok());
    let id = result
        .rule_id
        .as_deref()
        .or_else(|| result.rule.as_ref().and_then(|r| r.id.as_deref()));
    let by_index = result
        .rule_index
        .or_else(|| result.rule.as_ref().and_then(|r| r.index))
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| rules_of(tool, component).get(i))
        .filter(|r| id.is_none_or(|id| r.id == id));
    let extensions = tool.extensions.as_deref().unwrap_or(&[]).len();
    let by_id = || {
        let id = id?;
        std::iter::once(None)
            .chain((0..extensions).map(Some))
            .flat_map(|c| rules_of(tool, c))
            .find(|r| r.id == id)
    };
    by_index.or_else(by_id)
}

/// Whether the rule is about a credential (Bandit B105–B107, Semgrep's hard-coded secrets):
/// by a CWE tag, or by its id or name.
pub(super) fn credential(rule: Option<&ReportingDescriptor>, rule_id: &str) -> bool {
    let tagged = tags(rule.and_then(|r| r.properties.as_ref()))
        .iter()
        .any(|t| {
            let t = t.to_ascii_lowercase();
            CREDENTIAL_CWES.iter().any(|c| t.ends_with(c))
        });
    let named = [Some(rule_id), rule.and_then(|r| r.name.as_deref())]
        .into_iter()
        .flatten()
        .any(|n| {
            let n = n.to_ascii_lowercase().replace('_', "-");
            CREDENTIAL_WORDS.iter().any(|w| n.contains(w))
        });
    tagged || named
}
