//! Tests of the policy host through the real plugins, built from source:
//! the default plugins' decision tables, hostile fixtures
//! (`plugins/fixtures/`, built for the tests by `rrs-policy-fixtures`),
//! reload, the policy file and the pinned digests.

mod author;
mod decisions;
mod hostile;
mod policy_file;
mod reload;
mod shadow;
mod signatures;
mod support;
mod versions;
