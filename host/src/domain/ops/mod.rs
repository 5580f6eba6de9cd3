//! Operations: what tells operators whether the service is healthy and
//! ready for general availability, from its own data, and the switches
//! they record on the way there.
//!
//! - [`controls`]: staging mode, runbook sign-off and failure drills, each
//!   change kept in an audit trail;
//! - [`entitlement`]: the per-tenant restore switch that refuses new work
//!   and pauses running executions at their next chunk boundary;
//! - [`slo`]: the burn-rate checks over a configured window and the
//!   multi-window error-budget burn rate;
//! - [`readiness`]: the GA gate over all of the above;
//! - [`journal`]: rollback journal growth and the retention backlog;
//! - [`gauges`]: the same figures on `/metrics`.

pub mod controls;
pub mod entitlement;
pub mod figures;
pub mod gauges;
pub mod journal;
pub mod readiness;
pub mod slo;
pub mod view;

pub use entitlement::{ensure_entitled, is_entitled};

use crate::domain::principal::Principal;
use crate::store::ops::ChangeMeta;

/// The audit metadata of a change made by `principal` on behalf of `actor`,
/// at microsecond precision (what both databases store), so the state a
/// change returns equals the state read back later.
pub fn change_meta(
    principal: &Principal,
    actor: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> ChangeMeta {
    use chrono::SubsecRound;
    ChangeMeta {
        actor: actor.to_owned(),
        operator_id: principal.operator_id.clone(),
        at: at.trunc_subsecs(6),
    }
}
