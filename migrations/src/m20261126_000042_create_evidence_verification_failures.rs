//! Every failed verification of an evidence package (on read, export or
//! journal prune), kept for the `evidence_verification_failed` SLO check
//! and the GA readiness gate: count the rows with `detected_at_us` inside
//! the window.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use EvidenceVerificationFailures as F;
        manager
            .create_table(
                Table::create()
                    .table(F::Table)
                    .col(
                        ColumnDef::new(F::FailureId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(F::PackageId).string().not_null())
                    .col(ColumnDef::new(F::JobId).string().not_null())
                    .col(ColumnDef::new(F::TenantId).string().not_null())
                    .col(ColumnDef::new(F::PackageVersion).big_integer().not_null())
                    .col(ColumnDef::new(F::ReasonCode).string().not_null())
                    .col(ColumnDef::new(F::FailedChecks).json().not_null())
                    .col(
                        ColumnDef::new(F::DetectedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(F::DetectedAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_evidence_verification_failures_at")
                    .table(F::Table)
                    .col(F::DetectedAtUs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(EvidenceVerificationFailures::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum EvidenceVerificationFailures {
    Table,
    FailureId,
    PackageId,
    JobId,
    TenantId,
    PackageVersion,
    ReasonCode,
    FailedChecks,
    DetectedAt,
    DetectedAtUs,
}
