//! The AI Platform features of The One Code: documentation (eight types, versioned), tech debt
//! analysis, migration path recommendations, regulatory classification, handoff critical files
//! and the Application Review narrative. A mutation records an `ai_runs` row and queues it; the
//! `ai-run` task asks the AI Platform and writes the validated results in one transaction with
//! the run's status (see docs/ai.md).

pub mod answers;
pub mod graphql;
pub mod graphql_enums;
pub mod kinds;
pub mod prompts;
mod run;
pub mod task;

use chrono::Utc;
use entities::enums::Product;
use entities::{ai_runs, documents, repositories};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use std::collections::HashMap;

use crate::auth::{Access, User};
use crate::kernel::batch::Siblings;
use crate::kernel::errors::{ApiError, ApiResult};
use crate::kernel::lists::children_per_parent;
use crate::kernel::paging::Window;
use crate::upstream::ai::AiClient;
use kinds::{AiRunKind, AiRunStatus, DocumentType};
pub use task::{AiRun, register};

/// Runs listed on a repository.
const RUNS_LISTED: u64 = 20;

#[derive(Clone)]
pub struct AiService {
    db: DatabaseConnection,
    ai: AiClient,
    queue: jobs::Queue,
    bus_wake: std::sync::Arc<tokio::sync::Notify>,
}

impl AiService {
    pub fn new(
        db: DatabaseConnection,
        ai: AiClient,
        queue: jobs::Queue,
        bus_wake: std::sync::Arc<tokio::sync::Notify>,
    ) -> Self {
        AiService {
            db,
            ai,
            queue,
            bus_wake,
        }
    }

    /// Starts a run for a repository of the user's tenant (technicians and admins): recorded as
    /// `queued` and handed to the queue. The same run still queued or running is returned
    /// instead of a second one. Not configured is an error here, before anything is recorded.
    pub async fn start(
        &self,
        user: &User,
        repository_id: Uuid,
        kind: AiRunKind,
        doc_types: Vec<DocumentType>,
    ) -> ApiResult<ai_runs::Model> {
        user.may(Product::Code, Access::Operate, "start AI generations")?;
        let repo = repositories::Entity::find_by_id(repository_id)
            .filter(repositories::Column::TenantId.eq(user.tenant_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::not_found("repository"))?;
        self.ai.require()?;
        let mut wanted: Vec<DocumentType> = Vec::new();
        for t in doc_types {
            if !wanted.contains(&t) {
                wanted.push(t);
            }
        }
        let doc_types = serde_json::to_value(wanted.iter().map(|t| t.as_str()).collect::<Vec<_>>())
            .map_err(anyhow::Error::from)?;
        let pending = ai_runs::Entity::find()
            .filter(ai_runs::Column::TenantId.eq(user.tenant_id))
            .filter(ai_runs::Column::RepositoryId.eq(repo.id))
            .filter(ai_runs::Column::Kind.eq(kind.as_str()))
            .filter(
                ai_runs::Column::Status
                    .is_in([AiRunStatus::Queued.as_str(), AiRunStatus::Running.as_str()]),
            )
            .all(&self.db)
            .await?;
        if let Some(run) = pending.into_iter().find(|r| r.doc_types == doc_types) {
            return Ok(run);
        }
        let now = Utc::now();
        let run = ai_runs::Entity::insert(ai_runs::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(user.tenant_id),
            repository_id: Set(repo.id),
            kind: Set(kind.as_str().to_string()),
            doc_types: Set(doc_types),
            status: Set(AiRunStatus::Queued.as_str().to_string()),
            error_code: Set(None),
            error_message: Set(None),
            result: Set(None),
            requested_by: Set(Some(user.user_id)),
            started_at: Set(None),
            finished_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_with_returning(&self.db)
        .await?;
        let task = AiRun {
            tenant_id: run.tenant_id,
            run_id: run.id,
        };
        if let Err(error) = self
            .queue
            .push(task, Some(&format!("ai-run:{}", run.id)))
            .await
        {
            let failed = ApiError::new(
                crate::kernel::errors::Code::Internal,
                "the generation could not be queued",
            );
            self.finish_failed(run.id, &failed).await?;
            return Err(ApiError::Internal(error));
        }
        Ok(run)
    }

    /// Run `id` of the tenant.
    pub async fn run_of(&self, tenant: Uuid, id: Uuid) -> ApiResult<Option<ai_runs::Model>> {
        Ok(ai_runs::Entity::find_by_id(id)
            .filter(ai_runs::Column::TenantId.eq(tenant))
            .one(&self.db)
            .await?)
    }

    /// The latest runs of a repository, newest first; one statement for every repository of
    /// the page (`siblings`).
    pub async fn runs(
        &self,
        siblings: &Siblings,
        repo: &repositories::Model,
    ) -> ApiResult<Vec<ai_runs::Model>> {
        let tenant = repo.tenant_id;
        let grouped = siblings
            .load("ai_runs".into(), |ids| async move {
                let select = ai_runs::Entity::find().filter(ai_runs::Column::TenantId.eq(tenant));
                // `limit + 1` rows per repository, newest first.
                let newest = Window {
                    limit: RUNS_LISTED - 1,
                    after: None,
                    before: None,
                    after_key: None,
                    before_key: None,
                    backward: true,
                };
                let (parent, id) = (ai_runs::Column::RepositoryId, ai_runs::Column::Id);
                Ok(
                    children_per_parent(&self.db, select, parent, id, &ids, &newest, |r| {
                        r.repository_id
                    })
                    .await?,
                )
            })
            .await?;
        let mut runs = grouped.get(&repo.id).cloned().unwrap_or_default();
        runs.sort_by_key(|r| std::cmp::Reverse(r.id));
        Ok(runs)
    }

    /// A repository's documents in document-type order, optionally only one type.
    /// One statement for every repository of the page (`siblings`).
    pub async fn documents(
        &self,
        siblings: &Siblings,
        repo: &repositories::Model,
        only: Option<DocumentType>,
    ) -> ApiResult<Vec<documents::Model>> {
        let tenant = repo.tenant_id;
        let grouped = siblings
            .load(format!("documents/{only:?}"), |ids| async move {
                let mut select = documents::Entity::find()
                    .filter(documents::Column::TenantId.eq(tenant))
                    .filter(documents::Column::RepositoryId.is_in(ids.iter().copied()));
                if let Some(t) = only {
                    select = select.filter(documents::Column::DocType.eq(t.as_str()));
                }
                let mut grouped: HashMap<Uuid, Vec<documents::Model>> = HashMap::new();
                for doc in select.all(&self.db).await? {
                    grouped.entry(doc.repository_id).or_default().push(doc);
                }
                ApiResult::Ok(grouped)
            })
            .await?;
        let mut docs = grouped.get(&repo.id).cloned().unwrap_or_default();
        docs.sort_by_key(|d| {
            DocumentType::parse(&d.doc_type)
                .and_then(|t| DocumentType::ALL.iter().position(|a| *a == t))
                .unwrap_or(usize::MAX)
        });
        Ok(docs)
    }
}
