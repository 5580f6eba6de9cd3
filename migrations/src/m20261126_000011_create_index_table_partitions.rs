//! Which (topic, partition) carries records of which table, kept at
//! ingestion so a dry-run finds the partitions feeding its scope without
//! scanning every version.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IndexTablePartitions::Table)
                    .col(
                        ColumnDef::new(IndexTablePartitions::TenantId)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IndexTablePartitions::InstanceId)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IndexTablePartitions::TableName)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IndexTablePartitions::Topic)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IndexTablePartitions::Partition)
                            .integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(IndexTablePartitions::TenantId)
                            .col(IndexTablePartitions::InstanceId)
                            .col(IndexTablePartitions::TableName)
                            .col(IndexTablePartitions::Topic)
                            .col(IndexTablePartitions::Partition),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IndexTablePartitions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IndexTablePartitions {
    Table,
    TenantId,
    InstanceId,
    TableName,
    Topic,
    Partition,
}
