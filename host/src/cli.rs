//! The `rrs` command line: `serve`, `migrate`, `openapi`, the policy
//! author's `policy` commands (`new`, `build`, `check`, `eval`, `test`,
//! `bench`, `keygen`, `sign`, `replay`) and `evidence verify`. It lives in
//! the library so the test suite's server binary runs exactly the same code
//! as the shipped one.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::policy::{self, PolicyKind};

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
    /// Policy author tooling.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Evidence package tools for auditors.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Load and validate every configured policy (digest, world, settings).
    Check {
        /// Policy file (default: the configured one, `RRS_POLICIES`).
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Run one decision and print it as JSON.
    Eval {
        /// Which decision.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// JSON input of the decision.
        #[arg(long)]
        input: PathBuf,
        /// JSON settings to use instead of the configured ones.
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Policy file (default: the configured one, `RRS_POLICIES`).
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Run a table of decision cases (JSON list of `{name, input, expect}`)
    /// and fail on any mismatch; with `--plugin`, through that plugin file
    /// (no policy file needed) and with coverage of the kind's outcomes and
    /// reason codes.
    Test {
        /// Which decision.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// The JSON file of cases.
        #[arg(long)]
        cases: PathBuf,
        /// A plugin component to test instead of the policy file's.
        #[arg(long, conflicts_with = "policies")]
        plugin: Option<PathBuf>,
        /// JSON settings for the plugin (with `--plugin`; default `{}`).
        #[arg(long, requires = "plugin")]
        settings: Option<PathBuf>,
        /// Fail below this percentage of the kind's outcomes and reason
        /// codes reached by the cases (with `--plugin`).
        #[arg(long, requires = "plugin")]
        min_coverage: Option<f64>,
        /// Policy file (default: the configured one, `RRS_POLICIES`).
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Write a new standalone plugin crate (it builds outside this
    /// repository): a starting rule, a case table and a README.
    New {
        /// The plugin's name (its cargo package and metadata name).
        name: String,
        /// Which decision it makes.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Where to write it (default: ./NAME); must not exist or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Build a plugin crate for wasm32, encode it as a component, write
    /// NAME.wasm beside its Cargo.toml and print its sha256.
    Build {
        /// The crate (default: the current directory).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Cargo's target directory (default: DIR/target).
        #[arg(long)]
        target_dir: Option<PathBuf>,
    },
    /// Time decisions of a plugin, each in a fresh sandboxed instance as the
    /// service runs them; prints p50 and p99.
    Bench {
        /// Which decision.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// The plugin component.
        #[arg(long)]
        plugin: PathBuf,
        /// JSON input of the decision (as `rrs policy eval` takes it).
        #[arg(long)]
        input: PathBuf,
        /// JSON settings for the plugin (default `{}`).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Measured decisions.
        #[arg(long, default_value_t = 1000)]
        iterations: usize,
    },
    /// Generate an ed25519 signing key (PKCS#8 PEM); prints the public key
    /// for a policy file's `trusted_keys`.
    Keygen {
        /// Where to write the private key (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a plugin: writes PLUGIN.sig, an ed25519 signature of its sha256.
    Sign {
        /// The private key (`rrs policy keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The plugin component.
        plugin: PathBuf,
    },
    /// Decide the inputs of the decision log again with a candidate plugin
    /// and list every decision it makes differently. Reads the configured
    /// database; writes nothing. Exits 0 when the candidate decides every
    /// replayed input alike, 1 when any differs (or on an error).
    Replay {
        /// Which decisions.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// The candidate component (`.wasm`).
        #[arg(long)]
        plugin: PathBuf,
        /// Decisions made at or after this time (RFC 3339).
        #[arg(long)]
        since: chrono::DateTime<chrono::FixedOffset>,
        /// Decisions made before this time (RFC 3339; default: now).
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// JSON settings for the candidate instead of the kind's configured
        /// ones.
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Policy file the other kinds and the default settings come from
        /// (default: the configured one, `RRS_POLICIES`).
        #[arg(long)]
        policies: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// Verify an exported evidence package offline (no service, no
    /// database): every artifact hash, the report hash, the manifest hash
    /// and its ed25519 signature. Prints the result as JSON; exits non-zero
    /// unless the package verifies.
    Verify {
        /// The package file (`GET /v1/jobs/{job_id}/evidence/package`).
        file: PathBuf,
        /// The signer's public key, SPKI PEM (`GET /v1/evidence/keys`).
        /// Without it the key embedded in the package is used, which proves
        /// integrity but not who signed.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Gate,
    Capability,
    #[value(alias = "media_caps")]
    MediaCaps,
}

impl From<KindArg> for PolicyKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Gate => PolicyKind::Gate,
            KindArg::Capability => PolicyKind::Capability,
            KindArg::MediaCaps => PolicyKind::MediaCaps,
        }
    }
}

/// Runs the command line; the binary's `main` is just this.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        println!("{}", crate::api::spec_json());
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref())?;
    let mut log = config.log.clone();
    // An author's commands print their result on stdout; the service's
    // info lines ("policy loaded", ...) would only bury it. Warnings (an
    // unaccepted signature) and errors still show, and a configured filter
    // wins.
    if matches!(cli.command, Command::Policy(_))
        && log.filter == crate::config::LogConfig::default().filter
    {
        log.filter = "warn".to_owned();
    }
    crate::telemetry::logging::init(&log);
    match cli.command {
        Command::Serve => crate::serve(crate::prepare(config).await?).await,
        Command::Migrate => {
            crate::migrate(&config).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Policy(PolicyCommand::Replay {
            kind,
            plugin,
            since,
            until,
            settings,
            policies,
        }) => {
            let path = policy_file(&config, policies)?;
            let replay = Replay {
                kind: kind.into(),
                plugin,
                since: since.with_timezone(&chrono::Utc),
                until: until.map(|u| u.with_timezone(&chrono::Utc)),
                settings,
                policies: path,
            };
            run_replay(&config, replay).await
        }
        Command::Policy(command) => run_policy(&config, command),
        Command::Evidence(EvidenceCommand::Verify { file, public_key }) => {
            crate::domain::evidence::offline::run_verify(&file, public_key.as_deref())
        }
        Command::Openapi => Ok(()),
    }
}

fn run_policy(config: &Config, command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Check { policies } => {
            let path = policy_file(config, policies)?;
            print!("{}", policy::commands::check(&path)?);
        }
        PolicyCommand::Eval {
            kind,
            input,
            settings,
            policies,
        } => {
            let path = policy_file(config, policies)?;
            let output = policy::commands::eval(&path, kind.into(), &input, settings.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&output)?);
        }
        PolicyCommand::Test {
            kind,
            cases,
            plugin: Some(plugin),
            settings,
            min_coverage,
            ..
        } => {
            let (report, coverage) =
                policy::commands::test_plugin(kind.into(), &plugin, &cases, settings.as_deref())?;
            print!("{}{}", report.summary(), coverage.summary());
            policy::commands::assert_all_passed(&report)?;
            if let Some(min) = min_coverage {
                policy::commands::assert_coverage(&coverage, min)?;
            }
        }
        PolicyCommand::Test {
            kind,
            cases,
            policies,
            ..
        } => {
            let path = policy_file(config, policies)?;
            let report = policy::commands::test_cases(&path, kind.into(), &cases)?;
            print!("{}", report.summary());
            policy::commands::assert_all_passed(&report)?;
        }
        other => run_author(other)?,
    }
    Ok(())
}

/// The commands that need no configuration or policy file.
fn run_author(command: PolicyCommand) -> anyhow::Result<()> {
    use crate::policy::{author, signature};
    match command {
        PolicyCommand::New { name, kind, dir } => {
            let dir = author::scaffold::new_plugin(&name, kind.into(), dir.as_deref())?;
            println!(
                "wrote the {} plugin crate {name} in {}",
                PolicyKind::from(kind),
                dir.display()
            );
        }
        PolicyCommand::Build { dir, target_dir } => {
            let built = author::package::build(&dir, target_dir.as_deref())?;
            println!("wrote {}", built.wasm.display());
            println!("sha256 {}", built.digest);
            println!("memory {} KiB", built.memory_bytes >> 10);
            if let Some(warning) = built.memory_warning() {
                eprintln!("warning: {warning}");
            }
        }
        PolicyCommand::Bench {
            kind,
            plugin,
            input,
            settings,
            iterations,
        } => {
            let settings = settings
                .as_deref()
                .map(policy::commands::read_json)
                .transpose()?;
            let report = author::bench::bench(kind.into(), &plugin, &input, settings, iterations)?;
            print!("{}", report.summary());
        }
        PolicyCommand::Keygen { out } => {
            let (public_key, fingerprint) = signature::keygen(&out)?;
            println!("wrote the private key {}", out.display());
            println!("public_key = \"{public_key}\"");
            println!("fingerprint {fingerprint}");
        }
        PolicyCommand::Sign { key, plugin } => {
            let (path, digest, fingerprint) = signature::sign(&key, &plugin)?;
            println!("wrote {}", path.display());
            println!("sha256 {digest}");
            println!("signed by {fingerprint}");
        }
        PolicyCommand::Check { .. } | PolicyCommand::Eval { .. } | PolicyCommand::Test { .. } => {}
        PolicyCommand::Replay { .. } => {
            anyhow::bail!("policy replay runs in the async runtime")
        }
    }
    Ok(())
}

struct Replay {
    kind: PolicyKind,
    plugin: PathBuf,
    since: chrono::DateTime<chrono::Utc>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    settings: Option<PathBuf>,
    policies: PathBuf,
}

/// `rrs policy replay`: prints each difference and a summary; an error
/// (exit 1) when any decision differs.
async fn run_replay(config: &Config, replay: Replay) -> anyhow::Result<()> {
    let base = policy::PolicyConfig::from_file(&replay.policies)?;
    let (candidate, _) = policy::candidate_registry(base, replay.kind, &replay.plugin)?;
    let settings = match &replay.settings {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{}: invalid JSON", path.display()))?,
            )
        }
        None => None,
    };
    let store = crate::store::Store::connect(&config.database_url(), &config.database)
        .await
        .context("cannot connect to the database")?;
    let report = crate::domain::policy_replay::replay(
        &store,
        &candidate,
        replay.kind,
        replay.since,
        replay.until,
        settings.as_ref(),
    )
    .await?;
    print!("{}", report.text());
    if report.differences.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "the candidate decides {} of {} replayed decisions differently",
            report.differences.len(),
            report.replayed
        )
    }
}

/// The policy file to use: explicit, configured, or the embedded default
/// written to a temporary file.
fn policy_file(config: &Config, explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit.or_else(|| config.policies.path.clone()) {
        return Ok(path);
    }
    let dir = std::env::temp_dir().join(format!("rrs-default-policies-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("default.toml");
    std::fs::write(&path, policy::DEFAULT_POLICIES_TOML)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
