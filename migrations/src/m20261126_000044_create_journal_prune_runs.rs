//! Audit trail of journal pruning: who pruned, under which retention
//! window, which jobs lost their before-images and how many bytes that
//! freed. Insert-only, like the evidence it protects.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use JournalPruneRuns as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(ColumnDef::new(R::PruneId).string().not_null().primary_key())
                    .col(ColumnDef::new(R::Actor).string().not_null())
                    .col(ColumnDef::new(R::RetentionDays).big_integer().not_null())
                    .col(ColumnDef::new(R::JobsExamined).big_integer().not_null())
                    .col(ColumnDef::new(R::JobsPruned).big_integer().not_null())
                    .col(
                        ColumnDef::new(R::BeforeImagesRemoved)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(R::BytesRemoved).big_integer().not_null())
                    .col(ColumnDef::new(R::PrunedJobIds).json().not_null())
                    .col(ColumnDef::new(R::Skipped).json().not_null())
                    .col(
                        ColumnDef::new(R::PrunedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(R::PrunedAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JournalPruneRuns::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum JournalPruneRuns {
    Table,
    PruneId,
    Actor,
    RetentionDays,
    JobsExamined,
    JobsPruned,
    BeforeImagesRemoved,
    BytesRemoved,
    PrunedJobIds,
    Skipped,
    PrunedAt,
    PrunedAtUs,
}
