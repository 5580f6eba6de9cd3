//! The latest recorded outcome of each failure drill; a drill never
//! recorded has no row and counts as `pending`. History lives in
//! `ops_audit_log`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OpsFailureDrills::Table)
                    .col(
                        ColumnDef::new(OpsFailureDrills::DrillId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(OpsFailureDrills::Status).string().not_null())
                    .col(ColumnDef::new(OpsFailureDrills::Notes).text().null())
                    .col(ColumnDef::new(OpsFailureDrills::Actor).string().null())
                    .col(ColumnDef::new(OpsFailureDrills::OperatorId).string().null())
                    .col(
                        ColumnDef::new(OpsFailureDrills::UpdatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OpsFailureDrills::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OpsFailureDrills {
    Table,
    DrillId,
    Status,
    Notes,
    Actor,
    OperatorId,
    UpdatedAt,
}
