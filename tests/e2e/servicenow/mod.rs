//! The restore scenarios again, into a remote instance: the fake
//! ServiceNow instance of this repository (a stand-in, not ServiceNow)
//! mapped to `acme/prod` by a `[[targets]]` entry, reached by the same
//! connector code a real instance would be.

mod crash;
mod faults;
mod media;
mod restore;
mod secrets;
mod support;
mod undo;
