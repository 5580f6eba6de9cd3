//! The audit trail of operator changes (staging mode, runbook sign-off,
//! failure drills, tenant entitlements): who, when, the state before and
//! after. Insert-only; `seq` orders it and is the paging key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OpsAuditLog::Table)
                    .col(
                        ColumnDef::new(OpsAuditLog::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OpsAuditLog::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OpsAuditLog::Kind).string().not_null())
                    .col(ColumnDef::new(OpsAuditLog::Subject).string().not_null())
                    .col(ColumnDef::new(OpsAuditLog::Actor).string().not_null())
                    .col(ColumnDef::new(OpsAuditLog::OperatorId).string().not_null())
                    .col(ColumnDef::new(OpsAuditLog::Previous).json().not_null())
                    .col(ColumnDef::new(OpsAuditLog::Current).json().not_null())
                    .col(ColumnDef::new(OpsAuditLog::Changed).boolean().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ops_audit_log_kind")
                    .table(OpsAuditLog::Table)
                    .col(OpsAuditLog::Kind)
                    .col(OpsAuditLog::Seq)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OpsAuditLog::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OpsAuditLog {
    Table,
    Seq,
    At,
    Kind,
    Subject,
    Actor,
    OperatorId,
    Previous,
    Current,
    Changed,
}
