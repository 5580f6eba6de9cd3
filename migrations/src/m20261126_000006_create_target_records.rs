//! The embedded target instance's live rows (what restores write into).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TargetRecords::Table)
                    .col(ColumnDef::new(TargetRecords::TenantId).string().not_null())
                    .col(
                        ColumnDef::new(TargetRecords::InstanceId)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(TargetRecords::TableName).string().not_null())
                    .col(ColumnDef::new(TargetRecords::SysId).string().not_null())
                    .col(ColumnDef::new(TargetRecords::Payload).json().not_null())
                    .col(
                        ColumnDef::new(TargetRecords::PayloadSha256)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TargetRecords::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(TargetRecords::TenantId)
                            .col(TargetRecords::InstanceId)
                            .col(TargetRecords::TableName)
                            .col(TargetRecords::SysId),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TargetRecords::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TargetRecords {
    Table,
    TenantId,
    InstanceId,
    TableName,
    SysId,
    Payload,
    PayloadSha256,
    UpdatedAt,
}
