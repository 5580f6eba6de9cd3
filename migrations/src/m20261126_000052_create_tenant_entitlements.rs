//! Per-tenant restore entitlement. A tenant without a row is entitled; the
//! execution loop reads this row (by primary key) between chunks.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TenantEntitlements::Table)
                    .col(
                        ColumnDef::new(TenantEntitlements::TenantId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(TenantEntitlements::RestoreEnabled)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(TenantEntitlements::Actor).string().null())
                    .col(
                        ColumnDef::new(TenantEntitlements::OperatorId)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(TenantEntitlements::UpdatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantEntitlements::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TenantEntitlements {
    Table,
    TenantId,
    RestoreEnabled,
    Actor,
    OperatorId,
    UpdatedAt,
}
