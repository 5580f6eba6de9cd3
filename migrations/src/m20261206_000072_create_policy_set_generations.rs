//! One policy set across replicas. Every accepted reload (and every start
//! whose policy file differs from the latest recorded set) records the set
//! as the next `generation`: each kind's plugin, pinned sha256 and settings
//! (`policies`, JSON) and the set's own digest. The wasm of plugins read
//! from files is kept by digest in `policy_plugin_blobs`, so another
//! replica loads exactly those bytes without sharing a file system. Every
//! replica polls the latest generation and converges to it. A set that
//! fails to load is refused where it was posted and never recorded.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PolicySetGenerations::Table)
                    .col(
                        ColumnDef::new(PolicySetGenerations::Generation)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(PolicySetGenerations::SetDigest)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PolicySetGenerations::Policies)
                            .json()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PolicySetGenerations::RecordedBy)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PolicySetGenerations::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PolicyPluginBlobs::Table)
                    .col(
                        ColumnDef::new(PolicyPluginBlobs::Sha256)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(PolicyPluginBlobs::WasmBase64)
                            .text()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PolicyPluginBlobs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PolicySetGenerations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PolicySetGenerations {
    Table,
    Generation,
    SetDigest,
    Policies,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum PolicyPluginBlobs {
    Table,
    Sha256,
    WasmBase64,
}
