//! What happened to each executed plan row; the primary key makes a row
//! impossible to apply twice.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RowOutcomes::Table)
                    .col(ColumnDef::new(RowOutcomes::JobId).string().not_null())
                    .col(
                        ColumnDef::new(RowOutcomes::PlanRowId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RowOutcomes::ChunkId).string().not_null())
                    .col(
                        ColumnDef::new(RowOutcomes::ChunkIndex)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RowOutcomes::TableName).string().not_null())
                    .col(ColumnDef::new(RowOutcomes::SysId).string().not_null())
                    .col(ColumnDef::new(RowOutcomes::Action).string().not_null())
                    .col(ColumnDef::new(RowOutcomes::Outcome).string().not_null())
                    .col(ColumnDef::new(RowOutcomes::ReasonCode).string().null())
                    .col(
                        ColumnDef::new(RowOutcomes::UsedRowFallback)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RowOutcomes::RowAttempt).integer().not_null())
                    .col(ColumnDef::new(RowOutcomes::JournalId).string().null())
                    .col(
                        ColumnDef::new(RowOutcomes::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(RowOutcomes::JobId)
                            .col(RowOutcomes::PlanRowId),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RowOutcomes::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RowOutcomes {
    Table,
    JobId,
    PlanRowId,
    ChunkId,
    ChunkIndex,
    TableName,
    SysId,
    Action,
    Outcome,
    ReasonCode,
    UsedRowFallback,
    RowAttempt,
    JournalId,
    CreatedAt,
}
