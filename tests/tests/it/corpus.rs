//! The public conformance corpus (`../shared/corpus`): 145 archives from the
//! Go, tar-rs, libarchive and CPython test suites, many malformed on purpose.
//!
//! For every `.tar`, `.tar.gz` and `.tgz` file: sealtar must not panic, must
//! write nothing outside the destination, and must either refuse the archive
//! or produce exactly GNU tar's tree. Where GNU tar and Python's tarfile read
//! an archive differently (MANIFEST.tsv's `py!=tar`), sealtar must refuse.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::{Extractor, Options};
use sealtar_tests::oracle::{differences, gnu_extract, gnu_tar, observe};
use sealtar_tests::snapshot;

/// `SEALTAR_CORPUS` if set (a checkout whose `../shared` is elsewhere, such
/// as a git worktree, names it there), else `../shared/corpus` beside the
/// repository.
fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SEALTAR_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    };
    dir.join("MANIFEST.tsv").is_file().then_some(dir)
}

/// path -> whether the two oracles disagree.
fn oracle_disagreements(dir: &Path) -> BTreeMap<String, bool> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (path, mismatches) = (col("path"), col("mismatches"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[path].to_string(), f[mismatches].split(',').any(|m| m.trim() == "py!=tar"))
        })
        .collect()
}

enum Outcome {
    Refused,
    SameAsGnuTar,
}

fn run_one(extractor: &Extractor, tar: &str, archive: &Path, oracles_disagree: bool) -> Result<Outcome, String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dest_path = work.path().join("dest");
    std::fs::create_dir(&dest_path).unwrap();
    std::fs::create_dir(work.path().join("sentinel")).unwrap();
    std::fs::write(work.path().join("sentinel/keep"), b"untouched").unwrap();
    let outside_before = snapshot(work.path());

    let dest = Dir::open_ambient_dir(&dest_path, ambient_authority()).unwrap();
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let result = catch_unwind(AssertUnwindSafe(|| extractor.extract(file, &dest)))
        .map_err(|_| "the host panicked".to_string())?;
    drop(dest);

    // Nothing outside the destination changed.
    let mut outside_after = snapshot(work.path());
    let inside: Vec<String> = outside_after.keys().filter(|k| k.starts_with("dest/")).cloned().collect();
    for k in inside {
        outside_after.remove(&k);
    }
    let mut outside_before = outside_before;
    outside_before.retain(|k, _| !k.starts_with("dest/"));
    if outside_after != outside_before {
        return Err("something outside the destination changed".into());
    }

    match result {
        Err(e) if e.is_refusal() => {
            if !snapshot(&dest_path).is_empty() {
                return Err(format!("refused ({e}) but left files in the destination"));
            }
            Ok(Outcome::Refused)
        }
        Err(e) => Err(format!("not a refusal: {e}")),
        Ok(_) if oracles_disagree => Err("accepted although GNU tar and Python disagree on it".into()),
        Ok(_) => {
            let theirs = work.path().join("gnu");
            std::fs::create_dir(&theirs).unwrap();
            gnu_extract(tar, archive, &theirs).map_err(|e| format!("sealtar accepted it but {e}"))?;
            let diffs = differences(&observe(&dest_path), &observe(&theirs));
            if diffs.is_empty() { Ok(Outcome::SameAsGnuTar) } else { Err(diffs.join("; ")) }
        }
    }
}

#[test]
fn public_corpus_is_refused_or_matches_gnu_tar() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIPPED: ../shared/corpus is absent (set SEALTAR_CORPUS); the public-corpus test needs it");
        return;
    };
    let Some(tar) = gnu_tar() else {
        eprintln!("SKIPPED: GNU tar not found; the public-corpus test needs it");
        return;
    };
    let disagreements = oracle_disagreements(&dir);
    let mut options = Options::default();
    options.cache_dir = None;
    let extractor = Extractor::new(options).unwrap();

    let (mut refused, mut same, mut failures) = (0, 0, Vec::new());
    for (path, disagree) in &disagreements {
        if !(path.ends_with(".tar") || path.ends_with(".tar.gz") || path.ends_with(".tgz")) {
            continue;
        }
        match run_one(&extractor, tar, &dir.join(path), *disagree) {
            Ok(Outcome::Refused) => refused += 1,
            Ok(Outcome::SameAsGnuTar) => same += 1,
            Err(why) => failures.push(format!("{path}: {why}")),
        }
    }
    eprintln!("public corpus: {same} extracted identically to GNU tar, {refused} refused, {} failed", failures.len());
    assert!(same + refused >= 100, "expected over 100 tar/tar.gz archives in the corpus");
    assert!(same >= 30, "only {same} archives extracted; the policy refuses far more than it should");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
