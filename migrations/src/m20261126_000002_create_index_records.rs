//! Every captured version of every record, as the CDC sidecar sent it.
//! Event times are integer microseconds since the epoch so that range
//! comparisons are exact on SQLite and PostgreSQL alike.
//! Idempotent on (tenant, instance, topic, partition, offset); the second
//! index serves the point-in-time scan (latest version at or before the PIT).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IndexRecords::Table)
                    .col(
                        ColumnDef::new(IndexRecords::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(IndexRecords::TenantId).string().not_null())
                    .col(ColumnDef::new(IndexRecords::InstanceId).string().not_null())
                    .col(ColumnDef::new(IndexRecords::TableName).string().not_null())
                    .col(ColumnDef::new(IndexRecords::SysId).string().not_null())
                    .col(ColumnDef::new(IndexRecords::Op).string().not_null())
                    .col(
                        ColumnDef::new(IndexRecords::EventTimeUs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IndexRecords::Topic).string().not_null())
                    .col(ColumnDef::new(IndexRecords::Partition).integer().not_null())
                    .col(
                        ColumnDef::new(IndexRecords::Offset)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IndexRecords::Payload).json().null())
                    .col(ColumnDef::new(IndexRecords::PayloadSha256).string().null())
                    .col(
                        ColumnDef::new(IndexRecords::IngestedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_index_records_offset")
                    .table(IndexRecords::Table)
                    .col(IndexRecords::TenantId)
                    .col(IndexRecords::InstanceId)
                    .col(IndexRecords::Topic)
                    .col(IndexRecords::Partition)
                    .col(IndexRecords::Offset)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_index_records_version")
                    .table(IndexRecords::Table)
                    .col(IndexRecords::TenantId)
                    .col(IndexRecords::InstanceId)
                    .col(IndexRecords::TableName)
                    .col(IndexRecords::SysId)
                    .col(IndexRecords::EventTimeUs)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IndexRecords::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IndexRecords {
    Table,
    Id,
    TenantId,
    InstanceId,
    TableName,
    SysId,
    Op,
    EventTimeUs,
    Topic,
    Partition,
    Offset,
    Payload,
    PayloadSha256,
    IngestedAt,
}
