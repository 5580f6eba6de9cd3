//! Unit tests of evidence with real keys, real bytes and, for the
//! service functions, a real SQLite store.

mod fixtures;
mod package;
mod service;
