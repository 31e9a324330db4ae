//! Issue 9's bounds through the command line: output escaping, closed and
//! silent standard streams, deep staging trees, streamed listings.

use std::io::Read;
use std::path::Path;
#[cfg(unix)]
use std::process::Command;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sealtar_tests::scene::Scene;
#[cfg(unix)]
use sealtar_tests::scene::{file, prepopulated, tree};
use sealtar_tests::{Header, Tar};
use serde_json::Value;

use crate::run::{archive_file, code, run_in, sealtar_command, start, text};

#[test]
fn list_and_check_json_escape_c1_controls() {
    let scene = Scene::bare();
    // A type flag of 0x85 (NEL) and a name holding U+009B (CSI).
    let bytes = Tar::new()
        .entry(&Header::new(b"odd", 0x85, 0), b"")
        .entry(&Header::new("csi\u{9b}31m".as_bytes(), b'0', 1), b"x")
        .finish();
    let archive = archive_file(&scene, "c1.tar", &bytes);
    for args in [["list", "--json"], ["check", "--json"]] {
        let out = run_in(&scene.root, &[args[0], args[1], &archive], b"");
        assert_eq!(code(&out), 1, "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(!stdout.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)), "raw C1 in {stdout:?}");
        let doc: Value = serde_json::from_str(&stdout).unwrap();
        if args[0] == "list" {
            assert!(stdout.contains(r"\u0085"), "{stdout}");
            assert_eq!(doc["entries"][0]["type_flag"], "\u{85}");
            assert_eq!(doc["entries"][1]["path"], "csi\\u{9b}31m");
            assert_eq!(doc["acceptable"], false);
        } else {
            // check --json keeps its shape: one document, violations with a path.
            assert_eq!(doc["acceptable"], false);
            assert_eq!(doc["violations"][0]["path"], "odd");
            assert_eq!(doc["violations"][0]["rule"], "forbidden-kind");
        }
    }
}

/// Unix only: it closes the descriptor with the shell's `2>&-`, which has no
/// Windows counterpart (a process there always has the three handles, maybe
/// invalid ones).
#[cfg(unix)]
#[test]
fn closed_standard_error_ends_extract_quietly() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "a.tar", &Tar::new().file("hello.txt", b"hi\n").finish());
    // `2>&-`: the verbose summary has nowhere to go.
    let status = Command::new("sh")
        .arg("-c")
        .arg(r#"exec 2>&-; exec "$0" extract -v "$1" -C dest"#)
        .arg(crate::run::sealtar_bin())
        .arg(&archive)
        .current_dir(&scene.root)
        .env("SEALTAR_CACHE_DIR", sealtar_tests::scene::cache_dir())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(scene.dest_tree(), tree(&[("hello.txt", file(b"hi\n"))]));
    scene.assert_no_staging();
}

/// Ended normally with its own exit code, or killed by SIGPIPE; never a panic.
fn assert_quiet_end(status: std::process::ExitStatus, stderr: &[u8], allowed: &[i32]) {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(13) {
            return;
        }
    }
    let code = status.code().expect("exited");
    assert!(allowed.contains(&code), "exit {code}: {}", String::from_utf8_lossy(stderr));
    assert!(!String::from_utf8_lossy(stderr).contains("panicked"), "{}", String::from_utf8_lossy(stderr));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let scene = Scene::bare();
    let mut tar = Tar::new();
    for i in 0..3000 {
        tar.file(&format!("dir/file-{i:05}.txt"), b"");
    }
    let archive = archive_file(&scene, "many.tar", &tar.finish());
    // Standard output closed before the listing is written.
    for args in [vec!["list", &archive], vec!["list", "--json", &archive], vec!["check", &archive]] {
        let mut child = start(sealtar_command(&scene.root, &args).stdout(Stdio::piped()).stderr(Stdio::piped()));
        drop(child.stdout.take());
        let mut stderr = Vec::new();
        child.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
        let status = child.wait().unwrap();
        // Windows has no SIGPIPE: the write fails, and sealtar ends with the
        // I/O error code, saying nothing.
        let allowed: &[i32] = if cfg!(windows) { &[0, 2] } else { &[0] };
        assert_quiet_end(status, &stderr, allowed);
        assert!(stderr.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&stderr));
    }
    // Standard error a closed pipe while extract -v reports.
    let mut child = start(
        sealtar_command(&scene.root, &["extract", "-v", &archive, "-C", "dest"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_quiet_end(status, b"", &[0]);
    assert_eq!(scene.dest_tree().len(), 3001);
    scene.assert_no_staging();
}

/// Runs `sealtar args` with a standard input that stays open and silent;
/// returns its exit code, standard error and how long it took.
fn run_with_silent_stdin(cwd: &Path, args: &[&str]) -> (i32, String, Duration) {
    let started = Instant::now();
    let mut child = start(sealtar_command(cwd, args).stdin(Stdio::piped()).stderr(Stdio::piped()));
    let stdin = child.stdin.take().unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            drop(stdin);
            return (status.code().expect("exited"), stderr, started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("sealtar {args:?} still waits for its input after 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn stalled_standard_input_ends_the_run() {
    let scene = Scene::bare();
    std::fs::remove_dir(&scene.dest).unwrap();
    let (status, stderr, took) = run_with_silent_stdin(&scene.root, &["extract", "-", "-C", "dest", "--timeout", "2"]);
    assert!(status == 1 || status == 2, "{status}: {stderr}");
    assert!(stderr.contains("--timeout"), "{stderr}");
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(!scene.dest.exists(), "the destination it created is gone again");
    let (status, stderr, _) = run_with_silent_stdin(&scene.root, &["list", "-", "--stall-timeout", "1"]);
    assert!(status == 1 || status == 2, "{status}: {stderr}");
    assert!(stderr.contains("--stall-timeout"), "{stderr}");
    let (status, stderr, _) = run_with_silent_stdin(&scene.root, &["check", "-", "--timeout", "1"]);
    assert!(status == 1 || status == 2, "{status}: {stderr}");
    scene.assert_outside_untouched();
}

#[cfg(unix)]
#[test]
fn deep_staging_is_removed_with_few_file_descriptors() {
    // A file 1,000 directories deep, then a refused entry.
    let deep = format!("{}f", "d/".repeat(1000));
    let bytes = Tar::new().pax(&[("path", deep.as_bytes())]).file("placeholder", b"x").symlink("s", "t").finish();
    let scene = Scene::new();
    let old = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    std::fs::File::open(&scene.dest).unwrap().set_modified(old).unwrap();
    let archive = archive_file(&scene, "deep.tar", &bytes);
    let script = r#"ulimit -n 64 && exec "$0" extract "$1" -C dest"#;
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(crate::run::sealtar_bin())
        .arg(&archive)
        .current_dir(&scene.root)
        .env("SEALTAR_CACHE_DIR", sealtar_tests::scene::cache_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("symlink"), "{}", text(&out.stderr));
    assert_eq!(scene.dest_tree(), prepopulated());
    scene.assert_no_staging();
    assert_eq!(mtime_of(&scene.dest), old, "the destination's own mtime changed");
}

#[test]
fn streamed_list_json_is_one_document() {
    // `list --json` is still one document, parseable whole.
    let scene = Scene::bare();
    let archive = archive_file(&scene, "two.tar", &Tar::new().file("a", b"1").dir("d/").finish());
    let out = run_in(&scene.root, &["list", "--json", &archive], b"");
    assert_eq!(code(&out), 0);
    let doc: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(doc["entries"].as_array().unwrap().len(), 2);
    assert_eq!(doc["error"], Value::Null);
    assert_eq!(doc["acceptable"], true);
}

/// The destination's modification time, to the nanosecond.
#[cfg(unix)]
fn mtime_of(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}
