//! The hostile policy plugins of `plugins/fixtures/` (a gate that loops,
//! one that exhausts its memory, traps, recurses past its stack, exports the
//! wrong world, breaks the output's invariants, refuses its settings or
//! returns an unknown reason code), `strict-gate`, the default gate
//! with one changed rule (the candidate of replay and shadow tests), and
//! `once`, a capability plugin that traps when an instance decides twice,
//! built as components by this crate's build script for the tests that
//! load them. The service itself never
//! builds them.

use std::path::{Path, PathBuf};

mod names;

pub use names::NAMES;

/// The component of the fixture `name` (one of [`NAMES`]).
pub fn path(name: &str) -> PathBuf {
    assert!(NAMES.contains(&name), "no policy fixture named {name:?}");
    Path::new(concat!(env!("OUT_DIR"), "/fixtures")).join(format!("{name}.wasm"))
}
