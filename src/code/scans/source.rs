//! Where findings come from: a scan's source is what a full scan speaks for (docs/scans.md,
//! "Resolution"). The tool, the SARIF category or query packs, the upload's explicit source.

use serde_sarif::sarif::Run;

use crate::kernel::errors::{ApiError, ApiResult};

/// What scanned: a full scan resolves only the findings of its own sources. The key is the tool
/// and, where the document has them, the SARIF category (`automationDetails.id`, CodeQL's
/// language) or the query packs that ran, and the upload's explicit source.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub key: String,
    /// The run completed (SARIF: `results` present, no invocation `executionSuccessful: false`).
    pub complete: bool,
    /// The document says what scanned (a BOM without `metadata.tools` does not).
    pub named: bool,
}

impl Source {
    /// Whether a full scan of this source may resolve findings it did not report.
    pub fn resolves(&self) -> bool {
        self.complete && self.named
    }
}

/// The key of a source from its parts, empty parts left out.
pub fn source_key<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The upload's explicit source: 1–200 printable characters.
pub fn explicit_source(source: Option<&str>) -> ApiResult<Option<String>> {
    let Some(source) = source.map(str::trim) else {
        return Ok(None);
    };
    if source.is_empty() || source.chars().count() > 200 || source.chars().any(char::is_control) {
        return Err(ApiError::bad_input(
            "source must be 1 to 200 printable characters",
        ));
    }
    Ok(Some(source.to_string()))
}

/// The run's source: the tool, then its category (`automationDetails.id` up to its last `/`,
/// as GitHub reads it: CodeQL's `/language:java/`), else the query packs it ran.
pub(super) fn sarif_source(run: &Run, tool: &str) -> String {
    let id = run
        .automation_details
        .as_ref()
        .and_then(|a| a.id.as_deref());
    let category = id.map(|id| match id.rfind('/') {
        Some(at) => &id[..=at],
        None => id,
    });
    let mut packs: Vec<&str> = run
        .tool
        .extensions
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    packs.sort_unstable();
    let packs = packs.join(",");
    source_key([tool, category.unwrap_or(&packs)])
}

/// Why a run did not complete, if it did not: then it resolves nothing.
pub(super) fn failure(run: &Run) -> Option<&'static str> {
    let failed = run
        .invocations
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .any(|i| !i.execution_successful);
    if failed {
        Some("reports executionSuccessful: false")
    } else if run.results.is_none() {
        Some("has no results (missing or null)")
    } else {
        None
    }
}
