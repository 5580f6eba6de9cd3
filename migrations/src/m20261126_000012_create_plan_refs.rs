//! The references each restored row of a plan makes (from the target
//! schema's reference columns), checked at dry-run and again before
//! execution: a reference to a record that will not exist is a conflict.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlanRefs::Table)
                    .col(ColumnDef::new(PlanRefs::PlanId).string().not_null())
                    .col(ColumnDef::new(PlanRefs::PlanRowId).big_integer().not_null())
                    .col(ColumnDef::new(PlanRefs::TableName).string().not_null())
                    .col(ColumnDef::new(PlanRefs::SysId).string().not_null())
                    .col(ColumnDef::new(PlanRefs::Field).string().not_null())
                    .col(ColumnDef::new(PlanRefs::RefTable).string().not_null())
                    .col(ColumnDef::new(PlanRefs::RefSysId).string().not_null())
                    .primary_key(
                        Index::create()
                            .col(PlanRefs::PlanId)
                            .col(PlanRefs::PlanRowId)
                            .col(PlanRefs::Field),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_plan_refs_target")
                    .table(PlanRefs::Table)
                    .col(PlanRefs::PlanId)
                    .col(PlanRefs::RefTable)
                    .col(PlanRefs::RefSysId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PlanRefs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PlanRefs {
    Table,
    PlanId,
    PlanRowId,
    TableName,
    SysId,
    Field,
    RefTable,
    RefSysId,
}
