//! The policy author's toolchain beyond `check`/`eval`/`test`: a new
//! standalone plugin crate (`rrs policy new`), its build into a component
//! (`rrs policy build`), decision-table coverage, a per-decision benchmark
//! (`rrs policy bench`) and signing (`rrs policy keygen`/`sign`). Kept apart
//! from the loader so the service's decision path does not grow with it.

pub mod bench;
pub mod coverage;
pub mod package;
pub mod scaffold;
pub mod standalone;
