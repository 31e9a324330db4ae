//! The `sealtar` binary: exit codes, messages, the destination on refusal,
//! standard input, limit flags, listing, and names that try to talk to the
//! terminal.

use std::path::Path;

use sealtar::Rule;
use sealtar_tests::{Tar, gzip, snapshot};
use serde_json::Value;

use crate::run::*;
use sealtar_tests::scene::{Scene, file, prepopulated, tree, with};

#[test]
fn extract_creates_the_directory_and_writes_the_tree() {
    let scene = Scene::bare();
    let bytes = sample_archive();
    let archive = archive_file(&scene, "a.tar", &bytes);
    let out_dir = scene.dest.join("new/out");
    std::fs::create_dir(scene.dest.join("new")).unwrap();
    let out = run_in(&scene.root, &["extract", &archive, "-C", out_dir.to_str().unwrap()], b"");
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    assert_eq!(snapshot(&out_dir), sample_tree());
    assert_no_staging(&out_dir);
    assert_outside_is(&scene, &[("a.tar", &bytes)]);
}

#[test]
fn extract_into_an_existing_directory_merges() {
    let scene = Scene::new();
    let bytes = gzip(&Tar::new().file("olddir/new.txt", b"new\n").file("fresh.txt", b"fresh\n").finish());
    let archive = archive_file(&scene, "a.tar.gz", &bytes);
    let out = run_in(&scene.root, &["extract", "--verbose", &archive, "--directory", "dest"], b"");
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    let expected = with(&prepopulated(), &[("olddir/new.txt", file(b"new\n")), ("fresh.txt", file(b"fresh\n"))]);
    assert_eq!(scene.dest_tree(), expected);
    let summary = text(&out.stderr);
    assert!(summary.starts_with("sealtar: extracted 10 bytes in 2 file(s) and "), "{summary}");
    assert!(summary.ends_with(" into dest\n"), "{summary}");
    scene.assert_no_staging();
    assert_outside_is(&scene, &[("a.tar.gz", &bytes)]);
}

#[test]
fn refused_archive_exits_1_names_the_entry_and_changes_nothing() {
    let scene = Scene::new();
    let bytes = Tar::new().file("fine.txt", b"fine").file("../evil.txt", b"evil").finish();
    let archive = archive_file(&scene, "evil.tar", &bytes);
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.starts_with("sealtar: refused: "), "{err}");
    assert!(err.contains("entry 1 "), "{err}");
    assert!(err.contains("\"../evil.txt\""), "{err}");
    assert!(err.contains(&Rule::ParentComponent.to_string()), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(scene.dest_tree(), prepopulated());
    scene.assert_no_staging();
    assert_outside_is(&scene, &[("evil.tar", &bytes)]);
}

#[test]
fn refused_archive_leaves_no_new_directory() {
    let scene = Scene::bare();
    let bytes = Tar::new().file("fine.txt", b"fine").symlink("link", "/etc/passwd").finish();
    let archive = archive_file(&scene, "evil.tar", &bytes);
    let out = run_in(&scene.root, &["extract", &archive, "-C", "not-yet"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("entry 1 \"link\""), "{err}");
    assert!(err.contains(&Rule::ForbiddenKind(sealtar::Kind::Symlink).to_string()), "{err}");
    assert!(!scene.root.join("not-yet").exists(), "the refused run left its destination behind");
    assert_eq!(scene.dest_tree(), tree(&[]));
    assert_outside_is(&scene, &[("evil.tar", &bytes)]);
}

#[test]
fn malformed_archive_exits_1_with_the_offset() {
    let scene = Scene::new();
    let mut bytes = Tar::new().file("first", b"12345").unterminated();
    bytes.extend_from_slice(&[b'x'; 100]);
    let archive = archive_file(&scene, "cut.tar", &bytes);
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("malformed archive at byte 1024 of the tar stream"), "{err}");
    assert_eq!(scene.dest_tree(), prepopulated());
    scene.assert_no_staging();
}

#[test]
fn dash_reads_standard_input() {
    let scene = Scene::bare();
    let bytes = gzip(&sample_archive());
    // No -C: the current directory is the destination.
    let out = run_in(&scene.dest, &["extract", "-"], &bytes);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    // Input of unknown size would get a progress bar on a terminal; standard
    // error here is a pipe, so nothing at all is printed.
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(scene.dest_tree(), sample_tree());
    scene.assert_no_staging();
    scene.assert_outside_untouched();

    let listed = run_in(&scene.root, &["list", "-"], &sample_archive());
    assert_eq!(code(&listed), 0, "stderr: {}", text(&listed.stderr));
    assert_eq!(text(&listed.stdout).lines().count(), 4);
}

#[test]
fn refusal_from_standard_input_changes_nothing() {
    let scene = Scene::new();
    let bytes = Tar::new().file("fine.txt", b"fine").file("fine.txt", b"again").finish();
    let out = run_in(&scene.root, &["extract", "-", "-C", "dest"], &bytes);
    assert_eq!(code(&out), 1, "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("entry 1 \"fine.txt\""), "{err}");
    assert!(err.contains(&Rule::Duplicate { first: 0 }.to_string()), "{err}");
    assert_eq!(scene.dest_tree(), prepopulated());
    scene.assert_outside_untouched();
}

#[test]
fn usage_errors_exit_2() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "a.tar", &sample_archive());
    let cases: [&[&str]; 7] = [
        &["extract", &archive, "--frobnicate"],
        &["extract"],
        &["list"],
        &[],
        &["explode", &archive],
        &["extract", &archive, "--max-size", "12Q"],
        &["extract", &archive, "--max-entries", "many"],
    ];
    for args in cases {
        let out = run_in(&scene.root, args, b"");
        assert_eq!(code(&out), 2, "sealtar {args:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "sealtar {args:?} said nothing");
    }
    assert_eq!(scene.dest_tree(), tree(&[]));
}

#[test]
fn missing_archive_file_exits_2() {
    let scene = Scene::bare();
    let missing = scene.root.join("no-such.tar");
    let out = run_in(&scene.root, &["extract", missing.to_str().unwrap(), "-C", "dest"], b"");
    assert_eq!(code(&out), 2, "{out:?}");
    let err = text(&out.stderr);
    assert!(err.starts_with("sealtar: error: "), "{err}");
    assert!(err.contains("no-such.tar"), "{err}");
    let listed = run_in(&scene.root, &["list", missing.to_str().unwrap()], b"");
    assert_eq!(code(&listed), 2, "{listed:?}");
    assert_eq!(scene.dest_tree(), tree(&[]));
    scene.assert_outside_untouched();
}

#[test]
fn max_size_flag_is_enforced() {
    let scene = Scene::new();
    let bytes = Tar::new().file("small", &[1u8; 100]).file("big", &[2u8; 2000]).finish();
    let archive = archive_file(&scene, "big.tar", &bytes);
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--max-size", "1K"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("entry 1 \"big\""), "{err}");
    assert!(err.contains(&Rule::TooLarge { max: 1024 }.to_string()), "{err}");
    assert_eq!(scene.dest_tree(), prepopulated());
    scene.assert_no_staging();

    // A limit that the archive fits: the tar stream up to the end of "big"'s
    // data (two headers, "small" padded to a block, 2000 bytes) is 3536 bytes.
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--max-size", "3536"], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let expected = with(&prepopulated(), &[("small", file(&[1u8; 100])), ("big", file(&[2u8; 2000]))]);
    assert_eq!(scene.dest_tree(), expected);
}

#[test]
fn max_entries_flag_is_enforced() {
    let scene = Scene::new();
    let bytes = Tar::new().file("a", b"1").file("b", b"2").file("c", b"3").finish();
    let archive = archive_file(&scene, "three.tar", &bytes);
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--max-entries", "2"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("entry 2 \"c\""), "{err}");
    assert!(err.contains(&Rule::TooManyEntries { max: 2 }.to_string()), "{err}");
    assert_eq!(scene.dest_tree(), prepopulated());
    scene.assert_no_staging();

    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--max-entries", "3"], b"");
    assert_eq!(code(&out), 0, "{out:?}");
}

// ---------------------------------------------------------------------------
// list
// ---------------------------------------------------------------------------

#[test]
fn list_prints_one_line_per_entry_and_exits_0_when_clean() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "a.tar", &sample_archive());
    let out = run_in(&scene.dest, &["list", &archive], b"");
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    let expected = [
        ("dir", "0755", "pkg/"),
        ("file", "0644", "pkg/a.txt"),
        ("file", "0755", "pkg/bin/tool"),
        ("file", "0644", "top.txt"),
    ];
    for (line, (kind, mode, path)) in lines.iter().zip(expected) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], kind, "{line}");
        assert_eq!(fields[1], mode, "{line}");
        assert_eq!(fields[3], path, "{line}");
        assert!(line.ends_with("[ok]"), "{line}");
    }
    assert!(out.stderr.is_empty());
    // Listing writes nothing: not in the current directory, not anywhere in the scene.
    assert_eq!(scene.dest_tree(), tree(&[]));
}

#[test]
fn list_of_a_hostile_archive_exits_1() {
    let scene = Scene::bare();
    let bytes = Tar::new()
        .file("ok.txt", b"ok")
        .symlink("link", "../../etc")
        .file("/abs", b"x")
        .file("ok.txt", b"again")
        .finish();
    let archive = archive_file(&scene, "h.tar", &bytes);
    let out = run_in(&scene.dest, &["list", &archive], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].ends_with("[ok]"), "{}", lines[0]);
    let refused = |line: &str, rule: Rule| {
        assert!(line.ends_with(&format!("[REFUSED: {rule} [rule {}]]", rule.id())), "{line}");
    };
    assert!(lines[1].contains("link -> ../../etc"), "{}", lines[1]);
    refused(lines[1], Rule::ForbiddenKind(sealtar::Kind::Symlink));
    refused(lines[2], Rule::AbsolutePath);
    refused(lines[3], Rule::Duplicate { first: 0 });
    assert_eq!(scene.dest_tree(), tree(&[]));
    assert_outside_is(&scene, &[("h.tar", &bytes)]);
}

#[test]
fn list_reports_a_malformed_archive_after_its_entries() {
    let scene = Scene::bare();
    let mut bytes = Tar::new().file("first", b"12345").unterminated();
    bytes.extend_from_slice(&[b'x'; 100]);
    let archive = archive_file(&scene, "cut.tar", &bytes);
    let out = run_in(&scene.root, &["list", &archive], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("REFUSED: malformed archive at byte 1024 of the tar stream"), "{stdout}");
}

#[test]
fn list_json_has_the_documented_fields() {
    let scene = Scene::bare();
    let bytes = Tar::new().dir("d/").file("d/f.txt", b"hello").symlink("s", "d/f.txt").finish();
    let archive = archive_file(&scene, "j.tar", &bytes);
    let out = run_in(&scene.root, &["list", "--json", &archive], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one JSON document on one line: {stdout}");
    let doc: Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(doc["acceptable"], Value::Bool(false));
    assert_eq!(doc["error"], Value::Null);
    let entries = doc["entries"].as_array().expect("entries is an array");
    assert_eq!(entries.len(), 3);
    let pick = |e: &Value| {
        (
            e["index"].as_u64().unwrap(),
            e["path"].as_str().unwrap().to_string(),
            e["kind"].as_str().unwrap().to_string(),
            e["verdict"].as_str().unwrap().to_string(),
            e["reason"].as_str().map(str::to_string),
        )
    };
    let symlink_rule = Rule::ForbiddenKind(sealtar::Kind::Symlink).to_string();
    assert_eq!(
        entries.iter().map(pick).collect::<Vec<_>>(),
        [
            (0, "d/".into(), "dir".into(), "ok".into(), None),
            (1, "d/f.txt".into(), "file".into(), "ok".into(), None),
            (2, "s".into(), "symlink".into(), "refused".into(), Some(symlink_rule)),
        ]
    );
    assert_eq!(entries[1]["size"], 5);
    assert_eq!(entries[1]["mode"], 0o644);
    assert_eq!(entries[1]["mtime"], 1_700_000_000);
    assert_eq!(entries[1]["header_offset"], 512);
    assert_eq!(entries[1]["type_flag"], "0");
    assert_eq!(entries[2]["link_target"], "d/f.txt");
    assert_eq!(entries[1]["link_target"], Value::Null);

    // A clean archive: acceptable, exit 0.
    let clean = archive_file(&scene, "clean.tar", &sample_archive());
    let out = run_in(&scene.root, &["list", "--json", &clean], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["acceptable"], Value::Bool(true));
    assert_eq!(doc["entries"].as_array().unwrap().len(), 4);
    assert!(doc["entries"].as_array().unwrap().iter().all(|e| e["verdict"] == "ok" && e["reason"].is_null()));

    // An archive-wide stop is reported in "error".
    let big = archive_file(&scene, "big.tar", &Tar::new().file("big", &[0u8; 2000]).finish());
    let out = run_in(&scene.root, &["list", "--json", "--max-size", "1K", &big], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["acceptable"], Value::Bool(false));
    let error = doc["error"].as_str().expect("error is a string");
    assert!(error.contains(&Rule::TooLarge { max: 1024 }.to_string()), "{error}");
}

// ---------------------------------------------------------------------------
// Names that try to talk to the terminal
// ---------------------------------------------------------------------------

const ESCAPE_NAME: &str = "evil\x1b[2Jname";
const BIDI_NAME: &str = "invoice\u{202e}fdp.exe";
const NEWLINE_NAME: &str = "new\nline";

#[test]
fn control_characters_never_reach_the_terminal() {
    let scene = Scene::bare();
    let bytes = Tar::new()
        .file(ESCAPE_NAME, b"1")
        .file(BIDI_NAME, b"2")
        .file(NEWLINE_NAME, b"3")
        .file("bell\x07\x7f", b"4")
        .symlink("link\x1b]0;title\x07", "target\x1b[31m")
        .finish();
    let archive = archive_file(&scene, "c.tar", &bytes);

    let listed = run_in(&scene.root, &["list", &archive], b"");
    assert_eq!(code(&listed), 1, "{listed:?}");
    assert_inert(&listed.stdout);
    assert_inert(&listed.stderr);
    let stdout = text(&listed.stdout);
    assert_eq!(stdout.lines().count(), 5, "one line per entry: {stdout}");
    assert!(stdout.contains("evil\\u{1b}[2Jname"), "{stdout}");
    assert!(stdout.contains("invoice\\u{202e}fdp.exe"), "{stdout}");
    assert!(stdout.contains("new\\nline"), "{stdout}");
    assert!(stdout.contains("link\\u{1b}]0;title\\u{7} -> target\\u{1b}[31m"), "{stdout}");

    let json = run_in(&scene.root, &["list", "--json", &archive], b"");
    assert_eq!(code(&json), 1, "{json:?}");
    assert_inert(&json.stdout);
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    let paths: Vec<&str> = doc["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "evil\\u{1b}[2Jname",
            "invoice\\u{202e}fdp.exe",
            "new\\nline",
            "bell\\u{7}\\u{7f}",
            "link\\u{1b}]0;title\\u{7}"
        ]
    );

    // The refusal message names the symlink, escaped (on Windows, where
    // `--portable` is the default, the first name, for its control
    // character).
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    assert_inert(&out.stdout);
    assert_inert(&out.stderr);
    let err = text(&out.stderr);
    let named = if cfg!(windows) { "entry 0 \"evil\\u{1b}[2Jname\"" } else { "entry 4 \"link\\u{1b}]0;title\\u{7}\"" };
    assert!(err.contains(named), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(scene.dest_tree(), tree(&[]));
}

#[test]
fn refusal_messages_escape_every_hostile_name() {
    let scene = Scene::bare();
    for (i, name) in [ESCAPE_NAME, BIDI_NAME, NEWLINE_NAME].into_iter().enumerate() {
        // The same name twice: the second is refused and named (on Windows,
        // where `--portable` is the default, already the first, for its
        // control or invisible character).
        let bytes = Tar::new().file(name, b"first").file(name, b"second").finish();
        let archive = archive_file(&scene, &format!("dup{i}.tar"), &bytes);
        let out = run_in(&scene.root, &["extract", &archive, "-C", "dest"], b"");
        assert_eq!(code(&out), 1, "{name:?}: {out:?}");
        assert_inert(&out.stderr);
        let err = text(&out.stderr);
        let index = if cfg!(windows) { 0 } else { 1 };
        assert!(err.contains(&format!("entry {index} \"{}\"", sealtar::escape(name.as_bytes()))), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        // Malformed input: a bad checksum after the hostile name.
        let mut bad = sealtar_tests::Header::new(b"x", b'0', 0);
        bad.bad_checksum(b"0000001\0");
        let bytes = Tar::new().file(name, b"ok").entry(&bad, b"").finish();
        let archive = archive_file(&scene, &format!("bad{i}.tar"), &bytes);
        let cases: [&[&str]; 3] =
            [&["extract", &archive, "-C", "dest"], &["list", &archive], &["list", "--json", &archive]];
        for args in cases {
            let out = run_in(&scene.root, args, b"");
            assert_eq!(code(&out), 1, "{args:?}: {out:?}");
            assert_inert(&out.stdout);
            assert_inert(&out.stderr);
        }
    }
    assert_eq!(scene.dest_tree(), tree(&[]));
}

fn assert_no_staging(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(!name.to_string_lossy().starts_with(".sealtar-staging-"), "{name:?} left behind");
    }
}
