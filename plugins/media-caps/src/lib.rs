//! The default media caps policy (CONTRACT.md, "Execution" step 3): a call
//! may restore at most `mediaMaxItems` attachments totalling at most
//! `mediaMaxBytes` bytes, unless the operator exercises
//! `restore-override-caps` and gives a valid elevated confirmation
//! (`confirmed = true`, `confirmation == "<tenant_id>/<instance_id>"`, a
//! non-blank `reason`). Over a cap otherwise: deny with
//! `missing-capability`, the caps used reported beside the decision.
//!
//! Settings: `{"mediaMaxItems": 100, "mediaMaxBytes": 104857600}` (the
//! defaults when absent).

wit_bindgen::generate!({ world: "media-caps", path: "../wit" });

use exports::rrs::policy::media_caps_policy::Guest;
use exports::rrs::policy::types::{
    Capability, CapabilityDecision, Denial, DenialReason, ElevatedConfirmation, MediaCaps,
    MediaCapsInput, MediaCapsOutput, PluginMetadata,
};

/// The settings this plugin accepts; unknown keys are refused.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(rename = "mediaMaxItems", default = "default_max_items")]
    max_items: u64,
    #[serde(rename = "mediaMaxBytes", default = "default_max_bytes")]
    max_bytes: u64,
}

fn default_max_items() -> u64 {
    100
}

fn default_max_bytes() -> u64 {
    104_857_600
}

fn parse_settings(json: &str) -> Result<Settings, String> {
    serde_json::from_str(json).map_err(|e| format!("media caps settings: {e}"))
}

rrs_plugin_arena::install!();

struct Plugin;

impl Guest for Plugin {
    fn validate_settings(settings_json: String) -> Result<(), String> {
        parse_settings(&settings_json).map(|_| ())
    }

    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "rrs-default-media-caps".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    fn decide(settings_json: String, input: MediaCapsInput) -> MediaCapsOutput {
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

fn decide(settings: &Settings, input: &MediaCapsInput) -> MediaCapsOutput {
    let caps = MediaCaps {
        max_items: settings.max_items,
        max_bytes: settings.max_bytes,
    };
    let over = input.candidate_count > caps.max_items || input.total_bytes > caps.max_bytes;
    let overridden = input
        .exercised_capabilities
        .contains(&Capability::RestoreOverrideCaps);
    let confirmed = confirmation_valid(
        input.elevated_confirmation.as_ref(),
        &input.expected_confirmation,
    );
    let decision = if !over || (overridden && confirmed) {
        CapabilityDecision::Allow
    } else {
        CapabilityDecision::Deny(Denial {
            reason_code: DenialReason::MissingCapability,
            missing_capabilities: if overridden {
                Vec::new()
            } else {
                vec![Capability::RestoreOverrideCaps]
            },
            requires_elevated_confirmation: true,
            message: format!(
                "{} attachments, {} bytes exceed the media caps ({} items, {} bytes): \
                 exceeding them needs restore_override_caps and an elevated confirmation \
                 with confirmed=true, confirmation \"{}\" and a reason",
                input.candidate_count,
                input.total_bytes,
                caps.max_items,
                caps.max_bytes,
                input.expected_confirmation
            ),
        })
    };
    MediaCapsOutput { decision, caps }
}

export!(Plugin);
