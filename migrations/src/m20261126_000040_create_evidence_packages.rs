//! Signed evidence packages, one row per package version of a job. Rows
//! are insert-only: a new export is a new `package_version`, and the
//! manifest and report are kept as the exact canonical (RFC 8785) text that
//! was hashed and signed, so a read re-verifies byte for byte. Timestamps
//! used in range queries also have an integer-microsecond twin, which
//! compares alike on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_evidence_packages_job_version")
                    .table(EvidencePackages::Table)
                    .col(EvidencePackages::JobId)
                    .col(EvidencePackages::PackageVersion)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_evidence_packages_origin")
                    .table(EvidencePackages::Table)
                    .col(EvidencePackages::Origin)
                    .col(EvidencePackages::JobId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EvidencePackages::Table).to_owned())
            .await
    }
}

fn table() -> TableCreateStatement {
    use EvidencePackages as P;
    Table::create()
        .table(P::Table)
        .col(
            ColumnDef::new(P::PackageId)
                .string()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(P::JobId).string().not_null())
        .col(ColumnDef::new(P::PackageVersion).big_integer().not_null())
        .col(ColumnDef::new(P::Origin).string().not_null())
        .col(ColumnDef::new(P::TenantId).string().not_null())
        .col(ColumnDef::new(P::InstanceId).string().not_null())
        .col(ColumnDef::new(P::PlanId).string().not_null())
        .col(ColumnDef::new(P::PlanHash).string().not_null())
        .col(ColumnDef::new(P::ManifestJson).text().not_null())
        .col(ColumnDef::new(P::ManifestSha256).string().not_null())
        .col(ColumnDef::new(P::ReportJson).text().not_null())
        .col(ColumnDef::new(P::ReportHash).string().not_null())
        .col(ColumnDef::new(P::SignerKeyId).string().not_null())
        .col(ColumnDef::new(P::Algorithm).string().not_null())
        .col(ColumnDef::new(P::Signature).string().not_null())
        .col(ColumnDef::new(P::RetentionClass).string().not_null())
        .col(ColumnDef::new(P::WormEnabled).boolean().not_null())
        .col(
            ColumnDef::new(P::RetainUntil)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(ColumnDef::new(P::RetainUntilUs).big_integer().not_null())
        .col(ColumnDef::new(P::ArtifactRows).big_integer().not_null())
        .col(ColumnDef::new(P::ArtifactBytes).big_integer().not_null())
        .col(ColumnDef::new(P::GeneratedBy).string().not_null())
        .col(
            ColumnDef::new(P::GeneratedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(ColumnDef::new(P::GeneratedAtUs).big_integer().not_null())
        .to_owned()
}

#[derive(DeriveIden)]
enum EvidencePackages {
    Table,
    PackageId,
    JobId,
    PackageVersion,
    Origin,
    TenantId,
    InstanceId,
    PlanId,
    PlanHash,
    ManifestJson,
    ManifestSha256,
    ReportJson,
    ReportHash,
    SignerKeyId,
    Algorithm,
    Signature,
    RetentionClass,
    WormEnabled,
    RetainUntil,
    RetainUntilUs,
    ArtifactRows,
    ArtifactBytes,
    GeneratedBy,
    GeneratedAt,
    GeneratedAtUs,
}
