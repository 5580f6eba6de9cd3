//! The mirror of the journal kept for the instance's sync consumers:
//! linkage ids and hashes only, never a before-image.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SnMirror::Table)
                    .col(
                        ColumnDef::new(SnMirror::JournalId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SnMirror::JobId).string().not_null())
                    .col(ColumnDef::new(SnMirror::TableName).string().not_null())
                    .col(ColumnDef::new(SnMirror::SysId).string().not_null())
                    .col(ColumnDef::new(SnMirror::PlanRowId).big_integer().not_null())
                    .col(ColumnDef::new(SnMirror::ChunkId).string().not_null())
                    .col(ColumnDef::new(SnMirror::BeforeImageSha256).string().null())
                    .col(
                        ColumnDef::new(SnMirror::SyncedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sn_mirror_job")
                    .table(SnMirror::Table)
                    .col(SnMirror::JobId)
                    .col(SnMirror::PlanRowId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SnMirror::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SnMirror {
    Table,
    JournalId,
    JobId,
    TableName,
    SysId,
    PlanRowId,
    ChunkId,
    BeforeImageSha256,
    SyncedAt,
}
