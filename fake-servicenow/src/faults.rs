//! Scripted failures of writes, the cases a restore must survive without
//! duplicating or losing records: an error answer, and a connection that
//! closes with no answer either before or after the write took effect (the
//! client cannot tell those two apart; only a re-read can).

use serde::{Deserialize, Serialize};

/// What happens to the chosen write.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status (500 by default) and the error body; the
    /// write is not applied.
    Status {
        #[serde(default = "internal_error")]
        status: u16,
    },
    /// Close the connection with no HTTP response; the write is not applied.
    DropBeforeApply,
    /// Apply the write, then close the connection with no HTTP response.
    DropAfterApply,
}

fn internal_error() -> u16 {
    500
}

/// "Do `kind` to the `nth` write from now" (1 = the next write).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct FaultSpec {
    pub nth: u64,
    #[serde(flatten)]
    pub kind: FaultKind,
}

impl FaultSpec {
    pub fn status(nth: u64, status: u16) -> Self {
        Self {
            nth,
            kind: FaultKind::Status { status },
        }
    }

    pub fn drop_before_apply(nth: u64) -> Self {
        Self {
            nth,
            kind: FaultKind::DropBeforeApply,
        }
    }

    pub fn drop_after_apply(nth: u64) -> Self {
        Self {
            nth,
            kind: FaultKind::DropAfterApply,
        }
    }
}

/// A fault waiting for its write, by absolute write number.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct PendingFault {
    /// Absolute number of the write it fires on (see `writes_seen`).
    pub at_write: u64,
    #[serde(flatten)]
    pub kind: FaultKind,
}

/// Counts writes and hands out the fault scheduled for each.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    writes_seen: u64,
    pending: Vec<PendingFault>,
}

impl Faults {
    pub fn schedule(&mut self, spec: FaultSpec) {
        self.pending.push(PendingFault {
            at_write: self.writes_seen + spec.nth.max(1),
            kind: spec.kind,
        });
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }

    pub fn pending(&self) -> Vec<PendingFault> {
        self.pending.clone()
    }

    pub fn writes_seen(&self) -> u64 {
        self.writes_seen
    }

    /// Counts one write; returns the fault it must suffer, if any (the
    /// first scheduled one when several name the same write).
    pub fn on_write(&mut self) -> Option<FaultKind> {
        self.writes_seen += 1;
        let at = self.writes_seen;
        let index = self.pending.iter().position(|f| f.at_write == at)?;
        Some(self.pending.remove(index).kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_counts_from_when_the_fault_is_set() {
        let mut faults = Faults::default();
        assert_eq!(faults.on_write(), None);
        faults.schedule(FaultSpec::drop_after_apply(2));
        assert_eq!(faults.on_write(), None);
        assert_eq!(faults.on_write(), Some(FaultKind::DropAfterApply));
        assert_eq!(faults.on_write(), None);
    }

    #[test]
    fn specs_read_from_json() {
        let spec: FaultSpec = serde_json::from_str(r#"{"nth":3,"kind":"status"}"#).unwrap();
        assert_eq!(spec, FaultSpec::status(3, 500));
        let spec: FaultSpec =
            serde_json::from_str(r#"{"nth":1,"kind":"drop_before_apply"}"#).unwrap();
        assert_eq!(spec, FaultSpec::drop_before_apply(1));
    }
}
