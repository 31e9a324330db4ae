//! Running the `sealtar` binary that Cargo builds for these tests
//! (`CARGO_BIN_EXE_sealtar`): with the test cache, standard input given,
//! and the output's checks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sealtar_tests::scene::{Scene, cache_dir, exec, file, outside_expected, tree};
use sealtar_tests::{Node, Tar};

/// The `sealtar` binary Cargo built for these tests.
pub(crate) fn sealtar_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sealtar"))
}

/// `sealtar args…` in `cwd`, with the test cache, not yet started.
pub(crate) fn sealtar_command(cwd: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(sealtar_bin());
    command.args(args).current_dir(cwd).env("SEALTAR_CACHE_DIR", cache_dir());
    command
}

/// Runs `sealtar args…` in `cwd`, with `stdin` as standard input.
pub(crate) fn run_in(cwd: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(sealtar_bin())
        .args(args)
        .current_dir(cwd)
        .env("SEALTAR_CACHE_DIR", cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sealtar starts");
    let mut input = child.stdin.take().unwrap();
    // The binary may exit before reading everything (usage errors, refusals).
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

/// Writes `bytes` to `<scene root>/<name>` and returns the path as a string.
pub(crate) fn archive_file(scene: &Scene, name: &str, bytes: &[u8]) -> String {
    let path = scene.root.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

/// Everything outside `dest/` in the scene as expected, plus the archive
/// files the test wrote there.
pub(crate) fn assert_outside_is(scene: &Scene, archives: &[(&str, &[u8])]) {
    let mut expected = outside_expected();
    for (name, bytes) in archives {
        expected.insert((*name).to_string(), file(bytes));
    }
    assert_eq!(scene.outside_tree(), expected);
}

/// Control bytes (other than line ends), DEL and the bidi override must never
/// reach a terminal raw.
pub(crate) fn assert_inert(output: &[u8]) {
    for (i, line) in output.split(|&b| b == b'\n').enumerate() {
        assert!(
            !line.iter().any(|&b| b < 0x20 || b == 0x7f),
            "line {i} holds a raw control byte: {:?}",
            String::from_utf8_lossy(line)
        );
    }
    let text = text(output);
    assert!(!text.contains('\u{202e}'), "a raw U+202E reached the output: {text:?}");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
}

pub(crate) fn sample_archive() -> Vec<u8> {
    Tar::new()
        .dir("pkg/")
        .file("pkg/a.txt", b"alpha\n")
        .exec_file("pkg/bin/tool", b"#!/bin/sh\n")
        .file("top.txt", b"top\n")
        .finish()
}

pub(crate) fn sample_tree() -> std::collections::BTreeMap<String, Node> {
    tree(&[
        ("pkg", Node::Dir),
        ("pkg/a.txt", file(b"alpha\n")),
        ("pkg/bin", Node::Dir),
        ("pkg/bin/tool", exec(b"#!/bin/sh\n")),
        ("top.txt", file(b"top\n")),
    ])
}

// ---------------------------------------------------------------------------
// extract
// ---------------------------------------------------------------------------
