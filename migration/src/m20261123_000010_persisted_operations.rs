//! Persisted operations: the allow-list of registered front-end operations and the documents
//! automatic persisted queries registered, by SHA-256 of the document.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PersistedOperations::Table)
                    .col(text(PersistedOperations::Hash).primary_key())
                    .col(text(PersistedOperations::Document))
                    .col(string_len(PersistedOperations::Source, 32))
                    .col(text_null(PersistedOperations::Name))
                    .col(timestamp_with_time_zone(PersistedOperations::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PersistedOperations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PersistedOperations {
    Table,
    Hash,
    Document,
    Source,
    Name,
    CreatedAt,
}
