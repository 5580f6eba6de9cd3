//! A plan may restore into an instance other than its source: the target's
//! `tenant_id/instance_id`. Null in rows written before, whose target is
//! their source (`tenant_id/instance_id`). One column per statement: SQLite
//! adds a single column per `ALTER TABLE`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Plans::TargetTenantId, Plans::TargetInstanceId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Plans::Table)
                        .add_column(ColumnDef::new(column).string().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Plans::TargetInstanceId, Plans::TargetTenantId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Plans::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Plans {
    Table,
    TargetTenantId,
    TargetInstanceId,
}
