//! `rrs-fake-servicenow`: the fake instance as a process, for demos and
//! for tests or benches of a client in another process. Control it over
//! `/fake/...` (see the README).

use std::net::SocketAddr;

use anyhow::{bail, Context};
use clap::Parser;
use rrs_fake_servicenow::table_spec::{parse_extends, parse_table};
use rrs_fake_servicenow::{Config, FakeServiceNow};

/// A fake ServiceNow instance (Table, Attachment and OAuth token APIs) in memory.
#[derive(Debug, Parser)]
#[command(name = "rrs-fake-servicenow", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// HTTP Basic user.
    #[arg(long, env = "RRS_FAKE_SN_USER", default_value = "admin")]
    user: String,
    /// HTTP Basic password.
    #[arg(long, env = "RRS_FAKE_SN_PASSWORD")]
    password: String,
    /// OAuth client as CLIENT_ID:SECRET; its tokens act as --user (repeatable).
    #[arg(long = "oauth-client", value_name = "ID:SECRET")]
    oauth_clients: Vec<String>,
    /// A table: name:col,col=type,col=ref:table (repeatable). Without any,
    /// the demo tables sys_user, task and incident (extends task) are served.
    #[arg(long = "table", value_name = "SPEC")]
    tables: Vec<String>,
    /// Inheritance: child=parent (repeatable), e.g. incident=task.
    #[arg(long = "extends", value_name = "CHILD=PARENT")]
    extends: Vec<String>,
    /// Delay added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Base URL written into links, if clients reach the fake through another address.
    #[arg(long)]
    public_url: Option<String>,
}

fn config(args: &Args) -> anyhow::Result<Config> {
    let mut config = Config::new()
        .basic_user(&args.user, &args.password)
        .latency_ms(args.latency_ms);
    config.public_url = args.public_url.clone();
    for client in &args.oauth_clients {
        let (id, secret) = client
            .split_once(':')
            .with_context(|| format!("--oauth-client {client:?} is not ID:SECRET"))?;
        config = config.oauth_client(id, secret, &args.user);
    }
    if args.tables.is_empty() {
        config = config.demo_tables();
    }
    for spec in &args.tables {
        config = config.table(parse_table(spec)?);
    }
    for spec in &args.extends {
        let (child, parent) = parse_extends(spec)?;
        let Some(table) = config.tables.iter_mut().find(|t| t.name == child) else {
            bail!("--extends {spec}: no table {child}");
        };
        table.extends = Some(parent);
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let running = FakeServiceNow::start_on(config(&args)?, args.listen).await?;
    println!("listening on http://{}", running.addr);
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
        result = running.wait() => return result,
    }
    Ok(())
}
