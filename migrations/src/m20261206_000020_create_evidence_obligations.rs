//! Evidence owed: one row per job whose automatic evidence package is
//! still to be generated. The row is written in the transaction that makes
//! the job terminal and deleted in the transaction that stores the
//! package, so a crash in between leaves the debt for any replica to pay.
//! `claimed_by` / `claimed_until_us` are the lease of the replica working
//! on it; `attempts` and `last_error` record failures.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use EvidenceObligations as O;
        manager
            .create_table(
                Table::create()
                    .table(O::Table)
                    .col(ColumnDef::new(O::JobId).string().not_null().primary_key())
                    .col(
                        ColumnDef::new(O::OwedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(O::ClaimedBy).string().null())
                    .col(ColumnDef::new(O::ClaimedUntilUs).big_integer().null())
                    .col(ColumnDef::new(O::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(O::LastError).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EvidenceObligations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum EvidenceObligations {
    Table,
    JobId,
    OwedAt,
    ClaimedBy,
    ClaimedUntilUs,
    Attempts,
    LastError,
}
