//! A job's execution: its checkpoint (next chunk, checksums), state, the
//! lease that keeps it in one place across replicas, and resume metadata.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobExecutions::Table)
                    .col(
                        ColumnDef::new(JobExecutions::JobId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(JobExecutions::PlanId).string().not_null())
                    .col(
                        ColumnDef::new(JobExecutions::PlanChecksum)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JobExecutions::PreconditionChecksum)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JobExecutions::NextChunkIndex)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JobExecutions::TotalChunks)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(JobExecutions::State).string().not_null())
                    .col(
                        ColumnDef::new(JobExecutions::StatusReasonCode)
                            .string()
                            .null(),
                    )
                    .col(ColumnDef::new(JobExecutions::LeaseHolder).string().null())
                    .col(
                        ColumnDef::new(JobExecutions::LeaseExpiresUs)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(JobExecutions::ResumeCount)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(JobExecutions::Resumes).json().not_null())
                    .col(
                        ColumnDef::new(JobExecutions::MediaDone)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JobExecutions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JobExecutions::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobExecutions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum JobExecutions {
    Table,
    JobId,
    PlanId,
    PlanChecksum,
    PreconditionChecksum,
    NextChunkIndex,
    TotalChunks,
    State,
    StatusReasonCode,
    LeaseHolder,
    LeaseExpiresUs,
    ResumeCount,
    Resumes,
    MediaDone,
    CreatedAt,
    UpdatedAt,
}
