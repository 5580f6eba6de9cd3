//! Job events by type and time: the SLO's execution counts and auth pauses
//! read the execution events of a window without scanning every event.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_job_events_type_at")
                    .table(JobEvents::Table)
                    .col(JobEvents::EventType)
                    .col(JobEvents::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_job_events_type_at")
                    .table(JobEvents::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum JobEvents {
    Table,
    EventType,
    At,
}
