//! One guard row per `(tenant_id, instance_id)`. Admission and release
//! first upsert it: on PostgreSQL that row lock serialises every queue
//! decision of the tenant and instance across replicas; on SQLite the
//! write makes the transaction the single writer from its first statement.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobQueueGuards::Table)
                    .col(ColumnDef::new(JobQueueGuards::TenantId).string().not_null())
                    .col(
                        ColumnDef::new(JobQueueGuards::InstanceId)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JobQueueGuards::Decisions)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(JobQueueGuards::TenantId)
                            .col(JobQueueGuards::InstanceId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobQueueGuards::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum JobQueueGuards {
    Table,
    TenantId,
    InstanceId,
    Decisions,
}
