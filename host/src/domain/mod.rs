//! The restore logic. Nothing here knows about HTTP or SQL: handlers call
//! in with plain values, and the domain calls out to storage, the target,
//! the media store and the policy host.

pub mod auth;
pub mod canonical;
pub mod capability;
pub mod error;
pub mod evidence;
pub mod execute;
pub mod index;
pub mod job_lifecycle;
pub mod jobs;
pub mod ops;
pub mod plan;
pub mod policies;
pub mod queue;
pub mod target;

pub use error::DomainError;
