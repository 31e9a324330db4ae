//! The Cargo tools: `Extractor::read_entries`, `sealtar audit-cargo` on a
//! temporary Cargo home built from real `.crate` files and then poisoned in
//! every way the audit knows, `--vendor` against a real checksum file, and
//! `sealtar check --batch` on the local Cargo cache.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use sealtar::{Entry, EntryVisitor, Error, Kind, Rule};
use sealtar_tests::{Tar, gzip};
use serde_json::Value;
#[cfg(unix)]
use sha2::{Digest, Sha256};

use crate::run::{code, run_in, text};
use sealtar_tests::scene::crates_in_cache;
use sealtar_tests::scene::extractor;

#[cfg(unix)]
/// The index directory name used in the temporary Cargo homes.
const INDEX: &str = "index.test-0000000000000000";

// ---------------------------------------------------------------------------
// Extractor::read_entries
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Recorder {
    events: Vec<String>,
}

impl EntryVisitor for Recorder {
    fn entry(&mut self, entry: &Entry) -> std::io::Result<()> {
        self.events.push(format!("{} {} {} {:o}", entry.kind, entry.path, entry.size, entry.mode & 0o777));
        Ok(())
    }
    fn data(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        assert!(!chunk.is_empty());
        self.events.push(format!("data {}", String::from_utf8_lossy(chunk)));
        Ok(())
    }
    fn end(&mut self) -> std::io::Result<()> {
        self.events.push("end".into());
        Ok(())
    }
}

#[test]
fn read_entries_hands_over_vetted_entries_and_their_data() {
    let archive =
        gzip(&Tar::new().dir("./").dir("pkg/").file("./pkg//a.txt", b"alpha").exec_file("pkg/bin/run", b"").finish());
    let mut recorder = Recorder::default();
    extractor().read_entries(&archive[..], &mut recorder).expect("acceptable");
    assert_eq!(
        recorder.events,
        ["dir pkg 0 755", "end", "file pkg/a.txt 5 644", "data alpha", "end", "file pkg/bin/run 0 755", "end"]
    );
}

#[test]
fn read_entries_refuses_what_extract_refuses() {
    let archive = Tar::new().file("a.txt", b"a").symlink("link", "/etc").file("b.txt", b"b").finish();
    let mut recorder = Recorder::default();
    let err = extractor().read_entries(&archive[..], &mut recorder).unwrap_err();
    assert!(matches!(&err, Error::Refused { index: 1, rule: Rule::ForbiddenKind(Kind::Symlink), .. }), "{err:?}");
    assert_eq!(recorder.events, ["file a.txt 1 644", "data a", "end"], "nothing after the refused entry");
}

#[test]
fn read_entries_stops_when_the_visitor_fails() {
    struct Fails;
    impl EntryVisitor for Fails {
        fn entry(&mut self, _: &Entry) -> std::io::Result<()> {
            Err(std::io::Error::other("enough"))
        }
    }
    let archive = Tar::new().file("a.txt", b"a").file("b.txt", b"b").finish();
    let err = extractor().read_entries(&archive[..], &mut Fails).unwrap_err();
    assert!(matches!(&err, Error::Io { .. }) && err.to_string().contains("enough"), "{err}");
}

// ---------------------------------------------------------------------------
// A temporary Cargo home from real .crate files
// ---------------------------------------------------------------------------

#[cfg(unix)]
/// The smallest `n` crates of the local cache that have a file under `src/`.
fn small_crates(n: usize) -> Option<Vec<PathBuf>> {
    let mut crates: Vec<(u64, PathBuf)> =
        crates_in_cache().into_iter().filter_map(|p| Some((std::fs::metadata(&p).ok()?.len(), p))).collect();
    crates.sort();
    let picked: Vec<PathBuf> =
        crates.into_iter().map(|(_, p)| p).filter(|p| first_src_file(p).is_some()).take(n).collect();
    if picked.len() < n {
        eprintln!("skipping: the local Cargo cache has fewer than {n} crates with a src/ file");
        return None;
    }
    Some(picked)
}

#[cfg(unix)]
fn stem(crate_file: &Path) -> String {
    crate_file.file_stem().unwrap().to_str().unwrap().to_string()
}

#[cfg(unix)]
/// The first regular file under `<prefix>/src/` in the `.crate`, relative to
/// the crate directory.
fn first_src_file(crate_file: &Path) -> Option<String> {
    let prefix = format!("{}/src/", stem(crate_file));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(crate_file).ok()?));
    let mut found = None;
    for entry in archive.entries().ok()? {
        let entry = entry.ok()?;
        let path = entry.path().ok()?.to_str()?.to_string();
        if entry.header().entry_type().is_file() && entry.size() > 0 && path.starts_with(&prefix) {
            found = Some(path[stem(crate_file).len() + 1..].to_string());
            break;
        }
    }
    found
}

#[cfg(unix)]
/// Unpacks `crate_file` into `index_dir` the way Cargo does: tar-rs
/// `unpack_in` with the umask as mask, skipping any `.cargo-ok` in the
/// archive, then writing `.cargo-ok` as current Cargo does.
fn unpack_as_cargo(crate_file: &Path, index_dir: &Path) {
    let file = std::fs::File::open(crate_file).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive.set_mask(0o022);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        if path.file_name().is_some_and(|n| n == ".cargo-ok") {
            continue;
        }
        entry.unpack_in(index_dir).unwrap();
    }
    std::fs::write(index_dir.join(stem(crate_file)).join(".cargo-ok"), br#"{"v":1}"#).unwrap();
}

#[cfg(unix)]
/// A Cargo home holding `crates` in its cache and unpacked in its sources.
fn cargo_home(crates: &[PathBuf]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("registry/cache").join(INDEX);
    let src = home.path().join("registry/src").join(INDEX);
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::create_dir_all(&src).unwrap();
    for crate_file in crates {
        std::fs::copy(crate_file, cache.join(crate_file.file_name().unwrap())).unwrap();
        unpack_as_cargo(crate_file, &src);
    }
    home
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_in(Path::new("."), args, stdin)
}

fn audit(home: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["audit-cargo", home.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args, b"")
}

#[cfg(unix)]
/// The finding lines of an audit, as (crate, path, id) with the crate taken
/// as the first whole word.
fn findings(out: &Output) -> BTreeSet<Key> {
    text(&out.stdout)
        .lines()
        .map(|line| {
            let id = line.rsplit_once(" [").map(|(_, id)| id.trim_end_matches(']').to_string()).unwrap();
            let (krate, rest) = line.split_once([' ', ':']).unwrap();
            let path = rest.strip_prefix('"').and_then(|r| r.split_once("\":")).map_or("", |(p, _)| p);
            (krate.to_string(), path.to_string(), id)
        })
        .collect()
}

#[cfg(unix)]
/// A finding as (crate, path, id).
type Key = (String, String, String);

#[cfg(unix)]
fn one(krate: &str, path: &str, id: &str) -> Key {
    (krate.to_string(), path.to_string(), id.to_string())
}

#[cfg(unix)]
#[test]
fn audit_finds_every_poisoning_of_real_crates() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let Some(crates) = small_crates(3) else { return };
    let victim = stem(&crates[0]);
    let src_file = first_src_file(&crates[0]).unwrap();
    let others: Vec<String> = crates[1..].iter().map(|c| stem(c)).collect();

    // A clean copy: exit 0, nothing on stdout, the summary on stderr.
    let home = cargo_home(&crates);
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("audited 3 crates"), "{}", text(&out.stderr));

    type Poison<'a> = Box<dyn Fn(&Path, &Path) + 'a>;
    let crate_dir = |home: &Path| home.join("registry/src").join(INDEX).join(&victim);
    let cases: Vec<(&str, Poison<'_>, Vec<Key>)> = vec![
        (
            "one changed byte",
            Box::new(|dir: &Path, _: &Path| {
                let path = dir.join(&src_file);
                let mut bytes = std::fs::read(&path).unwrap();
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0x20;
                std::fs::write(&path, bytes).unwrap();
            }),
            vec![one(&victim, &src_file, "content-differs")],
        ),
        (
            "one added byte",
            Box::new(|dir: &Path, _: &Path| {
                let path = dir.join(&src_file);
                let mut bytes = std::fs::read(&path).unwrap();
                bytes.push(b'\n');
                std::fs::write(&path, bytes).unwrap();
            }),
            vec![one(&victim, &src_file, "content-differs")],
        ),
        (
            "an added file",
            Box::new(|dir: &Path, _: &Path| std::fs::write(dir.join("src/backdoor.rs"), b"// evil\n").unwrap()),
            vec![one(&victim, "src/backdoor.rs", "extra-file")],
        ),
        (
            "an added directory",
            Box::new(|dir: &Path, _: &Path| {
                std::fs::create_dir_all(dir.join("hidden/deeper")).unwrap();
                std::fs::write(dir.join("hidden/deeper/x.rs"), b"x").unwrap();
            }),
            vec![one(&victim, "hidden", "extra-directory")],
        ),
        (
            "an added symlink",
            Box::new(|dir: &Path, _: &Path| symlink("/etc/passwd", dir.join("src/passwd")).unwrap()),
            vec![one(&victim, "src/passwd", "extra-symlink")],
        ),
        (
            "a symlink in place of a file",
            Box::new(|dir: &Path, _: &Path| {
                let path = dir.join(&src_file);
                let copy = dir.parent().unwrap().parent().unwrap().join("copy.rs");
                std::fs::rename(&path, &copy).unwrap();
                symlink(&copy, &path).unwrap();
            }),
            vec![one(&victim, &src_file, "symlink")],
        ),
        (
            "a symlinked crate directory",
            Box::new(|dir: &Path, home: &Path| {
                let elsewhere = home.join("elsewhere");
                std::fs::rename(dir, &elsewhere).unwrap();
                symlink(&elsewhere, dir).unwrap();
            }),
            vec![one(&victim, "", "crate-dir-symlink")],
        ),
        (
            "a changed exec bit",
            Box::new(|dir: &Path, _: &Path| {
                let path = dir.join(&src_file);
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }),
            vec![one(&victim, &src_file, "exec-bit")],
        ),
        (
            "a missing file",
            Box::new(|dir: &Path, _: &Path| std::fs::remove_file(dir.join(&src_file)).unwrap()),
            vec![one(&victim, &src_file, "missing")],
        ),
        (
            "a foreign .cargo-ok",
            Box::new(|dir: &Path, _: &Path| std::fs::write(dir.join(".cargo-ok"), b"{\"v\":2}").unwrap()),
            vec![one(&victim, ".cargo-ok", "bad-cargo-ok")],
        ),
        (
            "no .cargo-ok",
            Box::new(|dir: &Path, _: &Path| std::fs::remove_file(dir.join(".cargo-ok")).unwrap()),
            vec![one(&victim, ".cargo-ok", "no-cargo-ok")],
        ),
    ];
    for (what, poison, expected) in cases {
        let home = cargo_home(&crates);
        poison(&crate_dir(home.path()), home.path());
        let out = audit(home.path(), &[]);
        let found = findings(&out);
        assert_eq!(code(&out), 1, "{what}: stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
        assert_eq!(found, expected.into_iter().collect(), "{what}: {}", text(&out.stdout));
        for other in &others {
            assert!(!text(&out.stdout).contains(other.as_str()), "{what}: a clean crate is named");
        }
        // --json says the same: one object per finding, then the summary.
        let out = audit(home.path(), &["--json"]);
        assert_eq!(code(&out), 1, "{what}");
        let lines: Vec<Value> =
            text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
        let (summary, objects) = lines.split_last().unwrap();
        let from_json: BTreeSet<_> = objects
            .iter()
            .map(|o| {
                assert_eq!(o["informational"], false);
                (
                    o["crate"].as_str().unwrap().to_string(),
                    o["path"].as_str().unwrap().to_string(),
                    o["finding"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(from_json, found, "{what}");
        assert_eq!(summary["summary"]["findings"], objects.len(), "{what}");
        assert_eq!(summary["summary"]["with_findings"], 1, "{what}");
        assert_eq!(summary["summary"]["clean"], 2, "{what}");
    }
}

#[cfg(unix)]
#[test]
fn audit_notes_a_pruned_cache_and_ignores_crates_never_extracted() {
    let Some(crates) = small_crates(2) else { return };
    let home = cargo_home(&crates);
    let pruned = stem(&crates[0]);
    std::fs::remove_file(home.path().join("registry/cache").join(INDEX).join(format!("{pruned}.crate"))).unwrap();
    std::fs::remove_dir_all(home.path().join("registry/src").join(INDEX).join(stem(&crates[1]))).unwrap();
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 0, "informational only: {}", text(&out.stdout));
    assert_eq!(findings(&out), [one(&pruned, "", "no-crate-file")].into_iter().collect());
    assert!(text(&out.stderr).contains("1 .crate file(s) never extracted"), "{}", text(&out.stderr));
}

#[cfg(unix)]
#[test]
fn audit_reports_a_crate_the_policy_refuses() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("registry/cache").join(INDEX);
    let src = home.path().join("registry/src").join(INDEX);
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::create_dir_all(src.join("evil-1.0.0")).unwrap();
    let evil =
        gzip(&Tar::new().file("evil-1.0.0/Cargo.toml", b"[package]\n").symlink("evil-1.0.0/cache", "..").finish());
    std::fs::write(cache.join("evil-1.0.0.crate"), evil).unwrap();
    std::fs::write(src.join("evil-1.0.0/Cargo.toml"), b"[package]\n").unwrap();
    std::fs::write(src.join("evil-1.0.0/.cargo-ok"), b"ok").unwrap();
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 1);
    assert_eq!(findings(&out), [one("evil-1.0.0", "", "crate-refused")].into_iter().collect());
    assert!(text(&out.stdout).contains("symlink"), "{}", text(&out.stdout));
}

#[test]
fn audit_without_a_registry_cannot_audit() {
    let home = tempfile::tempdir().unwrap();
    let out = audit(home.path(), &[]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[test]
fn audit_of_the_local_cargo_home_is_clean() {
    if crates_in_cache().is_empty() {
        eprintln!("skipping: no local Cargo cache");
        return;
    }
    let out = run(&["audit-cargo"], b"");
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    for line in text(&out.stdout).lines() {
        assert!(line.ends_with("(informational) [no-crate-file]"), "only informational notes: {line}");
    }
}

/// The real Cargo home against this repository's own `Cargo.lock` and the
/// real index cache files Cargo wrote: every `.crate` this workspace locks
/// has the locked checksum, and the index cache vouches for the rest.
#[test]
fn audit_of_the_local_cargo_home_against_this_lock_file_is_clean() {
    let crates = crates_in_cache();
    if crates.is_empty() {
        eprintln!("skipping: no local Cargo cache");
        return;
    }
    let lock = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
    let out = run(&["audit-cargo", "--json", "--lockfile", lock], b"");
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (summary, findings) = lines.split_last().unwrap();
    for finding in findings {
        assert_eq!(finding["informational"], true, "{finding}");
    }
    let summary = &summary["summary"];
    assert_eq!(summary["findings"], 0, "{summary}");
    assert!(summary["lock_checked"].as_u64().unwrap() > 0, "the lock file's packages are in the cache: {summary}");
    let registry = crates[0].parent().unwrap().parent().unwrap().parent().unwrap();
    if registry.join("index").is_dir() {
        assert!(summary["index_checked"].as_u64().unwrap() > 0, "Cargo's own index cache files are read: {summary}");
    }
}

// ---------------------------------------------------------------------------
// --vendor
// ---------------------------------------------------------------------------

#[cfg(unix)]
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
/// `vendor/<name>/` as `cargo vendor` writes it: the crate's files and a
/// `.cargo-checksum.json` with the SHA-256 of each and of the `.crate`.
fn vendor_dir(crate_file: &Path, root: &Path) -> PathBuf {
    let unpacked = root.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    unpack_as_cargo(crate_file, &unpacked);
    let from = unpacked.join(stem(crate_file));
    std::fs::remove_file(from.join(".cargo-ok")).unwrap();
    let vendor = root.join("vendor");
    std::fs::create_dir_all(&vendor).unwrap();
    let name = stem(crate_file);
    let to = vendor.join(&name);
    std::fs::rename(&from, &to).unwrap();
    let mut files = serde_json::Map::new();
    let mut pending = vec![to.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let rel = path.strip_prefix(&to).unwrap().to_str().unwrap().to_string();
                files.insert(rel, Value::from(sha256_hex(&std::fs::read(&path).unwrap())));
            }
        }
    }
    let package = sha256_hex(&std::fs::read(crate_file).unwrap());
    let doc = serde_json::json!({"files": files, "package": package});
    std::fs::write(to.join(".cargo-checksum.json"), doc.to_string()).unwrap();
    vendor
}

#[cfg(unix)]
#[test]
fn vendor_audit_checks_every_file_against_the_checksum_file() {
    let Some(crates) = small_crates(2) else { return };
    let name = stem(&crates[0]);
    let src_file = first_src_file(&crates[0]).unwrap();
    let fresh = || {
        let root = tempfile::tempdir().unwrap();
        let vendor = vendor_dir(&crates[0], root.path());
        vendor_dir_second(&crates[1], root.path());
        let home = cargo_home(&crates);
        (root, vendor, home)
    };
    let audit_vendor = |vendor: &Path, home: &Path| {
        run(&["audit-cargo", home.to_str().unwrap(), "--vendor", vendor.to_str().unwrap()], b"")
    };

    let (_root, vendor, home) = fresh();
    let out = audit_vendor(&vendor, home.path());
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(out.stdout.is_empty());

    type Poison<'a> = Box<dyn Fn(&Path) + 'a>;
    let cases: Vec<(&str, Poison<'_>, Vec<Key>)> = vec![
        (
            "a file that does not match its checksum",
            Box::new(|dir: &Path| {
                let path = dir.join(&src_file);
                let mut bytes = std::fs::read(&path).unwrap();
                bytes[0] ^= 1;
                std::fs::write(&path, bytes).unwrap();
            }),
            vec![one(&name, &src_file, "content-differs")],
        ),
        (
            "a file the checksum file does not list",
            Box::new(|dir: &Path| std::fs::write(dir.join("src/unlisted.rs"), b"x").unwrap()),
            vec![one(&name, "src/unlisted.rs", "extra-file")],
        ),
        (
            "a symlink",
            Box::new(|dir: &Path| std::os::unix::fs::symlink("/", dir.join("root")).unwrap()),
            vec![one(&name, "root", "extra-symlink")],
        ),
        (
            "a listed file missing",
            Box::new(|dir: &Path| std::fs::remove_file(dir.join(&src_file)).unwrap()),
            vec![one(&name, &src_file, "missing")],
        ),
        (
            "a package checksum that is not the .crate's",
            Box::new(|dir: &Path| {
                let path = dir.join(".cargo-checksum.json");
                let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                doc["package"] = Value::from(sha256_hex(b"another crate"));
                std::fs::write(&path, doc.to_string()).unwrap();
            }),
            vec![one(&name, "", "package-checksum")],
        ),
    ];
    for (what, poison, expected) in cases {
        let (_root, vendor, home) = fresh();
        poison(&vendor.join(&name));
        let out = audit_vendor(&vendor, home.path());
        assert_eq!(code(&out), 1, "{what}: stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
        assert_eq!(findings(&out), expected.into_iter().collect(), "{what}");
    }
}

#[cfg(unix)]
/// A second vendored crate beside the first, so that a clean one is present.
fn vendor_dir_second(crate_file: &Path, root: &Path) {
    let second = root.join("second");
    std::fs::create_dir_all(&second).unwrap();
    let vendor = vendor_dir(crate_file, &second);
    let name = stem(crate_file);
    std::fs::rename(vendor.join(&name), root.join("vendor").join(&name)).unwrap();
}

// ---------------------------------------------------------------------------
// check --batch
// ---------------------------------------------------------------------------

#[test]
fn check_batch_accepts_every_crate_in_the_local_cache() {
    let crates = crates_in_cache();
    if crates.is_empty() {
        eprintln!("skipping: no local Cargo cache");
        return;
    }
    let list: String = crates.iter().map(|p| format!("{}\n", p.to_str().unwrap())).collect();
    let out = run(&["check", "--crate", "--batch", "-"], list.as_bytes());
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    let mut seen = BTreeSet::new();
    for line in text(&out.stdout).lines() {
        let result: Value = serde_json::from_str(line).expect("one JSON object a line");
        assert_eq!(result["acceptable"], true, "{line}");
        assert_eq!(result["violations"], Value::Array(vec![]), "{line}");
        assert!(seen.insert(result["path"].as_str().unwrap().to_string()), "reported twice: {line}");
    }
    let expected: BTreeSet<String> = crates.iter().map(|p| p.to_str().unwrap().to_string()).collect();
    assert_eq!(seen, expected, "one line per crate");
    assert!(text(&out.stderr).contains(&format!("checked {} archive(s)", crates.len())), "{}", text(&out.stderr));
}

#[test]
fn check_batch_reports_bad_and_unreadable_archives_as_results() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good-1.0.0.crate");
    std::fs::write(&good, gzip(&Tar::new().file("good-1.0.0/Cargo.toml", b"[package]\n").finish())).unwrap();
    let bad = dir.path().join("bad-1.0.0.crate");
    std::fs::write(&bad, gzip(&Tar::new().file("bad-1.0.0/Cargo.toml", b"").file("../escape", b"").finish())).unwrap();
    let garbage = dir.path().join("garbage-1.0.0.crate");
    std::fs::write(&garbage, b"this is not a tar file at all, not even close........").unwrap();
    let missing = dir.path().join("missing-1.0.0.crate");
    let list_file = dir.path().join("list");
    let list = [&good, &bad, &garbage, &missing].map(|p| p.to_str().unwrap().to_string()).join("\n");
    std::fs::write(&list_file, &list).unwrap();

    let out = run(&["check", "--crate", "--batch", list_file.to_str().unwrap(), "--jobs", "2"], b"");
    assert_eq!(code(&out), 1, "stderr: {}", text(&out.stderr));
    let mut results = std::collections::BTreeMap::new();
    for line in text(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        results.insert(v["path"].as_str().unwrap().to_string(), v);
    }
    assert_eq!(results.len(), 4);
    let get = |p: &PathBuf| &results[p.to_str().unwrap()];
    assert_eq!(get(&good)["acceptable"], true);
    assert_eq!(get(&bad)["acceptable"], false);
    let rules: Vec<&str> =
        get(&bad)["violations"].as_array().unwrap().iter().map(|v| v["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["parent-component"]);
    assert_eq!(get(&garbage)["acceptable"], false);
    assert_eq!(get(&garbage)["violations"][0]["rule"], "malformed");
    assert_eq!(get(&missing)["acceptable"], false);
    assert!(get(&missing)["error"].as_str().unwrap().starts_with("opening"), "{}", get(&missing));
    assert!(text(&out.stderr).contains("1 acceptable, 2 not acceptable, 1 could not be read"), "{}", text(&out.stderr));
}

/// The check JSON of one archive equals its batch line.
#[test]
fn check_batch_lines_match_check_json() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-1.0.0.crate");
    std::fs::write(&bad, gzip(&Tar::new().file("bad-1.0.0/.cargo-ok", b"").file("other/x", b"").finish())).unwrap();
    let path = bad.to_str().unwrap();
    let single = run(&["check", "--crate", "--json", path], b"");
    let batch = run(&["check", "--crate", "--batch"], format!("{path}\n").as_bytes());
    let single: Value = serde_json::from_slice(&single.stdout).unwrap();
    let batch: Value = serde_json::from_slice(&batch.stdout).unwrap();
    assert_eq!(batch["violations"], single["violations"]);
    assert_eq!(batch["acceptable"], false);
    assert_eq!(batch["path"], path);
}

/// A FIFO in a batch's list (no writer, or a writer that never writes)
/// used to stop the whole batch forever. Each path is opened without
/// blocking and read under its own stall timeout: the FIFO is one result
/// with an error, and the batch goes on to the next path.
#[cfg(unix)]
#[test]
fn check_batch_ends_past_fifos_and_stalled_writers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let good = gzip(&Tar::new().file("pkg-1.0/Cargo.toml", b"[package]\n").finish());
    std::fs::write(root.join("pkg-1.0.crate"), &good).unwrap();
    for fifo in ["silent.crate", "stalled.crate"] {
        let status = std::process::Command::new("mkfifo").arg(root.join(fifo)).status().unwrap();
        assert!(status.success());
    }
    // A writer that opens the FIFO and never writes (nor closes it).
    let stalled = root.join("stalled.crate");
    let writer = std::thread::spawn(move || {
        let held = std::fs::OpenOptions::new().write(true).open(stalled).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(8));
        drop(held);
    });
    std::fs::write(root.join("list"), "silent.crate\nstalled.crate\npkg-1.0.crate\n").unwrap();
    let started = std::time::Instant::now();
    let out = run_in(root, &["check", "--batch", "list", "--stall-timeout", "1", "--timeout", "3", "--jobs", "1"], b"");
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(7), "took {took:?}");
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{}", text(&out.stdout));
    for line in &lines {
        match line["path"].as_str().unwrap() {
            "pkg-1.0.crate" => assert_eq!(line["acceptable"], true),
            fifo => {
                assert_eq!(line["acceptable"], false, "{fifo}");
                let error = line["error"].as_str().unwrap_or_default();
                assert!(error.contains("stalled") || error.contains("deadline"), "{fifo}: {line}");
            }
        }
    }
    writer.join().unwrap();
}
