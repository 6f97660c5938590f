//! Application profile edits and lifecycle decisions (docs/application-profile.md): rules and
//! every database call. Technicians and admins of The One Code; another tenant's repository is
//! `NOT_FOUND`; every refusal happens before anything is written.

use chrono::Utc;
use entities::enums::{FindingKind, FindingStatus, Lifecycle, Product, Severity};
use entities::{findings, repositories};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::CodeService;
use crate::auth::{Access, User};
use crate::kernel::errors::{ApiError, ApiResult};

/// Longest hosting platform or app type.
pub const MAX_PROFILE_TEXT: usize = 100;
/// Longest lifecycle reason.
pub const MAX_REASON: usize = 2000;
/// Data classifications (the AI classification's levels).
pub const CLASSIFICATIONS: &[&str] = &["public", "internal", "confidential", "regulated"];

/// One field of `updateRepositoryProfile`: `None` leaves it, `Some(None)` clears the edit
/// (inference fills it again), `Some(Some(text))` sets it by hand.
pub type Edit = Option<Option<String>>;

#[derive(Default)]
pub struct ProfileEdit {
    pub app_type: Edit,
    pub hosting_platform: Edit,
    pub data_classification: Edit,
}

fn text(field: &str, edit: Edit) -> ApiResult<Edit> {
    let Some(Some(value)) = edit else {
        return Ok(edit);
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(ApiError::bad_input(format!(
            "`{field}` must not be empty; give null to clear it"
        )));
    }
    if value.chars().count() > MAX_PROFILE_TEXT {
        return Err(ApiError::bad_input(format!(
            "`{field}` is at most {MAX_PROFILE_TEXT} characters"
        )));
    }
    Ok(Some(Some(value)))
}

fn classification(edit: Edit) -> ApiResult<Edit> {
    let Some(Some(value)) = edit else {
        return Ok(edit);
    };
    let value = value.trim().to_ascii_lowercase();
    if !CLASSIFICATIONS.contains(&value.as_str()) {
        return Err(ApiError::bad_input(format!(
            "`dataClassification` is one of {}",
            CLASSIFICATIONS.join(", ")
        )));
    }
    Ok(Some(Some(value)))
}

/// The fingerprint of a repository's sunset decision (one per repository, reopened when the
/// application is marked for sunset again).
pub fn sunset_fingerprint(repository: Uuid) -> String {
    format!("sunset_decision:{repository}")
}

impl CodeService {
    async fn own_repository(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        user: &User,
        id: Uuid,
    ) -> ApiResult<repositories::Model> {
        repositories::Entity::find_by_id(id)
            .filter(repositories::Column::TenantId.eq(user.tenant_id))
            .one(conn)
            .await?
            .ok_or_else(|| ApiError::not_found("repository"))
    }

    /// `updateRepositoryProfile`: a value is kept as an edit (inference and the AI
    /// classification leave it alone); `null` clears the value and the edit.
    pub async fn update_profile(
        &self,
        user: &User,
        id: Uuid,
        edit: ProfileEdit,
    ) -> ApiResult<repositories::Model> {
        user.may(Product::Code, Access::Operate, "edit application profiles")?;
        let app_type = text("appType", edit.app_type)?;
        let hosting = text("hostingPlatform", edit.hosting_platform)?;
        let class = classification(edit.data_classification)?;
        if app_type.is_none() && hosting.is_none() && class.is_none() {
            return Err(ApiError::bad_input(
                "give at least one of `appType`, `hostingPlatform`, `dataClassification`",
            ));
        }
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let repo = self.own_repository(&txn, user, id).await?;
        let mut row = repositories::ActiveModel {
            id: Set(repo.id),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        if let Some(value) = app_type {
            row.app_type_overridden = Set(value.is_some());
            row.app_type = Set(value);
        }
        if let Some(value) = hosting {
            row.hosting_platform_overridden = Set(value.is_some());
            row.hosting_platform = Set(value);
        }
        if let Some(value) = class {
            row.data_classification_overridden = Set(value.is_some());
            row.data_classification = Set(value);
        }
        let repo = repositories::Entity::update(row).exec(&txn).await?;
        txn.commit().await?;
        Ok(repo)
    }

    /// `setRepositoryLifecycle`: the lifecycle with its reason. Marking an application for
    /// sunset records (or reopens) its `sunset_decision` finding, carrying the reason; setting it
    /// active again resolves that finding; `dead` leaves it as it is.
    pub async fn set_lifecycle(
        &self,
        user: &User,
        id: Uuid,
        lifecycle: Lifecycle,
        reason: String,
    ) -> ApiResult<(repositories::Model, Option<findings::Model>)> {
        user.may(Product::Code, Access::Operate, "set application lifecycles")?;
        let reason = reason.trim().to_string();
        if reason.is_empty() {
            return Err(ApiError::bad_input("`reason` must say why"));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(ApiError::bad_input(format!(
                "`reason` is at most {MAX_REASON} characters"
            )));
        }
        let txn = crate::kernel::db::begin_write(&self.db).await?;
        let repo = self.own_repository(&txn, user, id).await?;
        let now = Utc::now();
        let repo = repositories::Entity::update(repositories::ActiveModel {
            id: Set(repo.id),
            lifecycle: Set(lifecycle),
            lifecycle_reason: Set(Some(reason.clone())),
            lifecycle_changed_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        let fingerprint = sunset_fingerprint(repo.id);
        let finding = match lifecycle {
            Lifecycle::Sunset => {
                let row = findings::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(repo.tenant_id),
                    repository_id: Set(repo.id),
                    kind: Set(FindingKind::SunsetDecision),
                    access_issue: Set(None),
                    severity: Set(Severity::Medium),
                    status: Set(FindingStatus::Open),
                    title: Set(format!("Retire {}", repo.name)),
                    description: Set(reason),
                    file_path: Set(None),
                    line: Set(None),
                    cve_id: Set(None),
                    package_name: Set(None),
                    package_version: Set(None),
                    secret_type: Set(None),
                    remediation: Set(None),
                    fingerprint: Set(fingerprint.clone()),
                    tool: Set(None),
                    scan_source: Set(None),
                    first_seen_at: Set(now),
                    last_seen_at: Set(now),
                    resolved_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                };
                findings::Entity::insert(row)
                    .on_conflict(
                        OnConflict::columns([
                            findings::Column::TenantId,
                            findings::Column::Fingerprint,
                        ])
                        .update_columns([
                            findings::Column::Status,
                            findings::Column::Title,
                            findings::Column::Description,
                            findings::Column::LastSeenAt,
                            findings::Column::ResolvedAt,
                            findings::Column::UpdatedAt,
                        ])
                        .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await?;
                findings::Entity::find()
                    .filter(findings::Column::TenantId.eq(repo.tenant_id))
                    .filter(findings::Column::Fingerprint.eq(fingerprint))
                    .one(&txn)
                    .await?
            }
            Lifecycle::Active => {
                findings::Entity::update_many()
                    .col_expr(
                        findings::Column::Status,
                        sea_orm::sea_query::Expr::value(FindingStatus::Resolved),
                    )
                    .col_expr(
                        findings::Column::ResolvedAt,
                        sea_orm::sea_query::Expr::value(Some(now)),
                    )
                    .col_expr(
                        findings::Column::UpdatedAt,
                        sea_orm::sea_query::Expr::value(now),
                    )
                    .filter(findings::Column::TenantId.eq(repo.tenant_id))
                    .filter(findings::Column::Fingerprint.eq(fingerprint))
                    .filter(findings::Column::Status.eq(FindingStatus::Open))
                    .exec(&txn)
                    .await?;
                None
            }
            Lifecycle::Dead => None,
        };
        txn.commit().await?;
        Ok((repo, finding))
    }
}
