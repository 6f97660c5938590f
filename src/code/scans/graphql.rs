//! `ingestScan`: one service call. Large documents go through the REST endpoint (see
//! docs/scans.md): the GraphQL request body is capped by `GRAPHQL_MAX_BODY_BYTES`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entities::enums::Product;

use super::ScanSummary;
use crate::code::scans::ScanService;
use crate::code::types::Repository;
use crate::graphql::{principal, service};
use crate::kernel::batch::Siblings;
use crate::kernel::paging::expect_id;

/// The document formats a scanner may upload.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "super::ScanFormat")]
pub enum ScanFormat {
    /// SARIF 2.1.0 (secret scanners such as gitleaks, code-scanning tools).
    Sarif,
    /// CycloneDX JSON 1.4–1.7 with `vulnerabilities` (SBOM scanners); a later 1.x is read
    /// with a warning.
    Cyclonedx,
}

/// Input of `ingestScan`.
#[derive(InputObject)]
pub struct IngestScanInput {
    /// The repository the scan ran on.
    pub repository_id: ID,
    /// The document's format.
    pub format: ScanFormat,
    /// The scanner's output, as JSON text.
    pub document: String,
    /// Whether the scan covered the whole repository: then findings of the same tools that it
    /// no longer reports are resolved.
    #[graphql(default = true)]
    pub full_scan: bool,
    /// Names the pipeline or job that scanned, when the document alone does not tell it apart
    /// (a BOM without tool metadata, one tool run by two pipelines): it is added to the scan's
    /// source, and a full scan resolves only findings of its own source. 1–200 characters.
    pub source: Option<String>,
}

/// What one ingestion did.
#[derive(SimpleObject)]
pub struct ScanResult {
    /// The document's format.
    pub format: ScanFormat,
    /// The scanner (the first, when a SARIF log holds runs of several tools).
    pub tool: String,
    /// Every scanner of the document.
    pub tools: Vec<String>,
    /// The document's sources: tool, SARIF category (`automationDetails.id`) or query packs,
    /// and the upload's `source`. A full scan resolves only findings of these.
    pub sources: Vec<String>,
    /// Findings seen for the first time.
    pub created: i64,
    /// Findings seen before whose details changed, or that were resolved and are back.
    pub updated: i64,
    /// Findings seen before, as they were.
    pub unchanged: i64,
    /// Open findings closed: of this full scan's own sources and no longer reported, or said not
    /// to apply by a VEX analysis.
    pub resolved: i64,
    /// Secrets that were not in the previous scan (each announced on the Bus once).
    pub new_secrets: i64,
    /// What the uploader should know: a newer spec version read as the latest known one, a
    /// failed run that resolved nothing.
    pub warnings: Vec<String>,
    /// The repository, with its recomputed health and debt scores.
    pub repository: Repository,
}

impl From<ScanSummary> for ScanResult {
    fn from(s: ScanSummary) -> Self {
        ScanResult {
            format: s.format.into(),
            tool: s.tools.first().cloned().unwrap_or_default(),
            tools: s.tools,
            sources: s.sources,
            created: s.created,
            updated: s.updated,
            unchanged: s.unchanged,
            resolved: s.resolved,
            new_secrets: s.new_secrets,
            warnings: s.warnings,
            repository: Repository {
                siblings: Siblings::single(s.repository.id),
                row: s.repository,
            },
        }
    }
}

/// Result of `ingestScan`.
#[derive(SimpleObject)]
pub struct IngestScanPayload {
    /// Summary of the ingestion.
    pub scan: ScanResult,
}

#[derive(Default)]
pub struct ScanMutation;

#[Object]
impl ScanMutation {
    /// Ingests a scanner's SARIF 2.1.0 or CycloneDX document into a repository's findings
    /// (technicians and admins); a secret not in the previous scan emits
    /// `code.security.new_secret_detected`. Documents over the GraphQL body limit go to
    /// `POST /api/code/repositories/{id}/scans`.
    async fn ingest_scan(
        &self,
        ctx: &Context<'_>,
        input: IngestScanInput,
    ) -> Result<IngestScanPayload> {
        let user = principal(ctx).product_user(Product::Code)?;
        let repository = expect_id(&input.repository_id, "Repository")?;
        let summary = service::<ScanService>(ctx)
            .ingest(
                user,
                repository,
                input.format.into(),
                input.document.as_bytes(),
                input.full_scan,
                input.source.as_deref(),
            )
            .await?;
        Ok(IngestScanPayload {
            scan: summary.into(),
        })
    }
}
