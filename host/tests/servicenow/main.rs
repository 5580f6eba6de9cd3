//! The ServiceNow connector against the fake instance over real HTTP: one
//! fake per test on 127.0.0.1 port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apply;
mod attachments;
mod auth;
mod faults;
mod scan;
mod schema;
mod support;
