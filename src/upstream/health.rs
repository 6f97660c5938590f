//! Records the outcome of every upstream call for the Integrations page.

use chrono::Utc;
use entities::integration_health;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use crate::upstream::integration::Integration;

/// Upserts the integration's row: `ok` with the success time, or `error` with the message.
pub async fn record(db: &DatabaseConnection, integration: Integration, outcome: Result<(), &str>) {
    let now = Utc::now();
    let (status, error) = match outcome {
        Ok(()) => ("ok", None),
        Err(message) => ("error", Some(message.to_string())),
    };
    let row = integration_health::ActiveModel {
        integration: Set(integration.key().to_string()),
        status: Set(status.to_string()),
        last_error: Set(error.clone()),
        last_success_at: Set(error.is_none().then_some(now)),
        last_failure_at: Set(error.is_some().then_some(now)),
        checked_at: Set(Some(now)),
        updated_at: Set(now),
    };
    let mut update = vec![
        integration_health::Column::Status,
        integration_health::Column::CheckedAt,
        integration_health::Column::UpdatedAt,
    ];
    if error.is_some() {
        update.extend([
            integration_health::Column::LastError,
            integration_health::Column::LastFailureAt,
        ]);
    } else {
        update.push(integration_health::Column::LastSuccessAt);
    }
    let result = integration_health::Entity::insert(row)
        .on_conflict(
            OnConflict::column(integration_health::Column::Integration)
                .update_columns(update)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, integration = integration.key(), "could not record the integration's health");
    }
}
