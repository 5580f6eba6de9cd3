//! When a policy call has run too long. The epoch ticker measures wall
//! time, and wall time alone would deny a decision whose thread waited for
//! a CPU on a busy machine (more runnable threads than cores) as if the
//! plugin had looped. So passing the wall-clock deadline only starts a
//! second check: from then on the call may use its budget again in CPU
//! time of its own thread, checked every tick, and is stopped when it has,
//! or when ten budgets of wall time have passed whatever it used.
//!
//! A busy loop is therefore stopped after about twice its budget; a call
//! is never stopped for time before it has used a whole budget of CPU
//! (unless the machine gave it under a tenth of one). The thread's CPU
//! clock is read only once a call is past its wall deadline, so a normal
//! decision (microseconds) pays no extra system call.

use std::time::{Duration, Instant};

/// Wall time after which a call stops whatever CPU it got, in budgets.
pub(crate) const WALL_CAP_BUDGETS: u32 = 10;

/// Why a call was stopped for time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overrun {
    /// It used its budget of CPU after its wall deadline passed.
    Cpu,
    /// `WALL_CAP_BUDGETS` budgets of wall time passed.
    Wall,
}

/// One call's clock.
#[derive(Debug, Clone)]
pub(crate) struct CallClock {
    started: Instant,
    /// The thread's CPU time when the wall deadline first passed.
    cpu_at_deadline: Option<Duration>,
    /// Set when the call was stopped for time.
    pub(crate) overrun: Option<Overrun>,
}

impl CallClock {
    pub(crate) fn start() -> Self {
        Self {
            started: Instant::now(),
            cpu_at_deadline: None,
            overrun: None,
        }
    }

    /// Called on every epoch deadline past the first: whether the call may
    /// go on (`Ok`) or is stopped (`Err`, also kept in `overrun`).
    pub(crate) fn on_deadline(&mut self, budget: Duration) -> Result<(), Overrun> {
        let wall = self.started.elapsed();
        let verdict = self.judge(budget, wall, thread_cpu_time());
        if let Err(overrun) = verdict {
            self.overrun = Some(overrun);
        }
        verdict
    }

    /// The rule, given the wall time since the call started and the
    /// thread's CPU clock now.
    fn judge(
        &mut self,
        budget: Duration,
        wall: Duration,
        cpu_now: Duration,
    ) -> Result<(), Overrun> {
        if wall >= budget.saturating_mul(WALL_CAP_BUDGETS) {
            return Err(Overrun::Wall);
        }
        let since = *self.cpu_at_deadline.get_or_insert(cpu_now);
        if cpu_now.saturating_sub(since) >= budget {
            return Err(Overrun::Cpu);
        }
        Ok(())
    }
}

/// CPU time the calling thread has used.
#[cfg(unix)]
fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Without a thread CPU clock, CPU time is taken to be wall time: the
/// deadline is then plain wall time (twice the budget).
#[cfg(not(unix))]
fn thread_cpu_time() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_millis(100);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_call_that_got_no_cpu_goes_on_until_the_wall_cap() {
        let mut clock = CallClock::start();
        // The thread's CPU clock stands still: the thread waited for a CPU.
        for wall in [100, 250, 500, 999] {
            assert_eq!(clock.judge(BUDGET, ms(wall), ms(7)), Ok(()), "at {wall} ms");
        }
        assert_eq!(clock.judge(BUDGET, ms(1000), ms(7)), Err(Overrun::Wall));
    }

    #[test]
    fn a_busy_loop_stops_after_a_budget_of_cpu_past_the_deadline() {
        let mut clock = CallClock::start();
        // CPU advances with wall time: the call is running all the while.
        assert_eq!(clock.judge(BUDGET, ms(100), ms(5_100)), Ok(()));
        assert_eq!(clock.judge(BUDGET, ms(150), ms(5_150)), Ok(()));
        assert_eq!(clock.judge(BUDGET, ms(199), ms(5_199)), Ok(()));
        assert_eq!(clock.judge(BUDGET, ms(200), ms(5_200)), Err(Overrun::Cpu));
    }

    #[test]
    fn cpu_counts_from_the_first_deadline_not_from_the_threads_start() {
        let mut clock = CallClock::start();
        // A thread that had used an hour of CPU before this call.
        assert_eq!(clock.judge(BUDGET, ms(100), ms(3_600_000)), Ok(()));
        assert_eq!(clock.judge(BUDGET, ms(300), ms(3_600_050)), Ok(()));
        assert_eq!(
            clock.judge(BUDGET, ms(400), ms(3_600_100)),
            Err(Overrun::Cpu)
        );
    }

    #[test]
    fn the_thread_cpu_clock_counts_work_not_sleep() {
        let before = thread_cpu_time();
        std::thread::sleep(ms(50));
        assert!(thread_cpu_time() - before < ms(20));

        let (before, started) = (thread_cpu_time(), Instant::now());
        let mut x = 0u64;
        while thread_cpu_time() - before < ms(20) && started.elapsed() < ms(10_000) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let (cpu, wall) = (thread_cpu_time() - before, started.elapsed());
        assert!(cpu >= ms(20), "{cpu:?} of CPU in {wall:?} ({x})");
        assert!(
            wall + ms(1) >= cpu,
            "one thread used {cpu:?} of CPU in {wall:?}"
        );
    }
}
