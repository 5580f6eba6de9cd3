//! A ServiceNow instance over its REST Table and Attachment APIs. Every row
//! is its own request and nothing is atomic: the connector reports per row
//! what became of it, and the domain decides everything else.
//!
//! - `http`: the client (base URL, timeouts, the limiter shared by every
//!   call, retries with `backoff`), with `auth` (Basic, OAuth client
//!   credentials with a cached token) and `secret` (credentials never in a
//!   Debug output or a message).
//! - `answer`: reading ServiceNow's envelopes and paging headers;
//!   `paging`: walking a list page by page.
//! - `table`: scans and reads; `apply`: writes; `dictionary`: schemas;
//!   `attachments`: attachments.
//!
//! What ServiceNow documents and what is assumed is said where it matters;
//! the assumptions are: a client-chosen `sys_id` on insert is kept
//! (checked on every create), `sys_id` order is bytewise order (checked
//! on every scan), inheritance is read from `sys_db_object.super_class`,
//! and `PATCH` leaves columns it does not name alone (documented) where
//! `PUT` is only reported to.

mod answer;
mod apply;
mod attachments;
mod auth;
mod backoff;
mod dictionary;
mod http;
mod paging;
mod secret;
mod table;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::settings::{DeclaredTable, TargetSettings};
use super::{
    AttachmentKey, AttachmentRef, NewAttachment, Promises, RecordKey, RecordState, RowChange,
    RowResult, TableSchema, Target, TargetError,
};

/// Rows per batch: a batch is at most this many requests, so one call
/// stays short even at low concurrency.
const MAX_BATCH: usize = 100;

/// One ServiceNow instance.
pub struct ServiceNowTarget {
    instance: http::Instance,
    tables: BTreeMap<String, DeclaredTable>,
}

impl ServiceNowTarget {
    /// A connector for the configured instance; `secret` is the password
    /// (Basic) or client secret (OAuth), kept here and nowhere else.
    pub fn new(settings: &TargetSettings, secret: String) -> Result<Self, String> {
        Ok(Self {
            instance: http::Instance::new(settings, secret)?,
            tables: settings.tables.clone(),
        })
    }
}

impl fmt::Debug for ServiceNowTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceNowTarget")
            .field("instance", &self.instance.describe())
            .field("secret", &secret::REDACTED)
            .field("declared_tables", &self.tables.keys().collect::<Vec<_>>())
            .field("concurrency", &self.instance.concurrency)
            .field("page_size", &self.instance.page_size)
            .finish()
    }
}

#[async_trait]
impl Target for ServiceNowTarget {
    fn promises(&self) -> Promises {
        Promises {
            atomic_with_journal: false,
            max_batch: MAX_BATCH,
            concurrency: self.instance.concurrency,
        }
    }

    async fn describe_table(&self, table: &str) -> Result<Option<TableSchema>, TargetError> {
        match self.tables.get(table) {
            Some(declared) => dictionary::declared(declared).map(Some),
            None => dictionary::describe(&self.instance, table).await,
        }
    }

    fn scan<'a>(
        &'a self,
        table: &'a str,
        schema: &'a TableSchema,
        sys_ids: Option<&'a [String]>,
    ) -> BoxStream<'a, Result<RecordKey, TargetError>> {
        table::scan(&self.instance, table, schema, sys_ids)
    }

    async fn read(
        &self,
        table: &str,
        schema: &TableSchema,
        sys_ids: &[String],
    ) -> Result<Vec<RecordState>, TargetError> {
        table::read(&self.instance, table, schema, sys_ids).await
    }

    async fn apply(
        &self,
        table: &str,
        schema: &TableSchema,
        batch: &[RowChange],
    ) -> Result<Vec<RowResult>, TargetError> {
        apply::apply(&self.instance, table, schema, batch).await
    }

    async fn write_attachment(
        &self,
        attachment: NewAttachment<'_>,
    ) -> Result<AttachmentRef, TargetError> {
        attachments::write(&self.instance, attachment).await
    }

    async fn delete_attachment(
        &self,
        _key: &AttachmentKey<'_>,
        held: &AttachmentRef,
    ) -> Result<(), TargetError> {
        attachments::delete(&self.instance, held).await
    }

    async fn find_attachment(
        &self,
        key: &AttachmentKey<'_>,
    ) -> Result<Option<AttachmentRef>, TargetError> {
        attachments::find(&self.instance, key).await
    }

    /// One record of the first declared table (else `sys_user`), ids only.
    /// Any answer but `401` proves the credentials work: a `403` or `400`
    /// there is about the table, not the connection.
    async fn reachable(&self) -> Result<(), TargetError> {
        let table = self.tables.keys().next().map_or("sys_user", String::as_str);
        let call = http::Call {
            method: reqwest::Method::GET,
            path: &["api", "now", "table", table],
            query: vec![
                ("sysparm_limit", "1".to_owned()),
                ("sysparm_fields", "sys_id".to_owned()),
                ("sysparm_no_count", "true".to_owned()),
            ],
            body: None,
            effect: http::Effect::Read,
        };
        self.instance.call(&call).await?;
        Ok(())
    }
}
