//! A stand-in for a customer's ServiceNow instance, for the connector's
//! tests, benches and demos: the subset of the documented REST Table API,
//! Attachment API and OAuth token endpoint that the connector uses, served
//! over real HTTP from memory, plus the failures a connector must survive
//! (ACL denials, 429 rate limiting, latency, 5xx answers, connections
//! dropped before or after a write took effect), switchable at run time.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use rrs_fake_servicenow::{Config, FakeServiceNow, FaultSpec};
//! let fake = FakeServiceNow::start(Config::new().demo_tables().basic_user("admin", "pw")).await?;
//! fake.handle.add_fault(FaultSpec::drop_after_apply(1));
//! // point the client at fake.base_url ...
//! fake.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! See the crate README for what is documented ServiceNow behaviour and
//! what is assumed.

mod acl;
mod attachment_api;
mod auth;
mod config;
mod connection;
mod control;
mod dictionary;
mod faults;
mod handle;
mod log;
mod oauth;
mod query;
mod rate_limit;
mod render;
mod reply;
mod routes;
mod schema;
mod server;
mod state;
mod table_api;
pub mod table_spec;
mod urlencoded;
mod values;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use acl::AclRule;
pub use config::{BasicUser, Behaviour, Column, Config, OAuthClient, TableSchema};
pub use faults::{FaultKind, FaultSpec, PendingFault};
pub use handle::{AttachmentInfo, FakeHandle};
pub use log::RequestLogEntry;
pub use rate_limit::{Burst, RateLimit, RULE_SYS_ID};
pub use values::{content_sha256, Fields};

/// Entry point: starts fake instances.
#[derive(Debug)]
pub struct FakeServiceNow;

/// A fake instance serving in the background until shut down or dropped.
pub struct Running {
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub base_url: String,
    pub addr: SocketAddr,
    pub handle: FakeHandle,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl FakeServiceNow {
    /// Serves `config` on 127.0.0.1, on a free port.
    pub async fn start(config: Config) -> anyhow::Result<Running> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `config` on `addr` (port 0 picks a free port).
    pub async fn start_on(config: Config, addr: SocketAddr) -> anyhow::Result<Running> {
        let schema = schema::Schema::resolve(&config.tables).context("table configuration")?;
        let tcp = TcpListener::bind(addr)
            .into_acceptor()
            .await
            .with_context(|| format!("binding {addr}"))?;
        let connections = Arc::new(connection::Connections::default());
        let acceptor = connection::KillableAcceptor {
            inner: tcp,
            connections: connections.clone(),
        };
        let bound = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("the listener has no socket address")?;
        let base_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        let shared = Arc::new(state::Shared::new(config, schema, base_url, connections));
        let endpoint = server::FakeEndpoint {
            shared: shared.clone(),
        };
        let (shutdown, signal) = oneshot::channel::<()>();
        let server = poem::Server::new_with_acceptor(acceptor);
        let task = tokio::spawn(async move {
            let signal = async move {
                let _ = signal.await;
            };
            server
                .run_with_graceful_shutdown(
                    endpoint,
                    signal,
                    Some(std::time::Duration::from_secs(1)),
                )
                .await
        });
        Ok(Running {
            base_url: shared.base_url.clone(),
            addr: bound,
            handle: FakeHandle::new(shared),
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to 1 s), stops.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.context("server task")?.context("server")?;
        }
        Ok(())
    }

    /// Serves until the server stops (for the binary).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        if let Some(task) = self.task.take() {
            task.await.context("server task")?.context("server")?;
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
