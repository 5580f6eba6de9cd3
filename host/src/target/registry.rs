//! Which connector serves which `tenant_id/instance_id`: the configured
//! targets, validated at start-up (a message names the key), and the
//! embedded target for every instance not configured.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::embedded::EmbeddedTarget;
use super::servicenow::ServiceNowTarget;
use super::settings::{TargetKind, TargetSettings};
use super::Target;
use crate::store::Store;

/// A configured target as `GET /v1/targets` shows it: never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    pub tenant_id: String,
    pub instance_id: String,
    pub kind: TargetKind,
    pub url: Option<String>,
    /// Whether it answered with the service's credentials just now.
    pub reachable: bool,
    /// Why not, when it did not.
    pub problem: Option<String>,
}

/// The configured connectors by `(tenant_id, instance_id)`.
type Configured = BTreeMap<(String, String), (TargetSettings, Arc<dyn Target>)>;

/// The targets of this service.
#[derive(Clone)]
pub struct Targets {
    store: Store,
    configured: Arc<Configured>,
}

impl Targets {
    /// Builds every configured connector; refuses a configuration with a
    /// message naming the key.
    pub fn new(store: Store, settings: &[TargetSettings]) -> Result<Self, String> {
        let mut configured = BTreeMap::new();
        for (index, entry) in settings.iter().enumerate() {
            let secret = entry.check(index)?;
            let target: Arc<dyn Target> = match (entry.kind, secret) {
                (TargetKind::Servicenow, Some(secret)) => Arc::new(
                    ServiceNowTarget::new(entry, secret)
                        .map_err(|e| format!("{}: {e}", entry.key(index)))?,
                ),
                _ => Arc::new(EmbeddedTarget::new(
                    store.clone(),
                    &entry.tenant_id,
                    &entry.instance_id,
                )),
            };
            let id = (entry.tenant_id.clone(), entry.instance_id.clone());
            if configured.insert(id, (entry.clone(), target)).is_some() {
                return Err(format!(
                    "{}: {}/{} is configured twice",
                    entry.key(index),
                    entry.tenant_id,
                    entry.instance_id
                ));
            }
        }
        Ok(Self {
            store,
            configured: Arc::new(configured),
        })
    }

    /// The target serving an instance (the embedded one when none is
    /// configured for it).
    pub fn get(&self, tenant_id: &str, instance_id: &str) -> Arc<dyn Target> {
        match self
            .configured
            .get(&(tenant_id.to_owned(), instance_id.to_owned()))
        {
            Some((_, target)) => Arc::clone(target),
            None => Arc::new(EmbeddedTarget::new(
                self.store.clone(),
                tenant_id,
                instance_id,
            )),
        }
    }

    /// The configured targets, each asked whether it answers (within
    /// `timeout`).
    pub async fn list(&self, timeout: Duration) -> Vec<TargetInfo> {
        let mut out = Vec::with_capacity(self.configured.len());
        for (settings, target) in self.configured.values() {
            let answered = tokio::time::timeout(timeout, target.reachable()).await;
            let problem = match answered {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(error.to_string()),
                Err(_) => Some(format!("no answer within {} ms", timeout.as_millis())),
            };
            out.push(TargetInfo {
                tenant_id: settings.tenant_id.clone(),
                instance_id: settings.instance_id.clone(),
                kind: settings.kind,
                url: settings.url.clone(),
                reachable: problem.is_none(),
                problem,
            });
        }
        out
    }
}
