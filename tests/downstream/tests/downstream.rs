//! sealtar as a downstream crate sees it: only the public API, built with
//! the builder, extracting with an empty `HOME`, reading the report, and
//! checking that nothing was written outside the destination.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sealtar::{CrateRules, Extractor, HashAlgorithm, Kind, Options};

/// A ustar header for `name` with `size` bytes of data and type `flag`.
fn header(name: &str, flag: u8, mode: u32, size: usize) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(format!("{mode:07o}").as_bytes());
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"14707254000");
    h[156] = flag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

/// `demo-0.1.0/` with a `Cargo.toml` and a source file.
fn archive() -> Vec<u8> {
    let mut tar = header("demo-0.1.0/", b'5', 0o755, 0);
    for (name, data) in [("demo-0.1.0/Cargo.toml", &b"[package]\nname = \"demo\"\n"[..]), ("demo-0.1.0/src/lib.rs", b"")]
    {
        tar.extend(header(name, b'0', 0o644, data.len()));
        tar.extend_from_slice(data);
        tar.resize(tar.len().next_multiple_of(512), 0);
    }
    tar.resize(tar.len() + 1024, 0);
    tar
}

fn options() -> Options {
    Options::new()
        .max_size(1 << 20)
        .max_entries(100)
        .max_depth(16)
        .portable(true)
        .timeout(Duration::from_secs(60))
        .content_hash(Some(HashAlgorithm::Sha256))
}

/// Every path below `root`, relative to it.
fn listing(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.insert(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            if path.is_dir() && !path.is_symlink() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

const CHILD: &str = "SEALTAR_DOWNSTREAM_CHILD";

/// Runs [`extract_in_a_bare_environment`] in a child process whose
/// environment holds only an empty `HOME` and `TMPDIR`, then checks what
/// appeared on disk.
#[test]
fn extracts_with_an_empty_home_and_writes_only_the_destination() {
    let root = std::env::temp_dir().join(format!("sealtar-downstream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["home", "tmp", "cwd"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("demo-0.1.0.crate"), archive()).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["extract_in_a_bare_environment", "--exact", "--ignored", "--test-threads=1"])
        .env_clear()
        .env("HOME", root.join("home"))
        .env("TMPDIR", root.join("tmp"))
        .env(CHILD, &root)
        .current_dir(root.join("cwd"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("1 passed"), "the child test did not run:\n{stdout}");
    let expected: BTreeSet<String> = [
        "cwd",
        "demo-0.1.0.crate",
        "home",
        "out",
        "out/demo-0.1.0",
        "out/demo-0.1.0/Cargo.toml",
        "out/demo-0.1.0/src",
        "out/demo-0.1.0/src/lib.rs",
        "tmp",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(listing(&root), expected);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
#[ignore = "run by extracts_with_an_empty_home_and_writes_only_the_destination"]
fn extract_in_a_bare_environment() {
    let root = PathBuf::from(std::env::var_os(CHILD).expect("run through its parent test"));
    assert!(std::env::var_os("XDG_CACHE_HOME").is_none());
    let extractor = Extractor::new(options()).unwrap();
    let crate_file = root.join("demo-0.1.0.crate");

    let rules = CrateRules::from_file_name("demo-0.1.0.crate", None).unwrap().compressed_size(3072);
    let check = extractor.check(std::fs::File::open(&crate_file).unwrap(), Some(&rules)).unwrap();
    assert!(check.is_acceptable(), "{:?}", check.violations);

    let report = extractor.extract_to_path(std::fs::File::open(&crate_file).unwrap(), root.join("out")).unwrap();
    let entries: Vec<(&str, Kind, u64)> =
        report.entries.iter().map(|e| (e.dest_path.as_str(), e.kind, e.size)).collect();
    assert_eq!(
        entries,
        [
            ("demo-0.1.0", Kind::Directory, 0),
            ("demo-0.1.0/Cargo.toml", Kind::File, 24),
            ("demo-0.1.0/src/lib.rs", Kind::File, 0)
        ]
    );
    assert_eq!((report.files, report.directories, report.bytes), (2, 2, 24));
    let empty = report.entries[2].hash.unwrap();
    assert_eq!(empty.to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(report.entries[0].path, "demo-0.1.0/");
}
