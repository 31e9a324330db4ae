//! The crate as a library user sees it: defaults without side effects, the
//! builder, the report of what was written, and sharing one extractor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::{Extractor, Options};
use sealtar_tests::{Node, Tar, gzip, snapshot};

use crate::support::{exec, file, tree};

/// The archive both processes agree on.
fn sample() -> Vec<u8> {
    gzip(
        Tar::new()
            .dir("pkg/")
            .file("pkg/a.txt", b"alpha\n")
            .exec_file("pkg/run.sh", b"#!/bin/sh\n")
            .finish()
            .as_slice(),
    )
}

fn sample_tree() -> BTreeMap<String, Node> {
    tree(&[("pkg", Node::Dir), ("pkg/a.txt", file(b"alpha\n")), ("pkg/run.sh", exec(b"#!/bin/sh\n"))])
}

const CHILD_ENV: &str = "SEALTAR_SIDE_EFFECT_CHILD";

/// `Options::default()` reads no environment and writes nothing outside the
/// destination: an extraction in a fresh process (so the compiled guest is
/// not already in memory) with an empty `HOME`, an empty `TMPDIR`, no
/// `XDG_CACHE_HOME` or `SEALTAR_CACHE_DIR`, and a read-only working
/// directory leaves all three empty. (Tests run as root ignore the mode of
/// the working directory, so emptiness is what is asserted.)
#[test]
fn default_options_write_nothing_outside_the_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for dir in ["home", "cwd", "tmp", "dest"] {
        std::fs::create_dir(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("archive.tar.gz"), sample()).unwrap();
    set_mode(&root.join("cwd"), 0o555);

    let output = Command::new(std::env::current_exe().unwrap())
        .args(["library::side_effect_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("HOME", root.join("home"))
        .env("TMPDIR", root.join("tmp"))
        .env(CHILD_ENV, root)
        .current_dir(root.join("cwd"))
        .output()
        .unwrap();
    set_mode(&root.join("cwd"), 0o755);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("1 passed"), "the child test did not run:\n{stdout}");

    for dir in ["home", "cwd", "tmp"] {
        let written: Vec<String> = snapshot(&root.join(dir)).into_keys().collect();
        assert!(written.is_empty(), "written under {dir}: {written:?}");
    }
    assert_eq!(snapshot(&root.join("dest")), sample_tree());
    let mut top: Vec<String> =
        std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    top.sort();
    assert_eq!(top, ["archive.tar.gz", "cwd", "dest", "home", "tmp"]);
}

/// The extraction half of the test above, run only in its child process.
#[test]
#[ignore = "run by default_options_write_nothing_outside_the_destination in a clean environment"]
fn side_effect_child() {
    let root = PathBuf::from(std::env::var_os(CHILD_ENV).expect("run through its parent test"));
    assert_eq!(std::env::current_dir().unwrap(), root.join("cwd"));
    let options = Options::default();
    assert_eq!(options.cache_dir, None);
    let extractor = Extractor::new(options).unwrap();
    let dest = Dir::open_ambient_dir(root.join("dest"), ambient_authority()).unwrap();
    let archive = std::fs::File::open(root.join("archive.tar.gz")).unwrap();
    let report = extractor.extract(archive, &dest).unwrap();
    assert_eq!((report.files, report.directories, report.bytes), (2, 1, 16));
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    {
        let mut permissions = std::fs::metadata(path).unwrap().permissions();
        permissions.set_readonly(mode & 0o200 == 0);
        std::fs::set_permissions(path, permissions).unwrap();
    }
}
