//! The decision log keeps each decision's input, so a decision can be
//! listed with what it decided on and re-decided by a candidate plugin
//! (`GET /v1/policies/decisions`, `rrs policy replay`). Adds `input` (the
//! JSON whose sha256 is `input_sha256`; null in rows written before),
//! `tenant_id` (the input's tenant, so the list honours a token's tenant
//! scope; null before) and `seq`, an ascending integer key for paging.
//!
//! SQLite cannot add an auto-increment key to an existing table, so the
//! table is rebuilt on both backends: a new table, the old rows copied in
//! decision order (so `seq` follows `decided_at`), the old table dropped and
//! the new one renamed. Nothing refers to this table by foreign key. The
//! steps go to the database as one batch on one connection: on SQLite
//! another pooled connection may still read the schema as it was before the
//! drop and refuse the rename.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_COLUMNS: &str = "decision_id, kind, policy_name, policy_version, policy_digest, \
    policy_signer, policy_signer_fingerprint, input_sha256, output, outcome, subject_kind, \
    subject_id, decided_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let mut table = Table::create();
        table.table(PolicyDecisionsNew::Table).col(
            ColumnDef::new(PolicyDecisionsNew::Seq)
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        );
        add_columns(&mut table, true);
        let mut batch = vec![backend.build(&table.to_owned()).to_string()];
        batch.extend(rebuild(backend));
        for (name, columns, unique) in [
            (
                "idx_policy_decisions_subject",
                vec![
                    PolicyDecisions::SubjectKind,
                    PolicyDecisions::SubjectId,
                    PolicyDecisions::DecidedAt,
                ],
                false,
            ),
            (
                "idx_policy_decisions_kind_seq",
                vec![PolicyDecisions::Kind, PolicyDecisions::Seq],
                false,
            ),
            (
                "idx_policy_decisions_decided_at",
                vec![PolicyDecisions::DecidedAt],
                false,
            ),
            (
                "idx_policy_decisions_decision_id",
                vec![PolicyDecisions::DecisionId],
                true,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(PolicyDecisions::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            batch.push(backend.build(&index.to_owned()).to_string());
        }
        run(manager, &batch).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let mut table = Table::create();
        table.table(PolicyDecisionsNew::Table).col(
            ColumnDef::new(PolicyDecisions::DecisionId)
                .string()
                .not_null()
                .primary_key(),
        );
        add_columns(&mut table, false);
        let mut batch = vec![backend.build(&table.to_owned()).to_string()];
        batch.extend(rebuild(backend));
        batch.push(
            backend
                .build(
                    &Index::create()
                        .name("idx_policy_decisions_subject")
                        .table(PolicyDecisions::Table)
                        .col(PolicyDecisions::SubjectKind)
                        .col(PolicyDecisions::SubjectId)
                        .col(PolicyDecisions::DecidedAt)
                        .to_owned(),
                )
                .to_string(),
        );
        run(manager, &batch).await
    }
}

/// Copies the columns both shapes share into `policy_decisions_new` in
/// decision order, drops `policy_decisions` and renames the new table.
fn rebuild(backend: sea_orm_migration::sea_orm::DatabaseBackend) -> Vec<String> {
    vec![
        format!(
            "INSERT INTO policy_decisions_new ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} \
             FROM policy_decisions ORDER BY decided_at, decision_id"
        ),
        backend
            .build(&Table::drop().table(PolicyDecisions::Table).to_owned())
            .to_string(),
        backend
            .build(
                &Table::rename()
                    .table(PolicyDecisionsNew::Table, PolicyDecisions::Table)
                    .to_owned(),
            )
            .to_string(),
    ]
}

/// Runs the statements as one batch on one connection.
async fn run(manager: &SchemaManager<'_>, batch: &[String]) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(&batch.join(";\n"))
        .await?;
    Ok(())
}

/// The columns after the key; `with_input` adds `input` and `tenant_id`.
fn add_columns(table: &mut TableCreateStatement, with_input: bool) {
    if with_input {
        table.col(
            ColumnDef::new(PolicyDecisions::DecisionId)
                .string()
                .not_null(),
        );
    }
    for column in [
        PolicyDecisions::Kind,
        PolicyDecisions::PolicyName,
        PolicyDecisions::PolicyVersion,
        PolicyDecisions::PolicyDigest,
        PolicyDecisions::InputSha256,
    ] {
        table.col(ColumnDef::new(column).string().not_null());
    }
    // Added by m20261206_000060 (who signed the plugin).
    for column in [
        PolicyDecisions::PolicySigner,
        PolicyDecisions::PolicySignerFingerprint,
    ] {
        table.col(ColumnDef::new(column).string().null());
    }
    if with_input {
        table.col(ColumnDef::new(PolicyDecisions::Input).text().null());
        table.col(ColumnDef::new(PolicyDecisions::TenantId).string().null());
    }
    table
        .col(ColumnDef::new(PolicyDecisions::Output).json().not_null())
        .col(ColumnDef::new(PolicyDecisions::Outcome).string().not_null())
        .col(
            ColumnDef::new(PolicyDecisions::SubjectKind)
                .string()
                .not_null(),
        )
        .col(
            ColumnDef::new(PolicyDecisions::SubjectId)
                .string()
                .not_null(),
        )
        .col(
            ColumnDef::new(PolicyDecisions::DecidedAt)
                .timestamp_with_time_zone()
                .not_null(),
        );
}

#[derive(DeriveIden)]
enum PolicyDecisionsNew {
    Table,
    Seq,
}

#[derive(DeriveIden, Clone, Copy)]
enum PolicyDecisions {
    Table,
    Seq,
    DecisionId,
    Kind,
    PolicyName,
    PolicyVersion,
    PolicyDigest,
    PolicySigner,
    PolicySignerFingerprint,
    InputSha256,
    Input,
    TenantId,
    Output,
    Outcome,
    SubjectKind,
    SubjectId,
    DecidedAt,
}
