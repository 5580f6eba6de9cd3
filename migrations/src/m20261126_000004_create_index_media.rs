//! Captured attachments: metadata here, bytes in the media store.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IndexMedia::Table)
                    .col(
                        ColumnDef::new(IndexMedia::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(IndexMedia::TenantId).string().not_null())
                    .col(ColumnDef::new(IndexMedia::InstanceId).string().not_null())
                    .col(ColumnDef::new(IndexMedia::MediaId).string().not_null())
                    .col(ColumnDef::new(IndexMedia::ParentTable).string().not_null())
                    .col(ColumnDef::new(IndexMedia::ParentSysId).string().not_null())
                    .col(ColumnDef::new(IndexMedia::FileName).string().not_null())
                    .col(ColumnDef::new(IndexMedia::ContentType).string().not_null())
                    .col(
                        ColumnDef::new(IndexMedia::EventTimeUs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IndexMedia::SizeBytes)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IndexMedia::Sha256Plain).string().not_null())
                    .col(ColumnDef::new(IndexMedia::StorageKey).string().not_null())
                    .col(
                        ColumnDef::new(IndexMedia::IngestedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_index_media_version")
                    .table(IndexMedia::Table)
                    .col(IndexMedia::TenantId)
                    .col(IndexMedia::InstanceId)
                    .col(IndexMedia::MediaId)
                    .col(IndexMedia::EventTimeUs)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_index_media_parent")
                    .table(IndexMedia::Table)
                    .col(IndexMedia::TenantId)
                    .col(IndexMedia::InstanceId)
                    .col(IndexMedia::ParentTable)
                    .col(IndexMedia::ParentSysId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IndexMedia::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IndexMedia {
    Table,
    Id,
    TenantId,
    InstanceId,
    MediaId,
    ParentTable,
    ParentSysId,
    FileName,
    ContentType,
    EventTimeUs,
    SizeBytes,
    Sha256Plain,
    StorageKey,
    IngestedAt,
}
