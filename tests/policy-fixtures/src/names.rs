/// The fixtures, each a member `plugins/fixtures/<name>` (package
/// `rrs-fixture-<name>`) of the plugins workspace.
pub const NAMES: [&str; 11] = [
    "loop",
    "memory",
    "trap",
    "recursion",
    "wrong-world",
    "bad-output",
    "invalid-settings",
    "unknown-reason",
    "gate-v1-0",
    "strict-gate",
    "once",
];
