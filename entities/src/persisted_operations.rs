use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A GraphQL document known by the SHA-256 of its text: registered for the allow-list
/// (`source` = `registered`) or by automatic persisted queries (`automatic`). Not tenant data:
/// documents are the front-ends' code, the same for every tenant.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "persisted_operations")]
pub struct Model {
    /// Lower-case hex SHA-256 of `document`.
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub hash: String,
    #[sea_orm(column_type = "Text")]
    pub document: String,
    pub source: String,
    /// The operation's name or file, for people reading the list.
    #[sea_orm(column_type = "Text")]
    pub name: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
