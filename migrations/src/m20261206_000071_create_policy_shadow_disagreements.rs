//! Shadow evaluation: a policy file may name a candidate plugin beside a
//! live one; the candidate decides the same input after the live decision,
//! is never enforced, and every time it decides differently (another
//! outcome or other reason codes, a failure included) a row lands here.
//! Insert-only; `seq` orders it and is the paging key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table.table(PolicyShadowDisagreements::Table).col(
            ColumnDef::new(PolicyShadowDisagreements::Seq)
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        );
        for column in [
            PolicyShadowDisagreements::DecisionId,
            PolicyShadowDisagreements::Kind,
            PolicyShadowDisagreements::LiveDigest,
            PolicyShadowDisagreements::LiveOutcome,
            PolicyShadowDisagreements::CandidateName,
            PolicyShadowDisagreements::CandidateVersion,
            PolicyShadowDisagreements::CandidateDigest,
            PolicyShadowDisagreements::CandidateOutcome,
        ] {
            table.col(ColumnDef::new(column).string().not_null());
        }
        table
            .col(
                ColumnDef::new(PolicyShadowDisagreements::TenantId)
                    .string()
                    .null(),
            )
            .col(
                ColumnDef::new(PolicyShadowDisagreements::LiveOutput)
                    .json()
                    .not_null(),
            )
            .col(
                ColumnDef::new(PolicyShadowDisagreements::CandidateOutput)
                    .json()
                    .not_null(),
            )
            .col(
                ColumnDef::new(PolicyShadowDisagreements::DecidedAt)
                    .timestamp_with_time_zone()
                    .not_null(),
            );
        manager.create_table(table.to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_policy_shadow_disagreements_kind")
                    .table(PolicyShadowDisagreements::Table)
                    .col(PolicyShadowDisagreements::Kind)
                    .col(PolicyShadowDisagreements::Seq)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(PolicyShadowDisagreements::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PolicyShadowDisagreements {
    Table,
    Seq,
    DecisionId,
    Kind,
    TenantId,
    LiveDigest,
    LiveOutcome,
    LiveOutput,
    CandidateName,
    CandidateVersion,
    CandidateDigest,
    CandidateOutcome,
    CandidateOutput,
    DecidedAt,
}
