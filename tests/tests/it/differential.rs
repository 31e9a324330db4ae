//! Differential tests against GNU tar on real archives: every `.crate` in the
//! local Cargo cache, and the npm and PyPI source tarballs that
//! `tests/fetch-samples.sh` downloads. sealtar must produce the same files,
//! contents, owner-exec bits and file modification times.

use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::{Extractor, Options};
use sealtar_tests::oracle::{differences, gnu_extract, gnu_tar, observe};
use sealtar_tests::scene::{cargo_home, crates_in_cache};

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/samples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|f| f.path()).filter(|p| p.to_string_lossy().ends_with("gz")).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Extracts `archive` both ways and returns a description of any difference.
fn compare(extractor: &Extractor, tar: &str, archive: &Path) -> Result<(), String> {
    let work = tempfile::tempdir().expect("tempdir");
    let ours = work.path().join("sealtar");
    let theirs = work.path().join("gnu");
    std::fs::create_dir(&ours).unwrap();
    std::fs::create_dir(&theirs).unwrap();

    let dest = Dir::open_ambient_dir(&ours, ambient_authority()).unwrap();
    let file = std::fs::File::open(archive).unwrap();
    extractor.extract(file, &dest).map_err(|e| format!("sealtar refused or failed: {e}"))?;
    gnu_extract(tar, archive, &theirs)?;
    let diffs = differences(&observe(&ours), &observe(&theirs));
    if diffs.is_empty() { Ok(()) } else { Err(diffs.join("; ")) }
}

fn run_all(archives: &[PathBuf]) -> Vec<String> {
    let tar = gnu_tar().expect("checked by caller");
    let mut options = Options::default();
    options.cache_dir = None;
    let extractor = Extractor::new(options).unwrap();
    archives
        .iter()
        .filter_map(|a| compare(&extractor, tar, a).err().map(|why| format!("{}: {why}", a.display())))
        .collect()
}

#[test]
fn every_cached_crate_matches_gnu_tar() {
    let Some(_) = gnu_tar() else {
        eprintln!("SKIPPED: GNU tar not found; the crate differential test needs it");
        return;
    };
    let crates = crates_in_cache();
    assert!(
        !crates.is_empty(),
        "no .crate files under {}: build the workspace first (cargo fetch fills the cache)",
        cargo_home().display()
    );
    let failures = run_all(&crates);
    eprintln!("compared {} crates with GNU tar, {} differ", crates.len(), failures.len());
    assert!(failures.is_empty(), "{} of {} crates differ:\n{}", failures.len(), crates.len(), failures.join("\n"));
}

#[test]
fn npm_and_pypi_tarballs_match_gnu_tar() {
    let Some(_) = gnu_tar() else {
        eprintln!("SKIPPED: GNU tar not found; the sample differential test needs it");
        return;
    };
    let samples = samples();
    let required = std::env::var_os("SEALTAR_REQUIRE_SAMPLES").is_some_and(|v| v == "1");
    let has =
        |prefix: &str| samples.iter().any(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)));
    if !has("npm-") || !has("pypi-") {
        let msg = "npm or PyPI samples missing under target/samples: run `make samples` (needs npm and pip)";
        assert!(!required, "{msg}");
        eprintln!("SKIPPED in part: {msg}");
    }
    let failures = run_all(&samples);
    eprintln!("compared {} npm/PyPI tarballs with GNU tar, {} differ", samples.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A tree with links of every copyable shape, archived by GNU tar itself.
#[cfg(unix)]
fn gnu_archive_with_links(work: &Path) -> PathBuf {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let src = work.join("src");
    let pkg = src.join("pkg");
    std::fs::create_dir_all(pkg.join("lib/sub")).unwrap();
    std::fs::create_dir_all(pkg.join("docs")).unwrap();
    std::fs::write(pkg.join("lib/libx.so.1.2"), b"ELF").unwrap();
    std::fs::set_permissions(pkg.join("lib/libx.so.1.2"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(pkg.join("lib/sub/data"), b"data").unwrap();
    std::fs::write(pkg.join("docs/guide.md"), b"# guide").unwrap();
    symlink("libx.so.1.2", pkg.join("lib/libx.so.1")).unwrap();
    symlink("libx.so.1", pkg.join("lib/libx.so")).unwrap();
    symlink("../docs", pkg.join("lib/docs")).unwrap();
    symlink("lib", pkg.join("lib64")).unwrap();
    std::fs::hard_link(pkg.join("docs/guide.md"), pkg.join("GUIDE")).unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    for dir in ["pkg/lib/sub", "pkg/lib", "pkg/docs", "pkg"] {
        std::fs::File::open(src.join(dir)).unwrap().set_modified(old).unwrap();
    }
    let archive = work.join("links.tar");
    let status = std::process::Command::new(gnu_tar().unwrap())
        .arg("-cf")
        .arg(&archive)
        .arg("-C")
        .arg(&src)
        .arg("pkg")
        .status()
        .unwrap();
    assert!(status.success());
    archive
}

/// Extracts `archive` with sealtar (these options) and GNU tar (these
/// arguments); returns both trees, GNU tar's seen through its links.
#[cfg(unix)]
fn both_ways(options: Options, args: &[&str], archive: &Path) -> (Vec<String>, usize) {
    let work = tempfile::tempdir().expect("tempdir");
    let ours = work.path().join("sealtar");
    let theirs = work.path().join("gnu");
    std::fs::create_dir(&ours).unwrap();
    std::fs::create_dir(&theirs).unwrap();
    let extractor = Extractor::new(options).unwrap();
    let dest = Dir::open_ambient_dir(&ours, ambient_authority()).unwrap();
    extractor.extract(std::fs::File::open(archive).unwrap(), &dest).expect("sealtar extracts");
    let status = std::process::Command::new(gnu_tar().unwrap())
        .args(["--no-same-owner", "--no-same-permissions", "-xf"])
        .arg(archive)
        .arg("-C")
        .arg(&theirs)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "GNU tar {args:?}");
    let seen = sealtar_tests::oracle::observe_followed(&theirs);
    (differences(&observe(&ours), &seen), seen.len())
}

#[cfg(unix)]
#[test]
fn link_copies_match_gnu_tar_seen_through_its_links() {
    let Some(_) = gnu_tar() else {
        eprintln!("SKIPPED: GNU tar not found");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let archive = gnu_archive_with_links(work.path());
    // Every link here can be copied: both copying policies write the same tree.
    for links in [sealtar::LinkPolicy::Copy, sealtar::LinkPolicy::CopyOrRefuse] {
        link_copies_match_gnu_tar_under(links, &archive);
    }
}

#[cfg(unix)]
fn link_copies_match_gnu_tar_under(links: sealtar::LinkPolicy, archive: &Path) {
    let mut options = Options::default();
    options.cache_dir = None;
    options.links = links;
    let (diffs, paths) = both_ways(options.clone(), &[], archive);
    assert!(diffs.is_empty(), "{links:?}: {}", diffs.join("\n"));
    assert!(paths > 15, "the copies were compared ({paths} paths)");
    // Stripping, selection and exclusion, with links copied, as GNU tar does them.
    // (GNU tar arguments, strip, members, exclude patterns)
    type Case<'a> = (&'a [&'a str], usize, &'a [&'a str], &'a [&'a str]);
    let cases: &[Case] = &[
        (&["--strip-components=1"], 1, &[], &[]),
        (&["--exclude=docs/guide.md", "--exclude=GUIDE"], 0, &[], &["docs/guide.md", "GUIDE"]),
        (&["--exclude=sub"], 0, &[], &["sub"]),
        (&["--strip-components=1", "pkg/lib", "pkg/docs", "pkg/GUIDE"], 1, &["pkg/lib", "pkg/docs", "pkg/GUIDE"], &[]),
    ];
    for (args, strip, members, exclude) in cases {
        let mut o = options.clone();
        o.strip_components = *strip;
        o.members = members.iter().map(|s| s.to_string()).collect();
        o.exclude = exclude.iter().map(|s| s.to_string()).collect();
        let (diffs, _) = both_ways(o, args, archive);
        assert!(diffs.is_empty(), "{links:?} {args:?}: {}", diffs.join("\n"));
    }
}
