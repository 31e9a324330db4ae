//! `fuzz-decoders`: the decoder differential from the command line.
//!
//! ```text
//! fuzz-decoders --format gzip|bzip2|xz|zstd|all [--seed S] [--cases N] [--first K] [--save DIR]
//! ```
//!
//! Runs cases `K..K+N` of seed `S` for the format (each format in turn for
//! `all`): real compressed tarballs, mutated, extracted by sealtar and
//! judged against the format's own tool and GNU tar (see
//! `sealtar_tests::decoders`). Prints every failure with its seed and case
//! number, saves the failing archives under `DIR`, and exits 1 if any case
//! failed. One case: `--seed S --first K --cases 1`.

use std::path::PathBuf;
use std::process::ExitCode;

use sealtar::{Extractor, Options};
use sealtar_tests::decoders::{Config, Differential, Format};

fn main() -> ExitCode {
    let (mut seed, mut cases, mut first, mut save) = (1, 1000, 0, Some(PathBuf::from("target/fuzz-decoders")));
    let mut formats = Format::ALL.to_vec();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let number = |v: String| v.parse::<u64>().unwrap_or_else(|_| usage(&format!("not a number: {v}")));
        match flag.as_str() {
            "--format" => {
                let v = value();
                formats = match v.as_str() {
                    "all" => Format::ALL.to_vec(),
                    name => vec![Format::from_name(name).unwrap_or_else(|| usage(&format!("unknown format {name}")))],
                }
            }
            "--seed" => seed = number(value()),
            "--cases" => cases = number(value()),
            "--first" => first = number(value()),
            "--save" => save = Some(PathBuf::from(value())),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let mut options = Options::default();
    options.cache_dir = sealtar::default_cache_dir();
    let extractor = match Extractor::new(options) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("fuzz-decoders: {e}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for format in formats {
        let differential = match Differential::new(&extractor, format) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("fuzz-decoders: {e}");
                return ExitCode::from(2);
            }
        };
        let config = Config { format, seed, first, cases, save_dir: save.clone(), print: true };
        let tool = format.tool();
        eprintln!("fuzz-decoders: {tool}, seed {seed}, cases {first}..{}", first + cases);
        let step = (cases / 20).max(100);
        let summary = differential.run(&config, |s| {
            if s.cases.is_multiple_of(step) {
                eprintln!(
                    "fuzz-decoders: {tool}: {} cases, {} accepted, {} refused, {} failures, {:.0} s",
                    s.cases,
                    s.accepted,
                    s.refused,
                    s.failures.len(),
                    s.elapsed.as_secs_f64()
                );
            }
        });
        println!(
            "{tool} seed {seed} cases {first}..{}: {} cases ({} unchanged); {tool} accepted {}; sealtar accepted {} \
             and refused {} ({} of them read by {tool} and GNU tar); {} failures; {:.1} s",
            first + cases,
            summary.cases,
            summary.unchanged,
            summary.tool_accepted,
            summary.accepted,
            summary.refused,
            summary.stricter,
            summary.failures.len(),
            summary.elapsed.as_secs_f64()
        );
        for (case, notes, refusal) in &summary.stricter_cases {
            println!("  stricter than {tool}: case {case} ({notes}): {refusal}");
        }
        failed |= !summary.failures.is_empty();
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("fuzz-decoders: {problem}");
    }
    eprintln!("usage: fuzz-decoders --format gzip|bzip2|xz|zstd|all [--seed S] [--cases N] [--first K] [--save DIR]");
    std::process::exit(2)
}
