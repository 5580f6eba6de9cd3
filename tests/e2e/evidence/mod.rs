//! Evidence packages over HTTP on a real database: export and read with a
//! fresh verification, tampering in the database caught with its reason
//! code (and counted), the offline verifier agreeing with the service, key
//! rotation, the development key, and the refusals.

mod cases;
mod keys;
mod owed;
mod retention;
mod support;
