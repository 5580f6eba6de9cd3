//! The queue reads of `job_locks` (a tuple's first row; the rows ahead of a
//! queued job) walk a tuple in admission order and need only `held` and
//! `job_id` beside the key: this index answers them without touching the
//! table, which keeps reading a 10,000-deep queue cheap.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_job_locks_queue_order")
                    .table(JobLocks::Table)
                    .col(JobLocks::TenantId)
                    .col(JobLocks::InstanceId)
                    .col(JobLocks::TableName)
                    .col(JobLocks::JobSeq)
                    .col(JobLocks::Held)
                    .col(JobLocks::JobId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_job_locks_queue_order")
                    .table(JobLocks::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum JobLocks {
    Table,
    TenantId,
    InstanceId,
    TableName,
    JobSeq,
    Held,
    JobId,
}
