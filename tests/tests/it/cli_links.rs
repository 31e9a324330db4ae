//! The `sealtar` binary's `--links`, `--special`, `--strip-components`,
//! member and `--exclude` options: messages, exit codes, and what `list` and
//! `check` report.

use sealtar_tests::{Node, Tar};
use serde_json::Value;

use crate::cli::{archive_file, code, run_in, text};
use crate::support::{Scene, file, tree};

fn linked() -> Vec<u8> {
    Tar::new()
        .dir("pkg/")
        .file("pkg/a.txt", b"a")
        .symlink("pkg/l1", "a.txt")
        .symlink("pkg/l2\x1b[1m", "../pkg/a.txt")
        .fifo("pkg/pipe")
        .finish()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "its names hold control characters, which Windows cannot store and the CLI there refuses (--portable is its default); cli::refusal_messages_escape_every_hostile_name covers their escaping on Windows"
)]
fn skip_prints_one_summary_line_or_every_entry_with_v() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &linked());
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--links", "skip", "--special", "skip"], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(text(&out.stderr), "sealtar: skipped 2 link(s) and 1 special file(s); -v lists them\n");
    assert_eq!(scene.dest_tree(), tree(&[("pkg", Node::Dir), ("pkg/a.txt", file(b"a"))]));

    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &linked());
    let args = ["extract", &archive, "-C", "dest", "--links=skip", "--special=skip", "-v"];
    let out = run_in(&scene.root, &args, b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("sealtar: skipped symlink \"pkg/l1\" -> \"a.txt\"\n"), "{stderr}");
    assert!(stderr.contains("sealtar: skipped symlink \"pkg/l2\\u{1b}[1m\" -> \"../pkg/a.txt\"\n"), "{stderr}");
    assert!(stderr.contains("sealtar: skipped fifo \"pkg/pipe\"\n"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "names are escaped: {stderr:?}");
}

#[test]
fn default_refuses_links_and_special_files() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &linked());
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--special", "skip"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(text(&out.stderr).contains("entry 2 \"pkg/l1\": symlink entries are never extracted"), "{out:?}");
    assert!(scene.dest_tree().is_empty());
}

#[test]
#[cfg_attr(
    windows,
    ignore = "its names hold control characters, which Windows cannot store and the CLI there refuses (--portable is its default); cli::refusal_messages_escape_every_hostile_name covers their escaping on Windows"
)]
fn copy_writes_copies_and_list_and_check_say_so() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &linked());
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--links", "copy", "--special", "skip"], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(
        scene.dest_tree(),
        tree(&[("pkg", Node::Dir), ("pkg/a.txt", file(b"a")), ("pkg/l1", file(b"a")), ("pkg/l2\x1b[1m", file(b"a")),])
    );

    let out = run_in(&scene.root, &["list", &archive, "--links", "copy", "--special", "skip"], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("pkg/l1 -> a.txt  [copy of \"pkg/a.txt\"]"), "{stdout}");
    assert!(stdout.contains("pkg/pipe  [skip]"), "{stdout}");

    let out = run_in(&scene.root, &["list", "--json", &archive, "--links", "skip", "--special", "skip"], b"");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<&str> =
        doc["entries"].as_array().unwrap().iter().map(|e| e["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["ok", "ok", "skip", "skip", "skip"]);

    let out = run_in(&scene.root, &["list", "--json", &archive, "--links", "copy", "--special", "skip"], b"");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["entries"][2]["verdict"], "copy");
    assert_eq!(doc["entries"][2]["copy_of"], "pkg/a.txt");
    assert_eq!(doc["entries"][0]["copy_of"], Value::Null);

    let out = run_in(&scene.root, &["check", "--json", &archive, "--links", "copy", "--special", "skip"], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions = doc["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 3);
    assert_eq!((actions[0]["index"].as_u64(), actions[0]["verdict"].as_str()), (Some(2), Some("copy")));
    assert_eq!(actions[2]["verdict"], "skip");

    let out = run_in(&scene.root, &["check", &archive, "--links", "copy", "--special", "skip"], b"");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("entry 2 \"pkg/l1\": copy of \"pkg/a.txt\"\n"), "{stdout}");
    assert!(stdout.contains("entry 4 \"pkg/pipe\": skip\n"), "{stdout}");
}

#[test]
fn check_reports_every_link_that_cannot_be_copied() {
    let scene = Scene::bare();
    let bytes = Tar::new()
        .file("f", b"f")
        .symlink("abs", "/etc/passwd")
        .symlink("out", "../x")
        .symlink("win", "C:..\\x")
        .hardlink("later", "g")
        .file("g", b"g")
        .finish();
    let archive = archive_file(&scene, "bad.tar", &bytes);
    let out = run_in(&scene.root, &["check", "--json", &archive, "--links", "copy"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = doc["violations"].as_array().unwrap().iter().map(|v| v["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["link-absolute", "link-outside", "link-windows-form", "link-later-entry"]);
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--links", "copy"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(text(&out.stderr).contains("entry 1 \"abs\": the link cannot be copied: the target is an absolute path"));
}

#[test]
fn members_strip_and_exclude_on_the_command_line() {
    let bytes = Tar::new()
        .dir("p-1.0/")
        .file("p-1.0/README", b"r")
        .file("p-1.0/src/lib.rs", b"l")
        .file("p-1.0/tests/t.rs", b"t")
        .finish();
    let scene = Scene::bare();
    let archive = archive_file(&scene, "p.tar", &bytes);
    let args = [
        "extract",
        &archive,
        "-C",
        "dest",
        "--strip-components",
        "1",
        "--exclude",
        "tests",
        "p-1.0/src",
        "p-1.0/tests",
    ];
    let out = run_in(&scene.root, &args, b"");
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(scene.dest_tree(), tree(&[("src", Node::Dir), ("src/lib.rs", file(b"l"))]));

    let scene = Scene::bare();
    let archive = archive_file(&scene, "p.tar", &bytes);
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "p-1.0/src", "p-1.0/doc"], b"");
    assert_eq!(code(&out), 2, "{out:?}");
    assert_eq!(text(&out.stderr), "sealtar: error: not found in the archive: \"p-1.0/doc\"\n");
    assert!(!scene.dest.exists() || scene.dest_tree().is_empty());

    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--exclude", "a["], b"");
    assert_eq!(code(&out), 2, "{out:?}");
    assert!(text(&out.stderr).contains("invalid option: --exclude \"a[\""), "{out:?}");

    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--strip-components", "2"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(text(&out.stderr).contains("entry 1 \"p-1.0/README\": --strip-components leaves this entry with no name"));

    let out = run_in(&scene.root, &["list", &archive, "--exclude", "src"], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    assert!(text(&out.stdout).contains("p-1.0/src/lib.rs  [excluded]"), "{out:?}");
}

#[test]
fn help_describes_the_new_options() {
    let scene = Scene::bare();
    let out = run_in(&scene.root, &["extract", "--help"], b"");
    let help = text(&out.stdout);
    for needle in [
        "--links <HOW>",
        "copy-or-skip",
        "--special <HOW>",
        "--strip-components <N>",
        "--exclude <GLOB>",
        "[MEMBER]...",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

fn partly_copyable() -> Vec<u8> {
    Tar::new()
        .dir("pkg/")
        .file("pkg/a.txt", b"a")
        .symlink("pkg/l1", "a.txt")
        .symlink("pkg/changelog\x1b[1m", "../../other/changelog")
        .symlink("pkg/abs", "/etc/passwd")
        .fifo("pkg/pipe")
        .finish()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "its names hold control characters, which Windows cannot store and the CLI there refuses (--portable is its default); cli::refusal_messages_escape_every_hostile_name covers their escaping on Windows"
)]
fn copy_or_skip_copies_what_it_can_and_skips_the_rest_with_the_reason() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &partly_copyable());
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--links", "copy", "--special", "skip"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(text(&out.stderr).contains("entry 3 \"pkg/changelog\\u{1b}[1m\": the link cannot be copied"), "{out:?}");

    let args = ["extract", &archive, "-C", "dest", "--links", "copy-or-skip", "--special", "skip"];
    let out = run_in(&scene.root, &args, b"");
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(text(&out.stderr), "sealtar: skipped 2 link(s) and 1 special file(s); -v lists them\n");
    assert_eq!(scene.dest_tree(), tree(&[("pkg", Node::Dir), ("pkg/a.txt", file(b"a")), ("pkg/l1", file(b"a"))]));

    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &partly_copyable());
    let args = ["extract", &archive, "-C", "dest", "--links=copy-or-skip", "--special=skip", "-v"];
    let out = run_in(&scene.root, &args, b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "sealtar: skipped symlink \"pkg/changelog\\u{1b}[1m\" -> \"../../other/changelog\": the link cannot be \
             copied: the target resolves outside the archive\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "sealtar: skipped symlink \"pkg/abs\" -> \"/etc/passwd\": the link cannot be copied: the target is an \
             absolute path\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("sealtar: skipped fifo \"pkg/pipe\"\n"), "{stderr}");
    assert!(stderr.contains("sealtar: wrote \"pkg/l1\" as a copy of \"pkg/a.txt\" (link entry 2)\n"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "names are escaped: {stderr:?}");
}

#[test]
#[cfg_attr(
    windows,
    ignore = "its names hold control characters, which Windows cannot store and the CLI there refuses (--portable is its default); cli::refusal_messages_escape_every_hostile_name covers their escaping on Windows"
)]
fn copy_or_skip_list_and_check_report_the_skips_and_their_reasons() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &partly_copyable());
    let flags = ["--links", "copy-or-skip", "--special", "skip"];

    let out = run_in(&scene.root, &[&["list", "--json", archive.as_str()][..], &flags].concat(), b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["acceptable"], true);
    let entries = doc["entries"].as_array().unwrap();
    let verdicts: Vec<&str> = entries.iter().map(|e| e["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["ok", "ok", "copy", "skip", "skip", "skip"]);
    assert_eq!(entries[2]["copy_of"], "pkg/a.txt");
    assert_eq!(
        (entries[3]["rule"].as_str(), entries[4]["rule"].as_str()),
        (Some("link-outside"), Some("link-absolute"))
    );
    assert_eq!(entries[4]["reason"], "the link cannot be copied: the target is an absolute path");
    assert_eq!((&entries[5]["rule"], &entries[2]["rule"]), (&Value::Null, &Value::Null));

    let out = run_in(&scene.root, &[&["list", archive.as_str()][..], &flags].concat(), b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("pkg/abs -> /etc/passwd  [skip: the link cannot be copied: the target is an absolute path]"),
        "{stdout}"
    );

    let out = run_in(&scene.root, &[&["check", "--json", archive.as_str()][..], &flags].concat(), b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["violations"].as_array().unwrap().len(), 0);
    let actions = doc["actions"].as_array().unwrap();
    let got: Vec<(u64, &str, Option<&str>)> = actions
        .iter()
        .map(|a| (a["index"].as_u64().unwrap(), a["verdict"].as_str().unwrap(), a["rule"].as_str()))
        .collect();
    assert_eq!(
        got,
        [(2, "copy", None), (3, "skip", Some("link-outside")), (4, "skip", Some("link-absolute")), (5, "skip", None)]
    );
    assert_eq!(actions[3]["reason"], Value::Null);

    let out = run_in(&scene.root, &[&["check", archive.as_str()][..], &flags].concat(), b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("entry 4 \"pkg/abs\": skip: the link cannot be copied: the target is an absolute path\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("6 entries, 0 violations: acceptable\n"), "{stdout}");
}
