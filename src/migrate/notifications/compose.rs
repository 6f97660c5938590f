//! The words of each e-mail, read from the job or project when it is sent.

use entities::enums::NotificationKind;
use entities::{jobs, notifications, projects};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::kernel::errors::ApiResult;
use crate::migrate::jobs::kind_name;

/// Subject and plain-text body; `None` when the job or project is gone.
pub struct Letter {
    pub subject: String,
    pub text: String,
}

const PREFIX: &str = "[The One Migrate]";

pub async fn letter(
    db: &DatabaseConnection,
    row: &notifications::Model,
    public_url: &str,
) -> ApiResult<Option<Letter>> {
    let footer = format!("\n\nOpen The One Migrate: {public_url}\n");
    match row.kind {
        NotificationKind::JobCompleted | NotificationKind::JobFailed => {
            let Some((job, project)) = jobs::Entity::find_by_id(row.subject_id)
                .filter(jobs::Column::TenantId.eq(row.tenant_id))
                .find_also_related(projects::Entity)
                .one(db)
                .await?
            else {
                return Ok(None);
            };
            let project = project.map(|p| p.name).unwrap_or_default();
            let finished = job
                .finished_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            let items = match job.items_total {
                Some(total) => format!("{} of {total}", job.items_done),
                None => job.items_done.to_string(),
            };
            let facts = format!(
                "Project: {project}\nJob: {}\nKind: {}\nItems: {items}\nTransferred: {:.2} GB",
                job.name,
                kind_name(job.kind),
                job.gb_transferred
            );
            Ok(Some(if row.kind == NotificationKind::JobCompleted {
                Letter {
                    subject: format!("{PREFIX} Job \"{}\" completed", job.name),
                    text: format!(
                        "The migration job \"{}\" completed at {finished}.\n\n{facts}{footer}",
                        job.name
                    ),
                }
            } else {
                let reason = job.error.as_deref().unwrap_or("no reason was given");
                Letter {
                    subject: format!("{PREFIX} Job \"{}\" failed", job.name),
                    text: format!(
                        "The migration job \"{}\" failed at {finished}.\n\nReason: {reason}\n\n{facts}{footer}",
                        job.name
                    ),
                }
            }))
        }
        NotificationKind::CredentialsExpiring => {
            let Some(project) = projects::Entity::find_by_id(row.subject_id)
                .filter(projects::Column::TenantId.eq(row.tenant_id))
                .one(db)
                .await?
            else {
                return Ok(None);
            };
            let Some(expires) = project.credentials_expires_at else {
                return Ok(None);
            };
            let account = project.storage_account.as_deref().unwrap_or("not set");
            Ok(Some(Letter {
                subject: format!(
                    "{PREFIX} Azure credentials of project \"{}\" expire on {}",
                    project.name,
                    expires.format("%Y-%m-%d")
                ),
                text: format!(
                    "The Azure Storage credentials connected to project \"{}\" (storage account \
                     {account}) expire at {}.\n\nReconnect the storage account from the \
                     project's page before then: once they expire, the project's jobs cannot \
                     upload.{footer}",
                    project.name,
                    expires.format("%Y-%m-%d %H:%M UTC")
                ),
            }))
        }
    }
}
