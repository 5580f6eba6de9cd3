//! Every record in a plan's scope with its action, in plan order; the
//! executed ones carry their chunk and the payload to write.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlanRows::Table)
                    .col(ColumnDef::new(PlanRows::PlanId).string().not_null())
                    .col(ColumnDef::new(PlanRows::PlanRowId).big_integer().not_null())
                    .col(ColumnDef::new(PlanRows::ChunkIndex).big_integer().null())
                    .col(ColumnDef::new(PlanRows::TableName).string().not_null())
                    .col(ColumnDef::new(PlanRows::SysId).string().not_null())
                    .col(ColumnDef::new(PlanRows::Action).string().not_null())
                    .col(ColumnDef::new(PlanRows::BeforeSha256).string().null())
                    .col(ColumnDef::new(PlanRows::AfterSha256).string().null())
                    .col(ColumnDef::new(PlanRows::AfterPayload).json().null())
                    .primary_key(
                        Index::create()
                            .col(PlanRows::PlanId)
                            .col(PlanRows::PlanRowId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_plan_rows_chunk")
                    .table(PlanRows::Table)
                    .col(PlanRows::PlanId)
                    .col(PlanRows::ChunkIndex)
                    .col(PlanRows::PlanRowId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_plan_rows_record")
                    .table(PlanRows::Table)
                    .col(PlanRows::PlanId)
                    .col(PlanRows::TableName)
                    .col(PlanRows::SysId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PlanRows::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PlanRows {
    Table,
    PlanId,
    PlanRowId,
    ChunkIndex,
    TableName,
    SysId,
    Action,
    BeforeSha256,
    AfterSha256,
    AfterPayload,
}
