//! The exit status follows the result, never the health of a standard
//! stream: every command, with standard output and error on `/dev/full`
//! (every write fails) or closed, exits as it does with both working, and
//! a published extraction stays published.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Command, Stdio};

use sealtar_tests::{Tar, gzip};

use crate::run::{sealtar_bin, text};
use sealtar_tests::scene::cache_dir;

/// How the standard streams are broken.
#[derive(Debug, Clone, Copy)]
enum Broken {
    /// Both on `/dev/full`.
    Full,
    /// Both closed.
    Closed,
    /// Both working (the reference).
    Neither,
}

/// `sealtar args…` in `cwd`, its standard output and error broken `how`;
/// the exit status.
fn status(cwd: &Path, how: Broken, args: &[&str]) -> i32 {
    let redirect = match how {
        Broken::Full => ">/dev/full 2>/dev/full",
        Broken::Closed => ">&- 2>&-",
        Broken::Neither => ">/dev/null 2>/dev/null",
    };
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$0\" \"$@\" {redirect}"))
        .arg(sealtar_bin())
        .args(args)
        .current_dir(cwd)
        .env("SEALTAR_CACHE_DIR", cache_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    out.status.code().unwrap_or_else(|| panic!("{args:?} with {how:?} ended by a signal: {}", text(&out.stderr)))
}

#[test]
fn every_command_exits_by_its_result_whatever_its_streams() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let good = gzip(&Tar::new().file("pkg-1.0/Cargo.toml", b"[package]\n").symlink("pkg-1.0/l", "Cargo.toml").finish());
    let bad = gzip(&Tar::new().file("pkg-1.0/Cargo.toml", b"[package]\n").file("../evil", b"x").finish());
    std::fs::write(root.join("pkg-1.0.crate"), &good).unwrap();
    std::fs::write(root.join("bad-1.0.crate"), &bad).unwrap();
    std::fs::write(root.join("good.list"), "pkg-1.0.crate\n").unwrap();
    std::fs::write(root.join("bad.list"), "pkg-1.0.crate\nbad-1.0.crate\nmissing.crate\n").unwrap();
    let index = "index.test-0000000000000000";
    std::fs::create_dir_all(root.join("home/registry/cache").join(index)).unwrap();
    std::fs::write(root.join("home/registry/cache").join(index).join("pkg-1.0.crate"), &good).unwrap();
    std::fs::create_dir_all(root.join("home/registry/src").join(index).join("pkg-1.0")).unwrap();
    // No `.cargo-ok` and no files: the audit has findings.

    let cases: &[(&[&str], i32)] = &[
        (&["extract", "pkg-1.0.crate", "-C", "out", "--links", "skip", "-v"], 0),
        (&["extract", "bad-1.0.crate", "-C", "out2"], 1),
        (&["list", "pkg-1.0.crate", "--links", "copy"], 0),
        (&["list", "--json", "bad-1.0.crate"], 1),
        (&["check", "--crate", "pkg-1.0.crate", "--links", "copy"], 0),
        (&["check", "--json", "bad-1.0.crate"], 1),
        (&["check", "--crate", "--links", "copy", "--batch", "good.list"], 0),
        (&["check", "--crate", "--batch", "bad.list"], 1),
        (&["audit-cargo", "home"], 1),
        (&["audit-cargo", "home", "--json"], 1),
        (&["audit-cargo", "no-such-home"], 2),
    ];
    for how in [Broken::Neither, Broken::Full, Broken::Closed] {
        for (args, expected) in cases {
            let _ = std::fs::remove_dir_all(root.join("out"));
            assert_eq!(status(root, how, args), *expected, "{args:?} with {how:?}");
            if args[1] == "pkg-1.0.crate" && args[0] == "extract" {
                assert!(root.join("out/pkg-1.0/Cargo.toml").is_file(), "published with {how:?}");
            }
        }
    }
}
