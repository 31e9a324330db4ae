//! The decoder differential's fixed-seed run (what `make test` runs; `make
//! fuzz-decoders` runs more): real gzip, bzip2, xz and zstd tarballs made by
//! the tools themselves, mutated with their checksums recomputed, and
//! sealtar held to the tool and GNU tar. See `sealtar_tests::decoders` for
//! the rule.

use sealtar_tests::decoders::{Config, Differential, FIXED_CASES, FIXED_SEED, Format};

use crate::support::extractor;

fn run(format: Format) {
    let tool = format.tool();
    let differential = match Differential::new(extractor(), format) {
        Ok(d) => d,
        Err(e) => {
            assert!(
                std::env::var_os("SEALTAR_REQUIRE_SAMPLES").is_none_or(|v| v != "1"),
                "the {tool} differential cannot run under SEALTAR_REQUIRE_SAMPLES=1: {e}"
            );
            eprintln!("SKIPPED: the {tool} differential: {e}");
            return;
        }
    };
    let config = Config {
        format,
        seed: FIXED_SEED,
        first: 0,
        cases: FIXED_CASES,
        save_dir: Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-decoders")),
        print: false,
    };
    let s = differential.run(&config, |_| {});
    eprintln!(
        "decoders {tool} seed {FIXED_SEED}: {} cases ({} unchanged), {tool} accepted {}, sealtar accepted {} and \
         refused {} ({} read by {tool} and GNU tar), {} failures, {:.1} s",
        s.cases,
        s.unchanged,
        s.tool_accepted,
        s.accepted,
        s.refused,
        s.stricter,
        s.failures.len(),
        s.elapsed.as_secs_f64()
    );
    let failures: Vec<String> = s.failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{} failing {tool} cases:\n{}", failures.len(), failures.join("\n"));
    // The run reaches both outcomes: the tool's output unchanged is always
    // accepted, and most mutations are refused.
    assert_eq!(s.cases, FIXED_CASES);
    assert!(s.unchanged >= FIXED_CASES / 20 && s.accepted >= s.unchanged, "{s:?}");
    assert!(s.refused >= FIXED_CASES / 4, "{s:?}");
}

#[test]
fn gzip_is_read_as_gzip_reads_it() {
    run(Format::Gzip);
}

#[test]
fn bzip2_is_read_as_bzip2_reads_it() {
    run(Format::Bzip2);
}

#[test]
fn xz_is_read_as_xz_reads_it() {
    run(Format::Xz);
}

#[test]
fn zstd_is_read_as_zstd_reads_it() {
    run(Format::Zstd);
}
