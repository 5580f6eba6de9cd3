//! The embedded target instance's table schemas and write permission.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TargetTables::Table)
                    .col(ColumnDef::new(TargetTables::TenantId).string().not_null())
                    .col(ColumnDef::new(TargetTables::InstanceId).string().not_null())
                    .col(ColumnDef::new(TargetTables::TableName).string().not_null())
                    .col(ColumnDef::new(TargetTables::Columns).json().not_null())
                    .col(
                        ColumnDef::new(TargetTables::SchemaSha256)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TargetTables::WriteAllowed)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TargetTables::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(TargetTables::TenantId)
                            .col(TargetTables::InstanceId)
                            .col(TargetTables::TableName),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TargetTables::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TargetTables {
    Table,
    TenantId,
    InstanceId,
    TableName,
    Columns,
    SchemaSha256,
    WriteAllowed,
    UpdatedAt,
}
