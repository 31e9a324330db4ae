//! Running the `sealtar` binary that Cargo builds for these tests
//! (`CARGO_BIN_EXE_sealtar`): with the test cache, standard input given,
//! and the output's checks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

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

/// Starts `command`. Under Wine, starting a process now and then fails with
/// ERROR_INTERNAL_ERROR (1359) while tests start many at once; such a start
/// is tried again, a few times (a start only: nothing that ran is retried).
pub(crate) fn start(command: &mut Command) -> Child {
    const ERROR_INTERNAL_ERROR: i32 = 1359;
    let mut tries = 0;
    loop {
        match command.spawn() {
            Ok(child) => return child,
            Err(e) if cfg!(windows) && e.raw_os_error() == Some(ERROR_INTERNAL_ERROR) && tries < 5 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100 * tries));
            }
            Err(e) => panic!("{command:?} does not start: {e}"),
        }
    }
}

/// Runs `command` to its end, as `Command::output` does (standard input
/// empty, the outputs captured), started by [`start`].
pub(crate) fn output(command: &mut Command) -> Output {
    let child = start(command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()));
    child.wait_with_output().unwrap()
}

/// Runs `sealtar args…` in `cwd`, with `stdin` as standard input.
pub(crate) fn run_in(cwd: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = start(
        Command::new(sealtar_bin())
            .args(args)
            .current_dir(cwd)
            .env("SEALTAR_CACHE_DIR", cache_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
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

/// How a measured run of the binary ended.
#[cfg(unix)]
#[derive(Debug)]
pub(crate) struct Measured {
    /// The exit status (a signal's number negated).
    pub(crate) code: i32,
    /// Peak resident set size, in MiB.
    pub(crate) peak_rss_mib: f64,
    /// Wall time.
    pub(crate) seconds: f64,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

/// Runs `sealtar args…` in `cwd` as a child of a small Python program that
/// reaps it with `wait4` and reports its peak RSS (`ru_maxrss`) and wall
/// time: the memory the run really took, measured by the kernel, not
/// estimated.
#[cfg(unix)]
pub(crate) fn measured(cwd: &Path, args: &[&str]) -> Measured {
    const MEASURE: &str = "import json, os, subprocess, sys, time\n\
        start = time.monotonic()\n\
        child = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1] + '.out', 'wb'), stderr=open(sys.argv[1] + '.err', 'wb'))\n\
        _, status, usage = os.wait4(child.pid, 0)\n\
        took = time.monotonic() - start\n\
        json.dump({'code': os.waitstatus_to_exitcode(status), 'rss_kib': usage.ru_maxrss, 'seconds': took}, open(sys.argv[1], 'w'))\n";
    let report = tempfile::NamedTempFile::new().unwrap();
    let report_path = report.path().to_str().unwrap().to_string();
    let status = Command::new("python3")
        .args(["-c", MEASURE, &report_path])
        .arg(sealtar_bin())
        .args(args)
        .current_dir(cwd)
        .env("SEALTAR_CACHE_DIR", cache_dir())
        .stdin(Stdio::null())
        .status()
        .expect("python3 runs (the measured tests need it)");
    assert!(status.success(), "the measuring wrapper failed: {status}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let read = |suffix: &str| std::fs::read(format!("{report_path}{suffix}")).unwrap_or_default();
    let measured = Measured {
        code: doc["code"].as_i64().unwrap() as i32,
        peak_rss_mib: doc["rss_kib"].as_f64().unwrap() / 1024.0,
        seconds: doc["seconds"].as_f64().unwrap(),
        stdout: read(".out"),
        stderr: read(".err"),
    };
    let _ = std::fs::remove_file(format!("{report_path}.out"));
    let _ = std::fs::remove_file(format!("{report_path}.err"));
    measured
}
