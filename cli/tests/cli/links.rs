//! The `sealtar` binary's `--links`, `--special`, `--strip-components`,
//! member and `--exclude` options: messages, exit codes, and what `list` and
//! `check` report.

use std::collections::BTreeMap;

use sealtar_tests::{Node, Tar};
use serde_json::Value;

use crate::run::{archive_file, assert_outside_is, code, run_in, text};
use sealtar_tests::scene::{Scene, file, tree};

fn linked() -> Vec<u8> {
    Tar::new()
        .dir("pkg/")
        .file("pkg/a.txt", b"a")
        .symlink("pkg/l1", "a.txt")
        .symlink("pkg/l2\x1b[1m", "../pkg/a.txt")
        .fifo("pkg/pipe")
        .finish()
}

/// `list --json`'s entries in archive order. Under `--links copy` and
/// `copy-or-refuse` the links come last (their verdicts wait for the whole
/// archive, and nothing else is held back): every other entry first, in
/// archive order, then the links, in archive order.
fn in_archive_order(doc: &Value) -> Vec<Value> {
    let listed = doc["entries"].as_array().unwrap().clone();
    let is_link = |e: &Value| matches!(e["kind"].as_str(), Some("symlink" | "hardlink"));
    let (others, links): (Vec<&Value>, Vec<&Value>) = listed.iter().partition(|e| !is_link(e));
    let expected: Vec<&Value> = others.iter().chain(&links).copied().collect();
    let index = |e: &Value| e["index"].as_u64().unwrap();
    let streamed_order: Vec<u64> = listed.iter().map(index).collect();
    assert_eq!(streamed_order, expected.iter().map(|e| index(e)).collect::<Vec<_>>(), "links last");
    assert!(others.iter().map(|e| index(e)).is_sorted() && links.iter().map(|e| index(e)).is_sorted());
    let mut sorted = listed;
    sorted.sort_by_key(index);
    sorted
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
    // Every link of `linked()` can be copied: both policies do the same.
    for links in ["copy", "copy-or-refuse"] {
        let scene = Scene::bare();
        let archive = archive_file(&scene, "l.tar", &linked());
        let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--links", links, "--special", "skip"], b"");
        assert_eq!(code(&out), 0, "{links}: {out:?}");
        assert_eq!(text(&out.stderr), "sealtar: skipped 0 link(s) and 1 special file(s); -v lists them\n", "{links}");
        assert_eq!(
            scene.dest_tree(),
            tree(&[
                ("pkg", Node::Dir),
                ("pkg/a.txt", file(b"a")),
                ("pkg/l1", file(b"a")),
                ("pkg/l2\x1b[1m", file(b"a")),
            ])
        );

        let out = run_in(&scene.root, &["list", &archive, "--links", links, "--special", "skip"], b"");
        assert_eq!(code(&out), 0, "{out:?}");
        let stdout = text(&out.stdout);
        assert!(stdout.contains("pkg/l1 -> a.txt  [copy of \"pkg/a.txt\"]"), "{stdout}");
        assert!(stdout.contains("pkg/pipe  [skip]"), "{stdout}");

        let out = run_in(&scene.root, &["list", "--json", &archive, "--links", links, "--special", "skip"], b"");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let entries = in_archive_order(&doc);
        assert_eq!(entries[2]["verdict"], "copy");
        assert_eq!(entries[2]["copy_of"], "pkg/a.txt");
        assert_eq!(entries[0]["copy_of"], Value::Null);

        let out = run_in(&scene.root, &["check", "--json", &archive, "--links", links, "--special", "skip"], b"");
        assert_eq!(code(&out), 0, "{out:?}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let actions = doc["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 3);
        assert_eq!((actions[0]["index"].as_u64(), actions[0]["verdict"].as_str()), (Some(2), Some("copy")));
        assert_eq!(actions[2]["verdict"], "skip");

        let out = run_in(&scene.root, &["check", &archive, "--links", links, "--special", "skip"], b"");
        let stdout = text(&out.stdout);
        assert!(stdout.contains("entry 2 \"pkg/l1\": copy of \"pkg/a.txt\"\n"), "{stdout}");
        assert!(stdout.contains("entry 4 \"pkg/pipe\": skip\n"), "{stdout}");
    }

    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &linked());
    let out = run_in(&scene.root, &["list", "--json", &archive, "--links", "skip", "--special", "skip"], b"");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<&str> =
        doc["entries"].as_array().unwrap().iter().map(|e| e["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["ok", "ok", "skip", "skip", "skip"]);
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
    let expected = ["link-absolute", "link-outside", "link-windows-form", "link-later-entry"];
    let out = run_in(&scene.root, &["check", "--json", &archive, "--links", "copy-or-refuse"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = doc["violations"].as_array().unwrap().iter().map(|v| v["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, expected);
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--links", "copy-or-refuse"], b"");
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(text(&out.stderr).contains("entry 1 \"abs\": the link cannot be copied: the target is an absolute path"));
    assert!(scene.dest_tree().is_empty(), "nothing written");

    // `copy` reports the same links, each as a skip with its rule.
    let out = run_in(&scene.root, &["check", "--json", &archive, "--links", "copy"], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["violations"].as_array().unwrap().len(), 0);
    let skips: Vec<(u64, &str, &str)> = doc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["index"].as_u64().unwrap(), a["verdict"].as_str().unwrap(), a["rule"].as_str().unwrap()))
        .collect();
    let indices = [1, 2, 3, 4];
    assert_eq!(skips, indices.iter().zip(expected).map(|(&i, r)| (i, "skip", r)).collect::<Vec<_>>());
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--links", "copy"], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(text(&out.stderr), "sealtar: skipped 4 link(s) and 0 special file(s); -v lists them\n");
    assert_eq!(scene.dest_tree(), tree(&[("f", file(b"f")), ("g", file(b"g"))]));
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

    // As in GNU tar, an unclosed `[` is an ordinary character: the pattern
    // is valid, and matches nothing here.
    let out = run_in(&scene.root, &["extract", &archive, "-C", "dest", "--exclude", "a["], b"");
    assert_eq!(code(&out), 0, "{out:?}");
    assert!(scene.dest_tree().contains_key("p-1.0/README"), "{out:?}");
    std::fs::remove_dir_all(&scene.dest).unwrap();

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
        "copy-or-refuse",
        "--special <HOW>",
        "--strip-components <N>",
        "--exclude <PATTERN>",
        "GNU tar",
        "[MEMBER]...",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    assert!(!help.contains("copy-or-skip"), "the old name is gone:\n{help}");
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
fn copy_copies_what_it_can_and_skips_the_rest_with_the_reason() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &partly_copyable());
    let args = ["extract", &archive, "-C", "dest", "--links", "copy-or-refuse", "--special", "skip"];
    let out = run_in(&scene.root, &args, b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("entry 3 \"pkg/changelog\\u{1b}[1m\": the link cannot be copied"), "{out:?}");
    assert!(stderr.contains("[rule link-outside]"), "{stderr}");
    assert!(scene.dest_tree().is_empty(), "nothing written");

    let args = ["extract", &archive, "-C", "dest", "--links", "copy", "--special", "skip"];
    let out = run_in(&scene.root, &args, b"");
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(text(&out.stderr), "sealtar: skipped 2 link(s) and 1 special file(s); -v lists them\n");
    assert_eq!(scene.dest_tree(), tree(&[("pkg", Node::Dir), ("pkg/a.txt", file(b"a")), ("pkg/l1", file(b"a"))]));

    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &partly_copyable());
    let args = ["extract", &archive, "-C", "dest", "--links=copy", "--special=skip", "-v"];
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
fn copy_list_and_check_report_the_skips_and_their_reasons() {
    let scene = Scene::bare();
    let archive = archive_file(&scene, "l.tar", &partly_copyable());
    let flags = ["--links", "copy", "--special", "skip"];

    let out = run_in(&scene.root, &[&["list", "--json", archive.as_str()][..], &flags].concat(), b"");
    assert_eq!(code(&out), 0, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["acceptable"], true);
    let entries = in_archive_order(&doc);
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

    // `copy-or-refuse`: the same two links, refused, with the same rules.
    let flags = ["--links", "copy-or-refuse", "--special", "skip"];
    let out = run_in(&scene.root, &[&["list", "--json", archive.as_str()][..], &flags].concat(), b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["acceptable"], false);
    let entries = in_archive_order(&doc);
    let verdicts: Vec<&str> = entries.iter().map(|e| e["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["ok", "ok", "copy", "refused", "refused", "skip"]);
    assert_eq!(
        (entries[3]["rule"].as_str(), entries[4]["rule"].as_str()),
        (Some("link-outside"), Some("link-absolute"))
    );
    let out = run_in(&scene.root, &[&["check", "--json", archive.as_str()][..], &flags].concat(), b"");
    assert_eq!(code(&out), 1, "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let violations: Vec<(u64, &str)> = doc["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["index"].as_u64().unwrap(), v["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(violations, [(3, "link-outside"), (4, "link-absolute")]);
    let out = run_in(&scene.root, &[&["check", archive.as_str()][..], &flags].concat(), b"");
    assert_eq!(code(&out), 1, "{out:?}");
    assert!(text(&out.stdout).ends_with("6 entries, 2 violations: NOT acceptable\n"), "{out:?}");
}

/// One link case of [`every_link_case_under_copy_and_copy_or_refuse`].
struct LinkCase {
    name: &'static str,
    bytes: Vec<u8>,
    flags: &'static [&'static str],
    /// Under `copy`: the tree written (when the archive is extracted).
    tree: BTreeMap<String, Node>,
    /// Under `copy`: the links skipped, with their rule ids.
    skipped: &'static [(u64, &'static str)],
    /// The entry and rule that refuse the archive under `copy-or-refuse`
    /// (`None`: every link is copied).
    refused: Option<(u64, &'static str)>,
    /// Whether `copy` refuses the archive too (a limit, a name).
    refused_under_copy: bool,
}

fn base() -> Tar {
    let mut t = Tar::new();
    t.dir("pkg/").file("pkg/a.txt", b"a");
    t
}

fn base_tree(extra: &[(&str, Node)]) -> BTreeMap<String, Node> {
    let mut t = tree(&[("pkg", Node::Dir), ("pkg/a.txt", file(b"a"))]);
    t.extend(tree(extra));
    t
}

/// A case without flags that `copy` extracts.
fn case(
    name: &'static str,
    bytes: Vec<u8>,
    tree: BTreeMap<String, Node>,
    skipped: &'static [(u64, &'static str)],
    refused: Option<(u64, &'static str)>,
) -> LinkCase {
    LinkCase { name, bytes, flags: &[], tree, skipped, refused, refused_under_copy: false }
}

fn link_cases() -> Vec<LinkCase> {
    let mut bomb = Tar::new();
    bomb.file("big", &[7u8; 4096]);
    for i in 0..20 {
        bomb.symlink(&format!("l{i}"), "big");
    }
    vec![
        case(
            "in-archive file",
            base().symlink("pkg/l", "a.txt").finish(),
            base_tree(&[("pkg/l", file(b"a"))]),
            &[],
            None,
        ),
        case(
            "in-archive directory",
            base().symlink("alias", "pkg").finish(),
            base_tree(&[("alias", Node::Dir), ("alias/a.txt", file(b"a"))]),
            &[],
            None,
        ),
        case(
            "chain",
            base().symlink("a", "b").symlink("b", "pkg/a.txt").finish(),
            base_tree(&[("a", file(b"a")), ("b", file(b"a"))]),
            &[],
            None,
        ),
        case(
            "cycle",
            base().symlink("a", "b").symlink("b", "a").finish(),
            base_tree(&[]),
            &[(2, "link-cycle"), (3, "link-cycle")],
            Some((2, "link-cycle")),
        ),
        case(
            "absolute",
            base().symlink("pkg/l", "/etc/passwd").finish(),
            base_tree(&[]),
            &[(2, "link-absolute")],
            Some((2, "link-absolute")),
        ),
        case(
            "outside",
            base().symlink("pkg/l", "../../sentinel/secret.txt").finish(),
            base_tree(&[]),
            &[(2, "link-outside")],
            Some((2, "link-outside")),
        ),
        case(
            "dangling",
            base().symlink("pkg/l", "nothere").finish(),
            base_tree(&[]),
            &[(2, "link-dangling")],
            Some((2, "link-dangling")),
        ),
        case(
            "drive-relative",
            base().symlink("pkg/l", "C:../x").finish(),
            base_tree(&[]),
            &[(2, "link-windows-form")],
            Some((2, "link-windows-form")),
        ),
        case(
            "backslash",
            base().hardlink("pkg/l", "..\\x").finish(),
            base_tree(&[]),
            &[(2, "link-windows-form")],
            Some((2, "link-windows-form")),
        ),
        case(
            "hard link to a later entry",
            base().hardlink("pkg/h", "pkg/z").file("pkg/z", b"z").finish(),
            base_tree(&[("pkg/z", file(b"z"))]),
            &[(2, "link-later-entry")],
            Some((2, "link-later-entry")),
        ),
        LinkCase {
            flags: &["--portable"],
            ..case(
                "link and --portable",
                base().symlink("pkg/m", "a.txt").symlink("pkg/l", "C:../x").finish(),
                base_tree(&[("pkg/m", file(b"a"))]),
                &[(3, "link-windows-form")],
                Some((3, "link-windows-form")),
            )
        },
        LinkCase {
            flags: &["--portable"],
            refused_under_copy: true,
            ..case(
                "link with a reserved name and --portable",
                base().symlink("pkg/CON", "a.txt").finish(),
                base_tree(&[]),
                &[],
                Some((2, "not-portable")),
            )
        },
        LinkCase {
            flags: &["--max-size", "40000"],
            refused_under_copy: true,
            // 14,848 bytes of tar stream, then six copies of 4,096 fit; the
            // seventh (`l6`, entry 7) crosses 40,000.
            ..case("link bomb", bomb.finish(), BTreeMap::new(), &[], Some((7, "too-large")))
        },
    ]
}

/// Every link case, under both copying policies, through `extract`, `list`
/// and `check`: under `copy` a link that cannot be copied is skipped with
/// its rule, the rest is extracted and the exit status is 0; under
/// `copy-or-refuse` the archive is refused (exit 1, the rule named, nothing
/// written). `list` and `check` say what `extract` did.
#[test]
fn every_link_case_under_copy_and_copy_or_refuse() {
    for case in link_cases() {
        for links in ["copy", "copy-or-refuse"] {
            let what = format!("{} under --links {links}", case.name);
            let refused = if links == "copy" && !case.refused_under_copy { None } else { case.refused };
            let skipped = if links == "copy" { case.skipped } else { &[] };
            let scene = Scene::bare();
            let archive = archive_file(&scene, "l.tar", &case.bytes);
            let with = |command: &[&str]| -> Vec<String> {
                let mut args: Vec<String> = command.iter().map(|a| a.to_string()).collect();
                args.extend([archive.clone(), "--links".into(), links.into()]);
                args.extend(case.flags.iter().map(|f| f.to_string()));
                args
            };

            let args = with(&["extract", "-C", "dest"]);
            let out = run_in(&scene.root, &args.iter().map(String::as_str).collect::<Vec<_>>(), b"");
            let stderr = text(&out.stderr);
            match refused {
                Some((index, rule)) => {
                    assert_eq!(code(&out), 1, "{what}: {out:?}");
                    assert!(stderr.contains(&format!("entry {index} ")), "{what}: {stderr}");
                    assert!(stderr.contains(&format!("[rule {rule}]")), "{what}: {stderr}");
                    assert!(scene.dest_tree().is_empty(), "{what}: nothing written");
                }
                None => {
                    assert_eq!(code(&out), 0, "{what}: {out:?}");
                    assert_eq!(scene.dest_tree(), case.tree, "{what}");
                    let summary = match skipped.len() {
                        0 => String::new(),
                        n => format!("sealtar: skipped {n} link(s) and 0 special file(s); -v lists them\n"),
                    };
                    assert_eq!(stderr, summary, "{what}");
                }
            }
            assert_outside_is(&scene, &[("l.tar", &case.bytes)]);

            // `list --json`: the same verdict for the archive and each link.
            let out =
                run_in(&scene.root, &with(&["list", "--json"]).iter().map(String::as_str).collect::<Vec<_>>(), b"");
            assert_eq!(code(&out), i32::from(refused.is_some()), "{what}: list {out:?}");
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc["acceptable"], refused.is_none(), "{what}");
            let entries = in_archive_order(&doc);
            if let Some((index, rule)) = refused {
                let listed = entries.iter().find(|e| e["index"] == index).and_then(|e| e["rule"].as_str());
                let error = doc["error"].as_str().unwrap_or_default();
                assert!(
                    listed == Some(rule) || error.contains(&format!("[rule {rule}]")),
                    "{what}: list says {listed:?} / {error}"
                );
            } else {
                for e in entries.iter().filter(|e| matches!(e["kind"].as_str(), Some("symlink" | "hardlink"))) {
                    let index = e["index"].as_u64().unwrap();
                    match skipped.iter().find(|(i, _)| *i == index) {
                        Some((_, rule)) => assert_eq!(
                            (e["verdict"].as_str(), e["rule"].as_str()),
                            (Some("skip"), Some(*rule)),
                            "{what}"
                        ),
                        None => assert_eq!(e["verdict"], "copy", "{what}: entry {index}"),
                    }
                }
            }

            // `check --json`: the same, as violations or actions.
            let out =
                run_in(&scene.root, &with(&["check", "--json"]).iter().map(String::as_str).collect::<Vec<_>>(), b"");
            assert_eq!(code(&out), i32::from(refused.is_some()), "{what}: check {out:?}");
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            let violations: Vec<(u64, &str)> = doc["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (v["index"].as_u64().unwrap_or(u64::MAX), v["rule"].as_str().unwrap_or_default()))
                .collect();
            match refused {
                Some(first) => assert!(violations.contains(&first), "{what}: {violations:?}"),
                None => {
                    assert!(violations.is_empty(), "{what}: {violations:?}");
                    let skips: Vec<(u64, &str)> = doc["actions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|a| a["verdict"] == "skip")
                        .map(|a| (a["index"].as_u64().unwrap(), a["rule"].as_str().unwrap()))
                        .collect();
                    assert_eq!(skips, skipped, "{what}");
                }
            }
        }
    }
}
