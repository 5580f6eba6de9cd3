//! The lock queue: one row per live job and `(tenant_id, instance_id,
//! table)` tuple it holds (`held`) or waits for. Rows are deleted when the
//! job ends, so this table only ever holds the live queue. At most one
//! holder per tuple is a unique partial index, so even a bug in the queue
//! logic cannot let two jobs hold the same table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobLocks::Table)
                    .col(ColumnDef::new(JobLocks::TenantId).string().not_null())
                    .col(ColumnDef::new(JobLocks::InstanceId).string().not_null())
                    .col(ColumnDef::new(JobLocks::TableName).string().not_null())
                    .col(ColumnDef::new(JobLocks::JobSeq).big_integer().not_null())
                    .col(ColumnDef::new(JobLocks::JobId).string().not_null())
                    .col(ColumnDef::new(JobLocks::Held).boolean().not_null())
                    .primary_key(
                        Index::create()
                            .col(JobLocks::TenantId)
                            .col(JobLocks::InstanceId)
                            .col(JobLocks::TableName)
                            .col(JobLocks::JobSeq),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_job_locks_job")
                    .table(JobLocks::Table)
                    .col(JobLocks::JobSeq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_job_locks_one_holder")
                    .table(JobLocks::Table)
                    .col(JobLocks::TenantId)
                    .col(JobLocks::InstanceId)
                    .col(JobLocks::TableName)
                    .unique()
                    .and_where(Expr::col(JobLocks::Held).eq(true))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobLocks::Table).to_owned())
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
    JobId,
    Held,
}
