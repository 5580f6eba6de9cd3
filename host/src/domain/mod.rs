//! The restore logic. Nothing here knows about HTTP or SQL: handlers call
//! in with plain values, and the domain calls out to storage, the target,
//! the media store and the policy host.

pub mod auth;
pub mod canonical;
pub mod drills;
pub mod error;
pub mod evidence;
pub mod execute;
pub mod index;
pub mod job_lifecycle;
pub mod job_states;
pub mod jobs;
pub mod journal;
pub mod ops;
pub mod paging;
pub mod plan;
pub mod policies;
pub mod policy_log;
pub mod policy_replay;
pub mod policy_shadow;
pub mod policy_sync;
pub mod principal;
pub mod queue;
pub mod reason;
pub mod service;
pub mod target;

pub use error::DomainError;
pub use reason::ReasonCode;
pub use service::RestoreService;
