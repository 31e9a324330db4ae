//! The run's one wall-clock deadline (`--timeout`), shared by every phase:
//! reading the input, the sandbox, the host's policy and link phase, and
//! the writer.

use std::time::{Duration, Instant};

use crate::error::{Error, SandboxFault};

/// When the run must end, if ever.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// `timeout` from now (`Duration::MAX`: never).
    pub(crate) fn after(timeout: Duration) -> Deadline {
        Deadline(Instant::now().checked_add(timeout))
    }

    /// Moves it `by` later (set-up that is not the run's work).
    pub(crate) fn postpone(&mut self, by: Duration) {
        self.0 = self.0.and_then(|d| d.checked_add(by));
    }

    /// The instant, if there is one.
    pub(crate) fn instant(self) -> Option<Instant> {
        self.0
    }

    /// Whether it has passed.
    pub(crate) fn passed(self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }

    /// The refusal of a run that went past it, if it has passed.
    pub(crate) fn check(self) -> Result<(), Error> {
        if self.passed() { Err(Error::Sandbox(SandboxFault::Timeout)) } else { Ok(()) }
    }
}

/// Checks a deadline every [`Ticker::EVERY`] steps of a loop whose steps
/// are each cheap: often enough that a run ends within milliseconds of its
/// deadline, rarely enough to cost nothing.
#[derive(Debug)]
pub(crate) struct Ticker {
    deadline: Deadline,
    steps: u32,
}

impl Ticker {
    const EVERY: u32 = 1024;

    pub(crate) fn new(deadline: Deadline) -> Ticker {
        Ticker { deadline, steps: 0 }
    }

    /// One step; `Err` once the deadline has passed.
    pub(crate) fn tick(&mut self) -> Result<(), Error> {
        self.steps = self.steps.wrapping_add(1);
        if self.steps.is_multiple_of(Self::EVERY) { self.deadline.check() } else { Ok(()) }
    }

    /// The deadline itself.
    pub(crate) fn deadline(&self) -> Deadline {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postponing_moves_the_deadline_back_and_never_stays_never() {
        let mut deadline = Deadline::after(Duration::from_millis(10));
        let before = deadline.instant().unwrap();
        deadline.postpone(Duration::from_secs(3));
        assert_eq!(deadline.instant().unwrap() - before, Duration::from_secs(3));
        assert!(!deadline.passed());
        let mut never = Deadline::after(Duration::MAX);
        never.postpone(Duration::from_secs(1));
        assert!(never.instant().is_none() && !never.passed());
    }
}
