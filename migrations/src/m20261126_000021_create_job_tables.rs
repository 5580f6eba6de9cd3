//! The tables each job covers, kept for the job's whole life (the lock
//! rows go away when it ends) so jobs can be listed by table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobTables::Table)
                    .col(ColumnDef::new(JobTables::JobSeq).big_integer().not_null())
                    .col(ColumnDef::new(JobTables::TableName).string().not_null())
                    .primary_key(
                        Index::create()
                            .col(JobTables::JobSeq)
                            .col(JobTables::TableName),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_job_tables_table")
                    .table(JobTables::Table)
                    .col(JobTables::TableName)
                    .col(JobTables::JobSeq)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobTables::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum JobTables {
    Table,
    JobSeq,
    TableName,
}
