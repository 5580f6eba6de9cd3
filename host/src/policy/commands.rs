//! Author tooling behind `rrs policy check`, `rrs policy eval` and
//! `rrs policy test` (against a policy file, or one plugin file with
//! coverage): library functions the CLI calls and prints. They use
//! the same loader and sandbox as the service, so what passes here loads
//! and decides the same way in `serve`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::author::coverage::{self, Coverage};
use super::author::standalone;
use super::engine::PolicyHostOptions;
use super::kind::PolicyKind;
use super::record::{Decision, DecisionRecord};
use super::registry::PolicyRegistry;

/// `rrs policy check`: loads and validates every configured policy (digest,
/// world, settings, test instantiation) and summarises them, one line each.
/// An error carries the loader's message (file, kind, plugin, reason).
pub fn check(config_path: &Path) -> anyhow::Result<String> {
    let registry = PolicyRegistry::load(config_path, PolicyHostOptions::default())?;
    let mut summary = format!(
        "{}: every policy loads and accepts its settings\n",
        config_path.display()
    );
    for p in registry.list() {
        let signer = p.signer.map_or_else(
            || "unsigned".to_string(),
            |s| format!("signed-by={} ({})", s.key_name, s.fingerprint),
        );
        summary.push_str(&format!(
            "  {:<10} {} {} sha256:{} plugin={} {signer} settings={}\n",
            p.kind.as_str(),
            p.name,
            p.version,
            p.digest,
            p.plugin,
            p.settings
        ));
    }
    Ok(summary)
}

/// `rrs policy eval --kind K --input FILE [--settings FILE]`: one decision
/// over the JSON input in `input_path` (the serde form of [`super::GateInput`],
/// [`super::CapabilityInput`] or [`super::MediaCapsInput`]), with the
/// configured settings or those in `settings_path` (JSON, validated by the
/// plugin first). Returns `{kind, policy, outcome, output}`, where `output`
/// is the decision or `{"policy_error", "message"}`.
pub fn eval(
    config_path: &Path,
    kind: PolicyKind,
    input_path: &Path,
    settings_path: Option<&Path>,
) -> anyhow::Result<Value> {
    let registry = PolicyRegistry::load(config_path, PolicyHostOptions::default())?;
    let input = read_json(input_path)?;
    let settings = settings_path.map(read_json).transpose()?;
    let record = decide_value(&registry, kind, input, settings.as_ref())?;
    Ok(summarise(&record))
}

/// One case of a decision table (`plugins/<plugin>/cases.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyCase {
    pub name: String,
    /// Overrides the configured settings for this case.
    #[serde(default)]
    pub settings: Option<Value>,
    pub input: Value,
    /// A subset of the `eval` output's `output` that must match, e.g.
    /// `{"executability": "blocked", "reasons": [...]}`.
    pub expect: Value,
}

/// The result of [`test_cases`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseReport {
    pub passed: Vec<String>,
    /// `(case name, what differed)`.
    pub failed: Vec<(String, String)>,
    /// The outcomes and reason codes the cases' decisions reached (see
    /// [`coverage::reached_by`]), whether or not they passed.
    pub reached: BTreeSet<String>,
}

impl CaseReport {
    /// `N passed, N failed` plus one line per failure.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        for (name, why) in &self.failed {
            text.push_str(&format!("FAILED {name}: {why}\n"));
        }
        text.push_str(&format!(
            "{} passed, {} failed\n",
            self.passed.len(),
            self.failed.len()
        ));
        text
    }
}

/// `rrs policy test --kind K --cases FILE`: runs a JSON table of
/// [`PolicyCase`]s through the configured `kind` policy.
pub fn test_cases(
    config_path: &Path,
    kind: PolicyKind,
    cases_path: &Path,
) -> anyhow::Result<CaseReport> {
    let registry = PolicyRegistry::load(config_path, PolicyHostOptions::default())?;
    run_cases(&registry, kind, &read_cases(cases_path)?)
}

/// `rrs policy test --kind K --plugin X.wasm --cases FILE [--settings S]`:
/// runs the table through one plugin file, with no policy file (see
/// [`standalone`]), and measures its coverage of the kind's outcomes and
/// reason codes.
pub fn test_plugin(
    kind: PolicyKind,
    plugin: &Path,
    cases_path: &Path,
    settings_path: Option<&Path>,
) -> anyhow::Result<(CaseReport, Coverage)> {
    let settings = settings_path.map(read_json).transpose()?;
    let registry = standalone::registry_for_plugin(kind, plugin, settings)?;
    let cases = read_cases(cases_path)?;
    let report = run_cases(&registry, kind, &cases)?;
    let coverage = Coverage::of(kind, &report.reached);
    Ok((report, coverage))
}

/// Fails when `coverage` is below `min_percent`, naming what is missing.
pub fn assert_coverage(coverage: &Coverage, min_percent: f64) -> anyhow::Result<()> {
    if coverage.percent + 1e-9 < min_percent {
        bail!(
            "coverage {:.1}% is below --min-coverage {min_percent}: no case reaches {}",
            coverage.percent,
            coverage.missing.join(", ")
        );
    }
    Ok(())
}

fn read_cases(cases_path: &Path) -> anyhow::Result<Vec<PolicyCase>> {
    serde_json::from_value(read_json(cases_path)?)
        .with_context(|| format!("{}: not a list of cases", cases_path.display()))
}

/// Runs `cases` through `registry`'s `kind` policy.
pub fn run_cases(
    registry: &PolicyRegistry,
    kind: PolicyKind,
    cases: &[PolicyCase],
) -> anyhow::Result<CaseReport> {
    let mut report = CaseReport::default();
    for case in cases {
        let record = decide_value(registry, kind, case.input.clone(), case.settings.as_ref())
            .with_context(|| format!("case `{}`", case.name))?;
        report.reached.extend(coverage::reached_by(&record));
        match mismatch(&case.expect, &record.output, "output") {
            None => report.passed.push(case.name.clone()),
            Some(why) => report.failed.push((case.name.clone(), why)),
        }
    }
    Ok(report)
}

/// One decision from untyped JSON (the CLI's input files).
pub fn decide_value(
    registry: &PolicyRegistry,
    kind: PolicyKind,
    input: Value,
    settings: Option<&Value>,
) -> anyhow::Result<DecisionRecord> {
    let settings_json = match settings {
        Some(settings) => {
            let text = settings.to_string();
            registry
                .validate_settings(kind, &text)
                .map_err(anyhow::Error::msg)
                .context("settings rejected")?;
            Some(text)
        }
        None => None,
    };
    let settings = settings_json.as_deref();
    let bad_input = || format!("the input is not a valid {kind} input");
    Ok(match kind {
        PolicyKind::Gate => record(registry.decide_gate_with(
            &serde_json::from_value(input).with_context(bad_input)?,
            settings,
        )),
        PolicyKind::Capability => record(registry.decide_capability_with(
            &serde_json::from_value(input).with_context(bad_input)?,
            settings,
        )),
        PolicyKind::MediaCaps => record(registry.decide_media_caps_with(
            &serde_json::from_value(input).with_context(bad_input)?,
            settings,
        )),
    })
}

fn record<T>(decision: Decision<T>) -> DecisionRecord {
    decision.record
}

fn summarise(record: &DecisionRecord) -> Value {
    json!({
        "kind": record.kind,
        "policy": {
            "name": record.policy_name,
            "version": record.policy_version,
            "digest": record.policy_digest,
        },
        "outcome": record.outcome,
        "output": record.output,
    })
}

pub(crate) fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", path.display()))
}

/// `None` when every field of `expected` is in `actual` with the same value
/// (objects recursively; everything else exactly).
fn mismatch(expected: &Value, actual: &Value, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => want.iter().find_map(|(key, value)| {
            let path = format!("{at}.{key}");
            match got.get(key) {
                Some(actual) => mismatch(value, actual, &path),
                None => Some(format!("{path} is missing (expected {value})")),
            }
        }),
        _ if expected == actual => None,
        _ => Some(format!("{at} is {actual}, expected {expected}")),
    }
}

/// Fails unless every case passed; for tests and scripts.
pub fn assert_all_passed(report: &CaseReport) -> anyhow::Result<()> {
    if report.failed.is_empty() {
        Ok(())
    } else {
        bail!("{}", report.summary())
    }
}
