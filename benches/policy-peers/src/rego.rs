//! The capability and media-cap rules as one Rego module, evaluated
//! in-process by `regorus`. The rule derives everything itself from the
//! input (expected confirmation, trimmed reason, the needed capabilities)
//! and yields the service's verdict.
//!
//! Per decision (inside the timed region): the call's two inputs as the
//! service's serde types serialise them, turned into a regorus `Value`
//! (`{"capability": ..., "media": ...}`), `set_input`, and
//! `eval_rule("data.rrs.verdict")`. The engine with the parsed module is
//! built once and reused, as a service embedding regorus would keep one per
//! worker (`Engine` is `Clone`; evaluation takes `&mut`).

use std::cell::RefCell;

use crate::cases::{Call, Verdict};
use crate::native::Settings;

pub struct Rego {
    engine: RefCell<regorus::Engine>,
}

fn module(s: &Settings) -> String {
    format!(
        r#"package rrs

high_risk_deletes := {high_risk}
max_items := {max_items}
max_bytes := {max_bytes}

cap := input.capability
media := input.media

needed contains c if {{
	some c in cap.required_capabilities
}}
needed contains "restore_delete" if cap.scope.deletes > 0
needed contains "restore_override_caps" if high_risk

high_risk if cap.scope.deletes > high_risk_deletes

missing contains c if {{
	some c in needed
	not c in cap.exercised_capabilities
}}

confirmed if {{
	c := cap.elevated_confirmation
	c.confirmed == true
	c.confirmation == concat("/", [cap.tenant_id, cap.instance_id])
	trim_space(c.reason) != ""
}}

capability_allowed if {{
	count(missing) == 0
	not high_risk
}}

capability_allowed if {{
	count(missing) == 0
	confirmed
}}

media_over if media.candidate_count > max_items
media_over if media.total_bytes > max_bytes

media_allowed if not media_over

media_allowed if {{
	"restore_override_caps" in media.exercised_capabilities
	confirmed
}}

default verdict := "deny_capability"

verdict := "allow" if {{
	capability_allowed
	media_allowed
}}

verdict := "deny_media" if {{
	capability_allowed
	not media_allowed
}}
"#,
        high_risk = s.high_risk_deletes,
        max_items = s.max_items,
        max_bytes = s.max_bytes,
    )
}

impl Rego {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let mut engine = regorus::Engine::new();
        engine.add_policy("rrs.rego".to_owned(), module(settings))?;
        Ok(Self {
            engine: RefCell::new(engine),
        })
    }

    /// One decision over `call`, from its inputs to the verdict.
    pub fn decide(&self, call: &Call) -> anyhow::Result<Verdict> {
        let input = serde_json::json!({
            "capability": call.capability,
            "media": call.media,
        });
        let mut engine = self.engine.borrow_mut();
        engine.set_input(regorus::Value::from(input));
        let verdict = engine.eval_rule("data.rrs.verdict".to_owned())?;
        match verdict.as_string()?.as_ref() {
            "allow" => Ok(Verdict::Allow),
            "deny_capability" => Ok(Verdict::DenyCapability),
            "deny_media" => Ok(Verdict::DenyMedia),
            other => anyhow::bail!("unexpected Rego verdict {other}"),
        }
    }
}
