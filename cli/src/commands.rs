//! One file per subcommand, and what they share: the worker pool of
//! `check --batch` and `audit-cargo`.

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::args::{Cli, Command};

mod audit;
mod batch;
mod check;
mod extract;
mod list;

/// Runs the command; the exit code, or the error `main` reports.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Extract { archive, members, dir, limits, verbose } => {
            extract::run(&archive, &dir, limits.options(members), verbose)
        }
        Command::List { archive, members, json, limits } => list::run(&archive, limits.options(members), json),
        Command::AuditCargo { cargo_home, vendor, lockfile, strict, json, jobs, limits } => {
            let request =
                audit::Request { cargo_home, vendor, lockfiles: lockfile, strict, json, jobs: job_count(jobs) };
            audit::run(limits.options(Vec::new()), request)
        }
        Command::Check { batch: Some(list), krate, jobs, limits, .. } => {
            batch::run(&list, limits.options(Vec::new()), krate, job_count(jobs))
        }
        Command::Check { archive, json, krate, prefix, limits, .. } => {
            check::run(archive, limits.options(Vec::new()), json, krate, prefix)
        }
    }
}

/// Runs `work` on every item of `items` on `jobs` threads, handing each
/// result to `done` (under a lock, in completion order).
fn parallel<T: Sync, R: Send>(items: &[T], jobs: usize, work: impl Fn(&T) -> R + Sync, done: impl FnMut(&T, R) + Send) {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(done);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(item);
                    let mut done = done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    (*done)(item, result);
                }
            });
        }
    });
}

/// Worker threads: the `--jobs` value, or one per core.
fn job_count(jobs: Option<usize>) -> usize {
    jobs.filter(|&j| j > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}
