//! Storage: sea-orm over SQLite (the embedded default) or PostgreSQL.
//!
//! Everything a replica knows lives here, so several replicas can share one
//! PostgreSQL. This layer stores and queries; it never decides. Its error
//! type says only what a caller must distinguish: the database is
//! unavailable (retry later), a uniqueness rule was hit, or something else
//! failed.

pub mod checkpoint;
pub mod chunk_apply;
pub mod connection;
pub mod decisions;
pub mod drill_runs;
pub mod drill_schedules;
pub mod entities;
pub mod error;
pub mod evidence;
pub mod evidence_obligations;
pub mod execution;
pub mod index;
pub mod job_events;
pub mod job_queue;
pub mod jobs;
pub mod journal;
pub mod ops;
pub mod ops_figures;
pub mod plan_refs;
pub mod plan_scan;
pub mod plan_writer;
pub mod plans;
pub mod policy_sets;
pub mod remote_chunk;
pub mod sql;
pub mod statistics;
pub mod target;
pub mod tokens;

pub use connection::Store;
pub use error::StoreError;
