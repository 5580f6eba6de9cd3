//! End-to-end tests: the real router on port 0, a fresh database per test
//! (SQLite, or PostgreSQL with `RRS_TEST_DATABASE_URL`), driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod errors;
mod health;
mod index;
mod openapi;
mod ops;
mod ops_entitlement;
mod ops_slo;
mod outage;
mod plans;
mod targets;
