//! Queries on `auth_tokens`.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::entities::auth_token::{self, Entity as Tokens};
use super::{Store, StoreError};

/// A token row as the domain sees it.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub token_id: String,
    pub token_sha256: String,
    pub operator_id: String,
    pub capabilities: Vec<String>,
    pub tenants: Vec<String>,
    pub is_bootstrap: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<auth_token::Model> for TokenRow {
    type Error = StoreError;

    fn try_from(model: auth_token::Model) -> Result<Self, StoreError> {
        Ok(Self {
            token_id: model.token_id,
            token_sha256: model.token_sha256,
            operator_id: model.operator_id,
            capabilities: serde_json::from_value(model.capabilities)?,
            tenants: serde_json::from_value(model.tenants)?,
            is_bootstrap: model.is_bootstrap,
            expires_at: model.expires_at,
            revoked_at: model.revoked_at,
            created_at: model.created_at,
        })
    }
}

impl Store {
    /// Stores a new token.
    pub async fn insert_token(&self, row: &TokenRow) -> Result<(), StoreError> {
        auth_token::ActiveModel {
            token_id: Set(row.token_id.clone()),
            token_sha256: Set(row.token_sha256.clone()),
            operator_id: Set(row.operator_id.clone()),
            capabilities: Set(serde_json::to_value(&row.capabilities)?),
            tenants: Set(serde_json::to_value(&row.tenants)?),
            is_bootstrap: Set(row.is_bootstrap),
            expires_at: Set(row.expires_at),
            revoked_at: Set(row.revoked_at),
            created_at: Set(row.created_at),
        }
        .insert(self.write_db())
        .await?;
        Ok(())
    }

    /// The token with this hash, if any.
    pub async fn token_by_hash(&self, sha256: &str) -> Result<Option<TokenRow>, StoreError> {
        Tokens::find()
            .filter(auth_token::Column::TokenSha256.eq(sha256))
            .one(self.db())
            .await?
            .map(TokenRow::try_from)
            .transpose()
    }

    /// The live bootstrap token, if one was created before.
    pub async fn bootstrap_token(&self) -> Result<Option<TokenRow>, StoreError> {
        Tokens::find()
            .filter(auth_token::Column::IsBootstrap.eq(true))
            .filter(auth_token::Column::RevokedAt.is_null())
            .one(self.db())
            .await?
            .map(TokenRow::try_from)
            .transpose()
    }

    /// Marks a token revoked; returns false when it was unknown or already
    /// revoked.
    pub async fn revoke_token(
        &self,
        token_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = Tokens::update_many()
            .col_expr(
                auth_token::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(at),
            )
            .filter(auth_token::Column::TokenId.eq(token_id))
            .filter(auth_token::Column::RevokedAt.is_null())
            .exec(self.write_db())
            .await?;
        Ok(result.rows_affected > 0)
    }
}
