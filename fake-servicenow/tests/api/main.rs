//! The fake over real HTTP on port 0, driven with reqwest the way the
//! connector will drive a real instance.
// A scenario reads top to bottom as one story; its length is the story's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

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
