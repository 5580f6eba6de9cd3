//! End-to-end tests: the real router on port 0, a fresh database per test
//! (SQLite, or PostgreSQL with `RRS_TEST_DATABASE_URL`), driven over HTTP.
// A scenario reads top to bottom as one story; its length is the story's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod auth;
mod client;
mod crash;
mod drill_replicas;
mod drills;
mod elsewhere;
mod errors;
mod evidence;
mod execution;
mod execution_media;
mod execution_start;
mod health;
mod index;
mod jobs;
mod media_s3;
mod media_store_down;
mod openapi;
mod ops;
mod ops_entitlement;
mod ops_jobs;
mod ops_slo;
mod outage;
mod plans;
mod plans_edges;
mod policies;
mod policy_author;
mod policy_decisions;
mod policy_replay;
mod policy_sets;
mod policy_shadow;
mod queue_depth;
mod queue_property;
mod replicas;
mod servicenow;
mod targets;
mod undo;
mod writers;
