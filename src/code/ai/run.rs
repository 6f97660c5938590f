//! Executing a run: context, the AI calls, then one transaction that writes the results, the
//! run's success and its events. A failure stores nothing but the run's error.

use chrono::Utc;
use entities::enums::FindingStatus;
use entities::{ai_runs, documents, findings, organizations, recommendations, repositories};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::AiService;
use super::answers::{
    ClassificationAnswer, DocumentAnswer, HandoffAnswer, MigrationAnswer, ReviewAnswer,
    TechDebtAnswer,
};
use super::kinds::{AiRunKind, AiRunStatus, DocumentType};
use super::prompts::{self, RepoContext};
use crate::integrations::bus::{
    self,
    events::{DocumentationGenerated, DocumentationRefreshed},
};
use crate::kernel::batch::Siblings;
use crate::kernel::errors::{ApiError, ApiResult, Code};
use crate::kernel::paging::global_id;
use crate::upstream::ai::Scope;

/// What a successful run writes besides its own row.
enum Outcome {
    Documents(Vec<(DocumentType, DocumentAnswer)>),
    TechDebt(TechDebtAnswer),
    Migration(MigrationAnswer),
    Classification(ClassificationAnswer),
    Plain(Value),
}

impl AiService {
    /// The `ai-run` task: runs `run_id` to the end and records how it ended. A finished run is
    /// left alone (a re-delivered task). Failures are recorded on the run, not returned.
    pub async fn execute(&self, tenant: Uuid, run_id: Uuid) -> ApiResult<ai_runs::Model> {
        let run = self
            .run_of(tenant, run_id)
            .await?
            .ok_or_else(|| ApiError::not_found("AI run"))?;
        if run.finished_at.is_some() {
            return Ok(run);
        }
        let now = Utc::now();
        ai_runs::Entity::update(ai_runs::ActiveModel {
            id: Set(run.id),
            status: Set(AiRunStatus::Running.as_str().into()),
            started_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&self.db)
        .await?;
        let done = match self.generate(&run).await {
            Ok(outcome) => self.store(&run, outcome).await,
            Err(error) => Err(error),
        };
        match done {
            Ok(run) => Ok(run),
            Err(error) => {
                if let ApiError::Internal(inner) = &error {
                    tracing::error!(error = ?inner, run = %run.id, "AI run failed");
                }
                self.finish_failed(run.id, &error).await
            }
        }
    }

    /// Records `error` as the end of run `id`.
    pub(super) async fn finish_failed(
        &self,
        id: Uuid,
        error: &ApiError,
    ) -> ApiResult<ai_runs::Model> {
        let (code, message) = match error {
            ApiError::Coded(code, message) => (*code, message.clone()),
            ApiError::Internal(_) => (Code::Internal, "internal error".to_string()),
        };
        let now = Utc::now();
        Ok(ai_runs::Entity::update(ai_runs::ActiveModel {
            id: Set(id),
            status: Set(AiRunStatus::Failed.as_str().into()),
            error_code: Set(Some(code.as_str().into())),
            error_message: Set(Some(message)),
            finished_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&self.db)
        .await?)
    }

    async fn context(&self, run: &ai_runs::Model) -> ApiResult<RepoContext> {
        let (repo, org) = repositories::Entity::find_by_id(run.repository_id)
            .filter(repositories::Column::TenantId.eq(run.tenant_id))
            .find_also_related(organizations::Entity)
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("repository"))?;
        let org =
            org.ok_or_else(|| anyhow::anyhow!("repository {} has no organization", repo.id))?;
        let findings = findings::Entity::find()
            .filter(findings::Column::TenantId.eq(run.tenant_id))
            .filter(findings::Column::RepositoryId.eq(repo.id))
            .filter(findings::Column::Status.eq(FindingStatus::Open))
            .limit(500)
            .all(&self.db)
            .await?;
        let documents = self
            .documents(&Siblings::single(repo.id), &repo, None)
            .await?;
        let mut context = RepoContext {
            repo,
            org,
            findings,
            documents,
        };
        context.sort();
        Ok(context)
    }

    async fn generate(&self, run: &ai_runs::Model) -> ApiResult<Outcome> {
        let kind = AiRunKind::parse(&run.kind)
            .ok_or_else(|| anyhow::anyhow!("unknown AI run kind {}", run.kind))?;
        let context = self.context(run).await?;
        let facts = context.describe();
        let scope = Scope {
            tenant_id: run.tenant_id,
            feature: kind.as_str(),
        };
        let ai = &self.ai;
        Ok(match kind {
            AiRunKind::Documentation | AiRunKind::DocumentRefresh => {
                let names: Vec<String> =
                    serde_json::from_value(run.doc_types.clone()).unwrap_or_default();
                let mut types: Vec<DocumentType> = names
                    .iter()
                    .filter_map(|n| DocumentType::parse(n))
                    .collect();
                if types.is_empty() {
                    types = DocumentType::ALL.to_vec();
                }
                // Every document is generated before any is stored: no partial documentation.
                let mut docs = Vec::with_capacity(types.len());
                for t in types {
                    let answer: DocumentAnswer =
                        ai.structured(scope, &prompts::document(t), &facts).await?;
                    docs.push((t, answer));
                }
                Outcome::Documents(docs)
            }
            AiRunKind::TechDebt => {
                Outcome::TechDebt(ai.structured(scope, prompts::TECH_DEBT, &facts).await?)
            }
            AiRunKind::MigrationPaths => {
                Outcome::Migration(ai.structured(scope, prompts::MIGRATION, &facts).await?)
            }
            AiRunKind::Classification => Outcome::Classification(
                ai.structured(scope, prompts::CLASSIFICATION, &facts)
                    .await?,
            ),
            AiRunKind::HandoffFiles => {
                let answer: HandoffAnswer = ai.structured(scope, prompts::HANDOFF, &facts).await?;
                Outcome::Plain(to_json(&answer)?)
            }
            AiRunKind::ApplicationReview => {
                let answer: ReviewAnswer = ai.structured(scope, prompts::REVIEW, &facts).await?;
                Outcome::Plain(to_json(&answer)?)
            }
        })
    }

    /// One transaction: the results, the run's success and the events.
    async fn store(&self, run: &ai_runs::Model, outcome: Outcome) -> ApiResult<ai_runs::Model> {
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let now = Utc::now();
        let result = match outcome {
            Outcome::Documents(docs) => {
                let refresh = run.kind == AiRunKind::DocumentRefresh.as_str();
                let mut written = Vec::new();
                for (t, answer) in &docs {
                    let doc = upsert_document(&txn, run, *t, answer).await?;
                    written.push(json!({ "doc_type": t.as_str(), "version": doc.version }));
                    if refresh {
                        let event = DocumentationRefreshed {
                            doc_type: t.as_str().to_string(),
                            repo_id: run.repository_id,
                        };
                        bus::enqueue(&txn, run.tenant_id, &event).await?;
                    }
                }
                if !refresh {
                    let event = DocumentationGenerated {
                        doc_count: docs.len() as i64,
                        repo_id: run.repository_id,
                    };
                    bus::enqueue(&txn, run.tenant_id, &event).await?;
                }
                json!({ "documents": written })
            }
            Outcome::TechDebt(answer) => {
                set_repository(&txn, run, |r| r.debt_score = Set(Some(answer.debt_score))).await?;
                to_json(&answer)?
            }
            Outcome::Classification(answer) => {
                let level = answer.data_classification.as_str().to_string();
                // A classification set by hand wins over the AI's (docs/application-profile.md).
                repositories::Entity::update_many()
                    .col_expr(
                        repositories::Column::DataClassification,
                        sea_orm::sea_query::Expr::value(Some(level)),
                    )
                    .col_expr(
                        repositories::Column::UpdatedAt,
                        sea_orm::sea_query::Expr::value(Utc::now()),
                    )
                    .filter(repositories::Column::Id.eq(run.repository_id))
                    .filter(repositories::Column::TenantId.eq(run.tenant_id))
                    .filter(repositories::Column::DataClassificationOverridden.eq(false))
                    .exec(&txn)
                    .await?;
                to_json(&answer)?
            }
            Outcome::Migration(answer) => {
                let mut ids = Vec::new();
                for path in &answer.recommendations {
                    let id = Uuid::now_v7();
                    recommendations::Entity::insert(recommendations::ActiveModel {
                        id: Set(id),
                        tenant_id: Set(run.tenant_id),
                        repository_id: Set(run.repository_id),
                        title: Set(path.title.trim().to_string()),
                        summary: Set(path.summary.trim().to_string()),
                        target_platform: Set(Some(path.target_platform.trim().to_string())),
                        steps: Set(to_json(&path.steps)?),
                        effort_hours: Set(path.effort_hours),
                        created_at: Set(now),
                        updated_at: Set(now),
                    })
                    .exec_without_returning(&txn)
                    .await?;
                    ids.push(global_id("Recommendation", id).to_string());
                }
                let mut result = to_json(&answer)?;
                result["recommendation_ids"] = json!(ids);
                result
            }
            Outcome::Plain(value) => value,
        };
        let row = ai_runs::Entity::update(ai_runs::ActiveModel {
            id: Set(run.id),
            status: Set(AiRunStatus::Succeeded.as_str().into()),
            result: Set(Some(result)),
            finished_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;
        self.bus_wake.notify_one();
        Ok(row)
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> ApiResult<Value> {
    Ok(serde_json::to_value(value).map_err(anyhow::Error::from)?)
}

async fn set_repository(
    txn: &impl ConnectionTrait,
    run: &ai_runs::Model,
    change: impl FnOnce(&mut repositories::ActiveModel),
) -> ApiResult<()> {
    let mut row = repositories::ActiveModel {
        id: Set(run.repository_id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    change(&mut row);
    repositories::Entity::update_many()
        .set(row)
        .filter(repositories::Column::Id.eq(run.repository_id))
        .filter(repositories::Column::TenantId.eq(run.tenant_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Writes a document: version 1 when new, the next version when it exists.
async fn upsert_document(
    txn: &impl ConnectionTrait,
    run: &ai_runs::Model,
    doc_type: DocumentType,
    answer: &DocumentAnswer,
) -> ApiResult<documents::Model> {
    let now = Utc::now();
    let existing = documents::Entity::find()
        .filter(documents::Column::TenantId.eq(run.tenant_id))
        .filter(documents::Column::RepositoryId.eq(run.repository_id))
        .filter(documents::Column::DocType.eq(doc_type.as_str()))
        .one(txn)
        .await?;
    let title = answer.title.trim().to_string();
    let content = answer.content.trim().to_string();
    Ok(match existing {
        Some(doc) => {
            documents::Entity::update(documents::ActiveModel {
                id: Set(doc.id),
                title: Set(title),
                content: Set(content),
                version: Set(doc.version + 1),
                generated_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(txn)
            .await?
        }
        None => {
            documents::Entity::insert(documents::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(run.tenant_id),
                repository_id: Set(run.repository_id),
                doc_type: Set(doc_type.as_str().to_string()),
                title: Set(title),
                content: Set(content),
                version: Set(1),
                generated_at: Set(now),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_with_returning(txn)
            .await?
        }
    })
}
