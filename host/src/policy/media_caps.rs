//! The media caps decision's public input and output, their WIT
//! conversions, and the host-side check that a denial is really over one of
//! the caps the plugin reports.

use serde::{Deserialize, Serialize};

use super::bindings::media_caps_wit as wit;
use super::capability::for_media_caps::{
    capabilities_to_wit, confirmation_to_wit, decision_from_wit,
};
use super::capability::{
    expected_confirmation, Capability, CapabilityDecision, ElevatedConfirmation,
};
use super::failure::PolicyFailure;

/// The attachments an execute or resume call would restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaCapsInput {
    pub tenant_id: String,
    pub instance_id: String,
    pub candidate_count: u64,
    pub total_bytes: u64,
    pub exercised_capabilities: Vec<Capability>,
    #[serde(default)]
    pub elevated_confirmation: Option<ElevatedConfirmation>,
}

/// The caps a decision applied (`details.media.max_items` / `max_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaCaps {
    pub max_items: u64,
    pub max_bytes: u64,
}

/// The media verdict and the caps it used. JSON: the decision's fields
/// (`decision`, and for a denial its reason) beside `caps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaCapsOutput {
    #[serde(flatten)]
    pub decision: CapabilityDecision,
    pub caps: MediaCaps,
}

pub(crate) fn to_wit(input: &MediaCapsInput) -> wit::MediaCapsInput {
    wit::MediaCapsInput {
        tenant_id: input.tenant_id.clone(),
        instance_id: input.instance_id.clone(),
        candidate_count: input.candidate_count,
        total_bytes: input.total_bytes,
        exercised_capabilities: capabilities_to_wit(&input.exercised_capabilities),
        elevated_confirmation: confirmation_to_wit(input.elevated_confirmation.as_ref()),
        expected_confirmation: expected_confirmation(&input.tenant_id, &input.instance_id),
    }
}

pub(crate) fn from_wit(
    input: &MediaCapsInput,
    out: wit::MediaCapsOutput,
) -> Result<MediaCapsOutput, PolicyFailure> {
    let caps = MediaCaps {
        max_items: out.caps.max_items,
        max_bytes: out.caps.max_bytes,
    };
    let decision = decision_from_wit(&input.exercised_capabilities, out.decision)?;
    let over = input.candidate_count > caps.max_items || input.total_bytes > caps.max_bytes;
    if !decision.is_allowed() && !over {
        return Err(PolicyFailure::bad_output(format!(
            "denied {} items / {} bytes, which are within the reported caps {caps:?}",
            input.candidate_count, input.total_bytes
        )));
    }
    Ok(MediaCapsOutput { decision, caps })
}
