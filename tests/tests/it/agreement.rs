//! `check` and `extract` share one policy: on every archive of the public
//! corpus (`../shared/corpus`, or the directory `SEALTAR_CORPUS` names) and
//! every archive of the differential fuzzer's fixed-seed run, `check` finds
//! the archive acceptable exactly when `extract` (into an empty directory)
//! accepts it.

use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::Extractor;
use sealtar_tests::difffuzz::generate::generate;
use sealtar_tests::difffuzz::{FIXED_CASES, FIXED_SEED};

use crate::support::extractor;

fn corpus_archives() -> Option<Vec<PathBuf>> {
    let dir = match std::env::var_os("SEALTAR_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    };
    if !dir.join("MANIFEST.tsv").is_file() {
        return None;
    }
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if [".tar", ".tar.gz", ".tgz"].iter().any(|s| path.to_string_lossy().ends_with(s)) {
                out.push(path);
            }
        }
    }
    out.sort();
    Some(out)
}

/// `None` if they agree; otherwise what each said.
fn disagreement(extractor: &Extractor, bytes: &[u8]) -> Option<String> {
    let work = tempfile::tempdir().unwrap();
    let dest = Dir::open_ambient_dir(work.path(), ambient_authority()).unwrap();
    let extracted = extractor.extract(bytes, &dest);
    if let Err(e) = &extracted {
        if crate::support::under_wine() && is_wine_path_limit(e) {
            eprintln!("skipping an archive whose paths Wine cannot resolve (see support::under_wine): {e}");
            return None;
        }
        assert!(e.is_refusal(), "extract failed with an error that is not a refusal: {e}");
    }
    let report = extractor.check(bytes, None).expect("check reads from memory");
    if extracted.is_ok() == report.is_acceptable() {
        return None;
    }
    let first = report.violations.first().map(|v| format!("{v:?}")).unwrap_or_default();
    Some(format!(
        "extract: {:?}; check: acceptable {} {first}",
        extracted.err().map(|e| e.to_string()),
        report.is_acceptable()
    ))
}

#[test]
fn check_and_extract_agree_on_the_corpus_and_the_fuzz_archives() {
    let extractor = extractor();
    let mut failures = Vec::new();
    let mut counted = (0, 0);
    match corpus_archives() {
        None => eprintln!("SKIPPED in part: ../shared/corpus is absent; checking the fuzz archives only"),
        Some(archives) => {
            assert!(archives.len() >= 100, "only {} corpus archives", archives.len());
            for path in &archives {
                counted.0 += 1;
                if let Some(why) = disagreement(extractor, &std::fs::read(path).unwrap()) {
                    failures.push(format!("{}: {why}", path.display()));
                }
            }
        }
    }
    for case in 0..FIXED_CASES {
        counted.1 += 1;
        let c = generate(FIXED_SEED, case);
        if let Some(why) = disagreement(extractor, &c.bytes) {
            failures.push(format!("fuzz seed {FIXED_SEED} case {case} ({}): {why}", c.notes.join("; ")));
        }
    }
    eprintln!(
        "check/extract agreement: {} corpus and {} fuzz archives, {} disagree",
        counted.0,
        counted.1,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Wine's "More data available" (ERROR_MORE_DATA) for a path past MAX_PATH.
fn is_wine_path_limit(e: &sealtar::Error) -> bool {
    // An I/O error carries its cause in a field (its `source()` is None:
    // the message already includes it).
    if let sealtar::Error::Io { source, .. } = e
        && source.raw_os_error() == Some(234)
    {
        return true;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.downcast_ref::<std::io::Error>().is_some_and(|io| io.raw_os_error() == Some(234)) {
            return true;
        }
        source = err.source();
    }
    false
}
