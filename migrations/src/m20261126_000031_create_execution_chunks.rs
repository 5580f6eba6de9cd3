//! Each chunk of an execution: pending until its transaction commits,
//! then applied or row_fallback; `preconditions_sha256` digests the
//! before-hashes its rows assume, so resume can verify the target.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ExecutionChunks::Table)
                    .col(ColumnDef::new(ExecutionChunks::JobId).string().not_null())
                    .col(
                        ColumnDef::new(ExecutionChunks::ChunkIndex)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ExecutionChunks::ChunkId).string().not_null())
                    .col(ColumnDef::new(ExecutionChunks::Status).string().not_null())
                    .col(
                        ColumnDef::new(ExecutionChunks::RowCount)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExecutionChunks::FallbackTriggerConflictIds)
                            .json()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExecutionChunks::PreconditionsSha256)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExecutionChunks::AppliedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ExecutionChunks::JobId)
                            .col(ExecutionChunks::ChunkIndex),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ExecutionChunks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ExecutionChunks {
    Table,
    JobId,
    ChunkIndex,
    ChunkId,
    Status,
    RowCount,
    FallbackTriggerConflictIds,
    PreconditionsSha256,
    AppliedAt,
}
