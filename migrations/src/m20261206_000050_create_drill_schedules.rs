//! Restore drill schedules: which backup a drill restores from, into which
//! sandbox, how often (a cron expression), over which scope and how long
//! its runs are kept. `next_due_us` is the slot the schedule fires at next;
//! `claimed_by` / `claimed_until_us` are the lease of the replica running
//! it, taken and the next slot moved on in one conditional update, so a
//! slot runs once across replicas and never twice at the same time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use DrillSchedules as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(
                        ColumnDef::new(S::ScheduleId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(S::TenantId).string().not_null())
                    .col(ColumnDef::new(S::InstanceId).string().not_null())
                    .col(ColumnDef::new(S::SandboxTenantId).string().not_null())
                    .col(ColumnDef::new(S::SandboxInstanceId).string().not_null())
                    .col(ColumnDef::new(S::Cron).string().not_null())
                    .col(ColumnDef::new(S::Tables).json().not_null())
                    .col(ColumnDef::new(S::SamplePerTable).integer().null())
                    .col(ColumnDef::new(S::RetentionDays).integer().not_null())
                    .col(ColumnDef::new(S::CreatedBy).string().not_null())
                    .col(ColumnDef::new(S::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(S::NextDueUs).big_integer().not_null())
                    .col(ColumnDef::new(S::ClaimedBy).string().null())
                    .col(ColumnDef::new(S::ClaimedUntilUs).big_integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DrillSchedules::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DrillSchedules {
    Table,
    ScheduleId,
    TenantId,
    InstanceId,
    SandboxTenantId,
    SandboxInstanceId,
    Cron,
    Tables,
    SamplePerTable,
    RetentionDays,
    CreatedBy,
    CreatedAtUs,
    NextDueUs,
    ClaimedBy,
    ClaimedUntilUs,
}
