//! The policy set the service decides with. [`PolicyRegistry`] loads a set
//! from a policy file, serves decisions from it, and reloads it atomically:
//! the new set is loaded, compiled, validated and test-instantiated in full
//! before it replaces the old one (an `ArcSwap`, so decisions in flight keep
//! the set they started with and never wait on a lock); on any failure the
//! old set keeps serving.
//!
//! Decisions are synchronous. A decision is a fresh instance and one call,
//! 7-15 µs at p50 on the 2-core machines measured (`policy_decisions`
//! bench; ~4 µs of it is the fresh instance itself). Even a hostile plugin
//! is stopped after about twice its time budget (100 ms plus 20 µs per
//! input item by default; see `deadline`), so async callers may call
//! directly from a task; moving a typical decision to `spawn_blocking`
//! would cost more than the call. A caller deciding over a very large input
//! (tens of thousands of delete candidates: milliseconds) should wrap the
//! call in `spawn_blocking` (the registry is `Clone + Send + Sync`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use super::cache::ComponentCache;
use super::capability::{self, CapabilityDecision, CapabilityInput};
use super::engine::{PolicyEngine, PolicyHostOptions};
use super::failure::{PolicyFailure, PolicyLoadError};
use super::gate::{self, GateInput, GateOutput};
use super::gate_v1_0;
use super::kind::PolicyKind;
use super::loader::{self, load_policy, on_policy, LoadedPolicy, PolicyInfo, Pre};
use super::media_caps::{self, MediaCapsInput, MediaCapsOutput};
use super::policy_file::PolicyConfig;
use super::record::{logged_input, Decision, DecisionOutcome, DecisionRecord, PolicyRef};
use super::sandbox;
use super::set_record::{set_digest, RecordableSet, SetEntry, SetShadow};
use super::shadow::{ShadowDisagreement, ShadowJob, ShadowRunner, ShadowSide};

/// Where the registry (re)loads its configuration from.
#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Config(Box<PolicyConfig>),
}

pub(crate) struct PolicySet {
    policies: Vec<LoadedPolicy>,
    /// What the database records of this set ([`RecordableSet`]).
    entries: Vec<SetEntry>,
    digest: String,
}

impl PolicySet {
    fn get(&self, kind: PolicyKind) -> Option<&LoadedPolicy> {
        self.policies.iter().find(|p| p.info.kind == kind)
    }
}

struct Inner {
    engine: PolicyEngine,
    cache: ComponentCache,
    source: Mutex<Source>,
    current: ArcSwap<PolicySet>,
    /// The recorded generation of the current set; 0 until it is known.
    generation: AtomicI64,
    /// Held while a set is reloaded and recorded, or converged to, so a
    /// replica never records one set while adopting another.
    sync: tokio::sync::Mutex<()>,
    shadow: ShadowRunner,
}

impl super::shadow::EngineRef for Inner {
    fn engine(&self) -> &PolicyEngine {
        &self.engine
    }
}

/// The loaded policies; cheap to clone, shared by every request.
#[derive(Clone)]
pub struct PolicyRegistry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PolicyRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyRegistry")
            .field("policies", &self.list())
            .finish()
    }
}

impl PolicyRegistry {
    /// Loads the policy file at `path` (e.g. `RRS_POLICIES`); an error means
    /// the service must refuse to start, with that message.
    pub fn load(path: &Path, options: PolicyHostOptions) -> Result<Self, PolicyLoadError> {
        Self::with_source(Source::File(path.to_path_buf()), options)
    }

    /// Loads an already parsed configuration (e.g. the embedded default).
    pub fn from_config(
        config: PolicyConfig,
        options: PolicyHostOptions,
    ) -> Result<Self, PolicyLoadError> {
        Self::with_source(Source::Config(Box::new(config)), options)
    }

    fn with_source(source: Source, options: PolicyHostOptions) -> Result<Self, PolicyLoadError> {
        let host_error = |reason: String| PolicyLoadError {
            file: source_file(&source),
            kind: None,
            plugin: None,
            reason,
            refusal: None,
        };
        let engine = PolicyEngine::new(options.limits).map_err(host_error)?;
        let cache = ComponentCache::new(options.cache_dir).map_err(host_error)?;
        let set = load_set(&engine, &cache, &read_source(&source)?)?;
        let inner = Inner {
            engine,
            cache,
            source: Mutex::new(source),
            current: ArcSwap::from_pointee(set),
            generation: AtomicI64::new(0),
            sync: tokio::sync::Mutex::new(()),
            shadow: ShadowRunner::new(),
        };
        let registry = Self {
            inner: Arc::new(inner),
        };
        for info in registry.list() {
            tracing::info!(kind = %info.kind, name = %info.name, version = %info.version,
                digest = %info.digest, "policy loaded");
        }
        Ok(registry)
    }

    /// Re-reads the configuration this registry was loaded from and swaps
    /// the new set in; on error the old set stays and keeps serving.
    pub fn reload(&self) -> Result<Vec<PolicyInfo>, PolicyLoadError> {
        let source = self.lock_source().clone();
        self.reload_from(source)
    }

    /// Like [`Self::reload`], from a new policy file that later reloads reuse.
    pub fn reload_file(&self, path: &Path) -> Result<Vec<PolicyInfo>, PolicyLoadError> {
        self.reload_from(Source::File(path.to_path_buf()))
    }

    fn reload_from(&self, source: Source) -> Result<Vec<PolicyInfo>, PolicyLoadError> {
        let mut current_source = self.lock_source();
        let loaded = read_source(&source)
            .and_then(|config| load_set(&self.inner.engine, &self.inner.cache, &config));
        match loaded {
            Ok(set) => {
                self.inner.current.store(Arc::new(set));
                *current_source = source;
                metrics::counter!("rrs_policy_reloads_total", "outcome" => "ok").increment(1);
                tracing::info!("policy set reloaded");
                Ok(self.list())
            }
            Err(e) => {
                metrics::counter!("rrs_policy_reloads_total", "outcome" => "error").increment(1);
                tracing::error!(error = %e, "policy reload failed; the old set stays");
                Err(e)
            }
        }
    }

    fn lock_source(&self) -> std::sync::MutexGuard<'_, Source> {
        // A panic while holding this lock cannot leave `Source` half-written.
        self.inner
            .source
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Swaps in a set recorded by another replica (`config` from
    /// [`super::recorded_config`]) as `generation`. The configuration later
    /// reloads read stays this replica's own; on error the old set stays.
    pub fn adopt(&self, config: &PolicyConfig, generation: i64) -> Result<(), PolicyLoadError> {
        match load_set(&self.inner.engine, &self.inner.cache, config) {
            Ok(set) => {
                self.inner.current.store(Arc::new(set));
                self.set_generation(generation);
                metrics::counter!("rrs_policy_set_adoptions_total", "outcome" => "ok").increment(1);
                tracing::info!(generation, "converged to the recorded policy set");
                Ok(())
            }
            Err(e) => {
                metrics::counter!("rrs_policy_set_adoptions_total", "outcome" => "error")
                    .increment(1);
                tracing::error!(generation, error = %e,
                    "the recorded policy set does not load here; the old set stays");
                Err(e)
            }
        }
    }

    /// The current set as the database records it.
    pub fn recordable(&self) -> RecordableSet {
        let set = self.inner.current.load();
        let mut blobs = BTreeMap::new();
        for policy in &set.policies {
            for loaded in std::iter::once(policy).chain(policy.shadow.as_deref()) {
                if let Some(wasm) = &loaded.wasm {
                    blobs.insert(loaded.info.digest.clone(), Arc::clone(wasm));
                }
            }
        }
        RecordableSet {
            digest: set.digest.clone(),
            entries: set.entries.clone(),
            blobs,
        }
    }

    /// The current set's digest (see [`super::set_digest`]).
    pub fn set_digest(&self) -> String {
        self.inner.current.load().digest.clone()
    }

    /// The recorded generation of the current set, once known.
    pub fn generation(&self) -> Option<i64> {
        Some(self.inner.generation.load(Ordering::SeqCst)).filter(|g| *g > 0)
    }

    /// Marks the current set as recorded `generation`.
    pub fn set_generation(&self, generation: i64) {
        self.inner.generation.store(generation, Ordering::SeqCst);
    }

    /// Serialises reloading-and-recording with converging (see `Inner::sync`).
    pub async fn sync_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.sync.lock().await
    }

    /// The shadow candidates' disagreements, for the one task that records
    /// them; `None` once taken.
    pub fn take_shadow_disagreements(
        &self,
    ) -> Option<tokio::sync::mpsc::Receiver<ShadowDisagreement>> {
        self.inner.shadow.take_reports()
    }

    /// The shadow candidate of `kind`, when the set names one.
    pub fn shadow_policy(&self, kind: PolicyKind) -> Option<PolicyInfo> {
        let set = self.inner.current.load();
        set.get(kind)
            .and_then(|p| p.shadow.as_ref())
            .map(|s| s.info.clone())
    }

    /// The loaded policies (`GET /v1/policies`), in kind order.
    pub fn list(&self) -> Vec<PolicyInfo> {
        self.inner
            .current
            .load()
            .policies
            .iter()
            .map(|p| p.info.clone())
            .collect()
    }

    /// Which policy currently decides `kind`.
    pub fn policy(&self, kind: PolicyKind) -> Option<PolicyInfo> {
        self.inner.current.load().get(kind).map(|p| p.info.clone())
    }

    /// The gate of a dry-run plan.
    pub fn decide_gate(&self, input: &GateInput) -> Decision<GateOutput> {
        self.decide_gate_with(input, None)
    }

    /// Whether an execute or resume call may proceed.
    pub fn decide_capability(&self, input: &CapabilityInput) -> Decision<CapabilityDecision> {
        self.decide_capability_with(input, None)
    }

    /// Whether an execute or resume call may restore these attachments.
    pub fn decide_media_caps(&self, input: &MediaCapsInput) -> Decision<MediaCapsOutput> {
        self.decide_media_caps_with(input, None)
    }

    pub(crate) fn decide_gate_with(
        &self,
        input: &GateInput,
        settings: Option<&str>,
    ) -> Decision<GateOutput> {
        self.decide(
            PolicyKind::Gate,
            input,
            settings,
            gate_outcome,
            |engine, pre, settings| call_gate(engine, pre, settings, input),
            Some(call_gate),
        )
    }

    pub(crate) fn decide_capability_with(
        &self,
        input: &CapabilityInput,
        settings: Option<&str>,
    ) -> Decision<CapabilityDecision> {
        self.decide(
            PolicyKind::Capability,
            input,
            settings,
            allow_outcome,
            |engine, pre, settings| call_capability(engine, pre, settings, input),
            Some(call_capability),
        )
    }

    pub(crate) fn decide_media_caps_with(
        &self,
        input: &MediaCapsInput,
        settings: Option<&str>,
    ) -> Decision<MediaCapsOutput> {
        self.decide(
            PolicyKind::MediaCaps,
            input,
            settings,
            |o: &MediaCapsOutput| allow_outcome(&o.decision),
            |engine, pre, settings| call_media_caps(engine, pre, settings, input),
            Some(call_media_caps),
        )
    }

    /// The policy benchmark's baseline: the gate decision path of
    /// [`Self::decide_gate`] (decision id, span, metrics, input hash,
    /// output JSON, record) with the sandboxed call replaced by `rule`, the
    /// same rule in native Rust, given the configured settings JSON.
    #[doc(hidden)]
    pub fn decide_gate_natively(
        &self,
        input: &GateInput,
        rule: impl FnOnce(&GateInput, &str) -> GateOutput,
    ) -> Decision<GateOutput> {
        self.decide(
            PolicyKind::Gate,
            input,
            None,
            gate_outcome,
            |_, _, settings| Ok(rule(input, settings)),
            None,
        )
    }

    /// The capability twin of [`Self::decide_gate_natively`]: the decision
    /// path of [`Self::decide_capability`] with `rule` in place of the
    /// sandboxed call (the peer bench's native column).
    #[doc(hidden)]
    pub fn decide_capability_natively(
        &self,
        input: &CapabilityInput,
        rule: impl FnOnce(&CapabilityInput, &str) -> CapabilityDecision,
    ) -> Decision<CapabilityDecision> {
        self.decide(
            PolicyKind::Capability,
            input,
            None,
            allow_outcome,
            |_, _, settings| Ok(rule(input, settings)),
            None,
        )
    }

    /// The media caps twin of [`Self::decide_gate_natively`]: the decision
    /// path of [`Self::decide_media_caps`] with `rule` in place of the
    /// sandboxed call.
    #[doc(hidden)]
    pub fn decide_media_caps_natively(
        &self,
        input: &MediaCapsInput,
        rule: impl FnOnce(&MediaCapsInput, &str) -> MediaCapsOutput,
    ) -> Decision<MediaCapsOutput> {
        self.decide(
            PolicyKind::MediaCaps,
            input,
            None,
            |o: &MediaCapsOutput| allow_outcome(&o.decision),
            |_, _, settings| Ok(rule(input, settings)),
            None,
        )
    }

    /// The policy benchmark's floor: what a fresh instance per decision
    /// costs before any call, a new store with its limits and an instance
    /// of the current `kind` plugin, both dropped.
    #[doc(hidden)]
    pub fn instantiate_only(&self, kind: PolicyKind) -> Result<(), PolicyFailure> {
        let set = self.inner.current.load();
        let policy = set.get(kind).ok_or_else(wrong_pre)?;
        let engine = &self.inner.engine;
        on_policy!(engine, &policy.pre, |_policy, _store| Ok(()))
    }

    /// Asks the current `kind` plugin to validate `settings_json`.
    pub(crate) fn validate_settings(
        &self,
        kind: PolicyKind,
        settings_json: &str,
    ) -> Result<(), String> {
        let set = self.inner.current.load_full();
        let policy = set
            .get(kind)
            .ok_or_else(|| format!("no {kind} policy loaded"))?;
        loader::validate_settings(&self.inner.engine, &policy.pre, settings_json)
    }

    /// One decision: span, metrics and record around `call`; then, when
    /// the set names a shadow candidate for `kind` (and the configured
    /// settings are used), `shadow_call` queued for the shadow worker.
    fn decide<I, T>(
        &self,
        kind: PolicyKind,
        input: &I,
        settings: Option<&str>,
        outcome_of: fn(&T) -> DecisionOutcome,
        call: impl FnOnce(&PolicyEngine, &Pre, &str) -> Result<T, PolicyFailure>,
        shadow_call: Option<PolicyCall<I, T>>,
    ) -> Decision<T>
    where
        I: Serialize + Clone + Send + 'static,
        T: Serialize + 'static,
    {
        let set = self.inner.current.load_full();
        let decision_id = Uuid::new_v4();
        let started = Instant::now();
        let (info, result) = match set.get(kind) {
            Some(policy) => {
                let settings = settings.unwrap_or(&policy.settings_json);
                let result = traced(decision_id, &policy.info, outcome_of, || {
                    call(&self.inner.engine, &policy.pre, settings)
                });
                (policy.info.clone(), result)
            }
            None => (missing_info(kind), Err(wrong_pre())),
        };
        let outcome = result
            .as_ref()
            .map_or(DecisionOutcome::PolicyError, outcome_of);
        observe(&info, outcome, started);
        let output = match &result {
            Ok(out) => serde_json::to_value(out).unwrap_or(serde_json::Value::Null),
            Err(failure) => failure.details(),
        };
        let (logged, logged_sha256) = logged_input(input);
        let record = DecisionRecord {
            decision_id,
            kind,
            policy_name: info.name.clone(),
            policy_version: info.version.clone(),
            policy_digest: info.digest.clone(),
            policy_signer: info.signer.clone(),
            input_sha256: logged_sha256,
            input: logged,
            output,
            outcome,
            decided_at: Utc::now(),
        };
        let policy = PolicyRef {
            name: info.name,
            version: info.version,
            digest: info.digest,
        };
        if let (Some(shadow_call), None) = (shadow_call, settings) {
            self.queue_shadow(&set, &record, &policy, input, outcome_of, shadow_call);
        }
        Decision {
            result,
            policy,
            record,
        }
    }

    /// Queues the candidate's decision of `input` when `set` has a shadow
    /// for the record's kind; never waits.
    fn queue_shadow<I, T>(
        &self,
        set: &Arc<PolicySet>,
        record: &DecisionRecord,
        policy: &PolicyRef,
        input: &I,
        outcome_of: fn(&T) -> DecisionOutcome,
        shadow_call: PolicyCall<I, T>,
    ) where
        I: Serialize + Clone + Send + 'static,
        T: Serialize + 'static,
    {
        let kind = record.kind;
        if set.get(kind).and_then(|p| p.shadow.as_ref()).is_none() {
            return;
        }
        let owned_set = Arc::clone(set);
        let owned_input = input.clone();
        let run = move |engine: &PolicyEngine| {
            let Some(candidate) = owned_set.get(kind).and_then(|p| p.shadow.as_deref()) else {
                return ShadowSide {
                    policy: PolicyRef {
                        name: String::new(),
                        version: String::new(),
                        digest: String::new(),
                    },
                    outcome: DecisionOutcome::PolicyError,
                    output: wrong_pre().details(),
                };
            };
            let result = shadow_call(
                engine,
                &candidate.pre,
                &candidate.settings_json,
                &owned_input,
            );
            let (outcome, output) = match &result {
                Ok(out) => (
                    outcome_of(out),
                    serde_json::to_value(out).unwrap_or(serde_json::Value::Null),
                ),
                Err(failure) => (DecisionOutcome::PolicyError, failure.details()),
            };
            ShadowSide {
                policy: PolicyRef {
                    name: candidate.info.name.clone(),
                    version: candidate.info.version.clone(),
                    digest: candidate.info.digest.clone(),
                },
                outcome,
                output,
            }
        };
        let job = ShadowJob {
            kind,
            decision_id: record.decision_id,
            input: record.input.clone(),
            live: ShadowSide {
                policy: policy.clone(),
                outcome: record.outcome,
                output: record.output.clone(),
            },
            run: Box::new(run),
        };
        let engine: Arc<dyn super::shadow::EngineRef> = self.inner.clone();
        self.inner.shadow.submit(job, engine);
    }
}

/// A kind's sandboxed call over its input (live or shadow).
type PolicyCall<I, T> = fn(&PolicyEngine, &Pre, &str, &I) -> Result<T, PolicyFailure>;

fn call_gate(
    engine: &PolicyEngine,
    pre: &Pre,
    settings: &str,
    input: &GateInput,
) -> Result<GateOutput, PolicyFailure> {
    let wit_input = gate::to_wit(input);
    let out = match pre {
        Pre::Gate(pre) => sandbox::run(
            engine,
            gate_items(input),
            |s| pre.instantiate(s),
            |i, s| {
                i.rrs_policy_gate_policy()
                    .call_decide(s, settings, &wit_input)
            },
        )?,
        Pre::GateV1_0(pre) => {
            let old_input = gate_v1_0::input(&wit_input);
            let out = sandbox::run(
                engine,
                gate_items(input),
                |s| pre.instantiate(s),
                |i, s| {
                    i.rrs_policy_gate_policy()
                        .call_decide(s, settings, &old_input)
                },
            )?;
            gate_v1_0::output(out)
        }
        _ => return Err(wrong_pre()),
    };
    gate::from_wit(input, out)
}

fn call_capability(
    engine: &PolicyEngine,
    pre: &Pre,
    settings: &str,
    input: &CapabilityInput,
) -> Result<CapabilityDecision, PolicyFailure> {
    let Pre::Capability(pre) = pre else {
        return Err(wrong_pre());
    };
    let wit_input = capability::to_wit(input);
    let out = sandbox::run(
        engine,
        input.scope.tables.len(),
        |s| pre.instantiate(s),
        |i, s| {
            i.rrs_policy_capability_policy()
                .call_decide(s, settings, &wit_input)
        },
    )?;
    capability::for_capability::decision_from_wit(&input.exercised_capabilities, out)
}

fn call_media_caps(
    engine: &PolicyEngine,
    pre: &Pre,
    settings: &str,
    input: &MediaCapsInput,
) -> Result<MediaCapsOutput, PolicyFailure> {
    let Pre::MediaCaps(pre) = pre else {
        return Err(wrong_pre());
    };
    let wit_input = media_caps::to_wit(input);
    let out = sandbox::run(
        engine,
        0,
        |s| pre.instantiate(s),
        |i, s| {
            i.rrs_policy_media_caps_policy()
                .call_decide(s, settings, &wit_input)
        },
    )?;
    media_caps::from_wit(input, out)
}

/// Runs `call` in a `policy_decision` span; a failure is logged with the
/// policy's name and digest.
fn traced<T>(
    decision_id: Uuid,
    info: &PolicyInfo,
    outcome_of: fn(&T) -> DecisionOutcome,
    call: impl FnOnce() -> Result<T, PolicyFailure>,
) -> Result<T, PolicyFailure> {
    let span = tracing::info_span!("policy_decision", %decision_id, kind = %info.kind,
        policy = %info.name, digest = %info.digest, outcome = tracing::field::Empty);
    let _entered = span.enter();
    let result = call();
    let outcome = result
        .as_ref()
        .map_or(DecisionOutcome::PolicyError, outcome_of);
    span.record("outcome", outcome.as_str());
    if let Err(failure) = &result {
        tracing::warn!(policy = %info.name, digest = %info.digest,
            policy_error = %failure.kind, message = %failure.message,
            "policy failed; denying (fail closed)");
    }
    result
}

fn observe(info: &PolicyInfo, outcome: DecisionOutcome, started: Instant) {
    let labels = [
        ("policy", info.name.clone()),
        ("digest", info.digest.clone()),
        ("kind", info.kind.as_str().to_string()),
        ("outcome", outcome.as_str().to_string()),
    ];
    metrics::counter!("rrs_policy_decisions_total", &labels).increment(1);
    metrics::histogram!("rrs_policy_decision_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
}

/// The input items a gate call's budget grows with.
fn gate_items(input: &GateInput) -> usize {
    input.partitions.len() + input.delete_candidates.len() + input.reference_conflicts.len()
}

fn gate_outcome(out: &GateOutput) -> DecisionOutcome {
    match out.executability {
        gate::Executability::Executable => DecisionOutcome::Executable,
        gate::Executability::PreviewOnly => DecisionOutcome::PreviewOnly,
        gate::Executability::Blocked => DecisionOutcome::Blocked,
    }
}

fn allow_outcome(decision: &CapabilityDecision) -> DecisionOutcome {
    if decision.is_allowed() {
        DecisionOutcome::Allow
    } else {
        DecisionOutcome::Deny
    }
}

/// Cannot happen: a set always holds each kind with its world's bindings.
fn wrong_pre() -> PolicyFailure {
    PolicyFailure::new(
        super::PolicyFailureKind::PolicyTrap,
        "no policy of this kind is loaded",
    )
}

fn missing_info(kind: PolicyKind) -> PolicyInfo {
    PolicyInfo {
        name: "<none>".into(),
        kind,
        version: String::new(),
        digest: String::new(),
        settings: serde_json::Value::Null,
        plugin: String::new(),
        signer: None,
    }
}

fn source_file(source: &Source) -> PathBuf {
    match source {
        Source::File(path) => path.clone(),
        Source::Config(config) => config.file.clone(),
    }
}

fn read_source(source: &Source) -> Result<PolicyConfig, PolicyLoadError> {
    match source {
        Source::File(path) => PolicyConfig::from_file(path),
        Source::Config(config) => Ok((**config).clone()),
    }
}

/// Loads every kind; the first failure refuses the whole set.
fn load_set(
    engine: &PolicyEngine,
    cache: &ComponentCache,
    config: &PolicyConfig,
) -> Result<PolicySet, PolicyLoadError> {
    let policies = PolicyKind::ALL
        .into_iter()
        .map(|kind| load_policy(engine, cache, config, kind))
        .collect::<Result<Vec<_>, _>>()?;
    let entries: Vec<SetEntry> = policies
        .iter()
        .map(|p| SetEntry {
            kind: p.info.kind,
            plugin: p.info.plugin.clone(),
            sha256: p.info.digest.clone(),
            settings: p.info.settings.clone(),
            shadow: p.shadow.as_ref().map(|s| SetShadow {
                plugin: s.info.plugin.clone(),
                sha256: s.info.digest.clone(),
                settings: s.info.settings.clone(),
                signer: s.info.signer.clone(),
            }),
            signer: p.info.signer.clone(),
        })
        .collect();
    let digest = set_digest(&entries);
    Ok(PolicySet {
        policies,
        entries,
        digest,
    })
}
