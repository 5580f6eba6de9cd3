//! Every decision names who signed the plugin that made it: the trusted
//! key's name and its fingerprint (`[signatures]` of the policy file). Null
//! for builtin plugins, unsigned plugins and rows written before. One
//! column per statement: SQLite adds a single column per `ALTER TABLE`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            PolicyDecisions::PolicySigner,
            PolicyDecisions::PolicySignerFingerprint,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PolicyDecisions::Table)
                        .add_column(ColumnDef::new(column).string().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            PolicyDecisions::PolicySignerFingerprint,
            PolicyDecisions::PolicySigner,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PolicyDecisions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PolicyDecisions {
    Table,
    PolicySigner,
    PolicySignerFingerprint,
}
