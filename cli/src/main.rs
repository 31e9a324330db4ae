//! The `sealtar` command: a thin layer over the library.
//!
//! `args` holds the flags (mapped one to one onto `sealtar::Options`),
//! `commands` one file per subcommand, `input` how the archive is read and
//! `output` how results and notes are written. Exit codes: 0 extracted (or
//! acceptable), 1 the archive was refused, 2 usage or I/O error; the exit
//! status follows the result, never the health of standard output or
//! error.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use sealtar::Error;

mod args;
mod commands;
mod input;
mod output;

fn main() -> ExitCode {
    default_sigpipe();
    tune_malloc();
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            let refused = e.downcast_ref::<Error>().is_some_and(Error::is_refusal);
            let label = if refused { "refused" } else { "error" };
            let _ = writeln!(io::stderr(), "sealtar: {label}: {e:#}");
            ExitCode::from(if refused { 1 } else { 2 })
        }
    }
}

/// Rust ignores SIGPIPE, so writing into a closed pipe is an error on every
/// write. A command-line filter should rather end quietly the way `cat` and
/// `tar` do: restore the default action. (Closed standard descriptors are
/// reopened on `/dev/null` by the Rust runtime before `main`.) Every message
/// is written with `writeln!` and its result ignored, never with
/// `eprintln!`, which panics when standard error fails.
#[cfg(unix)]
fn default_sigpipe() {
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    #[allow(unsafe_code, reason = "a libc declaration: Rust's standard library has no `signal`")]
    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    // SAFETY: restores the default disposition of one signal before any
    // other thread exists; no handler code is installed.
    #[allow(unsafe_code, reason = "the one call that restores SIGPIPE's default")]
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

#[cfg(not(unix))]
fn default_sigpipe() {}

/// glibc's malloc trims the per-thread arenas of the parser and input threads
/// after nearly every large free and grows them again on the next allocation:
/// about a hundred `mprotect` calls per small archive, each a TLB shootdown
/// across the process's threads. A high trim threshold keeps freed memory for
/// reuse; the extractor's queues bound how much that is (a few MiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    const M_TOP_PAD: i32 = -2;
    const M_ARENA_MAX: i32 = -8;
    #[allow(unsafe_code, reason = "a glibc declaration: Rust's standard library has no `mallopt`")]
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only changes allocator tunables; it is called before
    // any other thread exists.
    #[allow(unsafe_code, reason = "allocator tunables, set before any thread exists")]
    unsafe {
        mallopt(M_ARENA_MAX, 1);
        mallopt(M_TOP_PAD, 16 << 20);
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
        mallopt(M_MMAP_THRESHOLD, 16 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
