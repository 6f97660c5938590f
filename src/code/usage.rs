//! What The One Code bills (Hub billing's `repos_protected`), for every tenant at once.

use std::collections::HashMap;

use entities::enums::{Lifecycle, OrgStatus};
use entities::{organizations, repositories};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, JoinType, QueryFilter, QuerySelect,
    RelationTrait,
};
use uuid::Uuid;

/// The tenants that use Code (they have or had an organization: a count that drops to zero is
/// reported), with their protected repositories now: lifecycle `active`, not archived, not
/// missing from the provider, in an organization that is not disconnected.
pub async fn repos_protected(db: &DatabaseConnection) -> Result<HashMap<Uuid, i64>, DbErr> {
    let tenants: Vec<Uuid> = organizations::Entity::find()
        .select_only()
        .column(organizations::Column::TenantId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let counts: HashMap<Uuid, i64> = repositories::Entity::find()
        .select_only()
        .column(repositories::Column::TenantId)
        .column_as(Expr::col(Asterisk).count(), "n")
        .join(
            JoinType::InnerJoin,
            repositories::Relation::Organization.def(),
        )
        .filter(repositories::Column::Lifecycle.eq(Lifecycle::Active))
        .filter(repositories::Column::Archived.eq(false))
        .filter(repositories::Column::MissingSince.is_null())
        .filter(organizations::Column::Status.ne(OrgStatus::Disconnected))
        .group_by(repositories::Column::TenantId)
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(tenants
        .into_iter()
        .map(|tenant| (tenant, counts.get(&tenant).copied().unwrap_or(0)))
        .collect())
}
