//! Whether a media outcome wrote into the instance (`true`: the restore
//! wrote the attachment, or the undo removed it) or found it already so
//! (`false`). An undo removes only what its job wrote. Null in rows written
//! before: such a job's attachments are not removed by an undo.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MediaOutcomes::Table)
                    .add_column(ColumnDef::new(MediaOutcomes::Wrote).boolean().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MediaOutcomes::Table)
                    .drop_column(MediaOutcomes::Wrote)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum MediaOutcomes {
    Table,
    Wrote,
}
