//! What an AI run does, its state, and the eight document types, with their stored names.

/// The eight documentation types the AI Platform writes for a repository.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum DocumentType {
    /// Components, boundaries and how they fit together.
    Architecture,
    /// The application's API: endpoints or public interfaces.
    Api,
    /// Database schema, storage and data ownership.
    Database,
    /// How the application is built, configured and deployed.
    Deployment,
    /// What a new developer needs on day one.
    Onboarding,
    /// How data moves through the application and to other systems.
    DataFlow,
    /// Security posture: authentication, secrets, known findings.
    Security,
    /// What a receiving team needs to take the application over.
    Handoff,
}

impl DocumentType {
    pub const ALL: [DocumentType; 8] = [
        DocumentType::Architecture,
        DocumentType::Api,
        DocumentType::Database,
        DocumentType::Deployment,
        DocumentType::Onboarding,
        DocumentType::DataFlow,
        DocumentType::Security,
        DocumentType::Handoff,
    ];

    /// The stored name, also the `doc_type` of `code.documentation.refreshed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Architecture => "architecture",
            DocumentType::Api => "api",
            DocumentType::Database => "database",
            DocumentType::Deployment => "deployment",
            DocumentType::Onboarding => "onboarding",
            DocumentType::DataFlow => "data_flow",
            DocumentType::Security => "security",
            DocumentType::Handoff => "handoff",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// What the document must cover, for the prompt.
    pub fn brief(self) -> &'static str {
        match self {
            DocumentType::Architecture => {
                "an architecture overview: components, their responsibilities, boundaries, external dependencies and the main design decisions"
            }
            DocumentType::Api => {
                "API documentation: the endpoints or public interfaces, their inputs, outputs, errors and authentication"
            }
            DocumentType::Database => {
                "database documentation: the data stores, schema and main entities, migrations, ownership and retention"
            }
            DocumentType::Deployment => {
                "a deployment guide: build, configuration and environment variables, hosting, release and rollback"
            }
            DocumentType::Onboarding => {
                "an onboarding guide for a new developer: setup, repository layout, conventions, how to test and where to start"
            }
            DocumentType::DataFlow => {
                "a data-flow description: where data enters, how it is transformed and stored, and where it leaves, including personal data"
            }
            DocumentType::Security => {
                "a security overview: authentication and authorization, secrets handling, the open findings and their remediation"
            }
            DocumentType::Handoff => {
                "a handoff document for a receiving team: what the application does, how to run and support it, known issues and contacts to establish"
            }
        }
    }
}

/// What an AI run produces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AiRunKind {
    /// Documentation of one or more types (`code.documentation.generated`).
    Documentation,
    /// One document written again, its version incremented (`code.documentation.refreshed`).
    DocumentRefresh,
    /// Tech debt items and a remediation plan; sets the repository's debt score.
    TechDebt,
    /// Migration path recommendations, stored as recommendations.
    MigrationPaths,
    /// Regulatory classification; sets the repository's data classification.
    Classification,
    /// The critical files of a handoff package.
    HandoffFiles,
    /// The Application Review report narrative.
    ApplicationReview,
}

impl AiRunKind {
    pub const ALL: [AiRunKind; 7] = [
        AiRunKind::Documentation,
        AiRunKind::DocumentRefresh,
        AiRunKind::TechDebt,
        AiRunKind::MigrationPaths,
        AiRunKind::Classification,
        AiRunKind::HandoffFiles,
        AiRunKind::ApplicationReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AiRunKind::Documentation => "documentation",
            AiRunKind::DocumentRefresh => "document_refresh",
            AiRunKind::TechDebt => "tech_debt",
            AiRunKind::MigrationPaths => "migration_paths",
            AiRunKind::Classification => "classification",
            AiRunKind::HandoffFiles => "handoff_files",
            AiRunKind::ApplicationReview => "application_review",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where an AI run is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AiRunStatus {
    /// Waiting for a queue worker.
    Queued,
    /// Being generated.
    Running,
    /// Finished; its results are stored.
    Succeeded,
    /// Finished without storing anything; see `errorCode` and `errorMessage`.
    Failed,
}

impl AiRunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AiRunStatus::Queued => "queued",
            AiRunStatus::Running => "running",
            AiRunStatus::Succeeded => "succeeded",
            AiRunStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            AiRunStatus::Queued,
            AiRunStatus::Running,
            AiRunStatus::Succeeded,
            AiRunStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}
