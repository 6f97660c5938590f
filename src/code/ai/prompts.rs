//! The prompts: a system message per feature and a user message carrying the repository's real
//! context (profile, scores, findings, existing documents). The answer's JSON shape is appended
//! by the AI client from the answer type.

use entities::enums::Severity;
use entities::{documents, findings, organizations, repositories};

use super::kinds::DocumentType;

/// Open findings listed in a prompt (the most severe first); the rest are only counted.
const FINDINGS_LISTED: usize = 15;

/// What the prompts know of a repository.
pub struct RepoContext {
    pub repo: repositories::Model,
    pub org: organizations::Model,
    /// Open findings, most severe first.
    pub findings: Vec<findings::Model>,
    pub documents: Vec<documents::Model>,
}

const ROLE: &str = "You are The One Code's application analyst. You work only from the repository facts given; where a fact is unknown, say so rather than invent it.";

pub fn document(doc_type: DocumentType) -> String {
    format!(
        "{ROLE} Write {} for the repository described by the user, in Markdown with headings.",
        doc_type.brief()
    )
}

pub const TECH_DEBT: &str = "You are The One Code's application analyst. Analyse the technical debt of the repository described by the user: list concrete debt items by category with severity and effort, a remediation plan ordered by value, and an overall debt score (0 none, 100 unmaintainable).";
pub const MIGRATION: &str = "You are The One Code's migration architect. Recommend up to five migration paths for the repository described by the user (modernisation or re-platforming), each with a target platform, ordered steps and an effort estimate in hours.";
pub const CLASSIFICATION: &str = "You are The One Code's compliance analyst. Classify the data the repository described by the user handles (public, internal, confidential or regulated) and name the regulations that apply (GDPR, HIPAA, PCI-DSS, SOX, …), with a short rationale.";
pub const HANDOFF: &str = "You are The One Code's application analyst. Identify the critical files a team taking over the repository described by the user must know first (entry points, configuration, schema, deployment, security-sensitive code), each with the reason.";
pub const REVIEW: &str = "You are The One Code's application reviewer. Write the narrative of the Application Review report for the repository described by the user: an executive summary, strengths, risks, recommendations and the report narrative.";

fn or_unknown(value: Option<String>) -> String {
    value.unwrap_or_else(|| "unknown".into())
}

fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
    }
}

impl RepoContext {
    /// Orders the findings most severe first.
    pub fn sort(&mut self) {
        self.findings.sort_by_key(|f| rank(f.severity));
    }

    /// The user message: the facts, one per line.
    pub fn describe(&self) -> String {
        let r = &self.repo;
        let stack: Vec<String> = serde_json::from_value(r.tech_stack.clone()).unwrap_or_default();
        let mut out = format!(
            "Repository: {} ({:?} organization {})\nURL: {}\nDefault branch: {}\nVisibility: {}\nArchived: {}\nApplication type: {}\nTech stack: {}\nHosting platform: {}\nLifecycle: {:?}\nHealth score: {}\nDebt score: {}\nLast commit: {}\nCommits per week: {}\nData classification: {}\n",
            r.full_name,
            self.org.provider,
            self.org.login,
            r.url,
            or_unknown(r.default_branch.clone()),
            or_unknown(r.visibility.clone()),
            r.archived,
            or_unknown(r.app_type.clone()),
            if stack.is_empty() {
                "unknown".into()
            } else {
                stack.join(", ")
            },
            or_unknown(r.hosting_platform.clone()),
            r.lifecycle,
            or_unknown(r.health_score.map(|s| s.to_string())),
            or_unknown(r.debt_score.map(|s| s.to_string())),
            or_unknown(r.last_commit_at.map(|t| t.to_rfc3339())),
            or_unknown(r.commit_frequency.map(|f| format!("{f:.1}"))),
            or_unknown(r.data_classification.clone()),
        );
        let by = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        out.push_str(&format!(
            "Open findings: {} (critical {}, high {}, medium {}, low {})\n",
            self.findings.len(),
            by(Severity::Critical),
            by(Severity::High),
            by(Severity::Medium),
            by(Severity::Low),
        ));
        for f in self.findings.iter().take(FINDINGS_LISTED) {
            out.push_str(&format!(
                "- [{:?}] {:?}: {}{}{}\n",
                f.severity,
                f.kind,
                f.title,
                f.file_path
                    .as_deref()
                    .map(|p| format!(" in {p}"))
                    .unwrap_or_default(),
                f.package_name
                    .as_deref()
                    .map(|p| format!(" (package {p})"))
                    .unwrap_or_default(),
            ));
        }
        if !self.documents.is_empty() {
            let titles: Vec<String> = self
                .documents
                .iter()
                .map(|d| format!("{} (v{})", d.title, d.version))
                .collect();
            out.push_str(&format!("Existing documents: {}\n", titles.join("; ")));
        }
        out
    }
}
