//! The AI enums as GraphQL shows them: mirrors of `kinds.rs` (the domain's own, which know no
//! GraphQL), converted both ways by async-graphql's `remote`.

use async_graphql::Enum;

use super::kinds;

/// The eight documentation types the AI Platform writes for a repository.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "kinds::DocumentType")]
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

/// What an AI run produces.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "kinds::AiRunKind")]
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

/// Where an AI run is.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "kinds::AiRunStatus")]
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
