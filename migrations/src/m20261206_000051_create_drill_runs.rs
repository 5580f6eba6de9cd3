//! Restore drill runs: one row per drill, written `running` when it starts
//! and finished with its outcome (`passed`, `failed` with a reason code or
//! `skipped` with why), its measured recovery time and point, the rows
//! verified and mismatched and the evidence manifest hash. The unique
//! `(schedule_id, slot_us)` keeps a scheduled slot to one run whatever the
//! replicas do; `run_seq` keys the list's pages. Times are integer
//! microseconds, compared the same on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use DrillRuns as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(
                        ColumnDef::new(R::RunSeq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(R::RunId).string().not_null().unique_key())
                    .col(ColumnDef::new(R::ScheduleId).string().not_null())
                    .col(ColumnDef::new(R::TenantId).string().not_null())
                    .col(ColumnDef::new(R::InstanceId).string().not_null())
                    .col(ColumnDef::new(R::SandboxTenantId).string().not_null())
                    .col(ColumnDef::new(R::SandboxInstanceId).string().not_null())
                    .col(ColumnDef::new(R::TriggerKind).string().not_null())
                    .col(ColumnDef::new(R::SlotUs).big_integer().not_null())
                    .col(ColumnDef::new(R::Holder).string().not_null())
                    .col(ColumnDef::new(R::Outcome).string().not_null())
                    .col(ColumnDef::new(R::ReasonCode).string().null())
                    .col(ColumnDef::new(R::Message).text().null())
                    .col(ColumnDef::new(R::StartedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(R::FinishedAtUs).big_integer().null())
                    .col(ColumnDef::new(R::KeepUntilUs).big_integer().not_null())
                    .col(ColumnDef::new(R::PitUs).big_integer().null())
                    .col(ColumnDef::new(R::RecoveryPointSeconds).double().null())
                    .col(ColumnDef::new(R::PlanId).string().null())
                    .col(ColumnDef::new(R::JobId).string().null())
                    .col(ColumnDef::new(R::RestoreMs).big_integer().null())
                    .col(ColumnDef::new(R::RowsPerSecond).double().null())
                    .col(
                        ColumnDef::new(R::RowsVerified)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(R::RowsMismatched)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(R::Mismatches).json().null())
                    .col(ColumnDef::new(R::SampleSeed).big_integer().null())
                    .col(ColumnDef::new(R::ManifestSha256).string().null())
                    .col(
                        ColumnDef::new(R::SandboxCleaned)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_drill_runs_slot")
                    .table(R::Table)
                    .col(R::ScheduleId)
                    .col(R::SlotUs)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DrillRuns::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DrillRuns {
    Table,
    RunSeq,
    RunId,
    ScheduleId,
    TenantId,
    InstanceId,
    SandboxTenantId,
    SandboxInstanceId,
    TriggerKind,
    SlotUs,
    Holder,
    Outcome,
    ReasonCode,
    Message,
    StartedAtUs,
    FinishedAtUs,
    KeepUntilUs,
    PitUs,
    RecoveryPointSeconds,
    PlanId,
    JobId,
    RestoreMs,
    RowsPerSecond,
    RowsVerified,
    RowsMismatched,
    Mismatches,
    SampleSeed,
    ManifestSha256,
    SandboxCleaned,
}
