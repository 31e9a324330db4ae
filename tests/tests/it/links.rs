//! `--links`, `--special`, `--strip-components`, member selection,
//! `--exclude` and directory times, through the library. Every archive is
//! built from raw headers; every refusal must leave the destination as it was
//! and touch nothing next to it. Every link case runs under both copying
//! policies: `copy` (the link that cannot be copied is skipped, with its
//! reason, and the rest extracted) and `copy-or-refuse` (the archive is
//! refused).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use sealtar::{
    Action, Error, Extractor, Kind, LinkPolicy, LinkProblem, MAX_LINK_HOPS, Options, Report, Rule, SpecialPolicy,
};
use sealtar_tests::{Header, Node, Tar};

use crate::support::{Scene, exec, file, options, prepopulated, tree};

fn extractor_with(change: impl FnOnce(&mut Options)) -> Extractor {
    let mut o = options();
    change(&mut o);
    Extractor::new(o).expect("the sandbox sets up")
}

/// `--links copy`: copies what it can, skips the rest.
fn copying() -> Extractor {
    extractor_with(|o| o.links = LinkPolicy::Copy)
}

/// `--links copy-or-refuse`: a complete tree or nothing.
fn copying_or_refusing() -> Extractor {
    extractor_with(|o| o.links = LinkPolicy::CopyOrRefuse)
}

/// The two copying policies, for what they do alike.
const COPYING: [LinkPolicy; 2] = [LinkPolicy::Copy, LinkPolicy::CopyOrRefuse];

/// An extractor with `links`, then `change`.
fn under(links: LinkPolicy, change: impl FnOnce(&mut Options)) -> Extractor {
    extractor_with(|o| {
        o.links = links;
        change(o);
    })
}

/// Extracts into an empty destination, expects success and the whole tree.
fn accept(extractor: &Extractor, bytes: &[u8], expected: &BTreeMap<String, Node>) -> Report {
    let scene = Scene::bare();
    let report = scene.extract_with(extractor, bytes).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(&scene.dest_tree(), expected);
    scene.assert_no_staging();
    scene.assert_outside_untouched();
    report
}

/// Extracts into a pre-populated destination, expects a refusal and no change.
fn refuse(extractor: &Extractor, bytes: &[u8]) -> Error {
    Scene::new().refuse_with(extractor, bytes)
}

fn assert_refused(extractor: &Extractor, bytes: &[u8], index: u64, rule: Rule) {
    match refuse(extractor, bytes) {
        Error::Refused { index: i, rule: r, path } => {
            assert_eq!((i, &r), (index, &rule), "refused entry {i} \"{path}\" for {r}");
        }
        other => panic!("expected entry {index} refused for {rule:?}, got {other:?}"),
    }
}

/// `list` (and so `check`) judges the same entry the same way.
fn assert_listed_refused(extractor: &Extractor, bytes: &[u8], index: u64, rule: &Rule) {
    let manifest = extractor.list(bytes).unwrap();
    assert!(!manifest.is_acceptable());
    let listed = manifest.entries[index as usize].refusal.as_ref();
    let archive_wide = manifest.error.as_ref().and_then(Error::rule);
    assert!(listed == Some(rule) || archive_wide == Some(rule), "list says {listed:?} / {:?}", manifest.error);
    let report = extractor.check(bytes, None).unwrap();
    assert!(report.violations.iter().any(|v| v.index == Some(index) && v.rule.as_ref() == Some(rule)));
}

/// Under `copy-or-refuse` (with `change`), entry `index` refuses the
/// archive for `problem`, in `extract`, `list` and `check` alike.
fn link_refused_with(change: impl Fn(&mut Options), bytes: &[u8], index: u64, problem: LinkProblem) {
    let rule = Rule::Link(problem);
    let e = under(LinkPolicy::CopyOrRefuse, &change);
    assert_refused(&e, bytes, index, rule.clone());
    assert_listed_refused(&e, bytes, index, &rule);
}

/// A link that cannot be copied, under both policies (with `change`): under
/// `copy-or-refuse`, entry `index` refuses the archive for `problem`
/// ([`link_refused_with`]); under `copy` the archive is extracted to
/// `expected`, the link is reported skipped with that reason, and `list` and
/// `check` say the same. Returns `copy`'s report.
fn link_not_copied_with(
    change: impl Fn(&mut Options),
    bytes: &[u8],
    index: u64,
    problem: LinkProblem,
    expected: &BTreeMap<String, Node>,
) -> Report {
    link_refused_with(&change, bytes, index, problem.clone());
    let rule = Rule::Link(problem);
    let e = under(LinkPolicy::Copy, &change);
    let report = accept(&e, bytes, expected);
    let skip = report.skipped.iter().find(|s| s.index == index).unwrap_or_else(|| panic!("{:?}", report.skipped));
    assert_eq!(skip.reason.as_ref(), Some(&rule));
    assert!(matches!(skip.kind, Kind::Symlink | Kind::Hardlink));
    assert!(report.copied.iter().all(|c| c.index != index));
    let indices: Vec<u64> = report.skipped.iter().map(|s| s.index).collect();
    assert!(indices.is_sorted(), "skips in archive order: {indices:?}");

    let manifest = e.list(bytes).unwrap();
    assert!(manifest.is_acceptable(), "{:?}", manifest.error);
    let entry = &manifest.entries[index as usize];
    assert_eq!((&entry.refusal, &entry.action), (&None, &Action::SkipLink { rule: rule.clone() }));
    let check = e.check(bytes, None).unwrap();
    assert!(check.is_acceptable(), "{:?}", check.violations);
    assert!(check.actions.iter().any(|(i, _, a)| *i == index && *a == Action::SkipLink { rule: rule.clone() }));
    // One policy: every link the report skips for a reason is a SkipLink in
    // the listing, and every copy a Copy.
    for s in report.skipped.iter().filter(|s| s.reason.is_some()) {
        assert!(matches!(manifest.entries[s.index as usize].action, Action::SkipLink { .. }), "{}", s.path);
    }
    for c in &report.copied {
        assert_eq!(manifest.entries[c.index as usize].action, Action::Copy { of: c.copy_of.clone() });
    }
    report
}

/// [`link_not_copied_with`] with no other option.
fn link_not_copied(bytes: &[u8], index: u64, problem: LinkProblem, expected: &BTreeMap<String, Node>) -> Report {
    link_not_copied_with(|_| {}, bytes, index, problem, expected)
}

fn pkg() -> Tar {
    let mut t = Tar::new();
    t.dir("pkg/").exec_file("pkg/tool", b"#!/bin/sh\n").file("pkg/README", b"read me\n");
    t
}

fn pkg_tree() -> BTreeMap<String, Node> {
    tree(&[("pkg", Node::Dir), ("pkg/tool", exec(b"#!/bin/sh\n")), ("pkg/README", file(b"read me\n"))])
}

// ---------------------------------------------------------------------------
// --links refuse (the default) and skip
// ---------------------------------------------------------------------------

#[test]
fn links_are_refused_by_default_even_when_excluded() {
    let bytes = pkg().symlink("pkg/link", "README").finish();
    let e = extractor_with(|o| o.exclude = vec!["link".into()]);
    assert_refused(&e, &bytes, 3, Rule::ForbiddenKind(Kind::Symlink));
}

#[test]
fn skip_writes_everything_else_and_reports_each_link_escaped() {
    let bytes = pkg().symlink("pkg/link\x1b[31m", "../../etc/\x07passwd").hardlink("pkg/hard", "pkg/README").finish();
    // Not `--portable` (the default on Windows and macOS), which refuses
    // the control characters in these names.
    let skip = extractor_with(|o| {
        o.links = LinkPolicy::Skip;
        o.portable = false;
    });
    let report = accept(&skip, &bytes, &pkg_tree());
    assert_eq!(report.files, 2);
    assert_eq!(report.skipped.len(), 2);
    assert_eq!(report.skipped[0].index, 3);
    assert_eq!(report.skipped[0].kind, Kind::Symlink);
    assert_eq!(report.skipped[0].path, "pkg/link\\u{1b}[31m");
    assert_eq!(report.skipped[0].link_target.as_deref(), Some("../../etc/\\u{7}passwd"));
    assert_eq!((report.skipped[1].kind, report.skipped[1].path.as_str()), (Kind::Hardlink, "pkg/hard"));
    assert!(report.copied.is_empty());
}

#[test]
fn skipped_link_names_obey_every_path_rule() {
    let skip = extractor_with(|o| o.links = LinkPolicy::Skip);
    assert_refused(&skip, &pkg().symlink("../escape", "pkg/README").finish(), 3, Rule::ParentComponent);
    assert_refused(&skip, &pkg().symlink("pkg/README", "tool").finish(), 3, Rule::Duplicate { first: 2 });
    // Nothing may be written below a link, skipped or not.
    let bytes = pkg().symlink("pkg/l", "/tmp").file("pkg/l/x", b"x").finish();
    assert_refused(&skip, &bytes, 4, Rule::FileDirectoryConflict { other: 3 });
}

#[test]
fn special_files_are_refused_by_default_and_skipped_on_request() {
    let bytes = pkg().fifo("pkg/fifo").device("pkg/null", b'3', 1, 3).device("pkg/sda", b'4', 8, 0).finish();
    assert_refused(&copying(), &bytes, 3, Rule::ForbiddenKind(Kind::Fifo));
    let report = accept(&extractor_with(|o| o.special = SpecialPolicy::Skip), &bytes, &pkg_tree());
    let kinds: Vec<_> = report.skipped.iter().map(|s| (s.kind, s.path.as_str(), s.link_target.clone())).collect();
    assert_eq!(
        kinds,
        [(Kind::Fifo, "pkg/fifo", None), (Kind::CharDevice, "pkg/null", None), (Kind::BlockDevice, "pkg/sda", None)]
    );
    // Skipping special files does not let links through.
    let bytes = pkg().fifo("pkg/fifo").symlink("pkg/l", "README").finish();
    assert_refused(&extractor_with(|o| o.special = SpecialPolicy::Skip), &bytes, 4, Rule::ForbiddenKind(Kind::Symlink));
}

// ---------------------------------------------------------------------------
// --links copy and copy-or-refuse: what is copied (alike under both)
// ---------------------------------------------------------------------------

#[test]
fn copy_of_an_in_archive_file_takes_its_bytes_and_mode() {
    // The link comes first: a symlink may name a later member.
    let bytes = Tar::new().symlink("run", "pkg/tool").dir("pkg/").exec_file("pkg/tool", b"#!/bin/sh\n").finish();
    let expected = tree(&[("run", exec(b"#!/bin/sh\n")), ("pkg", Node::Dir), ("pkg/tool", exec(b"#!/bin/sh\n"))]);
    for links in COPYING {
        let e = under(links, |_| {});
        let report = accept(&e, &bytes, &expected);
        assert_eq!((report.files, report.bytes), (2, 20));
        assert_eq!(report.copied.len(), 1);
        assert!(report.skipped.is_empty(), "{links:?}: {:?}", report.skipped);
        let c = &report.copied[0];
        assert_eq!((c.index, c.path.as_str(), c.written.as_str(), c.copy_of.as_str()), (0, "run", "run", "pkg/tool"));
        let manifest = e.list(&bytes[..]).unwrap();
        assert_eq!(manifest.entries[0].action, Action::Copy { of: "pkg/tool".into() });
    }
}

#[test]
fn copy_of_an_in_archive_directory_copies_its_tree() {
    let mut expected = pkg_tree();
    expected.extend(tree(&[("pkg/sub", Node::Dir), ("pkg/sub/x.txt", file(b"x"))]));
    let copies: Vec<(String, Node)> =
        expected.iter().map(|(p, n)| (p.replacen("pkg", "alias", 1), n.clone())).collect();
    expected.extend(copies);

    // `pkg/mirror -> .` contains itself: a cycle, never copied. `copy`
    // skips it, and leaves it out of the copy of `pkg`.
    let bytes =
        pkg().dir("pkg/sub/").file("pkg/sub/x.txt", b"x").symlink("pkg/mirror", ".").symlink("alias", "pkg").finish();
    let report = link_not_copied(&bytes, 5, LinkProblem::Cycle, &expected);
    assert_eq!(report.copied.iter().map(|c| (c.index, c.copy_of.as_str())).collect::<Vec<_>>(), [(6, "pkg")]);

    let bytes = pkg().dir("pkg/sub/").file("pkg/sub/x.txt", b"x").symlink("alias", "pkg").finish();
    for links in COPYING {
        let report = accept(&under(links, |_| {}), &bytes, &expected);
        assert_eq!(report.files, 6);
        assert_eq!(report.copied[0].copy_of, "pkg");
        assert!(report.skipped.is_empty(), "{links:?}: {:?}", report.skipped);
    }
}

#[test]
fn links_inside_a_copied_directory_are_copied_as_what_they_name() {
    let bytes = pkg()
        .dir("pkg/lib/")
        .file("pkg/lib/libx.so.1", b"ELF")
        .symlink("pkg/lib/libx.so", "libx.so.1")
        .symlink("pkg/lib/readme", "../README")
        .symlink("lib", "pkg/lib")
        .finish();
    for links in COPYING {
        let scene = Scene::bare();
        let report = scene.extract_with(&under(links, |_| {}), &bytes[..]).unwrap();
        let t = scene.dest_tree();
        for p in ["pkg/lib/libx.so", "lib/libx.so", "lib/libx.so.1"] {
            assert_eq!(t[p], file(b"ELF"), "{links:?}: {p}");
        }
        assert_eq!(t["lib/readme"], file(b"read me\n"));
        assert!(report.skipped.is_empty(), "{links:?}: {:?}", report.skipped);
    }
}

#[test]
fn chain_of_links_resolves_to_the_last_target() {
    let bytes = pkg().symlink("a", "b").symlink("b", "pkg/c").symlink("pkg/c", "README").finish();
    for links in COPYING {
        let scene = Scene::bare();
        let report = scene.extract_with(&under(links, |_| {}), &bytes[..]).unwrap();
        let t = scene.dest_tree();
        for p in ["a", "b", "pkg/c"] {
            assert_eq!(t[p], file(b"read me\n"), "{links:?}: {p}");
        }
        assert!(report.copied.iter().all(|c| c.copy_of == "pkg/README"));
        assert_eq!((report.copied.len(), report.skipped.len()), (3, 0), "{links:?}");
    }
}

#[test]
fn hardlink_to_an_earlier_member_is_copied() {
    let bytes = pkg().hardlink("pkg/again", "./pkg/tool").finish();
    let mut expected = pkg_tree();
    expected.insert("pkg/again".into(), exec(b"#!/bin/sh\n"));
    for links in COPYING {
        let report = accept(&under(links, |_| {}), &bytes, &expected);
        assert!(report.skipped.is_empty(), "{links:?}: {:?}", report.skipped);
    }
}

// ---------------------------------------------------------------------------
// What cannot be copied: skipped under copy, refused under copy-or-refuse
// ---------------------------------------------------------------------------

#[test]
fn chain_longer_than_the_cap_is_never_copied() {
    let mut t = pkg();
    let hops = MAX_LINK_HOPS + 1;
    for i in 0..hops {
        t.symlink(&format!("l{i}"), &format!("l{}", i + 1));
    }
    t.symlink(&format!("l{hops}"), "pkg/README");
    // `l0` follows one link too many; the others are within the cap.
    let mut expected = pkg_tree();
    for i in 1..=hops {
        expected.insert(format!("l{i}"), file(b"read me\n"));
    }
    let report = link_not_copied(&t.finish(), 3, LinkProblem::ChainTooLong { max: MAX_LINK_HOPS }, &expected);
    assert_eq!((report.skipped.len(), report.copied.len()), (1, hops));
    // One hop under the cap is fine.
    let mut t = pkg();
    for i in 0..MAX_LINK_HOPS {
        t.symlink(&format!("l{i}"), &format!("l{}", i + 1));
    }
    t.symlink(&format!("l{MAX_LINK_HOPS}"), "pkg/README");
    let bytes = t.finish();
    for links in COPYING {
        let report = Scene::bare().extract_with(&under(links, |_| {}), &bytes[..]).unwrap();
        assert_eq!((report.skipped.len(), report.copied.len()), (0, MAX_LINK_HOPS + 1), "{links:?}");
    }
}

#[test]
fn cycles_are_never_copied() {
    let report =
        link_not_copied(&pkg().symlink("a", "b").symlink("b", "a").finish(), 3, LinkProblem::Cycle, &pkg_tree());
    assert_eq!(report.skipped.len(), 2, "both links of the cycle");
    link_not_copied(&pkg().symlink("self", "self").finish(), 3, LinkProblem::Cycle, &pkg_tree());
    link_not_copied(&pkg().symlink("pkg/up", "..").finish(), 3, LinkProblem::Cycle, &pkg_tree());
    // Two directories that each hold a link to the other: copying either never ends.
    let bytes = Tar::new().dir("a/").dir("b/").symlink("a/l", "../b").symlink("b/m", "../a").finish();
    let report = link_not_copied(&bytes, 2, LinkProblem::Cycle, &tree(&[("a", Node::Dir), ("b", Node::Dir)]));
    assert_eq!(report.skipped.len(), 2, "both links");
}

#[test]
fn absolute_targets_are_never_copied() {
    let scene = Scene::new();
    // On Windows the same place on the current drive (`/users/...`): a
    // target with a drive letter is never copied for that (tested elsewhere).
    let root = scene.root.to_str().unwrap();
    let root = if cfg!(windows) {
        root.split_once(':').map_or(root, |(_, rest)| rest).replace('\\', "/")
    } else {
        root.to_string()
    };
    let target = format!("{root}/sentinel/secret.txt");
    link_not_copied(&pkg().symlink("pkg/abs", &target).finish(), 3, LinkProblem::Absolute, &pkg_tree());
    // Drive-less, so that it is the same absolute form on Windows (where a
    // drive letter is `link-windows-form` instead).
    let abs = pkg().symlink("pkg/abs", "/tmp/sentinel/secret.txt").finish();
    link_not_copied(&abs, 3, LinkProblem::Absolute, &pkg_tree());
    link_not_copied(&pkg().hardlink("pkg/abs", "/etc/passwd").finish(), 3, LinkProblem::Absolute, &pkg_tree());
}

#[test]
fn targets_outside_the_archive_are_never_copied() {
    let out = pkg().symlink("pkg/out", "../../sentinel/secret.txt").finish();
    link_not_copied(&out, 3, LinkProblem::Outside, &pkg_tree());
    link_not_copied(&pkg().symlink("pkg/out", "../pkg/../..").finish(), 3, LinkProblem::Outside, &pkg_tree());
    link_not_copied(&pkg().hardlink("pkg/out", "../x").finish(), 3, LinkProblem::Outside, &pkg_tree());
    // Outside through another link.
    let through = pkg().symlink("l", "pkg").symlink("out", "l/../../x").finish();
    let mut expected = pkg_tree();
    expected.extend(tree(&[("l", Node::Dir), ("l/tool", exec(b"#!/bin/sh\n")), ("l/README", file(b"read me\n"))]));
    link_not_copied(&through, 4, LinkProblem::Outside, &expected);
}

#[test]
fn dangling_targets_are_never_copied_even_if_the_destination_has_them() {
    // `existing.txt` is in the pre-populated destination, not in the archive:
    // targets are never resolved on the file system.
    let bytes = pkg().symlink("pkg/l", "../existing.txt").finish();
    link_not_copied(&bytes, 3, LinkProblem::Dangling, &pkg_tree());
    let scene = Scene::new();
    let report = scene.extract_with(&copying(), &bytes[..]).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(report.skipped[0].reason, Some(Rule::Link(LinkProblem::Dangling)));
    let mut expected = prepopulated();
    expected.extend(pkg_tree());
    assert_eq!(scene.dest_tree(), expected, "nothing copied from the destination");
    scene.assert_outside_untouched();

    link_not_copied(&pkg().symlink("pkg/l", "nothere").finish(), 3, LinkProblem::Dangling, &pkg_tree());
    link_not_copied(&pkg().symlink("pkg/l", "README/x").finish(), 3, LinkProblem::Dangling, &pkg_tree());
    link_not_copied(&pkg().hardlink("pkg/l", "pkg/nothere").finish(), 3, LinkProblem::Dangling, &pkg_tree());
    // The Debian case: a changelog that links to another package's file.
    let deb = pkg().symlink("pkg/changelog.Debian.gz", "../other/changelog.Debian.gz").finish();
    link_not_copied(&deb, 3, LinkProblem::Dangling, &pkg_tree());
}

#[test]
fn drive_relative_and_backslash_targets_are_never_copied() {
    // node-tar CVE-2026-31802 and CVE-2026-29786: Windows reads these as a
    // drive or a separator, wherever the archive was made.
    for target in ["C:../x", "C:\\x", "c:x", "..\\x", "pkg\\README", "D:/x"] {
        link_not_copied(&pkg().symlink("pkg/l", target).finish(), 3, LinkProblem::WindowsForm, &pkg_tree());
        link_not_copied(&pkg().hardlink("pkg/l", target).finish(), 3, LinkProblem::WindowsForm, &pkg_tree());
    }
}

#[test]
fn hardlink_to_a_later_member_is_never_copied() {
    // tar semantics: a hard link names a member already extracted. GNU tar
    // fails on this archive ("Cannot hard link"); sealtar refuses it under
    // `copy-or-refuse` and skips the link under `copy`.
    let bytes = Tar::new().hardlink("early", "late").file("late", b"late").finish();
    link_not_copied(&bytes, 0, LinkProblem::LaterEntry { target: 1 }, &tree(&[("late", file(b"late"))]));
}

#[test]
fn hardlink_to_a_directory_or_a_special_file_is_never_copied() {
    link_not_copied(&pkg().hardlink("h", "pkg").finish(), 3, LinkProblem::HardlinkToDirectory, &pkg_tree());
    let bytes = pkg().fifo("pkg/fifo").symlink("l", "pkg/fifo").finish();
    let special_skipped = |o: &mut Options| o.special = SpecialPolicy::Skip;
    let report = link_not_copied_with(special_skipped, &bytes, 4, LinkProblem::NotFileOrDirectory, &pkg_tree());
    let skipped: Vec<(u64, Kind)> = report.skipped.iter().map(|s| (s.index, s.kind)).collect();
    assert_eq!(skipped, [(3, Kind::Fifo), (4, Kind::Symlink)]);
    assert_eq!(report.skipped[0].reason, None, "the FIFO is skipped as a special file");
}

#[test]
fn empty_and_invalid_targets_are_never_copied() {
    link_not_copied(&pkg().symlink("l", "").finish(), 3, LinkProblem::BadTarget, &pkg_tree());
    let mut h = Header::new(b"l", b'2', 0);
    h.link(b"caf\xe9");
    let bytes = pkg().entry(&h, b"").finish();
    link_not_copied(&bytes, 3, LinkProblem::BadTarget, &pkg_tree());
}

// ---------------------------------------------------------------------------
// Link bombs: refused under both (limits are archive-wide)
// ---------------------------------------------------------------------------

#[test]
fn link_bomb_of_a_big_file_is_refused_by_the_size_limit() {
    let mut t = Tar::new();
    t.file("big", &vec![7u8; 4096]);
    for i in 0..20 {
        t.symlink(&format!("l{i}"), "big");
    }
    let bytes = t.finish();
    for links in COPYING {
        let limited = under(links, |o| o.max_size = Some(40_000));
        // The size limit counts the tar stream, headers included (issue 9 §3):
        // the file's header and data (4,608 bytes) and the 20 link headers
        // (10,240) make 14,848 before any copy. Six copies of 4,096 bytes fit
        // (39,424); the seventh, of link `l6` (entry 7), crosses 40,000.
        assert_refused(&limited, &bytes, 7, Rule::TooLarge { max: 40_000 });
        assert_listed_refused(&limited, &bytes, 7, &Rule::TooLarge { max: 40_000 });
    }
}

/// A directory copy creates directories: they count toward `--max-dirs`
/// (issue 9 §3) like the ones the archive names or implies, in the
/// namespace of the names written (after `--strip-components`).
#[test]
fn directory_copies_count_toward_max_dirs() {
    let mut t = Tar::new();
    t.dir("d/").dir("d/s1/").dir("d/s2/").dir("d/s3/").file("d/s1/f", b"x");
    t.symlink("c0", "d").symlink("c1", "d");
    let bytes = t.finish();
    for links in COPYING {
        // 4 directories, then 4 per copy: the first copy makes 8, the second 12.
        let limited = under(links, |o| o.max_dirs = 10);
        assert_refused(&limited, &bytes, 6, Rule::TooManyDirectories { max: 10 });
        assert_listed_refused(&limited, &bytes, 6, &Rule::TooManyDirectories { max: 10 });
        let roomy = under(links, |o| o.max_dirs = 12);
        let report = Scene::bare().extract_with(&roomy, &bytes[..]).unwrap_or_else(|e| panic!("refused: {e}"));
        assert_eq!(report.directories, 12);
    }

    // Under `pkg/`, stripped: the archive has 5 directories, the names
    // written 4 (`pkg/` is the destination itself). The copies count from
    // the names written: 8 after `c0`, 12 after `c1`.
    let mut t = Tar::new();
    t.dir("pkg/").dir("pkg/d/").dir("pkg/d/s1/").dir("pkg/d/s2/").dir("pkg/d/s3/");
    t.symlink("pkg/c0", "d").symlink("pkg/c1", "d");
    let bytes = t.finish();
    for links in COPYING {
        let stripped = under(links, |o| {
            o.strip_components = 1;
            o.max_dirs = 8;
        });
        assert_refused(&stripped, &bytes, 6, Rule::TooManyDirectories { max: 8 });
        assert_listed_refused(&stripped, &bytes, 6, &Rule::TooManyDirectories { max: 8 });
    }
}

/// A link bomb of long names (400 links to a directory of 1,000 files with
/// 248-byte paths) is counted, not planned: the link phase holds node ids,
/// never the copies' paths, so the bomb costs no memory to judge, and its
/// 400,400 copies count toward the entry limit. Under a limit of 200,000 the
/// link whose copy crosses it refuses the archive, by `extract` and by
/// `list` and `check` alike, at the same link under both copying policies.
#[test]
fn link_bomb_of_long_names_is_counted_against_the_entry_limit() {
    // 248-byte paths: a 152-byte directory (the ustar prefix field) and a
    // 95-byte name.
    let prefix = format!("d/{}", "p".repeat(150));
    let mut t = Tar::new();
    t.dir("d/");
    for i in 0..1000 {
        t.entry(Header::new(format!("{}{i:04}", "n".repeat(91)).as_bytes(), b'0', 0).prefix(prefix.as_bytes()), b"");
    }
    for i in 0..400 {
        t.symlink(&format!("l{i}"), "d");
    }
    let bytes = sealtar_tests::gzip(&t.finish());
    let rule = Rule::TooManyEntries { max: 200_000 };
    let mut refused_at = Vec::new();
    for links in COPYING {
        let e = under(links, |o| o.max_entries = 200_000);
        let err = refuse(&e, &bytes);
        let Error::Refused { index, rule: r, .. } = &err else { panic!("{err:?}") };
        assert_eq!(r, &rule);
        // 1,401 entries, then 1,002 per copy (the directory, its
        // subdirectory and 1,000 files).
        assert_eq!(*index, 1001 + (200_000 - 1401) / 1002, "refused at entry {index}, a link");
        assert_listed_refused(&e, &bytes, *index, &rule);
        assert!(err.to_string().contains("[rule too-many-entries]"), "{err}");
        refused_at.push(*index);
    }
    assert_eq!(refused_at[0], refused_at[1], "at the same link under both");
}

#[test]
fn link_bomb_of_a_big_directory_is_refused_by_the_entry_limit() {
    let mut t = Tar::new();
    t.dir("d/");
    for i in 0..50 {
        t.file(&format!("d/f{i}"), b"x");
    }
    for i in 0..10 {
        t.symlink(&format!("c{i}"), "d");
    }
    let bytes = t.finish();
    // Nested links multiply: each level doubles the tree.
    let mut t = Tar::new();
    t.dir("l0/").file("l0/x", b"x");
    for level in 1..20 {
        t.dir(&format!("l{level}/"));
        t.symlink(&format!("l{level}/a"), &format!("../l{}", level - 1));
        t.symlink(&format!("l{level}/b"), &format!("../l{}", level - 1));
    }
    let nested = t.finish();
    for links in COPYING {
        // 61 entries, then 51 per copy: the third copy crosses 200.
        let limited = under(links, |o| o.max_entries = 200);
        assert_refused(&limited, &bytes, 53, Rule::TooManyEntries { max: 200 });
        assert_listed_refused(&limited, &bytes, 53, &Rule::TooManyEntries { max: 200 });
        let err = refuse(&under(links, |o| o.max_entries = 10_000), &nested);
        assert!(
            matches!(err.rule(), Some(Rule::TooManyEntries { .. } | Rule::Link(LinkProblem::ChainTooLong { .. }))),
            "{links:?}: {err}"
        );
    }
}

#[test]
fn link_names_obey_portable_rules() {
    for links in COPYING {
        let portable = under(links, |o| o.portable = true);
        let bytes = pkg().symlink("pkg/CON", "README").finish();
        assert!(matches!(refuse(&portable, &bytes).rule(), Some(Rule::NotPortable(_))), "{links:?}");
        let bytes = pkg().symlink("pkg/readme", "tool").finish();
        assert_refused(&portable, &bytes, 3, Rule::FoldingCollision { other: 2 });
        let bytes = pkg().symlink("pkg/a:b", "tool").finish();
        assert!(matches!(refuse(&portable, &bytes).rule(), Some(Rule::NotPortable(_))), "{links:?}");
        // A portable name with a target in the archive is copied.
        let mut expected = pkg_tree();
        expected.insert("pkg/run".into(), exec(b"#!/bin/sh\n"));
        let report = accept(&portable, &pkg().symlink("pkg/run", "tool").finish(), &expected);
        assert_eq!((report.copied.len(), report.skipped.len()), (1, 0), "{links:?}");
    }
    // A portable name whose target cannot be copied: skipped under `copy`,
    // refused under `copy-or-refuse`.
    let portable = |o: &mut Options| o.portable = true;
    let bytes = pkg().symlink("pkg/l", "C:../x").finish();
    link_not_copied_with(portable, &bytes, 3, LinkProblem::WindowsForm, &pkg_tree());
    let bytes = pkg().symlink("pkg/l", "../../x").finish();
    link_not_copied_with(portable, &bytes, 3, LinkProblem::Outside, &pkg_tree());
}

#[test]
fn target_that_is_not_extracted_is_never_copied_but_an_excluded_link_is_only_vetted() {
    let bytes = pkg().symlink("l", "pkg/README").finish();
    let readme_excluded = |o: &mut Options| o.exclude = vec!["README".into()];
    let expected = tree(&[("pkg", Node::Dir), ("pkg/tool", exec(b"#!/bin/sh\n"))]);
    let report = link_not_copied_with(readme_excluded, &bytes, 3, LinkProblem::NotExtracted, &expected);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].reason, Some(Rule::Link(LinkProblem::NotExtracted)));
    assert_eq!(
        under(LinkPolicy::Copy, readme_excluded).list(&bytes[..]).unwrap().entries[3].action,
        Action::SkipLink { rule: Rule::Link(LinkProblem::NotExtracted) }
    );

    // An excluded link is not written: with a target in the archive it is
    // only vetted.
    let link_excluded = |o: &mut Options| o.exclude = vec!["l".into()];
    for links in COPYING {
        let report = accept(&under(links, link_excluded), &bytes, &pkg_tree());
        assert!(report.skipped.is_empty() && report.copied.is_empty(), "{links:?}");
    }
    // A hostile excluded link still refuses under `copy-or-refuse`; under
    // `copy` it is neither written nor skipped.
    let bytes = pkg().symlink("l", "/etc/passwd").finish();
    assert_refused(&under(LinkPolicy::CopyOrRefuse, link_excluded), &bytes, 3, Rule::Link(LinkProblem::Absolute));
    let report = accept(&under(LinkPolicy::Copy, link_excluded), &bytes, &pkg_tree());
    assert!(report.skipped.is_empty() && report.copied.is_empty());
}

#[test]
fn copies_follow_strip_components() {
    let bytes = pkg().symlink("pkg/run", "tool").hardlink("pkg/hard", "pkg/README").finish();
    let expected = tree(&[
        ("tool", exec(b"#!/bin/sh\n")),
        ("README", file(b"read me\n")),
        ("run", exec(b"#!/bin/sh\n")),
        ("hard", file(b"read me\n")),
    ]);
    for links in COPYING {
        let report = accept(&under(links, |o| o.strip_components = 1), &bytes, &expected);
        assert_eq!((report.copied[0].path.as_str(), report.copied[0].written.as_str()), ("pkg/run", "run"));
        assert_eq!(report.copied[0].copy_of, "tool");
        assert!(report.skipped.is_empty(), "{links:?}: {:?}", report.skipped);
    }
}

// ---------------------------------------------------------------------------
// --strip-components, members, --exclude
// ---------------------------------------------------------------------------

fn project() -> Tar {
    let mut t = Tar::new();
    t.dir("proj/")
        .file("proj/README", b"r")
        .dir("proj/docs/")
        .file("proj/docs/a.txt", b"a")
        .dir("proj/docs/sub/")
        .file("proj/docs/sub/b.txt", b"b")
        .dir("proj/src/")
        .file("proj/src/main.rs", b"m");
    t
}

#[test]
fn strip_components_drops_leading_directories() {
    let e = extractor_with(|o| o.strip_components = 1);
    let expected = tree(&[
        ("README", file(b"r")),
        ("docs", Node::Dir),
        ("docs/a.txt", file(b"a")),
        ("docs/sub", Node::Dir),
        ("docs/sub/b.txt", file(b"b")),
        ("src", Node::Dir),
        ("src/main.rs", file(b"m")),
    ]);
    accept(&e, &project().finish(), &expected);
    let e = extractor_with(|o| o.strip_components = 2);
    let expected =
        tree(&[("a.txt", file(b"a")), ("sub", Node::Dir), ("sub/b.txt", file(b"b")), ("main.rs", file(b"m"))]);
    // `proj/README` has nothing left: refused, not silently dropped.
    assert_refused(&e, &project().finish(), 1, Rule::StrippedToNothing);
    let e = extractor_with(|o| {
        o.strip_components = 2;
        o.exclude = vec!["README".into()];
    });
    accept(&e, &project().finish(), &expected);
}

#[test]
fn stripping_may_not_merge_two_entries_or_expose_a_reserved_name() {
    let e = extractor_with(|o| o.strip_components = 1);
    let bytes = Tar::new().file("a/x", b"1").file("b/x", b"2").finish();
    assert_refused(&e, &bytes, 1, Rule::Duplicate { first: 0 });
    let bytes = Tar::new().file("a/x", b"1").file("b/x/y", b"2").finish();
    assert_refused(&e, &bytes, 1, Rule::FileDirectoryConflict { other: 0 });
    let bytes = Tar::new().file("a/.sealtar-staging-1", b"1").finish();
    assert_refused(&e, &bytes, 0, Rule::ReservedName);
    let portable = extractor_with(|o| {
        o.strip_components = 1;
        o.portable = true;
    });
    let bytes = Tar::new().file("a/X", b"1").file("b/x", b"2").finish();
    assert_refused(&portable, &bytes, 1, Rule::FoldingCollision { other: 0 });
}

#[test]
fn hostile_entries_refuse_even_when_excluded_or_stripped() {
    let bytes = project().file("proj/../../evil", b"x").finish();
    let e = extractor_with(|o| o.exclude = vec!["evil".into()]);
    assert_refused(&e, &bytes, 8, Rule::ParentComponent);
    let e = extractor_with(|o| o.members = vec!["proj/src".into()]);
    assert_refused(&e, &bytes, 8, Rule::ParentComponent);
    let bytes = project().file("/abs/proj/x", b"x").finish();
    let e = extractor_with(|o| o.strip_components = 1);
    assert_refused(&e, &bytes, 8, Rule::AbsolutePath);
}

#[test]
fn members_select_entries_and_directory_subtrees() {
    let e = extractor_with(|o| o.members = vec!["proj/docs/".into(), "./proj//src/main.rs".into()]);
    let report = accept(
        &e,
        &project().finish(),
        &tree(&[
            ("proj", Node::Dir),
            ("proj/docs", Node::Dir),
            ("proj/docs/a.txt", file(b"a")),
            ("proj/docs/sub", Node::Dir),
            ("proj/docs/sub/b.txt", file(b"b")),
            ("proj/src", Node::Dir),
            ("proj/src/main.rs", file(b"m")),
        ]),
    );
    assert_eq!(report.files, 3);
    // Selection is by whole components.
    let e = extractor_with(|o| o.members = vec!["proj/doc".into()]);
    let scene = Scene::bare();
    match scene.extract_with(&e, &project().finish()[..]) {
        Err(Error::MembersNotFound(names)) => assert_eq!(names, ["proj/doc"]),
        other => panic!("expected MembersNotFound, got {other:?}"),
    }
    assert!(scene.dest_tree().is_empty(), "nothing is written when a member is missing");
    scene.assert_no_staging();
}

#[test]
fn a_member_that_matches_nothing_is_an_error_that_names_it() {
    let e = extractor_with(|o| o.members = vec!["proj/src".into(), "nothere\x1b".into()]);
    let err = Scene::bare().extract_with(&e, &project().finish()[..]).unwrap_err();
    assert!(!err.is_refusal(), "a usage error, not a refusal");
    assert_eq!(err.to_string(), "not found in the archive: \"nothere\\u{1b}\"");
    assert!(matches!(e.list(&project().finish()[..]), Err(Error::MembersNotFound(_))));
}

#[test]
fn exclude_has_tar_meaning() {
    let all = |e: &Extractor| -> Vec<String> {
        let scene = Scene::bare();
        scene.extract_with(e, &project().finish()[..]).unwrap();
        scene.dest_tree().into_keys().collect()
    };
    let with = |patterns: &[&str]| extractor_with(|o| o.exclude = patterns.iter().map(|p| p.to_string()).collect());
    // Unanchored: a pattern may match any run of whole components, and a
    // matched directory takes its contents with it.
    assert_eq!(all(&with(&["docs"])), ["proj", "proj/README", "proj/src", "proj/src/main.rs"]);
    assert_eq!(all(&with(&["proj/docs"])), ["proj", "proj/README", "proj/src", "proj/src/main.rs"]);
    assert_eq!(
        all(&with(&["docs/sub"])),
        ["proj", "proj/README", "proj/docs", "proj/docs/a.txt", "proj/src", "proj/src/main.rs"]
    );
    // `*` matches `/`; partial names do not match.
    assert_eq!(
        all(&with(&["*.txt"])),
        ["proj", "proj/README", "proj/docs", "proj/docs/sub", "proj/src", "proj/src/main.rs"]
    );
    assert_eq!(all(&with(&["ocs"])).len(), 8);
    assert_eq!(all(&with(&["proj"])), Vec::<String>::new());
    let manifest = with(&["docs"]).list(&project().finish()[..]).unwrap();
    assert_eq!(manifest.entries[3].action, Action::Excluded);
    assert_eq!(manifest.entries[1].action, Action::Extract);
}

#[test]
fn an_unclosed_bracket_is_matched_literally_as_gnu_tar_does() {
    // `fnmatch` (and so GNU tar) reads an unclosed `[` as itself: every
    // pattern is valid.
    let bytes = Tar::new().file("a[", b"x").file("ab", b"y").finish();
    let e = extractor_with(|o| o.exclude = vec!["a[".into()]);
    let scene = Scene::bare();
    scene.extract_with(&e, &bytes[..]).unwrap();
    assert_eq!(scene.dest_tree().into_keys().collect::<Vec<_>>(), ["ab"]);
}

// ---------------------------------------------------------------------------
// Directory times
// ---------------------------------------------------------------------------

fn mtime(path: &std::path::Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn directory_times_are_set_after_their_contents() {
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    let mut dir = Header::new(b"d/", b'5', 0);
    dir.mode(0o755).mtime(1_500_000_000);
    let mut late = Header::new(b"late/", b'5', 0);
    late.mode(0o755).mtime(1_400_000_000);
    // `d/` before its files, `late/` after them, `implied/` never.
    let bytes = Tar::new()
        .entry(&dir, b"")
        .file("d/a", b"a")
        .file("d/sub/b", b"b")
        .file("late/x", b"x")
        .entry(&late, b"")
        .file("implied/y", b"y")
        .finish();
    let before = SystemTime::now() - Duration::from_secs(2);
    let scene = Scene::bare();
    scene.extract(&bytes[..]).unwrap();
    assert_eq!(mtime(&scene.dest.join("d")), old);
    assert_eq!(mtime(&scene.dest.join("late")), SystemTime::UNIX_EPOCH + Duration::from_secs(1_400_000_000));
    // Implied directories get the time of extraction, as with GNU tar.
    for implied in ["d/sub", "implied"] {
        assert!(mtime(&scene.dest.join(implied)) >= before, "{implied}");
    }
}

#[test]
fn copied_directories_take_their_targets_time() {
    let mut dir = Header::new(b"d/", b'5', 0);
    dir.mode(0o755).mtime(1_500_000_000);
    let bytes = Tar::new().entry(&dir, b"").file("d/a", b"a").symlink("c", "d").finish();
    for links in COPYING {
        let scene = Scene::bare();
        scene.extract_with(&under(links, |_| {}), &bytes[..]).unwrap();
        assert_eq!(mtime(&scene.dest.join("c")), SystemTime::UNIX_EPOCH + Duration::from_secs(1_500_000_000));
        assert_eq!(mtime(&scene.dest.join("c/a")), SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    }
}

// ---------------------------------------------------------------------------
// --links copy: copies next to skips
// ---------------------------------------------------------------------------

#[test]
fn copy_copies_what_copy_or_refuse_copies_and_skips_the_rest() {
    // The same archive under both: nothing skipped, the same tree.
    let bytes = Tar::new().symlink("run", "pkg/tool").dir("pkg/").exec_file("pkg/tool", b"#!/bin/sh\n").finish();
    let expected = tree(&[("run", exec(b"#!/bin/sh\n")), ("pkg", Node::Dir), ("pkg/tool", exec(b"#!/bin/sh\n"))]);
    assert_eq!(accept(&copying(), &bytes, &expected).copied, accept(&copying_or_refusing(), &bytes, &expected).copied);

    // Copies next to skips, in one archive: `copy-or-refuse` refuses it at
    // the first link that cannot be copied.
    let bytes = pkg()
        .symlink("pkg/run", "tool")
        .symlink("pkg/abs", "/etc/passwd")
        .hardlink("pkg/hard", "pkg/README")
        .symlink("pkg/gone", "../../elsewhere/x")
        .finish();
    let mut expected = pkg_tree();
    expected.insert("pkg/run".into(), exec(b"#!/bin/sh\n"));
    expected.insert("pkg/hard".into(), file(b"read me\n"));
    let report = link_not_copied(&bytes, 4, LinkProblem::Absolute, &expected);
    let copied: Vec<(u64, &str)> = report.copied.iter().map(|c| (c.index, c.copy_of.as_str())).collect();
    assert_eq!(copied, [(3, "pkg/tool"), (5, "pkg/README")]);
    let skipped: Vec<(u64, Option<&str>)> =
        report.skipped.iter().map(|s| (s.index, s.link_target.as_deref())).collect();
    assert_eq!(skipped, [(4, Some("/etc/passwd")), (6, Some("../../elsewhere/x"))]);
    assert_eq!(report.skipped[1].reason, Some(Rule::Link(LinkProblem::Outside)));
}

#[test]
fn copy_leaves_skipped_links_out_of_directory_copies() {
    // `pkg/mirror -> .` holds itself and `pkg/bad` is absolute: both are
    // skipped, and the copy `alias` of `pkg` is what `pkg` is on disk.
    let bytes = pkg()
        .dir("pkg/sub/")
        .file("pkg/sub/x.txt", b"x")
        .symlink("pkg/mirror", ".")
        .symlink("pkg/bad", "/etc/passwd")
        .symlink("pkg/sub/r", "../README")
        .symlink("alias", "pkg")
        .finish();
    let mut expected = pkg_tree();
    expected.extend(tree(&[("pkg/sub", Node::Dir), ("pkg/sub/x.txt", file(b"x")), ("pkg/sub/r", file(b"read me\n"))]));
    let copies: Vec<(String, Node)> =
        expected.iter().map(|(p, n)| (p.replacen("pkg", "alias", 1), n.clone())).collect();
    expected.extend(copies);
    let report = link_not_copied(&bytes, 5, LinkProblem::Cycle, &expected);
    let skipped: Vec<u64> = report.skipped.iter().map(|s| s.index).collect();
    assert_eq!(skipped, [5, 6]);
    assert_eq!(report.skipped[1].reason, Some(Rule::Link(LinkProblem::Absolute)));
    assert_eq!(report.copied.iter().map(|c| c.index).collect::<Vec<_>>(), [7, 8]);
}

/// A link bomb that also holds links `copy` skips is still refused at the
/// limit it crosses: skips never trim a bomb into an accepted archive.
#[test]
fn copy_still_refuses_link_bombs() {
    let mut t = Tar::new();
    t.file("big", &vec![7u8; 4096]).symlink("bad", "/etc/passwd");
    for i in 0..20 {
        t.symlink(&format!("l{i}"), "big");
    }
    let bytes = t.finish();
    let limited = under(LinkPolicy::Copy, |o| o.max_size = Some(40_000));
    // 4,608 + 21 × 512 = 15,360 before any copy; six copies fit (39,936),
    // the seventh (`l6`, entry 8) crosses 40,000.
    assert_refused(&limited, &bytes, 8, Rule::TooLarge { max: 40_000 });
    assert_listed_refused(&limited, &bytes, 8, &Rule::TooLarge { max: 40_000 });
    // `copy-or-refuse` stops at the bad link first.
    link_refused_with(|o| o.max_size = Some(40_000), &bytes, 1, LinkProblem::Absolute);

    let mut t = Tar::new();
    t.dir("d/").symlink("d/bad", "../../x");
    for i in 0..50 {
        t.file(&format!("d/f{i}"), b"x");
    }
    for i in 0..10 {
        t.symlink(&format!("c{i}"), "d");
    }
    let limited = under(LinkPolicy::Copy, |o| o.max_entries = 200);
    // 62 entries, then 51 per copy (the skipped link is left out): the
    // third copy crosses 200.
    let bytes = t.finish();
    assert_refused(&limited, &bytes, 54, Rule::TooManyEntries { max: 200 });
    assert_listed_refused(&limited, &bytes, 54, &Rule::TooManyEntries { max: 200 });
    link_refused_with(|o| o.max_entries = 200, &bytes, 1, LinkProblem::Outside);

    let mut t = Tar::new();
    t.dir("d/").dir("d/s1/").dir("d/s2/").dir("d/s3/").symlink("d/s1/x", "C:x");
    t.symlink("c0", "d").symlink("c1", "d");
    let bytes = t.finish();
    let limited = under(LinkPolicy::Copy, |o| o.max_dirs = 10);
    assert_refused(&limited, &bytes, 6, Rule::TooManyDirectories { max: 10 });
    assert_listed_refused(&limited, &bytes, 6, &Rule::TooManyDirectories { max: 10 });
    link_refused_with(|o| o.max_dirs = 10, &bytes, 4, LinkProblem::WindowsForm);
}

/// Links that each expand a big directory before failing (the directory
/// holds a link back to a directory that holds it) are skipped, but the work
/// their copies did counts toward the entry limit.
#[test]
fn copy_counts_the_work_of_skipped_copies() {
    let mut t = Tar::new();
    t.dir("a/").dir("b/");
    for i in 0..40 {
        t.file(&format!("b/f{i}"), b"x");
    }
    t.symlink("b/z", "../a");
    for i in 0..10 {
        t.symlink(&format!("a/l{i}"), "../b");
    }
    let bytes = t.finish();
    let mut expected = tree(&[("a", Node::Dir), ("b", Node::Dir)]);
    for i in 0..40 {
        expected.insert(format!("b/f{i}"), file(b"x"));
    }
    // `copy-or-refuse` refuses the first link of the cycle, `b/z`.
    let report = link_not_copied(&bytes, 42, LinkProblem::Cycle, &expected);
    assert_eq!(report.skipped.len(), 11, "{:?}", report.skipped);
    assert!(report.skipped.iter().all(|s| s.reason == Some(Rule::Link(LinkProblem::Cycle))));
    assert!(report.copied.is_empty());
    // 53 entries; the failed copy of `a` at `b/z` gets through 1, each of `b`
    // through 41, before the cycle: `a/l6` crosses 300.
    let limited = under(LinkPolicy::Copy, |o| o.max_entries = 300);
    assert_refused(&limited, &bytes, 49, Rule::TooManyEntries { max: 300 });
    assert_listed_refused(&limited, &bytes, 49, &Rule::TooManyEntries { max: 300 });
}
