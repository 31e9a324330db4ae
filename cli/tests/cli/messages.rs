//! The exact text of representative messages, as the `sealtar` binary
//! prints them: each names the entry (index and path, escaped once) and the
//! rule (its sentence, then `[rule <id>]`) once. Exact strings on purpose: a
//! change to any of them must show up here and be a decision.

use std::path::Path;

use sealtar_tests::{Header, Tar};

use crate::run::{code, output, sealtar_command, text};

/// Runs `sealtar args…` in `dir`, which holds `archive.tar` with `bytes`, and
/// returns (exit code, standard output, standard error).
fn run(dir: &Path, bytes: &[u8], args: &[&str]) -> (i32, String, String) {
    std::fs::write(dir.join("archive.tar"), bytes).unwrap();
    let out = output(&mut sealtar_command(dir, args));
    (code(&out), text(&out.stdout), text(&out.stderr))
}

/// `sealtar extract archive.tar -C out extra…`: the exit code and standard
/// error, after checking that nothing was written and nothing went to
/// standard output.
fn extract(bytes: &[u8], extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["extract", "archive.tar", "-C", "out"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(dir.path(), bytes, &args);
    assert_eq!(stdout, "");
    assert!(!dir.path().join("out").exists(), "a refused or failed run left its destination behind");
    (code, stderr)
}

#[test]
fn traversal_refusal_names_the_entry_escaped_once_and_the_rule() {
    // The name has one backslash; the message shows it escaped once (`\\`).
    let bytes = Tar::new().file("ok.txt", b"fine").file("a\\b/../../evil", b"evil").finish();
    assert_eq!(
        extract(&bytes, &[]),
        (
            1,
            "sealtar: refused: entry 1 \"a\\\\b/../../evil\": the path has a '..' component (path traversal) \
             [rule parent-component]\n"
                .to_string()
        )
    );
}

#[test]
fn link_refusals() {
    let bytes = Tar::new().symlink("pkg/link", "/etc/passwd").finish();
    assert_eq!(
        extract(&bytes, &[]),
        (
            1,
            "sealtar: refused: entry 0 \"pkg/link\": symlink entries are never extracted: links can redirect \
             later writes (CVE-2026-5223) [rule forbidden-kind]\n"
                .to_string()
        )
    );
    assert_eq!(
        extract(&bytes, &["--links", "copy-or-refuse"]),
        (
            1,
            "sealtar: refused: entry 0 \"pkg/link\": the link cannot be copied: the target is an absolute path \
             [rule link-absolute]\n"
                .to_string()
        )
    );
}

#[test]
fn link_skipped_under_copy() {
    let bytes = Tar::new().file("pkg/a", b"a").symlink("pkg/link", "/etc/passwd").finish();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        run(dir.path(), &bytes, &["extract", "archive.tar", "-C", "out", "--links", "copy"]),
        (0, String::new(), "sealtar: skipped 1 link(s) and 0 special file(s); -v lists them\n".to_string())
    );
    assert!(!dir.path().join("out/pkg/link").exists());
    let (code, stdout, stderr) =
        run(dir.path(), &bytes, &["extract", "archive.tar", "-C", "verbose", "--links", "copy", "-v"]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert!(
        stderr.starts_with(
            "sealtar: skipped symlink \"pkg/link\" -> \"/etc/passwd\": the link cannot be copied: the target is an \
             absolute path\n"
        ),
        "{stderr}"
    );
}

#[test]
fn too_large_refusal() {
    let bytes = Tar::new().file("big", &[b'x'; 5000]).finish();
    assert_eq!(
        extract(&bytes, &["--max-size", "1000"]),
        (
            1,
            "sealtar: refused: entry 0 \"big\": the unpacked size (headers included) exceeds the 1000-byte limit \
             (--max-size) [rule too-large]\n"
                .to_string()
        )
    );
}

#[test]
fn malformed_header() {
    let mut bytes = Tar::new().file("first", b"12345").finish();
    // The second header's checksum field is garbage.
    let second = Header::new(b"second", b'0', 0).bad_checksum(b"1234567\0").build();
    bytes.splice(1024..1024, second);
    assert_eq!(
        extract(&bytes, &[]),
        (
            1,
            "sealtar: refused: malformed archive at byte 1024 of the tar stream: header checksum mismatch \
             (stored 342391, computed 3707)\n"
                .to_string()
        )
    );
}

#[test]
fn grammar_rule_refusal_quotes_the_name_and_field_escaped_once() {
    // A mode field Python cannot decode and GNU tar reads as 0o99: a name
    // with a backslash, and NUL bytes in the quoted field.
    let header = Header::new(b"m\\ode", b'0', 0).set(100, 8, b"99x\0\0\0\0\0").build();
    let bytes = Tar::new().raw(&header).finish();
    assert_eq!(
        extract(&bytes, &[]),
        (
            1,
            "sealtar: refused: malformed archive at byte 0 of the tar stream: entry 0 \"m\\\\ode\": mode field \
             \"99x\\x00\\x00\\x00\\x00\\x00\" does not decode (byte 0x39 in an octal field): two readers read this \
             differently (Python decodes every numeric field of every header and ends the archive at one it cannot \
             read; GNU tar reads `1 2` as 1 and a field of spaces as -1, and does not decode the fields of extension \
             headers) [rule numeric-field]\n"
                .to_string()
        )
    );
}

#[test]
fn check_prints_every_violation_like_extract_does() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = Tar::new().file("../up", b"x").file("/abs", b"y").finish();
    let (code, stdout, stderr) = run(dir.path(), &bytes, &["check", "archive.tar"]);
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (
            1,
            "entry 0 \"../up\": the path has a '..' component (path traversal) [rule parent-component]\n\
             entry 1 \"/abs\": the path is absolute (path traversal) [rule absolute-path]\n\
             2 entries, 2 violations: NOT acceptable\n",
            ""
        )
    );
}

#[test]
fn members_not_found_is_a_usage_error() {
    let bytes = Tar::new().file("a", b"a").finish();
    assert_eq!(
        extract(&bytes, &["nothere", "no\x1bthere"]),
        (2, "sealtar: error: not found in the archive: \"nothere\", \"no\\u{1b}there\"\n".to_string())
    );
}

/// The operating system's words are Linux's here.
#[cfg(target_os = "linux")]
#[test]
fn io_errors_name_what_failed_and_the_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = output(&mut sealtar_command(dir.path(), &["extract", "missing.tar", "-C", "out"]));
    assert_eq!(
        (code(&out), text(&out.stderr)),
        (2, "sealtar: error: opening missing.tar: No such file or directory (os error 2)\n".to_string())
    );
    // A directory opens as a file and fails on the first read, inside the
    // library: its Io error carries the cause once, not twice.
    std::fs::create_dir(dir.path().join("a-directory")).unwrap();
    let out = output(&mut sealtar_command(dir.path(), &["extract", "a-directory", "-C", "out"]));
    assert_eq!(
        (code(&out), text(&out.stderr)),
        (2, "sealtar: error: reading the archive: Is a directory (os error 21)\n".to_string())
    );
}

/// One hostile entry, five commands, one refusal text: the entry's index,
/// its name escaped (no control character reaches the output raw) and cut
/// after 1 KiB with `…`, the rule's sentence and its id. The pipeline builds
/// it in one place; `extract`, `list --json`, `check` (text and JSON),
/// `check --batch` and `audit-cargo` each quote it whole.
#[test]
fn one_refusal_text_in_every_command() {
    let hostile = format!("pkg-1.0/\x1b[31m{}/../evil", "n".repeat(1500));
    let bytes = sealtar_tests::gzip(
        &Tar::new()
            .file("pkg-1.0/Cargo.toml", b"[package]\nname = \"pkg\"\nversion = \"1.0\"\n")
            .pax(&[("path", hostile.as_bytes())])
            .file("placeholder", b"x")
            .finish(),
    );
    let expected = format!(
        "entry 1 \"pkg-1.0/\\u{{1b}}[31m{}…\": the path has a '..' component (path traversal) [rule parent-component]",
        "n".repeat(1024 - "pkg-1.0/\x1b[31m".len())
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("pkg-1.0.crate"), &bytes).unwrap();
    let sealtar = |args: &[&str]| {
        let out = output(&mut sealtar_command(root, args));
        (code(&out), text(&out.stdout), text(&out.stderr))
    };

    let (status, _, stderr) = sealtar(&["extract", "pkg-1.0.crate", "-C", "out"]);
    assert_eq!((status, stderr), (1, format!("sealtar: refused: {expected}\n")));

    let (status, stdout, _) = sealtar(&["list", "--json", "pkg-1.0.crate"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((status, doc["entries"][1]["message"].as_str()), (1, Some(expected.as_str())));
    assert_eq!(doc["entries"][1]["rule"], "parent-component");

    let (status, stdout, _) = sealtar(&["check", "--crate", "pkg-1.0.crate"]);
    assert_eq!(status, 1);
    assert!(stdout.lines().any(|l| l == expected), "{stdout}");
    let (_, stdout, _) = sealtar(&["check", "--json", "pkg-1.0.crate"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["violations"][0]["message"].as_str(), Some(expected.as_str()));

    std::fs::write(root.join("list"), "pkg-1.0.crate\n").unwrap();
    let (status, stdout, _) = sealtar(&["check", "--crate", "--batch", "list"]);
    let doc: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((status, doc["violations"][0]["message"].as_str()), (1, Some(expected.as_str())));

    // A Cargo home whose cache holds the crate and whose sources hold what
    // Cargo would have made of it: the audit reports the `.crate` refused.
    let index = "index.test-0000000000000000";
    std::fs::create_dir_all(root.join("home/registry/cache").join(index)).unwrap();
    std::fs::create_dir_all(root.join("home/registry/src").join(index).join("pkg-1.0")).unwrap();
    std::fs::write(root.join("home/registry/cache").join(index).join("pkg-1.0.crate"), &bytes).unwrap();
    let (status, stdout, _) = sealtar(&["audit-cargo", "home", "--json"]);
    assert_eq!(status, 1, "{stdout}");
    let finding: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(finding["finding"], "crate-refused");
    assert_eq!(finding["message"].as_str(), Some(format!("the .crate is refused: {expected}").as_str()));
}
