//! What a decision leaves behind: a [`DecisionRecord`] that the caller
//! persists in the decision log (plans, jobs and evidence refer to its id),
//! and the outcome label used by logs and metrics.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::kind::PolicyKind;
use super::signature::PolicySigner;

/// How a decision came out.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DecisionOutcome {
    /// Gate: executable.
    Executable,
    /// Gate: preview only.
    PreviewOnly,
    /// Gate: blocked.
    Blocked,
    /// Capability or media caps: allowed.
    Allow,
    /// Capability or media caps: denied by the policy.
    Deny,
    /// The plugin failed (timeout, trap, bad output): denied, fail closed.
    PolicyError,
}

impl DecisionOutcome {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for DecisionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the decision log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub decision_id: Uuid,
    pub kind: PolicyKind,
    pub policy_name: String,
    pub policy_version: String,
    /// sha256 of the plugin's wasm.
    pub policy_digest: String,
    /// Who signed the plugin (a trusted key of the policy file); absent for
    /// builtin and unsigned plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_signer: Option<PolicySigner>,
    /// sha256 of the input's JSON (as these types serialise it: fields in
    /// declaration order, no maps, so the same input always hashes alike).
    pub input_sha256: String,
    /// The input's JSON, whose sha256 is `input_sha256` ([`logged_input`]),
    /// so the decision log can show it and `rrs policy replay` can decide
    /// it again.
    pub input: String,
    /// The output as JSON, or `{"policy_error": kind, "message"}`.
    pub output: serde_json::Value,
    pub outcome: DecisionOutcome,
    pub decided_at: DateTime<Utc>,
}

/// Which policy decided (a plan's `gate.policy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub name: String,
    pub version: String,
    pub digest: String,
}

/// The result of one decision and its record.
#[derive(Debug, Clone)]
pub struct Decision<T> {
    /// The policy's output, or the typed failure to answer with
    /// `blocked_policy_error` (see [`super::PolicyFailure::details`]).
    pub result: Result<T, super::PolicyFailure>,
    pub policy: PolicyRef,
    pub record: DecisionRecord,
}

/// An input as the decision log keeps it, and its sha256, from one
/// serialisation: serde_json's compact text of the input type (fields in
/// declaration order, no whitespace; the input types hold no maps, so the
/// same input is always the same text). The sha256 of the logged text is
/// the record's `input_sha256` ([`input_sha256`] streams the same bytes),
/// and the text parses back into the same input. The log once sorted the
/// keys, through a `serde_json::Value` tree built per decision: a fifth of
/// a sandboxed decision's time, and 0.4 s of the gate decision of an undo
/// plan with 100,000 delete candidates.
pub fn logged_input<I: Serialize>(input: &I) -> (String, String) {
    match serde_json::to_string(input) {
        Ok(text) => {
            let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
            (text, sha256)
        }
        // The input types always serialise; see `input_sha256`.
        Err(e) => {
            let text = serde_json::Value::String(format!("unserialisable input: {e}")).to_string();
            (text, input_sha256(input))
        }
    }
}

/// The reason codes a logged output carries, in order: a gate's `reasons`,
/// a denial's `reason_code`, `blocked_policy_error` for a failed plugin,
/// none for an allowed or executable decision. Replay and shadow
/// evaluation call two decisions different when their outcomes or these
/// differ.
pub fn reason_codes(outcome: DecisionOutcome, output: &serde_json::Value) -> Vec<String> {
    if outcome == DecisionOutcome::PolicyError {
        return vec![super::POLICY_ERROR_REASON_CODE.to_owned()];
    }
    if let Some(reasons) = output.get("reasons").and_then(serde_json::Value::as_array) {
        return reasons
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
    }
    output
        .get("reason_code")
        .and_then(serde_json::Value::as_str)
        .map(|code| vec![code.to_owned()])
        .unwrap_or_default()
}

/// Lowercase hex sha256 of `input`'s JSON. The input types are structs
/// and lists only, so serde_json's output is already deterministic; full
/// RFC 8785 canonicalisation measured ~50 µs per decision, more than the
/// sandboxed call itself. The JSON streams into the hash through a fixed
/// buffer.
pub fn input_sha256<I: Serialize>(input: &I) -> String {
    let mut hasher = std::io::BufWriter::with_capacity(4096, HashWriter(Sha256::new()));
    let written = serde_json::to_writer(&mut hasher, input).map_err(|e| e.to_string());
    match written.and_then(|()| hasher.into_inner().map_err(|e| e.to_string())) {
        Ok(hasher) => hex::encode(hasher.0.finalize()),
        // The input types always serialise; hash the error rather than
        // panic if that ever changes.
        Err(e) => hex::encode(Sha256::digest(format!("unserialisable input: {e}"))),
    }
}

/// An `io::Write` that feeds sha256.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
