//! The structured answers asked of the AI Platform: typed, with the rules each must keep. An
//! answer that breaks one is asked for again once, then the run fails with nothing stored.

use serde::{Deserialize, Serialize};

use crate::upstream::ai::Structured;

fn text(field: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    let len = value.trim().chars().count();
    if len < min {
        return Err(format!("`{field}` must have at least {min} characters"));
    }
    if len > max {
        return Err(format!("`{field}` must have at most {max} characters"));
    }
    Ok(())
}

fn count<T>(field: &str, list: &[T], min: usize, max: usize) -> Result<(), String> {
    if list.len() < min || list.len() > max {
        return Err(format!("`{field}` must have {min} to {max} entries"));
    }
    Ok(())
}

fn hours(field: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 && value <= 100_000.0 {
        Ok(())
    } else {
        Err(format!("`{field}` must be a positive number of hours"))
    }
}

/// One generated document.
#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct DocumentAnswer {
    pub title: String,
    /// Markdown.
    pub content: String,
}

impl Structured for DocumentAnswer {
    const SHAPE: &'static str = r##"{"title": "<document title, at most 200 characters>", "content": "<the whole document in Markdown, at least 200 characters>"}"##;
    fn validate(&self) -> Result<(), String> {
        text("title", &self.title, 3, 200)?;
        text("content", &self.content, 200, 200_000)
    }
}

/// A category of technical debt.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum DebtCategory {
    CodeQuality,
    Dependencies,
    Architecture,
    Testing,
    Documentation,
    Security,
    Infrastructure,
}

/// Severity as the model rates it.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct DebtItem {
    pub category: DebtCategory,
    pub title: String,
    pub description: String,
    pub severity: Rating,
    pub effort_hours: f64,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct RemediationStep {
    pub title: String,
    pub description: String,
    /// Titles of the items this step removes.
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// Tech debt analysis: categorised items, a remediation plan and the debt score it feeds.
#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct TechDebtAnswer {
    /// 0–100, higher is more debt.
    pub debt_score: i32,
    pub items: Vec<DebtItem>,
    pub remediation_plan: Vec<RemediationStep>,
}

impl Structured for TechDebtAnswer {
    const SHAPE: &'static str = r#"{"debt_score": <integer 0-100, higher is more debt>, "items": [{"category": "code_quality|dependencies|architecture|testing|documentation|security|infrastructure", "title": "<short>", "description": "<what and why it matters>", "severity": "low|medium|high|critical", "effort_hours": <positive number>}], "remediation_plan": [{"title": "<step>", "description": "<how>", "addresses": ["<item title>"]}]}"#;
    fn validate(&self) -> Result<(), String> {
        if !(0..=100).contains(&self.debt_score) {
            return Err("`debt_score` must be an integer from 0 to 100".into());
        }
        count("items", &self.items, 0, 100)?;
        for item in &self.items {
            text("items[].title", &item.title, 3, 200)?;
            text("items[].description", &item.description, 1, 5_000)?;
            hours("items[].effort_hours", item.effort_hours)?;
        }
        let min_steps = usize::from(!self.items.is_empty());
        count("remediation_plan", &self.remediation_plan, min_steps, 50)?;
        for step in &self.remediation_plan {
            text("remediation_plan[].title", &step.title, 3, 200)?;
            text(
                "remediation_plan[].description",
                &step.description,
                1,
                5_000,
            )?;
        }
        Ok(())
    }
}

#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct MigrationPath {
    pub title: String,
    pub summary: String,
    pub target_platform: String,
    pub steps: Vec<String>,
    pub effort_hours: f64,
}

/// Migration path recommendations, stored as recommendations.
#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct MigrationAnswer {
    pub recommendations: Vec<MigrationPath>,
}

impl Structured for MigrationAnswer {
    const SHAPE: &'static str = r#"{"recommendations": [{"title": "<short>", "summary": "<why and what>", "target_platform": "<e.g. Azure App Service>", "steps": ["<step 1>", "<step 2>"], "effort_hours": <positive number>}]}"#;
    fn validate(&self) -> Result<(), String> {
        count("recommendations", &self.recommendations, 1, 5)?;
        for r in &self.recommendations {
            text("recommendations[].title", &r.title, 3, 200)?;
            text("recommendations[].summary", &r.summary, 10, 5_000)?;
            text(
                "recommendations[].target_platform",
                &r.target_platform,
                2,
                200,
            )?;
            count("recommendations[].steps", &r.steps, 1, 50)?;
            for step in &r.steps {
                text("recommendations[].steps[]", step, 3, 1_000)?;
            }
            hours("recommendations[].effort_hours", r.effort_hours)?;
        }
        Ok(())
    }
}

/// The data classification levels, as stored on the repository.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Public,
    Internal,
    Confidential,
    Regulated,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Public => "public",
            Classification::Internal => "internal",
            Classification::Confidential => "confidential",
            Classification::Regulated => "regulated",
        }
    }
}

/// Regulatory classification; feeds the repository's data classification.
#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct ClassificationAnswer {
    pub data_classification: Classification,
    /// e.g. GDPR, HIPAA, PCI-DSS, SOX.
    pub regulations: Vec<String>,
    pub rationale: String,
}

impl Structured for ClassificationAnswer {
    const SHAPE: &'static str = r#"{"data_classification": "public|internal|confidential|regulated", "regulations": ["<GDPR|HIPAA|PCI-DSS|SOX|…, empty when none>"], "rationale": "<why>"}"#;
    fn validate(&self) -> Result<(), String> {
        count("regulations", &self.regulations, 0, 20)?;
        for r in &self.regulations {
            text("regulations[]", r, 2, 100)?;
        }
        if self.data_classification == Classification::Regulated && self.regulations.is_empty() {
            return Err("`regulated` needs at least one entry in `regulations`".into());
        }
        text("rationale", &self.rationale, 10, 5_000)
    }
}

#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct CriticalFile {
    pub path: String,
    pub reason: String,
}

/// The critical files of a handoff package.
#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct HandoffAnswer {
    pub critical_files: Vec<CriticalFile>,
}

impl Structured for HandoffAnswer {
    const SHAPE: &'static str = r#"{"critical_files": [{"path": "<path relative to the repository root>", "reason": "<why a new team must know it>"}]}"#;
    fn validate(&self) -> Result<(), String> {
        count("critical_files", &self.critical_files, 1, 50)?;
        for file in &self.critical_files {
            text("critical_files[].path", &file.path, 1, 500)?;
            if file.path.starts_with('/') || file.path.split('/').any(|p| p == "..") {
                return Err(
                    "`critical_files[].path` must be relative to the repository root".into(),
                );
            }
            text("critical_files[].reason", &file.reason, 3, 1_000)?;
        }
        Ok(())
    }
}

/// The Application Review report's narrative.
#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct ReviewAnswer {
    pub executive_summary: String,
    pub strengths: Vec<String>,
    pub risks: Vec<String>,
    pub recommendations: Vec<String>,
    /// Markdown.
    pub narrative: String,
}

impl Structured for ReviewAnswer {
    const SHAPE: &'static str = r#"{"executive_summary": "<2-4 sentences>", "strengths": ["<…>"], "risks": ["<…>"], "recommendations": ["<…>"], "narrative": "<the report narrative in Markdown>"}"#;
    fn validate(&self) -> Result<(), String> {
        text("executive_summary", &self.executive_summary, 20, 2_000)?;
        for (field, list) in [
            ("strengths", &self.strengths),
            ("risks", &self.risks),
            ("recommendations", &self.recommendations),
        ] {
            count(field, list, 1, 20)?;
            for entry in list {
                text(field, entry, 3, 1_000)?;
            }
        }
        text("narrative", &self.narrative, 100, 100_000)
    }
}
