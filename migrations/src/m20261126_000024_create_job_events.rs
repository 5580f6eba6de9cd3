//! Insert-only history of each job. `seq` is dense per job (allocated from
//! `jobs.event_seq` under the job's row lock). `terminal` marks the one
//! terminal event; a unique partial index makes a second one impossible.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobEvents::Table)
                    .col(ColumnDef::new(JobEvents::JobSeq).big_integer().not_null())
                    .col(ColumnDef::new(JobEvents::Seq).big_integer().not_null())
                    .col(ColumnDef::new(JobEvents::EventType).string().not_null())
                    .col(
                        ColumnDef::new(JobEvents::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(JobEvents::Actor).string().not_null())
                    .col(ColumnDef::new(JobEvents::ReasonCode).string().null())
                    .col(ColumnDef::new(JobEvents::Details).json().not_null())
                    .col(ColumnDef::new(JobEvents::Terminal).boolean().not_null())
                    .primary_key(Index::create().col(JobEvents::JobSeq).col(JobEvents::Seq))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_job_events_one_terminal")
                    .table(JobEvents::Table)
                    .col(JobEvents::JobSeq)
                    .unique()
                    .and_where(Expr::col(JobEvents::Terminal).eq(true))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum JobEvents {
    Table,
    JobSeq,
    Seq,
    EventType,
    At,
    Actor,
    ReasonCode,
    Details,
    Terminal,
}
