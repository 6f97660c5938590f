//! What makes two results the same finding. Identity is the rule and the location (file and
//! region; for a dependency the package, its version and the vulnerability), plus the
//! document's own fingerprint only where it tells results apart: real fingerprints often do
//! not (gitleaks gives every leak of one commit the same one, and none outside git; Semgrep
//! without a login writes the placeholder `requires login` on every result).

use std::collections::{BTreeMap, HashMap};

use serde_sarif::sarif::Region;

/// A result's fingerprints as one string: `fingerprints`, else `partialFingerprints`, keys
/// sorted, empty values left out; `None` when nothing is left.
pub fn document_fingerprint(
    fingerprints: Option<&BTreeMap<String, String>>,
    partial: Option<&BTreeMap<String, String>>,
) -> Option<String> {
    let joined = |map: Option<&BTreeMap<String, String>>| {
        let parts: Vec<String> = map?
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        (!parts.is_empty()).then(|| parts.join(","))
    };
    joined(fingerprints).or_else(|| joined(partial))
}

/// The fingerprints that identify one result only; a value shared by several is not used.
pub fn distinct<'a>(all: impl Iterator<Item = Option<&'a str>>) -> Vec<&'a str> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for fp in all.flatten() {
        *counts.entry(fp).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n == 1)
        .map(|(fp, _)| fp)
        .collect()
}

/// `startLine:startColumn-endLine:endColumn`, parts the document leaves out empty.
pub fn region(region: Option<&Region>) -> String {
    let part = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    match region {
        None => String::new(),
        Some(r) => format!(
            "{}:{}-{}:{}",
            part(r.start_line),
            part(r.start_column),
            part(r.end_line),
            part(r.end_column)
        ),
    }
}

/// The package and version a dependency scanner's SARIF names in its text: Trivy's message
/// (`Package: libssl1.1` / `Installed Version: 1.1.1c-r0`), Grype's rule help (`Package:` /
/// `Version:`). Its results all sit at line 1 of the lock file or image, so without these two
/// packages with the same vulnerability would be one finding.
pub fn package_of<'a>(texts: impl Iterator<Item = &'a str>) -> (Option<String>, Option<String>) {
    for text in texts {
        let value = |label: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(label))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if let Some(package) = value("Package:") {
            let version = value("Installed Version:").or_else(|| value("Version:"));
            return (Some(package), version);
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fingerprints_that_tell_results_apart_count() {
        let empty = BTreeMap::from([("commitSha".to_string(), String::new())]);
        assert_eq!(document_fingerprint(None, Some(&empty)), None);
        let placeholder = BTreeMap::from([("matchBasedId/v1".into(), "requires login".into())]);
        let fp = document_fingerprint(Some(&placeholder), None);
        assert_eq!(fp.as_deref(), Some("matchBasedId/v1=requires login"));
        let all = [fp.as_deref(), fp.as_deref(), Some("a=1"), None];
        assert_eq!(distinct(all.into_iter()), vec!["a=1"]);
    }

    #[test]
    fn packages_from_trivy_and_grype_text() {
        let trivy = "Package: libssl1.1\nInstalled Version: 1.1.1c-r0\nVulnerability CVE-2019-1549";
        assert_eq!(
            package_of([trivy].into_iter()),
            (Some("libssl1.1".into()), Some("1.1.1c-r0".into()))
        );
        let grype = [
            "A low vulnerability in rpm package: package-1, version 1.1.1",
            "Vulnerability CVE-1999-0001\nSeverity: low\nPackage: package-1\nVersion: 1.1.1",
        ];
        assert_eq!(
            package_of(grype.into_iter()),
            (Some("package-1".into()), Some("1.1.1".into()))
        );
    }
}
