//! Operator switches of the GA readiness gate (staging mode, runbook
//! sign-off): one row per switch, absent until first set (then `false` is
//! assumed). Every change is also written to `ops_audit_log`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OpsSwitches::Table)
                    .col(
                        ColumnDef::new(OpsSwitches::SwitchKey)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(OpsSwitches::Enabled).boolean().not_null())
                    .col(ColumnDef::new(OpsSwitches::Actor).string().null())
                    .col(ColumnDef::new(OpsSwitches::OperatorId).string().null())
                    .col(
                        ColumnDef::new(OpsSwitches::UpdatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OpsSwitches::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OpsSwitches {
    Table,
    SwitchKey,
    Enabled,
    Actor,
    OperatorId,
    UpdatedAt,
}
