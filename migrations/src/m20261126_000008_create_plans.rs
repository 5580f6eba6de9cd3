//! Immutable dry-run plans: the header and the whole plan document; rows
//! live in plan_rows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Plans::Table)
                    .col(
                        ColumnDef::new(Plans::PlanId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Plans::TenantId).string().not_null())
                    .col(ColumnDef::new(Plans::InstanceId).string().not_null())
                    .col(ColumnDef::new(Plans::PlanHash).string().not_null())
                    .col(ColumnDef::new(Plans::PlanChecksum).string().not_null())
                    .col(
                        ColumnDef::new(Plans::Pit)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Plans::Executability).string().not_null())
                    .col(ColumnDef::new(Plans::GateReasonCode).string().null())
                    .col(ColumnDef::new(Plans::Tables).json().not_null())
                    .col(ColumnDef::new(Plans::RowsTotal).big_integer().not_null())
                    .col(ColumnDef::new(Plans::TotalChunks).big_integer().not_null())
                    .col(ColumnDef::new(Plans::Document).json().not_null())
                    .col(
                        ColumnDef::new(Plans::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_plans_tenant")
                    .table(Plans::Table)
                    .col(Plans::TenantId)
                    .col(Plans::InstanceId)
                    .col(Plans::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Plans::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Plans {
    Table,
    PlanId,
    TenantId,
    InstanceId,
    PlanHash,
    PlanChecksum,
    Pit,
    Executability,
    GateReasonCode,
    Tables,
    RowsTotal,
    TotalChunks,
    Document,
    CreatedAt,
}
