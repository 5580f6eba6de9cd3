//! Per-partition completeness claims of the sidecar; they never move back
//! (times in integer microseconds so the monotonic upsert compares exactly).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IndexWatermarks::Table)
                    .col(
                        ColumnDef::new(IndexWatermarks::TenantId)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IndexWatermarks::InstanceId)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IndexWatermarks::Topic).string().not_null())
                    .col(
                        ColumnDef::new(IndexWatermarks::Partition)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IndexWatermarks::WatermarkTimeUs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IndexWatermarks::PublishedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(IndexWatermarks::TenantId)
                            .col(IndexWatermarks::InstanceId)
                            .col(IndexWatermarks::Topic)
                            .col(IndexWatermarks::Partition),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IndexWatermarks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IndexWatermarks {
    Table,
    TenantId,
    InstanceId,
    Topic,
    Partition,
    WatermarkTimeUs,
    PublishedAt,
}
