//! The AI features' GraphQL: runs, documents, and the mutations that start runs.

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::enums::Product;
use entities::{ai_runs, documents};

use super::graphql_enums::{AiRunKind, AiRunStatus, DocumentType};
use super::kinds;
use crate::code::ai::AiService;
use crate::code::types::Repository;
use crate::graphql::relay::global_id;
use crate::graphql::{principal, service};
use crate::kernel::paging::expect_id;

/// One AI Platform generation for a repository and how it went.
pub struct AiRunView {
    pub row: ai_runs::Model,
}

/// One AI Platform generation for a repository and how it went.
#[Object(name = "AiRun")]
impl AiRunView {
    /// Global ID.
    pub async fn id(&self) -> ID {
        global_id("AiRun", self.row.id)
    }
    /// What the run produces.
    async fn kind(&self) -> Option<AiRunKind> {
        kinds::AiRunKind::parse(&self.row.kind).map(Into::into)
    }
    /// Where the run is.
    async fn status(&self) -> Option<AiRunStatus> {
        kinds::AiRunStatus::parse(&self.row.status).map(Into::into)
    }
    /// The document types asked for (documentation runs; empty otherwise, and empty for
    /// "all eight").
    async fn doc_types(&self) -> Vec<DocumentType> {
        let names: Vec<String> =
            serde_json::from_value(self.row.doc_types.clone()).unwrap_or_default();
        names
            .iter()
            .filter_map(|n| kinds::DocumentType::parse(n).map(Into::into))
            .collect()
    }
    /// The error code of a failed run (`UPSTREAM_UNAVAILABLE`, `RATE_LIMITED`, …).
    async fn error_code(&self) -> Option<&str> {
        self.row.error_code.as_deref()
    }
    /// What went wrong, for a person.
    async fn error_message(&self) -> Option<&str> {
        self.row.error_message.as_deref()
    }
    /// The validated answer of a succeeded run, as JSON (its shape per kind is in docs/ai.md).
    async fn result(&self) -> Option<Json<serde_json::Value>> {
        self.row.result.clone().map(Json)
    }
    /// The repository the run is about.
    async fn repository_id(&self) -> ID {
        global_id("Repository", self.row.repository_id)
    }
    /// When the run was requested.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// When a worker started it.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.row.started_at
    }
    /// When it finished, successfully or not.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.row.finished_at
    }
}

/// An AI-generated document of a repository, one per type, versioned.
#[derive(SimpleObject)]
pub struct Document {
    /// Global ID.
    pub id: ID,
    /// The document type.
    pub doc_type: Option<DocumentType>,
    /// Title.
    pub title: String,
    /// The document, in Markdown.
    pub content: String,
    /// 1 when first generated, incremented by each refresh or regeneration.
    pub version: i32,
    /// When this version was generated.
    pub generated_at: DateTime<Utc>,
    /// When the first version was generated.
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<documents::Model> for Document {
    fn from(row: documents::Model) -> Self {
        Document {
            id: global_id("Document", row.id),
            doc_type: kinds::DocumentType::parse(&row.doc_type).map(Into::into),
            title: row.title,
            content: row.content,
            version: row.version,
            generated_at: row.generated_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Input of `generateDocumentation`.
#[derive(InputObject)]
pub struct GenerateDocumentationInput {
    /// The repository to document.
    pub repository_id: ID,
    /// The types to generate; all eight when omitted or empty.
    pub doc_types: Option<Vec<DocumentType>>,
}

/// Input of `refreshDocument`.
#[derive(InputObject)]
pub struct RefreshDocumentInput {
    /// The repository.
    pub repository_id: ID,
    /// The one document type to write again.
    pub doc_type: DocumentType,
}

/// Input of the analysis mutations.
#[derive(InputObject)]
pub struct AnalyzeRepositoryInput {
    /// The repository to analyse.
    pub repository_id: ID,
}

/// Result of a mutation that starts an AI run.
#[derive(SimpleObject)]
pub struct StartAiRunPayload {
    /// The run, queued (or the same run already queued or running).
    pub run: AiRunView,
}

async fn start(
    ctx: &Context<'_>,
    repository_id: &ID,
    kind: AiRunKind,
    doc_types: Vec<DocumentType>,
) -> Result<StartAiRunPayload> {
    let user = principal(ctx).product_user(Product::Code)?;
    let repository = expect_id(repository_id, "Repository")?;
    let row = service::<AiService>(ctx)
        .start(
            user,
            repository,
            kind.into(),
            doc_types.into_iter().map(Into::into).collect(),
        )
        .await?;
    Ok(StartAiRunPayload {
        run: AiRunView { row },
    })
}

#[derive(Default)]
pub struct AiMutation;

/// Each mutation queues an AI run (technicians and admins); poll `aiRun(id:)` for its status.
#[Object]
impl AiMutation {
    /// Generates documentation of a repository (all eight types unless `docTypes` says);
    /// emits `code.documentation.generated` when stored.
    async fn generate_documentation(
        &self,
        ctx: &Context<'_>,
        input: GenerateDocumentationInput,
    ) -> Result<StartAiRunPayload> {
        let types = input.doc_types.unwrap_or_default();
        start(ctx, &input.repository_id, AiRunKind::Documentation, types).await
    }
    /// Writes one document again (its version increments); emits
    /// `code.documentation.refreshed`.
    async fn refresh_document(
        &self,
        ctx: &Context<'_>,
        input: RefreshDocumentInput,
    ) -> Result<StartAiRunPayload> {
        let types = vec![input.doc_type];
        start(ctx, &input.repository_id, AiRunKind::DocumentRefresh, types).await
    }
    /// Tech debt analysis: categorised items and a remediation plan; sets `debtScore`.
    async fn analyze_tech_debt(
        &self,
        ctx: &Context<'_>,
        input: AnalyzeRepositoryInput,
    ) -> Result<StartAiRunPayload> {
        start(ctx, &input.repository_id, AiRunKind::TechDebt, vec![]).await
    }
    /// Migration path recommendations, stored as recommendations (PSA projects and CRM
    /// opportunities can be created from them).
    async fn recommend_migration_paths(
        &self,
        ctx: &Context<'_>,
        input: AnalyzeRepositoryInput,
    ) -> Result<StartAiRunPayload> {
        start(ctx, &input.repository_id, AiRunKind::MigrationPaths, vec![]).await
    }
    /// Regulatory classification; sets `dataClassification`.
    async fn classify_repository(
        &self,
        ctx: &Context<'_>,
        input: AnalyzeRepositoryInput,
    ) -> Result<StartAiRunPayload> {
        start(ctx, &input.repository_id, AiRunKind::Classification, vec![]).await
    }
    /// Identifies the critical files of a handoff package.
    async fn identify_handoff_files(
        &self,
        ctx: &Context<'_>,
        input: AnalyzeRepositoryInput,
    ) -> Result<StartAiRunPayload> {
        start(ctx, &input.repository_id, AiRunKind::HandoffFiles, vec![]).await
    }
    /// Writes the Application Review report narrative.
    async fn write_application_review(
        &self,
        ctx: &Context<'_>,
        input: AnalyzeRepositoryInput,
    ) -> Result<StartAiRunPayload> {
        start(
            ctx,
            &input.repository_id,
            AiRunKind::ApplicationReview,
            vec![],
        )
        .await
    }
}

#[derive(Default)]
pub struct AiQuery;

#[Object]
impl AiQuery {
    /// An AI run by its global ID; another tenant's is `NOT_FOUND`.
    async fn ai_run(&self, ctx: &Context<'_>, id: ID) -> Result<AiRunView> {
        let user = principal(ctx).product_user(Product::Code)?;
        let id = expect_id(&id, "AiRun")?;
        let row = service::<AiService>(ctx)
            .run_of(user.tenant_id, id)
            .await?
            .ok_or_else(|| crate::kernel::errors::ApiError::not_found("AI run"))?;
        Ok(AiRunView { row })
    }
}

/// The AI fields of `Repository`.
impl Repository {
    pub(crate) async fn ai_documents(
        &self,
        ctx: &Context<'_>,
        doc_type: Option<DocumentType>,
    ) -> Result<Vec<Document>> {
        let docs = service::<AiService>(ctx)
            .documents(&self.siblings, &self.row, doc_type.map(Into::into))
            .await?;
        Ok(docs.into_iter().map(Document::from).collect())
    }

    pub(crate) async fn ai_runs_of(&self, ctx: &Context<'_>) -> Result<Vec<AiRunView>> {
        let runs = service::<AiService>(ctx)
            .runs(&self.siblings, &self.row)
            .await?;
        Ok(runs.into_iter().map(|row| AiRunView { row }).collect())
    }
}
