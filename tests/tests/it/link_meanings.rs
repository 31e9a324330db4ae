//! What a link means under `--links copy`, against GNU tar and Python's
//! tarfile (issue 19): each archive is extracted by sealtar, by GNU tar and
//! by tarfile (`filter='fully_trusted'`, into a temporary directory), and
//! the readers' trees are read through their links. A link sealtar copies
//! holds exactly what both readers see there; a link it skips is one the
//! readers read differently, or one that names nothing for them.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::{Extractor, LinkPolicy, LinkProblem, Report, Rule};
use sealtar_tests::Tar;
use sealtar_tests::oracle::{Observed, gnu_tar, observe_followed};

use crate::support::options;

/// What a reader sees at a path: a directory, or a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Dir,
    File(Vec<u8>),
    Nothing,
}

fn seen(tree: &BTreeMap<String, Observed>, path: &str) -> Seen {
    match tree.get(path) {
        Some(Observed::Dir { .. }) => Seen::Dir,
        Some(Observed::File { contents, .. }) => Seen::File(contents.clone()),
        _ => Seen::Nothing,
    }
}

/// The trees of one archive: sealtar's (with its report), GNU tar's and
/// tarfile's (`None` when it refused the archive, or with `strip`: it has
/// no stripping), the readers' read through their links.
struct Trees {
    report: Report,
    ours: BTreeMap<String, Observed>,
    gnu: BTreeMap<String, Observed>,
    python: Option<BTreeMap<String, Observed>>,
}

fn extract_all(bytes: &[u8], strip: usize) -> Option<Trees> {
    let tar = gnu_tar()?;
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("a.tar");
    std::fs::write(&archive, bytes).unwrap();
    let [ours, gnu, python] = ["sealtar", "gnu", "python"].map(|d| work.path().join(d));
    for d in [&ours, &gnu, &python] {
        std::fs::create_dir(d).unwrap();
    }
    let mut o = options();
    o.links = LinkPolicy::Copy;
    o.strip_components = strip;
    let dest = Dir::open_ambient_dir(&ours, ambient_authority()).unwrap();
    let report = Extractor::new(o).unwrap().extract(bytes, &dest).expect("sealtar extracts under --links copy");
    // GNU tar's failures (a hard link it cannot make) are part of what it
    // reads: the tree is what it wrote.
    let _ = Command::new(tar)
        .args(["--no-same-owner", "--no-same-permissions", "-xf"])
        .arg(&archive)
        .arg("-C")
        .arg(&gnu)
        .arg(format!("--strip-components={strip}"))
        .output()
        .unwrap();
    let python = (strip == 0 && python_extract(&archive, &python)).then(|| observe_followed(&python));
    Some(Trees { report, ours: sealtar_tests::oracle::observe(&ours), gnu: observe_followed(&gnu), python })
}

/// tarfile's `extractall`, as a Python user calls it. Whether it finished:
/// an exception (it raises `KeyError` for a hard link to a later member)
/// ends it where it is, a refusal of the whole archive, so its half-written
/// tree says nothing.
fn python_extract(archive: &Path, dest: &Path) -> bool {
    let script = "import sys, tarfile\n\
        with tarfile.open(sys.argv[1]) as t:\n\
        \x20   t.extractall(sys.argv[2], filter='fully_trusted')\n";
    let out = Command::new("python3").args(["-c", script]).arg(archive).arg(dest).output().expect("python3 runs");
    if !out.status.success() {
        eprintln!("tarfile stopped: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""));
    }
    out.status.success()
}

/// Checks the rule: every path sealtar wrote is what both readers see
/// there; every link it skipped is one the readers disagree on or cannot
/// read. Returns the report.
fn agree(bytes: &[u8], strip: usize) -> Option<Report> {
    let Some(trees) = extract_all(bytes, strip) else {
        eprintln!("SKIPPED: GNU tar not found");
        return None;
    };
    for path in trees.ours.keys() {
        let ours = seen(&trees.ours, path);
        assert_eq!(ours, seen(&trees.gnu, path), "{path}: sealtar and GNU tar");
        if let Some(python) = &trees.python {
            assert_eq!(ours, seen(python, path), "{path}: sealtar and tarfile");
        }
    }
    for skipped in &trees.report.skipped {
        let path = skipped.path.as_str();
        let gnu = seen(&trees.gnu, path);
        let python = trees.python.as_ref().map_or(gnu.clone(), |p| seen(p, path));
        assert!(gnu != python || gnu == Seen::Nothing, "{path} skipped, yet both readers see {gnu:?}");
    }
    Some(trees.report)
}

fn skipped_for(report: &Report, path: &str) -> Option<Rule> {
    report.skipped.iter().find(|s| s.path == path).and_then(|s| s.reason.clone())
}

/// A hard link to a symbolic link is a second symbolic link with the same
/// text, resolved from the hard link's own directory: in a crate layout,
/// `src/main.rs` is `src/lib.rs` for both readers, never the test fixture
/// beside the first link.
#[test]
fn a_hard_link_to_a_symlink_resolves_from_its_own_directory() {
    let bytes = Tar::new()
        .file("pkg/src/lib.rs", b"pub fn real() {}\n")
        .file("pkg/tests/lib.rs", b"// fixture\n")
        .symlink("pkg/tests/s", "lib.rs")
        .hardlink("pkg/src/main.rs", "pkg/tests/s")
        .finish();
    let Some(report) = agree(&bytes, 0) else { return };
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(
        report.copied.iter().map(|c| (c.path.as_str(), c.copy_of.as_str())).collect::<Vec<_>>(),
        [("pkg/tests/s", "pkg/tests/lib.rs"), ("pkg/src/main.rs", "pkg/src/lib.rs")]
    );
}

/// `a/sub/../g`: GNU tar drops everything up to the last `..` (`g`),
/// tarfile resolves it (`a/g`): two meanings, so never copied. `a/../f`
/// means `f` to both, and is copied.
#[test]
fn hard_link_targets_with_dot_dot_are_copied_only_when_both_readers_agree() {
    let base = || {
        let mut t = Tar::new();
        t.dir("a/").dir("a/sub/").file("g", b"top\n").file("a/g", b"inner\n").file("f", b"f\n");
        t
    };
    let Some(report) = agree(&base().hardlink("h", "a/sub/../g").finish(), 0) else { return };
    assert_eq!(skipped_for(&report, "h"), Some(Rule::Link(LinkProblem::ReadersDisagree)));
    let Some(report) = agree(&base().hardlink("h", "a/../f").finish(), 0) else { return };
    assert_eq!(report.copied.iter().map(|c| c.copy_of.as_str()).collect::<Vec<_>>(), ["f"]);
}

/// A symbolic link through a hard link that names a later member: the hard
/// link is never made, so the symbolic link names nothing either.
#[test]
fn a_symlink_through_a_hard_link_never_made_is_skipped() {
    let bytes = Tar::new().hardlink("h", "later").symlink("s", "h").file("later", b"later\n").finish();
    let Some(report) = agree(&bytes, 0) else { return };
    assert!(matches!(skipped_for(&report, "h"), Some(Rule::Link(LinkProblem::LaterEntry { .. }))), "{report:?}");
    assert_eq!(skipped_for(&report, "s"), Some(Rule::Link(LinkProblem::Dangling)));
}

/// `..` in symbolic links climbs the physical tree: through a link to a
/// directory, `..` is that directory's parent. Targets whose `..` stays
/// inside are copied.
#[test]
fn dot_dot_in_symlinks_climbs_the_physical_tree() {
    let bytes = Tar::new()
        .file("f", b"top\n")
        .dir("a/")
        .dir("a/b/")
        .file("a/c", b"a/c\n")
        .file("c", b"c\n")
        .symlink("a/b/s", "../../f")
        .symlink("x", "a/b")
        .symlink("y", "x/../c")
        .finish();
    let Some(report) = agree(&bytes, 0) else { return };
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let copy_of: BTreeMap<&str, &str> = report.copied.iter().map(|c| (c.path.as_str(), c.copy_of.as_str())).collect();
    assert_eq!(copy_of["y"], "a/c");
    assert_eq!(copy_of["a/b/s"], "f");
}

/// After `--strip-components` merges two directories, a copy of the merged
/// directory holds both sides, as GNU tar's tree does.
#[test]
fn a_copy_of_a_merged_directory_holds_both_sides() {
    let bytes =
        Tar::new().file("a/d/x", b"x\n").file("b/d/y", b"y\n").symlink("a/l", "d").hardlink("b/h", "a/d/x").finish();
    let Some(report) = agree(&bytes, 1) else { return };
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.copied.len(), 2);
}

/// The differential fuzzer's links mode, fixed seed (`make fuzz-diff
/// LINKS=1` runs more): generated links under `--links copy` against GNU
/// tar and tarfile read through their links. See
/// `sealtar_tests::difffuzz::Fuzzer::run_links` for the rule.
#[test]
fn fixed_seed_links_run_finds_no_disagreement() {
    use sealtar_tests::difffuzz::{Config, FIXED_LINK_CASES, FIXED_SEED, Fuzzer};
    let Some(mut fuzzer) = Fuzzer::new(crate::support::extractor()) else {
        eprintln!("SKIPPED: the differential fuzzer needs GNU tar and python3 3.11.4+ (tarfile filters)");
        return;
    };
    let mut config = Config::new(FIXED_SEED, FIXED_LINK_CASES);
    config.save_dir = Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-diff"));
    let summary = fuzzer.run_links(&config, |_| {});
    eprintln!(
        "fuzz-diff --links seed {FIXED_SEED}: {} cases, {} accepted, {} links copied, {} skipped, slowest {:.3} s, {} failures",
        summary.cases,
        summary.accepted,
        summary.links_copied,
        summary.links_skipped,
        summary.slowest.as_secs_f64(),
        summary.failures.len()
    );
    assert_eq!(summary.cases, FIXED_LINK_CASES);
    // Both outcomes of a link are reached, and the readers disagree
    // somewhere (tarfile's hard links and GNU tar's differ), so the rule is
    // tested where it matters.
    assert!(summary.links_copied > FIXED_LINK_CASES && summary.links_skipped > FIXED_LINK_CASES, "{summary:?}");
    assert!(summary.oracles_disagree > 0, "{summary:?}");
    let failures: Vec<String> = summary.failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n"));
}
