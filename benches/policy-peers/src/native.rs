//! The native-Rust twins of `plugins/capability` and `plugins/media-caps`:
//! the same rules over the host's types, producing exactly what the
//! registry returns for the plugins (missing capabilities sorted, the same
//! messages), so column A and column B can be compared value for value.

use rrs::policy::{
    Capability, CapabilityDecision, CapabilityInput, Denial, DenialReason, ElevatedConfirmation,
    MediaCaps, MediaCapsInput, MediaCapsOutput,
};

/// The settings both rules read, parsed once from the registry's settings
/// (as the gate bench's twin does).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub high_risk_deletes: u64,
    pub max_items: u64,
    pub max_bytes: u64,
}

impl Settings {
    /// From the loaded capability and media caps settings, with the
    /// plugins' defaults where a key is absent.
    pub fn from_json(capability: &serde_json::Value, media: &serde_json::Value) -> Self {
        let get = |v: &serde_json::Value, key: &str, default: u64| {
            v.get(key)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(default)
        };
        Self {
            high_risk_deletes: get(capability, "high_risk_deletes", 100),
            max_items: get(media, "mediaMaxItems", 100),
            max_bytes: get(media, "mediaMaxBytes", 104_857_600),
        }
    }
}

fn confirmation_valid(c: Option<&ElevatedConfirmation>, expected: &str) -> bool {
    c.is_some_and(|c| c.confirmed && c.confirmation == expected && !c.reason.trim().is_empty())
}

fn expected(tenant_id: &str, instance_id: &str) -> String {
    format!("{tenant_id}/{instance_id}")
}

/// plugins/capability's rule.
pub fn capability(settings: &Settings, input: &CapabilityInput) -> CapabilityDecision {
    let mut needed = input.required_capabilities.clone();
    if input.scope.deletes > 0 {
        needed.push(Capability::RestoreDelete);
    }
    let high_risk = input.scope.deletes > settings.high_risk_deletes;
    if high_risk {
        needed.push(Capability::RestoreOverrideCaps);
    }
    let mut missing: Vec<Capability> = needed
        .into_iter()
        .filter(|c| !input.exercised_capabilities.contains(c))
        .collect();
    missing.sort();
    missing.dedup();
    let expected = expected(&input.tenant_id, &input.instance_id);
    let confirmed = confirmation_valid(input.elevated_confirmation.as_ref(), &expected);
    if missing.is_empty() && (!high_risk || confirmed) {
        return CapabilityDecision::Allow;
    }
    let message = if high_risk {
        format!(
            "the plan deletes {} rows (more than {}): it needs restore_override_caps and an \
             elevated confirmation with confirmed=true, confirmation \"{}\" and a reason",
            input.scope.deletes, settings.high_risk_deletes, expected
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

/// plugins/media-caps's rule.
pub fn media_caps(settings: &Settings, input: &MediaCapsInput) -> MediaCapsOutput {
    let caps = MediaCaps {
        max_items: settings.max_items,
        max_bytes: settings.max_bytes,
    };
    let over = input.candidate_count > caps.max_items || input.total_bytes > caps.max_bytes;
    let overridden = input
        .exercised_capabilities
        .contains(&Capability::RestoreOverrideCaps);
    let expected = expected(&input.tenant_id, &input.instance_id);
    let confirmed = confirmation_valid(input.elevated_confirmation.as_ref(), &expected);
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
                input.candidate_count, input.total_bytes, caps.max_items, caps.max_bytes, expected
            ),
        })
    };
    MediaCapsOutput { decision, caps }
}
