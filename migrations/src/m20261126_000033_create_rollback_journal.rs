//! The rollback journal: one insert-only row per applied row with the
//! before-image (pruned after retention, its hash kept) and linkage ids.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RollbackJournal::Table)
                    .col(
                        ColumnDef::new(RollbackJournal::JournalId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RollbackJournal::JobId).string().not_null())
                    .col(
                        ColumnDef::new(RollbackJournal::PlanHash)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RollbackJournal::PlanRowId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RollbackJournal::ChunkId).string().not_null())
                    .col(
                        ColumnDef::new(RollbackJournal::RowAttempt)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RollbackJournal::TableName)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RollbackJournal::SysId).string().not_null())
                    .col(ColumnDef::new(RollbackJournal::Action).string().not_null())
                    .col(ColumnDef::new(RollbackJournal::BeforeImage).json().null())
                    .col(
                        ColumnDef::new(RollbackJournal::BeforeImageSha256)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RollbackJournal::AfterImageSha256)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RollbackJournal::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_rollback_journal_row")
                    .table(RollbackJournal::Table)
                    .col(RollbackJournal::JobId)
                    .col(RollbackJournal::PlanRowId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RollbackJournal::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RollbackJournal {
    Table,
    JournalId,
    JobId,
    PlanHash,
    PlanRowId,
    ChunkId,
    RowAttempt,
    TableName,
    SysId,
    Action,
    BeforeImage,
    BeforeImageSha256,
    AfterImageSha256,
    CreatedAt,
}
