//! The restore service: `build_app` assembles the real router from a
//! configuration, so tests and the binary run exactly the same thing.

pub mod api;
pub mod cli;
pub mod config;
pub mod domain;
pub mod media_store;
pub mod policy;
pub mod store;
pub mod target;
pub mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, EndpointExt, Route, Server};

use config::Config;
use domain::RestoreService;
use store::Store;

/// mimalloc for every binary built on this crate (the service, its tests
/// and its benches, which so measure what runs): planning and applying a
/// restore and deciding a policy allocate many small, short-lived values
/// (rows, JSON values, decision records, wasmtime's per-store state), where
/// glibc's malloc showed up at 10-20% of profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A ready-to-serve application: the domain service behind the endpoint.
pub struct App {
    pub service: RestoreService,
    /// A token generated at this start, to be shown once.
    pub new_bootstrap_token: Option<String>,
}

/// Connects the database and applies pending migrations.
pub async fn migrate(config: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let store = Store::connect(&config.database_url(), &config.database)
        .await
        .context("cannot connect to the database")?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store)
}

/// Connects the database, applies migrations and prepares the state.
pub async fn prepare(config: Config) -> anyhow::Result<App> {
    config.check_media_is_shared()?;
    let store = migrate(&config).await?;
    let new_bootstrap_token = domain::auth::ensure_bootstrap(
        &store,
        config.auth.bootstrap_token.as_deref(),
        chrono::Utc::now(),
    )
    .await
    .context("cannot set up the bootstrap token")?;
    let policies = load_policies(&config)?;
    let evidence = domain::evidence::service::load(
        &store,
        &config.evidence,
        &config.data_dir,
        chrono::Utc::now(),
    )
    .await
    .context("cannot set up evidence signing")?;
    let media = media_store::MediaStore::open(&config.media, &config.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot open the media store: {e}"))?;
    tracing::info!(location = media.location(), "media store");
    if let Err(e) = media.check().await {
        // Not fatal: the store may come back; ingesting and restoring
        // attachments answer 503 `media_store_unavailable` until it does.
        tracing::error!(location = media.location(), error = %e, "the media store does not answer");
    }
    let service = RestoreService::new(
        store,
        policies,
        evidence,
        media,
        config,
        telemetry::metrics::handle(),
    )
    .map_err(|e| anyhow::anyhow!("cannot set up the targets: {e}"))?;
    if let Err(error) = service.publish_policy_set_at_start().await {
        // Not fatal: the poll records or converges once the database answers.
        tracing::error!(%error, "cannot record the policy set at start");
    }
    Ok(App {
        service,
        new_bootstrap_token,
    })
}

/// Loads the configured policy set (or the embedded default); a broken
/// policy refuses start-up with a message naming the file and the reason.
pub fn load_policies(config: &Config) -> anyhow::Result<policy::PolicyRegistry> {
    let options = policy::PolicyHostOptions {
        limits: policy::PolicyLimits::default(),
        cache_dir: Some(
            config
                .policies
                .cache_dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("policy-cache")),
        ),
    };
    let loaded = match &config.policies.path {
        Some(path) => policy::PolicyRegistry::load(path, options),
        None => policy::PolicyConfig::embedded_default()
            .and_then(|embedded| policy::PolicyRegistry::from_config(embedded, options)),
    };
    loaded.map_err(|error| anyhow::anyhow!("cannot load policies: {error}"))
}

/// The full HTTP app: API, Swagger UI, the document, errors and middleware.
pub fn build_app(domain: RestoreService, server_url: &str) -> impl Endpoint {
    let service = api::service(server_url);
    let document = api::spec_json_for(server_url);
    let routes = Arc::new(api::allow::RouteMethods::from_document(&document));
    let spec = poem::endpoint::make_sync(move |_| {
        poem::IntoResponse::with_content_type(document.clone(), "application/json")
    });
    let docs = service.swagger_ui();
    let body_limit = domain.config().server.body_limit_bytes;
    let retry_after_seconds = domain.config().database.retry_after_seconds;
    Route::new()
        .nest("/", service)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .data(domain)
        .with(api::request_context::RequestContext {
            body_limit,
            retry_after_seconds,
            routes,
        })
}

/// A listener bound to its address, not yet serving.
pub struct Bound {
    acceptor: poem::listener::TcpAcceptor,
    /// The real address (port 0 resolved).
    pub addr: std::net::SocketAddr,
}

/// Binds the configured address (port 0 picks a free port).
pub async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<Bound> {
    let acceptor = TcpListener::bind(addr)
        .into_acceptor()
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("the listener has no address")?;
    Ok(Bound { acceptor, addr })
}

/// Serves on a bound listener until `shutdown` completes, then drains
/// in-flight requests for at most the configured grace period.
pub async fn serve_on(
    app: App,
    bound: Bound,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let service = app.service;
    let grace = Duration::from_secs(service.config().server.shutdown_grace_seconds);
    let endpoint = build_app(service.clone(), &format!("http://{}", bound.addr));
    tracing::info!("listening on http://{}", bound.addr);
    let background = service.spawn_background();
    let shutdown = async move {
        shutdown.await;
        service.begin_shutdown();
    };
    let served = Server::new_with_acceptor(bound.acceptor)
        .run_with_graceful_shutdown(endpoint, shutdown, Some(grace))
        .await;
    background.abort();
    served.context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// Serves until SIGINT/SIGTERM, printing a newly generated bootstrap
/// token once.
pub async fn serve(app: App) -> anyhow::Result<()> {
    let bound = bind(app.service.config().server.listen_addr).await?;
    if let Some(token) = &app.new_bootstrap_token {
        println!("bootstrap admin token (shown once, stored only as a hash): {token}");
    }
    let reloader = reload_on_sighup(app.service.clone());
    let served = serve_on(app, bound, shutdown_signal()).await;
    reloader.abort();
    served
}

/// SIGHUP reloads the policy set (all or nothing; the old set stays on
/// failure, which is logged).
fn reload_on_sighup(service: RestoreService) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                match service.reload_and_record("SIGHUP").await {
                    Ok(generation) => tracing::info!(generation, "policies reloaded on SIGHUP"),
                    Err(error) => {
                        tracing::error!(%error, "policy reload refused; the old set keeps serving")
                    }
                }
            }
        }
        #[cfg(not(unix))]
        drop(service);
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutdown requested; draining");
}
