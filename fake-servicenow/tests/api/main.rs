//! The fake over real HTTP on port 0, driven with reqwest the way the
//! connector will drive a real instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attachments;
mod auth;
mod behaviours;
mod binary;
mod common;
mod dictionary;
mod faults;
mod latency;
mod request_log;
mod table_crud;
mod table_query;
