//! Bearer tokens. Only a sha256 of each token is stored, so a copy of the
//! database does not hand out credentials.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthTokens::Table)
                    .col(
                        ColumnDef::new(AuthTokens::TokenId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuthTokens::TokenSha256)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(AuthTokens::OperatorId).string().not_null())
                    .col(ColumnDef::new(AuthTokens::Capabilities).json().not_null())
                    .col(ColumnDef::new(AuthTokens::Tenants).json().not_null())
                    .col(
                        ColumnDef::new(AuthTokens::IsBootstrap)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(AuthTokens::ExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AuthTokens::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AuthTokens::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuthTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuthTokens {
    Table,
    TokenId,
    TokenSha256,
    OperatorId,
    Capabilities,
    Tenants,
    IsBootstrap,
    ExpiresAt,
    RevokedAt,
    CreatedAt,
}
