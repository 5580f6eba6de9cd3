//! Attachments restored into the embedded target.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TargetMedia::Table)
                    .col(ColumnDef::new(TargetMedia::TenantId).string().not_null())
                    .col(ColumnDef::new(TargetMedia::InstanceId).string().not_null())
                    .col(ColumnDef::new(TargetMedia::TableName).string().not_null())
                    .col(ColumnDef::new(TargetMedia::MediaId).string().not_null())
                    .col(ColumnDef::new(TargetMedia::ParentSysId).string().not_null())
                    .col(ColumnDef::new(TargetMedia::FileName).string().not_null())
                    .col(ColumnDef::new(TargetMedia::ContentType).string().not_null())
                    .col(
                        ColumnDef::new(TargetMedia::SizeBytes)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(TargetMedia::Sha256Plain).string().not_null())
                    .col(ColumnDef::new(TargetMedia::StorageKey).string().not_null())
                    .col(
                        ColumnDef::new(TargetMedia::RestoredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(TargetMedia::TenantId)
                            .col(TargetMedia::InstanceId)
                            .col(TargetMedia::TableName)
                            .col(TargetMedia::MediaId),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TargetMedia::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TargetMedia {
    Table,
    TenantId,
    InstanceId,
    TableName,
    MediaId,
    ParentSysId,
    FileName,
    ContentType,
    SizeBytes,
    Sha256Plain,
    StorageKey,
    RestoredAt,
}
