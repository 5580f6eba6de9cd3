//! The capability and media-cap rules as one Cedar policy set, evaluated
//! in-process by `cedar-policy`, schema-free. A forbid per clause under a
//! blanket permit; the verdict is read from which forbids determined the
//! denial (`capability-*` first, as the service checks capability first).
//!
//! Per decision (inside the timed region): the principal and resource
//! uids from the call's tenant and instance, the context record from the
//! call's capability and media inputs (capability names as strings, the
//! expected confirmation `<tenant>/<instance>` as the wasm host derives
//! it, the confirmation's reason trimmed because Cedar has no trim), the
//! request, `is_authorized` against empty entities, and the verdict. The
//! parsed policy set, the authorizer, the action uid and the entity type
//! names are built once, as a service embedding Cedar would.

use std::str::FromStr;

use anyhow::Context as _;
use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, Policy, PolicyId,
    PolicySet, Request, RestrictedExpression,
};
use rrs::policy::Capability;

use crate::cases::{Call, Verdict};
use crate::native::Settings;

pub struct Cedar {
    policies: PolicySet,
    authorizer: Authorizer,
    entities: Entities,
    action: EntityUid,
    operator: EntityTypeName,
    instance: EntityTypeName,
}

/// The rule, one policy per clause with its id, the settings written in
/// as constants (as a Cedar author would).
fn policies(s: &Settings) -> Vec<(&'static str, String)> {
    let overridden = r#"context.exercised.contains("restore_override_caps") &&
        context has confirmation &&
        context.confirmation.confirmed &&
        context.confirmation.text == context.expected_confirmation &&
        context.confirmation.reason != """#;
    vec![
        (
            "execute",
            r#"permit(principal, action == Action::"execute", resource);"#.to_owned(),
        ),
        (
            "capability-required",
            "forbid(principal, action, resource) \
             unless { context.exercised.containsAll(context.required) };"
                .to_owned(),
        ),
        (
            "capability-delete",
            r#"forbid(principal, action, resource)
               when { context.deletes > 0 && !context.exercised.contains("restore_delete") };"#
                .to_owned(),
        ),
        (
            "capability-high-risk",
            format!(
                "forbid(principal, action, resource) \
                 when {{ context.deletes > {} && !({overridden}) }};",
                s.high_risk_deletes
            ),
        ),
        (
            "media-caps",
            format!(
                "forbid(principal, action, resource) \
                 when {{ (context.media_items > {} || context.media_bytes > {}) && \
                 !({overridden}) }};",
                s.max_items, s.max_bytes
            ),
        ),
    ]
}

fn names(caps: &[Capability]) -> RestrictedExpression {
    RestrictedExpression::new_set(
        caps.iter()
            .map(|c| RestrictedExpression::new_string(c.as_str().to_owned())),
    )
}

fn long(n: u64) -> anyhow::Result<RestrictedExpression> {
    Ok(RestrictedExpression::new_long(
        i64::try_from(n).context("a count beyond Cedar's long")?,
    ))
}

impl Cedar {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let mut set = PolicySet::new();
        for (id, text) in policies(settings) {
            let policy = Policy::parse(Some(PolicyId::new(id)), text)
                .map_err(|e| anyhow::anyhow!("Cedar policy {id}: {e}"))?;
            set.add(policy)?;
        }
        Ok(Self {
            policies: set,
            authorizer: Authorizer::new(),
            entities: Entities::empty(),
            action: EntityUid::from_str(r#"Action::"execute""#)?,
            operator: EntityTypeName::from_str("Operator")?,
            instance: EntityTypeName::from_str("Instance")?,
        })
    }

    /// One decision over `call`, from its inputs to the verdict.
    pub fn decide(&self, call: &Call) -> anyhow::Result<Verdict> {
        let (cap, media) = (&call.capability, &call.media);
        let expected = format!("{}/{}", cap.tenant_id, cap.instance_id);
        let mut pairs = vec![
            ("required".to_owned(), names(&cap.required_capabilities)),
            ("exercised".to_owned(), names(&cap.exercised_capabilities)),
            ("deletes".to_owned(), long(cap.scope.deletes)?),
            ("media_items".to_owned(), long(media.candidate_count)?),
            ("media_bytes".to_owned(), long(media.total_bytes)?),
            (
                "expected_confirmation".to_owned(),
                RestrictedExpression::new_string(expected),
            ),
        ];
        if let Some(c) = &cap.elevated_confirmation {
            let record = RestrictedExpression::new_record([
                (
                    "confirmed".to_owned(),
                    RestrictedExpression::new_bool(c.confirmed),
                ),
                (
                    "text".to_owned(),
                    RestrictedExpression::new_string(c.confirmation.clone()),
                ),
                (
                    "reason".to_owned(),
                    RestrictedExpression::new_string(c.reason.trim().to_owned()),
                ),
            ])?;
            pairs.push(("confirmation".to_owned(), record));
        }
        let context = Context::from_pairs(pairs)?;
        let principal =
            EntityUid::from_type_name_and_id(self.operator.clone(), EntityId::new(&cap.tenant_id));
        let resource = EntityUid::from_type_name_and_id(
            self.instance.clone(),
            EntityId::new(format!("{}/{}", cap.tenant_id, cap.instance_id)),
        );
        let request = Request::new(principal, self.action.clone(), resource, context, None)?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &self.entities);
        let errors = response.diagnostics().errors().count();
        anyhow::ensure!(errors == 0, "Cedar evaluation errors: {errors}");
        if response.decision() == Decision::Allow {
            return Ok(Verdict::Allow);
        }
        let by_capability = response
            .diagnostics()
            .reason()
            .any(|id: &PolicyId| AsRef::<str>::as_ref(id).starts_with("capability-"));
        Ok(if by_capability {
            Verdict::DenyCapability
        } else {
            Verdict::DenyMedia
        })
    }
}
