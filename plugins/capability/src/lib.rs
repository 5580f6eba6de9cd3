//! The default capability policy (CONTRACT.md, "Execution" step 2): may an
//! execute or resume call proceed with the capabilities the operator
//! exercises?
//!
//! - every capability the host requires must be exercised;
//! - a plan that deletes rows (`deletes > 0`) needs `restore-delete`;
//! - a high-risk scope (`deletes > high_risk_deletes`) needs
//!   `restore-override-caps` and a valid elevated confirmation:
//!   `confirmed = true`, `confirmation == "<tenant_id>/<instance_id>"` and a
//!   non-blank `reason`.
//!
//! Otherwise: deny with `missing-capability`, the missing capabilities and
//! whether elevated confirmation is required.
//!
//! Settings: `{"high_risk_deletes": 100}` (the default when absent).

wit_bindgen::generate!({ world: "capability", path: "../wit" });

use exports::rrs::policy::capability_policy::Guest;
use exports::rrs::policy::types::{
    Capability, CapabilityDecision, CapabilityInput, Denial, DenialReason, ElevatedConfirmation,
    PluginMetadata,
};

/// The settings this plugin accepts; unknown keys are refused.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "default_high_risk_deletes")]
    high_risk_deletes: u64,
}

fn default_high_risk_deletes() -> u64 {
    100
}

fn parse_settings(json: &str) -> Result<Settings, String> {
    serde_json::from_str(json).map_err(|e| format!("capability settings: {e}"))
}

rrs_plugin_arena::install!();

struct Plugin;

impl Guest for Plugin {
    fn validate_settings(settings_json: String) -> Result<(), String> {
        parse_settings(&settings_json).map(|_| ())
    }

    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "rrs-default-capability".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    fn decide(settings_json: String, input: CapabilityInput) -> CapabilityDecision {
        // Validated at load; a panic here is a trap, which the host denies.
        let settings = match parse_settings(&settings_json) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        decide(&settings, &input)
    }
}

/// `confirmed`, the exact `<tenant_id>/<instance_id>` string, and a reason.
fn confirmation_valid(c: Option<&ElevatedConfirmation>, expected: &str) -> bool {
    c.is_some_and(|c| c.confirmed && c.confirmation == expected && !c.reason.trim().is_empty())
}

fn decide(settings: &Settings, input: &CapabilityInput) -> CapabilityDecision {
    let mut needed = input.required_capabilities.clone();
    if input.scope.deletes > 0 {
        needed.push(Capability::RestoreDelete);
    }
    let high_risk = input.scope.deletes > settings.high_risk_deletes;
    if high_risk {
        needed.push(Capability::RestoreOverrideCaps);
    }
    let mut missing: Vec<Capability> = Vec::new();
    for cap in needed {
        if !input.exercised_capabilities.contains(&cap) && !missing.contains(&cap) {
            missing.push(cap);
        }
    }
    let confirmed = confirmation_valid(
        input.elevated_confirmation.as_ref(),
        &input.expected_confirmation,
    );
    if missing.is_empty() && (!high_risk || confirmed) {
        return CapabilityDecision::Allow;
    }
    let message = if high_risk {
        format!(
            "the plan deletes {} rows (more than {}): it needs restore_override_caps and an \
             elevated confirmation with confirmed=true, confirmation \"{}\" and a reason",
            input.scope.deletes, settings.high_risk_deletes, input.expected_confirmation
        )
    } else {
        "the call does not exercise every capability the plan needs".to_string()
    };
    CapabilityDecision::Deny(Denial {
        reason_code: DenialReason::MissingCapability,
        missing_capabilities: missing,
        requires_elevated_confirmation: high_risk,
        message,
    })
}

export!(Plugin);
