//! Execute-intent jobs made from executable plans. `job_seq` is the
//! admission order: admission for a tenant and instance is serialised by
//! its guard row, so a later job of the same tuple always gets a higher
//! sequence, and first-come-first-served compares sequences.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(
                        ColumnDef::new(Jobs::JobSeq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Jobs::JobId).string().not_null().unique_key())
                    .col(ColumnDef::new(Jobs::PlanId).string().not_null())
                    .col(ColumnDef::new(Jobs::PlanHash).string().not_null())
                    .col(ColumnDef::new(Jobs::TenantId).string().not_null())
                    .col(ColumnDef::new(Jobs::InstanceId).string().not_null())
                    .col(ColumnDef::new(Jobs::Status).string().not_null())
                    .col(ColumnDef::new(Jobs::StatusReasonCode).string().null())
                    .col(ColumnDef::new(Jobs::ExecutionState).string().not_null())
                    .col(ColumnDef::new(Jobs::OperatorId).string().not_null())
                    .col(ColumnDef::new(Jobs::EventSeq).big_integer().not_null())
                    .col(
                        ColumnDef::new(Jobs::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Jobs::StartedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Jobs::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_jobs_scope",
                [Jobs::TenantId, Jobs::InstanceId, Jobs::JobSeq],
            ),
            (
                "idx_jobs_status",
                [Jobs::Status, Jobs::TenantId, Jobs::JobSeq],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Jobs::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Jobs {
    Table,
    JobSeq,
    JobId,
    PlanId,
    PlanHash,
    TenantId,
    InstanceId,
    Status,
    StatusReasonCode,
    ExecutionState,
    OperatorId,
    EventSeq,
    CreatedAt,
    StartedAt,
    FinishedAt,
}
