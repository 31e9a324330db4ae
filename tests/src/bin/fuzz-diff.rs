//! `fuzz-diff`: the differential fuzzer from the command line.
//!
//! ```text
//! fuzz-diff [--links] [--seed S] [--cases N] [--first K] [--save DIR] [--cli-every M]
//! ```
//!
//! Runs cases `K..K+N` of seed `S` through sealtar (in-process, and every
//! `M`-th case also through the `sealtar` binary next to this one), GNU tar
//! and Python's tarfile, prints every failure with its seed and case number,
//! saves the failing archives under `DIR`, and exits 1 if any case failed.
//! A single case is reproduced with `--seed S --first K --cases 1`. With
//! `--links`, the links mode: generated links under `--links copy`, the
//! readers' trees read through their links.

use std::path::PathBuf;
use std::process::ExitCode;

use sealtar::{Extractor, Options};
use sealtar_tests::difffuzz::{Config, Fuzzer};

fn main() -> ExitCode {
    let mut config = Config::new(1, 1000);
    config.print = true;
    config.cli_every = 10;
    config.save_dir = Some(PathBuf::from("target/fuzz-diff"));
    let mut links = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let number = |v: String| v.parse::<u64>().unwrap_or_else(|_| usage(&format!("not a number: {v}")));
        match flag.as_str() {
            "--seed" => config.seed = number(value()),
            "--cases" => config.cases = number(value()),
            "--first" => config.first = number(value()),
            "--cli-every" => config.cli_every = number(value()),
            "--save" => config.save_dir = Some(PathBuf::from(value())),
            "--links" => links = true,
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let bin =
        std::env::current_exe().ok().and_then(|me| me.parent().map(|d| d.join("sealtar"))).filter(|p| p.is_file());
    if bin.is_none() {
        eprintln!("fuzz-diff: no sealtar binary next to this one; the CLI path is not exercised");
    }
    config.cli = if config.cli_every == 0 { None } else { bin };
    let mut options = Options::default();
    options.cache_dir = sealtar::default_cache_dir();
    config.cli_cache = options.cache_dir.clone();
    let extractor = match Extractor::new(options) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("fuzz-diff: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(mut fuzzer) = Fuzzer::new(&extractor) else {
        eprintln!("fuzz-diff: needs GNU tar and python3 (3.11.4 or later, for tarfile's extraction filters)");
        return ExitCode::from(2);
    };
    eprintln!("fuzz-diff: seed {}, cases {}..{}", config.seed, config.first, config.first + config.cases);
    let step = (config.cases / 20).max(100);
    if links {
        let summary = fuzzer.run_links(&config, |s| {
            if s.cases.is_multiple_of(step) {
                eprintln!(
                    "fuzz-diff --links: {} cases, {} accepted, {} failures, {:.0} s",
                    s.cases,
                    s.accepted,
                    s.failures.len(),
                    s.elapsed.as_secs_f64()
                );
            }
        });
        println!(
            "links seed {} cases {}..{}: {} cases, sealtar accepted {} and refused {}, copied {} links and skipped {}; \
             tarfile and GNU tar read {} accepted cases differently; slowest extraction {:.3} s; peak RSS {} MiB; \
             {} failures ({} disagreements, {} crashes, {} outside, {} over the time budget), {:.1} s",
            config.seed,
            config.first,
            config.first + config.cases,
            summary.cases,
            summary.accepted,
            summary.refused,
            summary.links_copied,
            summary.links_skipped,
            summary.oracles_disagree,
            summary.slowest.as_secs_f64(),
            peak_rss_mib().map_or("?".to_string(), |m| m.to_string()),
            summary.failures.len(),
            count(&summary, sealtar_tests::difffuzz::Class::Disagreement),
            count(&summary, sealtar_tests::difffuzz::Class::Crash),
            count(&summary, sealtar_tests::difffuzz::Class::Outside),
            count(&summary, sealtar_tests::difffuzz::Class::Budget),
            summary.elapsed.as_secs_f64()
        );
        return if summary.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) };
    }
    let summary = fuzzer.run(&config, |s| {
        if s.cases.is_multiple_of(step) {
            eprintln!(
                "fuzz-diff: {} cases, {} accepted, {} refused, {} failures, {:.0} s",
                s.cases,
                s.accepted,
                s.refused,
                s.failures.len(),
                s.elapsed.as_secs_f64()
            );
        }
    });
    println!(
        "seed {} cases {}..{}: {} cases ({} well-formed, {} gzip), sealtar accepted {} and refused {}; \
         the oracles ran on {}: they disagreed on {}, read {} refused ones alike; {} through the CLI; \
         {} failures ({} disagreements, {} crashes, {} outside), {:.1} s",
        config.seed,
        config.first,
        config.first + config.cases,
        summary.cases,
        summary.well_formed,
        summary.gzip,
        summary.accepted,
        summary.refused,
        summary.oracle_runs,
        summary.oracles_disagree,
        summary.refused_while_oracles_agree,
        summary.cli_runs,
        summary.failures.len(),
        count(&summary, sealtar_tests::difffuzz::Class::Disagreement),
        count(&summary, sealtar_tests::difffuzz::Class::Crash),
        count(&summary, sealtar_tests::difffuzz::Class::Outside),
        summary.elapsed.as_secs_f64()
    );
    if summary.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn count(s: &sealtar_tests::difffuzz::Summary, class: sealtar_tests::difffuzz::Class) -> usize {
    s.failures.iter().filter(|f| f.class == class).count()
}

/// This process's peak resident set size (Linux: `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("fuzz-diff: {problem}");
    }
    eprintln!("usage: fuzz-diff [--links] [--seed S] [--cases N] [--first K] [--save DIR] [--cli-every M (0: never)]");
    std::process::exit(2)
}
