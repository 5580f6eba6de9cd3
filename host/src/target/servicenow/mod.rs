//! A ServiceNow instance over its REST Table and Attachment APIs.

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::settings::TargetSettings;
use super::{
    AttachmentKey, AttachmentRef, NewAttachment, Promises, RecordKey, RecordState, RowChange,
    RowResult, TableSchema, Target, TargetError,
};

/// One ServiceNow instance.
pub struct ServiceNowTarget {
    settings: TargetSettings,
}

impl ServiceNowTarget {
    /// A connector for the configured instance.
    pub fn new(settings: &TargetSettings, _secret: String) -> Result<Self, String> {
        Ok(Self {
            settings: settings.clone(),
        })
    }

    fn unbuilt(&self) -> TargetError {
        TargetError::Unavailable(format!(
            "the ServiceNow connector for {:?} is not built yet",
            self.settings.url
        ))
    }
}

#[async_trait]
impl Target for ServiceNowTarget {
    fn promises(&self) -> Promises {
        Promises {
            atomic_with_journal: false,
            max_batch: 100,
            concurrency: self.settings.concurrency,
        }
    }

    async fn describe_table(&self, _table: &str) -> Result<Option<TableSchema>, TargetError> {
        Err(self.unbuilt())
    }

    fn scan<'a>(
        &'a self,
        _table: &'a str,
        _schema: &'a TableSchema,
        _sys_ids: Option<&'a [String]>,
    ) -> BoxStream<'a, Result<RecordKey, TargetError>> {
        Box::pin(futures::stream::once(async move { Err(self.unbuilt()) }))
    }

    async fn read(
        &self,
        _table: &str,
        _schema: &TableSchema,
        _sys_ids: &[String],
    ) -> Result<Vec<RecordState>, TargetError> {
        Err(self.unbuilt())
    }

    async fn apply(
        &self,
        _table: &str,
        _schema: &TableSchema,
        _batch: &[RowChange],
    ) -> Result<Vec<RowResult>, TargetError> {
        Err(self.unbuilt())
    }

    async fn write_attachment(
        &self,
        _attachment: NewAttachment<'_>,
    ) -> Result<AttachmentRef, TargetError> {
        Err(self.unbuilt())
    }

    async fn find_attachment(
        &self,
        _key: &AttachmentKey<'_>,
    ) -> Result<Option<AttachmentRef>, TargetError> {
        Err(self.unbuilt())
    }

    async fn reachable(&self) -> Result<(), TargetError> {
        Err(self.unbuilt())
    }
}
