//! `rrs`: the restore service binary. Parses arguments, loads the
//! configuration, sets up logging and hands over to the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Restore service for SaaS record backups.
#[derive(Parser)]
#[command(name = "rrs", version, about)]
struct Cli {
    /// Configuration file (default: ./rrs.toml if it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        println!("{}", rrs::api::spec_json());
        return Ok(());
    }
    let config = rrs::config::Config::load(cli.config.as_deref())?;
    rrs::telemetry::logging::init(&config.log);
    match cli.command {
        Command::Serve => rrs::serve(rrs::prepare(config).await?).await,
        Command::Migrate => {
            rrs::migrate(&config).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Openapi => Ok(()),
    }
}
