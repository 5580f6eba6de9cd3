//! The decision log: every gate, capability and media-cap decision with the
//! policy's name and digest and a hash of its input, linked to the plan or
//! job it decided (`subject_kind`, `subject_id`), so plans, jobs and
//! evidence can show which policy decided.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PolicyDecisions::Table)
                    .col(
                        ColumnDef::new(PolicyDecisions::DecisionId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PolicyDecisions::Kind).string().not_null())
                    .col(
                        ColumnDef::new(PolicyDecisions::PolicyName)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PolicyDecisions::PolicyVersion)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PolicyDecisions::PolicyDigest)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PolicyDecisions::InputSha256)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PolicyDecisions::Output).json().not_null())
                    .col(ColumnDef::new(PolicyDecisions::Outcome).string().not_null())
                    .col(
                        ColumnDef::new(PolicyDecisions::SubjectKind)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PolicyDecisions::SubjectId)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PolicyDecisions::DecidedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_policy_decisions_subject")
                    .table(PolicyDecisions::Table)
                    .col(PolicyDecisions::SubjectKind)
                    .col(PolicyDecisions::SubjectId)
                    .col(PolicyDecisions::DecidedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PolicyDecisions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PolicyDecisions {
    Table,
    DecisionId,
    Kind,
    PolicyName,
    PolicyVersion,
    PolicyDigest,
    InputSha256,
    Output,
    Outcome,
    SubjectKind,
    SubjectId,
    DecidedAt,
}
