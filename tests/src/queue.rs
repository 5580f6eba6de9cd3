//! The lock queue's invariants, checked on a snapshot of jobs of one
//! tenant and instance in admission order (oldest first), whatever
//! produced it (the store, or `GET /v1/jobs` of any replica).

use std::collections::BTreeSet;

/// One job of a snapshot: its tables and status (`queued`, `running`, or
/// a terminal one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedJob {
    pub job_id: String,
    pub tables: BTreeSet<String>,
    pub status: String,
}

impl QueuedJob {
    /// From a job document of the API.
    pub fn from_json(job: &serde_json::Value) -> Self {
        Self {
            job_id: job["job_id"].as_str().unwrap_or_default().to_owned(),
            tables: job["tables"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            status: job["status"].as_str().unwrap_or_default().to_owned(),
        }
    }
}

/// Checks, for every job: a running job shares no tuple with another
/// running job and with no earlier queued job (first-come-first-served: it
/// did not overtake one); a queued job has a tuple held by a running job or
/// wanted by an earlier queued job (it does not wait for nothing).
pub fn check_invariants(jobs: &[QueuedJob]) -> Result<(), String> {
    for (i, job) in jobs.iter().enumerate() {
        let shares = |other: &&QueuedJob| !other.tables.is_disjoint(&job.tables);
        let others = || jobs.iter().enumerate().filter(move |(j, _)| *j != i);
        let running_other = others()
            .map(|(_, o)| o)
            .filter(shares)
            .any(|o| o.status == "running");
        let queued_earlier = jobs[..i]
            .iter()
            .filter(shares)
            .any(|o| o.status == "queued");
        match job.status.as_str() {
            "running" if running_other => {
                return Err(format!(
                    "{} shares a table with another running job",
                    job.job_id
                ))
            }
            "running" if queued_earlier => {
                return Err(format!("{} overtook an earlier queued job", job.job_id))
            }
            "queued" if !running_other && !queued_earlier => {
                return Err(format!(
                    "{} waits although its tables are free and no earlier job wants them",
                    job.job_id
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, tables: &[&str], status: &str) -> QueuedJob {
        QueuedJob {
            job_id: id.into(),
            tables: tables.iter().map(|t| t.to_string()).collect(),
            status: status.into(),
        }
    }

    #[test]
    fn each_violation_is_caught() {
        let ok = [
            job("a", &["x"], "running"),
            job("b", &["x", "y"], "queued"),
            job("c", &["y"], "queued"),
        ];
        assert_eq!(check_invariants(&ok), Ok(()));
        let two_running = [job("a", &["x"], "running"), job("b", &["x"], "running")];
        assert!(check_invariants(&two_running).is_err());
        let overtaken = [
            job("a", &["x"], "running"),
            job("b", &["x", "y"], "queued"),
            job("c", &["y"], "running"),
        ];
        assert!(check_invariants(&overtaken).is_err());
        let idle_wait = [job("a", &["x"], "completed"), job("b", &["x"], "queued")];
        assert!(check_invariants(&idle_wait).is_err());
    }
}
