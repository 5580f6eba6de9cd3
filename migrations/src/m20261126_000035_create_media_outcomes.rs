//! What happened to each media candidate of an execution.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MediaOutcomes::Table)
                    .col(ColumnDef::new(MediaOutcomes::JobId).string().not_null())
                    .col(
                        ColumnDef::new(MediaOutcomes::CandidateId)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MediaOutcomes::Ordinal)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(MediaOutcomes::MediaId).string().not_null())
                    .col(ColumnDef::new(MediaOutcomes::Outcome).string().not_null())
                    .col(ColumnDef::new(MediaOutcomes::ReasonCode).string().null())
                    .col(
                        ColumnDef::new(MediaOutcomes::AttemptCount)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MediaOutcomes::ExpectedSha256Plain)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MediaOutcomes::ObservedSha256Plain)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MediaOutcomes::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(MediaOutcomes::JobId)
                            .col(MediaOutcomes::CandidateId),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MediaOutcomes::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum MediaOutcomes {
    Table,
    JobId,
    CandidateId,
    Ordinal,
    MediaId,
    Outcome,
    ReasonCode,
    AttemptCount,
    ExpectedSha256Plain,
    ObservedSha256Plain,
    CreatedAt,
}
