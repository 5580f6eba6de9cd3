//! The evidence keyring: the public key of every signer key id that ever
//! signed here, so a package signed before a key rotation still verifies.
//! A key id is bound to one public key for good (insert-only).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use EvidenceSignerKeys as K;
        manager
            .create_table(
                Table::create()
                    .table(K::Table)
                    .col(
                        ColumnDef::new(K::SignerKeyId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(K::Algorithm).string().not_null())
                    .col(ColumnDef::new(K::PublicKeyPem).text().not_null())
                    .col(ColumnDef::new(K::PublicKeySha256).string().not_null())
                    .col(ColumnDef::new(K::Source).string().not_null())
                    .col(
                        ColumnDef::new(K::RegisteredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EvidenceSignerKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum EvidenceSignerKeys {
    Table,
    SignerKeyId,
    Algorithm,
    PublicKeyPem,
    PublicKeySha256,
    Source,
    RegisteredAt,
}
