//! `sealtar audit-cargo` and its roots of trust: temporary Cargo homes whose
//! `.crate` and directory were rewritten together (they agree, so only the
//! registry index cache or a `Cargo.lock` can tell), `.crate` files pruned to
//! hide a change (`--strict`), unusable index cache files, lock files,
//! permissions Cargo never sets, and `--vendor` against the `.crate`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use sealtar_tests::cargo::{CargoHome, Crate, INDEX, lockfile, sha256_hex};
use serde_json::Value;

use crate::run::{code, run_in, text};

/// A finding as (crate, path, id).
type Key = (String, String, String);

fn key(krate: &str, path: &str, id: &str) -> Key {
    (krate.to_string(), path.to_string(), id.to_string())
}

fn audit(home: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["audit-cargo", home.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_in(Path::new("."), &args, b"")
}

/// The findings of `audit-cargo --json`, and its summary.
fn audit_json(home: &Path, extra: &[&str]) -> (i32, BTreeSet<Key>, Value, Vec<Value>) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = audit(home, &args);
    let lines: Vec<Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
    let (summary, objects) = lines.split_last().expect("a summary");
    let keys = objects
        .iter()
        .map(|o| key(o["crate"].as_str().unwrap(), o["path"].as_str().unwrap(), o["finding"].as_str().unwrap()))
        .collect();
    (code(&out), keys, summary["summary"].clone(), objects.to_vec())
}

/// The finding lines of a text audit as (crate, path, id); every line must
/// have today's shape, `<crate>[ "<path>"]: <what> [<id>]`.
fn findings(out: &Output) -> BTreeSet<Key> {
    text(&out.stdout)
        .lines()
        .map(|line| {
            let (rest, id) = line.rsplit_once(" [").expect("an id");
            let (krate, rest) = rest.split_once([' ', ':']).expect("a crate");
            let path = rest.strip_prefix('"').and_then(|r| r.split_once("\":")).map_or("", |(p, _)| p);
            key(krate, path, id.strip_suffix(']').expect("an id in brackets"))
        })
        .collect()
}

fn stdout_and_stderr(out: &Output) -> String {
    format!("stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr))
}

/// Two genuine crates, one of them with a dashed name and a pre-release.
fn genuine() -> (CargoHome, Crate, Crate) {
    let home = CargoHome::new();
    let victim =
        Crate::new("tiny-utils", "1.2.0-rc.1").file("src/util.rs", b"pub fn add(a: u8, b: u8) -> u8 { a + b }\n");
    let other = Crate::new("other", "0.3.0");
    home.publish(&victim).publish(&other);
    (home, victim, other)
}

/// `victim` with a backdoor, same name and version.
fn poisoned(victim: &Crate) -> Crate {
    victim.clone().file("src/util.rs", b"pub fn add(a: u8, b: u8) -> u8 { std::process::abort() }\n")
}

fn lock_of(crates: &[&Crate]) -> String {
    let sums: Vec<(String, String, String)> =
        crates.iter().map(|c| (c.name.clone(), c.version.clone(), c.cksum())).collect();
    let packages: Vec<(&str, &str, &str)> = sums.iter().map(|(n, v, c)| (n.as_str(), v.as_str(), c.as_str())).collect();
    lockfile(&packages)
}

#[test]
fn a_crate_rewritten_with_its_directory_is_caught_by_the_index_cache() {
    let (home, victim, _) = genuine();
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 0, "{}", stdout_and_stderr(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let (status, keys, summary, _) = audit_json(home.path(), &[]);
    assert_eq!((status, keys.len()), (0, 0));
    assert_eq!(summary["index_checked"], 2, "{summary}");
    assert_eq!(summary["unanchored"], 0, "{summary}");

    home.rewrite(&poisoned(&victim));
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 1, "{}", stdout_and_stderr(&out));
    assert_eq!(findings(&out), BTreeSet::from([key(&victim.id(), "", "index-checksum")]));
    assert!(text(&out.stdout).contains(&victim.cksum()), "the recorded cksum is shown: {}", text(&out.stdout));
    let (status, keys, summary, objects) = audit_json(home.path(), &[]);
    assert_eq!(status, 1);
    assert_eq!(keys, BTreeSet::from([key(&victim.id(), "", "index-checksum")]));
    assert_eq!(objects[0]["index"], INDEX);
    assert_eq!(objects[0]["informational"], false);
    assert_eq!((summary["findings"].clone(), summary["with_findings"].clone()), (1.into(), 1.into()));
}

#[test]
fn a_crate_rewritten_with_its_directory_is_caught_by_the_lock_file() {
    let (home, victim, other) = genuine();
    // No index cache at all: the lock file is the only root of trust.
    std::fs::remove_dir_all(home.path().join("registry/index")).unwrap();
    let lock = home.path().join("Cargo.lock");
    std::fs::write(&lock, lock_of(&[&victim, &other])).unwrap();
    let lock = lock.to_str().unwrap();

    let out = audit(home.path(), &["--lockfile", lock]);
    assert_eq!(code(&out), 0, "{}", stdout_and_stderr(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let (_, _, summary, _) = audit_json(home.path(), &["--lockfile", lock]);
    assert_eq!((summary["lock_checked"].clone(), summary["index_checked"].clone()), (2.into(), 0.into()));
    assert_eq!(summary["locked"], 2);

    home.rewrite(&poisoned(&victim));
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 0, "without a root of trust the rewrite agrees with itself: {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("neither: 2"), "{}", text(&out.stderr));
    let out = audit(home.path(), &["--lockfile", lock]);
    assert_eq!(code(&out), 1, "{}", stdout_and_stderr(&out));
    assert_eq!(findings(&out), BTreeSet::from([key(&victim.id(), "", "lock-checksum")]));
}

#[test]
fn index_cache_and_lock_file_each_report_a_rewrite_once() {
    let (home, victim, other) = genuine();
    let lock = home.path().join("Cargo.lock");
    std::fs::write(&lock, lock_of(&[&victim, &other])).unwrap();
    home.rewrite(&poisoned(&victim));
    let (status, keys, summary, _) = audit_json(home.path(), &["--lockfile", lock.to_str().unwrap()]);
    assert_eq!(status, 1);
    let expected = [key(&victim.id(), "", "index-checksum"), key(&victim.id(), "", "lock-checksum")];
    assert_eq!(keys, BTreeSet::from(expected));
    assert_eq!(summary["findings"], 2);
}

#[test]
fn a_poisoned_crate_never_unpacked_is_caught() {
    let (home, _, _) = genuine();
    let later = Crate::new("later", "2.0.0");
    home.download(&later);
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 0, "{}", stdout_and_stderr(&out));
    assert!(text(&out.stderr).contains("1 .crate file(s) never extracted"), "{}", text(&out.stderr));
    // Cargo unpacks a cached .crate without checking it again.
    std::fs::write(home.crate_file(&later.id()), poisoned(&later).archive()).unwrap();
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 1, "{}", stdout_and_stderr(&out));
    assert_eq!(findings(&out), BTreeSet::from([key(&later.id(), "", "index-checksum")]));
}

#[test]
fn a_yanked_version_still_records_its_checksum() {
    let home = CargoHome::new();
    let krate = Crate::new("yanked", "0.1.0");
    std::fs::write(home.crate_file(&krate.id()), poisoned(&krate).archive()).unwrap();
    home.unpack(&poisoned(&krate));
    home.record("yanked", "0.0.9", &Crate::new("yanked", "0.0.9").index_line(false));
    home.record("yanked", "0.1.0", &krate.index_line(true));
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 1, "{}", stdout_and_stderr(&out));
    assert_eq!(findings(&out), BTreeSet::from([key(&krate.id(), "", "index-checksum")]));
}

#[test]
fn a_deleted_crate_file_cannot_be_verified_and_fails_under_strict() {
    let (home, victim, other) = genuine();
    let lock = home.path().join("Cargo.lock");
    std::fs::write(&lock, lock_of(&[&victim, &other])).unwrap();
    let lock = lock.to_str().unwrap();
    // The attacker poisons the directory, then deletes the .crate that
    // would show it. The index cache and the lock file still record the
    // genuine checksum, but there is nothing left to hash.
    home.unpack(&poisoned(&victim));
    std::fs::remove_file(home.crate_file(&victim.id())).unwrap();

    for extra in [&[][..], &["--lockfile", lock][..]] {
        let out = audit(home.path(), extra);
        assert_eq!(code(&out), 0, "informational without --strict: {}", stdout_and_stderr(&out));
        assert_eq!(findings(&out), BTreeSet::from([key(&victim.id(), "", "no-crate-file")]));
        assert!(text(&out.stdout).contains("(informational)"), "{}", text(&out.stdout));
        assert!(text(&out.stderr).contains("1 without a .crate"), "{}", text(&out.stderr));
    }
    let (status, _, summary, objects) = audit_json(home.path(), &[]);
    assert_eq!((status, summary["unverifiable"].clone(), summary["findings"].clone()), (0, 1.into(), 0.into()));
    assert_eq!(objects[0]["informational"], true);

    for extra in [&["--strict"][..], &["--strict", "--lockfile", lock][..]] {
        let out = audit(home.path(), extra);
        assert_eq!(code(&out), 1, "{}", stdout_and_stderr(&out));
        assert_eq!(findings(&out), BTreeSet::from([key(&victim.id(), "", "no-crate-file")]));
        assert!(!text(&out.stdout).contains("(informational)"), "{}", text(&out.stdout));
    }
    let (status, _, summary, objects) = audit_json(home.path(), &["--strict"]);
    assert_eq!((status, summary["unverifiable"].clone(), summary["findings"].clone()), (1, 1.into(), 1.into()));
    assert_eq!((objects[0]["informational"].clone(), summary["strict"].clone()), (false.into(), true.into()));
}

#[test]
fn an_unusable_index_cache_file_is_no_record_said_once() {
    let home = CargoHome::new();
    let (v1, v2) = (Crate::new("twice", "1.0.0"), Crate::new("twice", "1.1.0"));
    home.publish(&v1).publish(&v2);
    let cache = home.index_cache("twice");
    let genuine = std::fs::read(&cache).unwrap();
    // (what, the file, how many of the two .crate files are left with no record)
    let mut cases: Vec<(&str, Vec<u8>, usize)> = vec![
        ("another cache version", [&[4u8][..], &genuine[1..]].concat(), 2),
        ("another schema version", [&[3u8, 9, 0, 0, 0][..], &genuine[5..]].concat(), 2),
        ("cut short", genuine[..genuine.len() - 7].to_vec(), 2),
        ("empty", Vec::new(), 2),
    ];
    // The line of 1.0.0 only: 1.1.0 keeps its record.
    let mut garbage = genuine.clone();
    let json_at = genuine.iter().position(|&b| b == b'{').unwrap();
    garbage[json_at] = b'[';
    cases.push(("a line that is not JSON", garbage, 1));
    for (what, bytes, unanchored) in cases {
        std::fs::write(&cache, &bytes).unwrap();
        home.rewrite(&poisoned(&v1));
        let out = audit(home.path(), &[]);
        assert_eq!(code(&out), 0, "{what}: no record, not a crash: {}", stdout_and_stderr(&out));
        assert!(out.stdout.is_empty(), "{what}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.matches(".cache/tw/ic/twice cannot be used").count(), 1, "{what}: said once: {stderr}");
        assert!(stderr.contains(&format!("neither: {unanchored};")), "{what}: {stderr}");
        home.rewrite(&v1);
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_index_cache_is_not_followed() {
    let (home, victim, _) = genuine();
    let cache = home.index_cache(&victim.name);
    let elsewhere = home.path().join("elsewhere");
    std::fs::rename(&cache, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &cache).unwrap();
    home.rewrite(&poisoned(&victim));
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 0, "{}", stdout_and_stderr(&out));
    assert!(text(&out.stderr).contains("cannot be used"), "{}", text(&out.stderr));
}

#[test]
fn locked_packages_found_nowhere_are_noted() {
    let (home, victim, other) = genuine();
    let absent = Crate::new("windows-only", "0.52.0");
    let lock = home.path().join("Cargo.lock");
    std::fs::write(&lock, lock_of(&[&victim, &other, &absent])).unwrap();
    let out = audit(home.path(), &["--lockfile", lock.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stdout_and_stderr(&out));
    assert_eq!(findings(&out), BTreeSet::from([key(&absent.id(), "", "locked-missing")]));
    let (_, _, summary, objects) = audit_json(home.path(), &["--lockfile", lock.to_str().unwrap()]);
    assert_eq!((summary["locked"].clone(), summary["locked_missing"].clone()), (3.into(), 1.into()));
    assert_eq!(objects[0]["informational"], true);
    assert!(objects[0]["index"].as_str().unwrap().ends_with("Cargo.lock"), "{}", objects[0]);
}

#[test]
fn a_lock_file_that_cannot_be_read_whole_cannot_audit() {
    let (home, victim, _) = genuine();
    let lock = home.path().join("Cargo.lock");
    for (what, contents) in [
        ("not TOML", "[[package]\n".to_string()),
        ("a bad checksum", lockfile(&[(&victim.name, &victim.version, "123")])),
        ("no packages", "version = 4\n".to_string()),
    ] {
        std::fs::write(&lock, contents).unwrap();
        let out = audit(home.path(), &["--lockfile", lock.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{what}: {}", stdout_and_stderr(&out));
        assert!(out.stdout.is_empty(), "{what}");
        assert!(text(&out.stderr).contains("Cargo.lock"), "{what}: {}", text(&out.stderr));
    }
    let out = audit(home.path(), &["--lockfile", home.path().join("missing.lock").to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stdout_and_stderr(&out));
}

#[cfg(unix)]
#[test]
fn hard_links_world_writable_and_set_id_files_are_reported() {
    use std::os::unix::fs::PermissionsExt;
    let set_mode =
        |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    let (home, victim, other) = genuine();
    let dir = home.src(&victim.id());
    let outside = home.path().join("outside.rs");
    std::fs::write(&outside, b"pub fn add(a: u8, b: u8) -> u8 { a + b }\n").unwrap();
    // A hard link to a file outside the crate, with the same contents: the
    // comparison with the .crate sees nothing, until the outside name is written.
    std::fs::remove_file(dir.join("src/util.rs")).unwrap();
    std::fs::hard_link(&outside, dir.join("src/util.rs")).unwrap();
    set_mode(&dir.join("Cargo.toml"), 0o666);
    set_mode(&dir.join("src"), 0o777);
    set_mode(&dir.join("src/lib.rs"), 0o4644);
    // In a crate whose .crate is gone too: they need no .crate.
    let other_dir = home.src(&other.id());
    std::fs::remove_file(home.crate_file(&other.id())).unwrap();
    set_mode(&other_dir.join("Cargo.toml"), 0o2646);

    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 1, "{}", stdout_and_stderr(&out));
    let expected = BTreeSet::from([
        key(&victim.id(), "src/util.rs", "hard-link"),
        key(&victim.id(), "Cargo.toml", "world-writable"),
        key(&victim.id(), "src", "world-writable"),
        key(&victim.id(), "src/lib.rs", "set-id"),
        key(&other.id(), "", "no-crate-file"),
        key(&other.id(), "Cargo.toml", "world-writable"),
        key(&other.id(), "Cargo.toml", "set-id"),
    ]);
    assert_eq!(findings(&out), expected, "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout).lines().count(), expected.len(), "once per file and problem");
    assert!(text(&out.stdout).contains("(mode 0666)"), "{}", text(&out.stdout));
}

// ---------------------------------------------------------------------------
// --vendor against the .crate
// ---------------------------------------------------------------------------

/// `vendor/<dir>/` as `cargo vendor` writes `krate`: its files and a
/// `.cargo-checksum.json` with the SHA-256 of each and of the `.crate`.
fn vendor(root: &Path, dir: &str, krate: &Crate) {
    let to = root.join(dir);
    let mut files = serde_json::Map::new();
    for (path, contents, _) in &krate.files {
        std::fs::create_dir_all(to.join(path).parent().unwrap()).unwrap();
        std::fs::write(to.join(path), contents).unwrap();
        files.insert(path.clone(), Value::from(sha256_hex(contents)));
    }
    let doc = serde_json::json!({"files": files, "package": krate.cksum()});
    std::fs::write(to.join(".cargo-checksum.json"), doc.to_string()).unwrap();
}

/// Rewrites `path` in the vendored crate `dir` and its checksum, as an
/// attacker who knows the format would.
fn rewrite_vendored(root: &Path, dir: &str, path: &str, contents: &[u8]) {
    let to = root.join(dir);
    std::fs::write(to.join(path), contents).unwrap();
    let sums = to.join(".cargo-checksum.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&sums).unwrap()).unwrap();
    doc["files"][path] = Value::from(sha256_hex(contents));
    std::fs::write(&sums, doc.to_string()).unwrap();
}

#[test]
fn vendor_files_rewritten_with_their_checksums_are_caught_by_the_crate() {
    let (home, victim, other) = genuine();
    let root = tempfile::tempdir().unwrap();
    vendor(root.path(), &victim.name, &victim);
    vendor(root.path(), &other.id(), &other);
    let vendor_dir = root.path().to_str().unwrap();
    let out = audit(home.path(), &["--vendor", vendor_dir]);
    assert_eq!(code(&out), 0, "{}", stdout_and_stderr(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));

    rewrite_vendored(root.path(), &victim.name, "src/util.rs", b"pub fn add(_: u8, _: u8) -> u8 { 0 }\n");
    rewrite_vendored(root.path(), &victim.name, "build.rs", b"fn main() {}\n");
    let out = audit(home.path(), &["--vendor", vendor_dir]);
    assert_eq!(code(&out), 1, "{}", stdout_and_stderr(&out));
    let expected = BTreeSet::from([
        key(&victim.name, "src/util.rs", "content-differs"),
        key(&victim.name, "build.rs", "extra-file"),
    ]);
    assert_eq!(findings(&out), expected, "{}", text(&out.stdout));

    // Without the .crate, the checksum file is all there is: unverifiable.
    std::fs::remove_file(home.crate_file(&victim.id())).unwrap();
    let out = audit(home.path(), &["--vendor", vendor_dir]);
    assert_eq!(code(&out), 0, "{}", stdout_and_stderr(&out));
    assert_eq!(findings(&out), BTreeSet::from([key(&victim.name, "", "no-crate-file")]));
    let out = audit(home.path(), &["--vendor", vendor_dir, "--strict"]);
    assert_eq!(code(&out), 1, "{}", stdout_and_stderr(&out));
}

#[test]
fn vendor_package_checksums_are_checked_against_the_lock_file() {
    let (home, victim, other) = genuine();
    let root = tempfile::tempdir().unwrap();
    let evil = poisoned(&victim);
    // The attacker vendors the poisoned crate whole, with a checksum file
    // that agrees with it, and a poisoned .crate in the cache as well.
    vendor(root.path(), &victim.id(), &evil);
    vendor(root.path(), &other.id(), &other);
    home.rewrite(&evil);
    let lock = home.path().join("Cargo.lock");
    std::fs::write(&lock, lock_of(&[&victim, &other])).unwrap();
    let vendor_dir = root.path().to_str().unwrap();
    let (status, keys, summary, _) = audit_json(home.path(), &["--vendor", vendor_dir]);
    assert_eq!((status, summary["findings"].clone()), (1, 1.into()), "{keys:?}");
    assert_eq!(keys, BTreeSet::from([key(&victim.id(), "", "index-checksum")]));
    let out = audit(home.path(), &["--vendor", vendor_dir, "--lockfile", lock.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stdout_and_stderr(&out));
    let expected = BTreeSet::from([
        key(&victim.id(), "", "index-checksum"),
        key(&victim.id(), "", "lock-checksum"),
        key(&victim.id(), ".cargo-checksum.json", "lock-checksum"),
    ]);
    assert_eq!(findings(&out), expected, "{}", text(&out.stdout));
}

#[test]
fn help_describes_each_mode_and_root_of_trust() {
    let out = run_in(Path::new("."), &["audit-cargo", "--help"], b"");
    assert_eq!(code(&out), 0);
    let help = text(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "compare each crate Cargo unpacked with its .crate",
        "registry index cache",
        "--lockfile <FILE>",
        "--vendor <DIR>",
        "every vendored file against the .crate",
        "cannot be verified",
        "--strict",
        "a hard link, a world-writable file or directory, a set-user-ID or set-group-ID file",
        "nothing catches an attacker who also rewrites the index cache and the lock file",
        "Exits 0 if clean, 1 on any finding, 2 if something could not be audited",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}: {help}");
    }
}
