//! `--exclude` means what it means to GNU tar (issue 20): a table of
//! patterns over an archive of awkward names, each extracted by sealtar and
//! by `tar --exclude` (GNU tar 1.34, its defaults), must leave out exactly
//! the same members.

use std::collections::BTreeSet;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::Extractor;
use sealtar_tests::oracle::gnu_tar;
use sealtar_tests::{Node, Tar, snapshot};

use crate::support::options;

/// Names as writers spell them: `./` prefixes, repeated slashes, trailing
/// slashes on directories, and the characters patterns give a meaning to.
fn archive() -> Vec<u8> {
    let mut t = Tar::new();
    t.dir("./");
    for dir in ["./docs/", "./docs/sub/", "./src/", "./pkg/", "./pkg/docs/", "x/", "x/y/", "b[1]/", "q?/"] {
        t.dir(dir);
    }
    for file in [
        "./docs/a.txt",
        "./docs/sub/b.txt",
        "./src/main.rs",
        "./src/lib.rs",
        "./main.rs",
        "./pkg/docs/c.md",
        "./pkg/README",
        "./x{a,b}",
        "./xa",
        "x//y/z",
        "x/y/w.txt",
        "b[1]/f",
        "q?/g",
        "star*name",
        "back\\slash",
        "a.b.c",
        "UPPER.TXT",
        "space name",
    ] {
        t.file(file, file.as_bytes());
    }
    t.finish()
}

/// Patterns: plain names and paths, anchored-looking ones, wildcards that
/// cross `/`, brackets (with ranges, negation, classes, an unclosed one),
/// escapes, braces (literal in GNU tar) and trailing slashes.
const PATTERNS: &[&str] = &[
    "docs",
    "./docs",
    "docs/",
    "./docs/",
    "docs/sub",
    "sub",
    "*.rs",
    "./*.rs",
    "src/*.rs",
    "*.txt",
    "*/docs",
    "x{a,b}",
    "x?",
    "x*",
    "x/y",
    "x//y",
    "y",
    "z",
    "[ab]*",
    "[!x]*",
    "[^x]*",
    "[a-c].b.c",
    "[[:upper:]]*",
    "b[1]",
    "b\\[1\\]",
    "q\\?",
    "star\\*name",
    "star*",
    "back\\\\slash",
    "a[",
    ".",
    "./",
    "*",
    "?",
    "README",
    "pkg",
    "pkg/*",
    "*/c.md",
    "space name",
    "space*",
    "ocs",
    "main.rs",
];

fn paths(root: &std::path::Path) -> BTreeSet<String> {
    snapshot(root).into_iter().filter(|(_, n)| !matches!(n, Node::Other)).map(|(p, _)| p).collect()
}

#[test]
fn exclude_leaves_out_what_gnu_tar_leaves_out() {
    let Some(tar) = gnu_tar() else {
        eprintln!("SKIPPED: GNU tar not found");
        return;
    };
    let bytes = archive();
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("names.tar");
    std::fs::write(&archive, &bytes).unwrap();
    let mut checked = 0;
    for (i, pattern) in PATTERNS.iter().enumerate() {
        let ours = work.path().join(format!("ours{i}"));
        let theirs = work.path().join(format!("gnu{i}"));
        std::fs::create_dir(&ours).unwrap();
        std::fs::create_dir(&theirs).unwrap();
        let status = std::process::Command::new(tar)
            .env("LC_ALL", "C")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&theirs)
            .arg("--exclude")
            .arg(pattern)
            .status()
            .unwrap();
        assert!(status.success(), "GNU tar --exclude {pattern:?}");
        let mut o = options();
        o.exclude = vec![pattern.to_string()];
        let dest = Dir::open_ambient_dir(&ours, ambient_authority()).unwrap();
        Extractor::new(o).unwrap().extract(&bytes[..], &dest).unwrap_or_else(|e| panic!("{pattern:?}: {e}"));
        assert_eq!(paths(&ours), paths(&theirs), "--exclude {pattern:?}");
        checked += 1;
    }
    assert_eq!(checked, PATTERNS.len());
}
