//! Journal intents: before a row is written to a target whose writes are
//! not atomic with this database (a remote instance), its before-image and
//! hashes are committed here; after the write, its outcome, journal row and
//! mirror row are committed and the intent removed. A resume after a crash
//! finds the rows intended but without an outcome and reads them back.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JournalIntents::Table)
                    .col(ColumnDef::new(JournalIntents::JobId).string().not_null())
                    .col(
                        ColumnDef::new(JournalIntents::PlanRowId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JournalIntents::ChunkIndex)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(JournalIntents::BeforeImage).json().null())
                    .col(
                        ColumnDef::new(JournalIntents::BeforeImageSha256)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(JournalIntents::AfterImageSha256)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(JournalIntents::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(JournalIntents::JobId)
                            .col(JournalIntents::PlanRowId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JournalIntents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum JournalIntents {
    Table,
    JobId,
    PlanRowId,
    ChunkIndex,
    BeforeImage,
    BeforeImageSha256,
    AfterImageSha256,
    CreatedAt,
}
