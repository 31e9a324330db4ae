//! The policy's unit tests: names, namespaces, limits, sequencing, links.

use super::*;
use crate::deadline::{Deadline, Ticker};
use crate::options::MAX_LINK_STATE_BYTES;

/// A vetter for `options` (the selection lives as long as the test).
fn vetter(options: &Options, with_data: bool) -> Vetter<'_> {
    let selection: &'static Selection = Box::leak(Box::new(Selection::new(options).unwrap()));
    Vetter::new(options, selection, with_data)
}

/// Every link's verdict, counted against the limits until one refuses.
fn judge_links(v: &mut Vetter<'_>) -> Vec<Outcome> {
    let mut ticker = Ticker::new(Deadline::after(std::time::Duration::from_secs(600)));
    let Some(mut phase) = v.link_phase() else { return Vec::new() };
    let mut count = true;
    let mut out = Vec::new();
    for rec in 0..phase.records().len() {
        let outcome = phase.judge(rec, count, &mut ticker).unwrap();
        if let Outcome::Refuse(rule) = &outcome {
            count &= !rule.is_archive_wide();
        }
        out.push(outcome);
    }
    out
}

fn raw(index: u64, path: &str, kind: Kind, size: u64) -> RawEntry {
    RawEntry {
        index,
        // Room for any small size between two headers.
        header_offset: index << 20,
        path: path.as_bytes().to_vec(),
        kind,
        type_flag: b'0',
        size,
        mode: 0o644,
        mtime: 0,
        link_target: None,
        refusal: None,
    }
}

fn verdicts_with(options: &Options, entries: &[(&str, Kind)]) -> Vec<Result<Accepted, Rule>> {
    let mut v = vetter(options, false);
    entries.iter().enumerate().map(|(i, (p, k))| v.entry(&raw(i as u64, p, *k, 0), 0).unwrap()).collect()
}

fn verdicts(entries: &[(&str, Kind)]) -> Vec<Result<Accepted, Rule>> {
    verdicts_with(&Options::default(), entries)
}

fn rule_of(path: &[u8], kind: Kind) -> Option<Rule> {
    normalize(path, kind, &Options::default()).err()
}

#[test]
fn traversal_forms_are_refused() {
    assert_eq!(rule_of(b"../x", Kind::File), Some(Rule::ParentComponent));
    assert_eq!(rule_of(b"a/../../x", Kind::File), Some(Rule::ParentComponent));
    assert_eq!(rule_of(b"a/..", Kind::Directory), Some(Rule::ParentComponent));
    assert_eq!(rule_of(b"/etc/passwd", Kind::File), Some(Rule::AbsolutePath));
    assert_eq!(rule_of(b"//etc/passwd", Kind::File), Some(Rule::AbsolutePath));
}

#[test]
fn names_that_are_not_names() {
    assert_eq!(rule_of(b"", Kind::File), Some(Rule::EmptyName));
    assert_eq!(rule_of(b"./", Kind::File), Some(Rule::EmptyName));
    assert_eq!(rule_of(b"a\0b", Kind::File), Some(Rule::NulByte));
    assert_eq!(rule_of(b"caf\xe9", Kind::File), Some(Rule::NotUtf8));
    assert_eq!(rule_of(b"dir/", Kind::File), Some(Rule::TrailingSlash));
    assert_eq!(rule_of(b".sealtar-staging-1", Kind::Directory), Some(Rule::ReservedName));
    assert_eq!(rule_of(b"sub/.sealtar-staging-1", Kind::Directory), None);
}

#[test]
fn dot_and_slash_forms_normalize() {
    // Without `--portable` (the default on Linux only), so that names
    // ending in a dot are about dots, not about Windows.
    let o = Options { portable: false, ..Options::default() };
    assert_eq!(normalize(b"./a//b/c", Kind::File, &o).unwrap(), ["a", "b", "c"]);
    assert_eq!(normalize(b".//a", Kind::File, &o).unwrap(), ["a"]);
    assert!(normalize(b"./", Kind::Directory, &o).unwrap().is_empty());
    assert!(normalize(b".", Kind::Directory, &o).unwrap().is_empty());
    assert_eq!(normalize(b"a/.b", Kind::Directory, &o).unwrap(), ["a", ".b"]);
    // Windows trims a trailing dot, so there these names are refused
    // even without `--portable`; elsewhere they are ordinary names.
    for (path, kind) in [(&b"..."[..], Kind::File), (b"a/.b/c.", Kind::Directory)] {
        let got = normalize(path, kind, &o);
        if cfg!(windows) {
            assert!(matches!(got, Err(Rule::NotPortable(why)) if why.contains("trims")), "{path:?}: {got:?}");
        } else {
            let want: Vec<&str> = std::str::from_utf8(path).unwrap().split('/').collect();
            assert_eq!(got.unwrap(), want, "{path:?}");
        }
    }
}

#[test]
fn dot_components_after_the_start_are_refused() {
    // `dir/.` as a file is written as `dir` by a normalizing reader;
    // GNU tar refuses it.
    for (path, kind) in [
        ("dir/.", Kind::File),
        ("a/./b", Kind::File),
        ("./a/./b", Kind::File),
        ("././a", Kind::File),
        ("a/.", Kind::Directory),
        ("a/./", Kind::Directory),
        ("./.", Kind::Directory),
    ] {
        assert_eq!(rule_of(path.as_bytes(), kind), Some(Rule::DotComponent), "{path}");
    }
    assert_eq!(rule_of(b"a/./../b", Kind::File), Some(Rule::ParentComponent));
}

#[test]
fn length_and_depth_limits() {
    let o = Options::default();
    let long = vec![b'a'; 256];
    assert_eq!(normalize(&long, Kind::File, &o), Err(Rule::ComponentTooLong { len: 256, max: 255 }));
    let deep = "a/".repeat(1025) + "f";
    assert_eq!(normalize(deep.as_bytes(), Kind::File, &o), Err(Rule::TooDeep { depth: 1026, max: 1024 }));
    let long = "abcdefghi/".repeat(410);
    assert_eq!(normalize(long.as_bytes(), Kind::File, &o), Err(Rule::PathTooLong { len: 4100, max: 4095 }));
    let mut shallow = o.clone();
    shallow.max_depth = 3;
    assert_eq!(normalize(b"a/b/c/d", Kind::File, &shallow), Err(Rule::TooDeep { depth: 4, max: 3 }));
}

#[test]
fn links_and_devices_are_refused() {
    for kind in [Kind::Symlink, Kind::Hardlink, Kind::CharDevice, Kind::BlockDevice, Kind::Fifo, Kind::Other] {
        assert_eq!(verdicts(&[("x", kind)])[0], Err(Rule::ForbiddenKind(kind)));
    }
}

#[test]
fn duplicates_in_every_spelling() {
    for second in ["a", "./a", "a//", ".//a"] {
        let kind = if second.ends_with('/') { Kind::Directory } else { Kind::File };
        let v = verdicts(&[("a", Kind::File), (second, kind)]);
        assert!(v[1].is_err(), "{second}: {:?}", v[1]);
    }
    let v = verdicts(&[("d/", Kind::Directory), ("./d", Kind::Directory)]);
    assert_eq!(v[1], Err(Rule::Duplicate { first: 0 }));
}

#[test]
fn file_where_directory_is_needed_and_the_reverse() {
    let v = verdicts(&[("a", Kind::File), ("a/b", Kind::File)]);
    assert_eq!(v[1], Err(Rule::FileDirectoryConflict { other: 0 }));
    let v = verdicts(&[("a/b", Kind::File), ("a", Kind::File)]);
    assert_eq!(v[1], Err(Rule::FileDirectoryConflict { other: 0 }));
    let v = verdicts(&[("a/", Kind::Directory), ("a", Kind::File)]);
    assert_eq!(v[1], Err(Rule::FileDirectoryConflict { other: 0 }));
}

#[test]
fn explicit_directory_after_implicit_is_fine() {
    let v = verdicts(&[("a/b/c", Kind::File), ("a/b/", Kind::Directory), ("a/", Kind::Directory)]);
    assert!(v.iter().all(Result::is_ok), "{v:?}");
    let first = v[0].as_ref().unwrap();
    assert_eq!(first.new_parent_paths(), ["a", "a/b"]);
    assert_eq!(first.existing_parent(), "");
    assert_eq!(first.path, "a/b/c");
}

#[test]
fn guest_refusal_only_ever_refuses() {
    let options = Options::default();
    let mut v = vetter(&options, false);
    let mut e = raw(0, "fine.txt", Kind::File, 0);
    e.refusal = Some("guest says no".into());
    assert_eq!(v.entry(&e, 0).unwrap(), Err(Rule::GuestVerdict("guest says no".into())));
}

#[test]
fn a_guest_refused_entry_leaves_no_trace_in_the_namespace() {
    // Found by the policy fuzz target: the parents of an entry the guest
    // refused were recorded as seen, so a later entry below them was
    // told they existed already (no new parents to create).
    let options = Options::default();
    let mut v = vetter(&options, false);
    let mut refused = raw(0, "d/x", Kind::File, 0);
    refused.refusal = Some("guest says no".into());
    assert!(v.entry(&refused, 0).unwrap().is_err());
    let later = v.entry(&raw(1, "d/y", Kind::File, 0), 0).unwrap().unwrap();
    assert_eq!(later.new_parent_paths(), ["d"]);
    // And the refused name itself is free.
    assert!(v.entry(&raw(2, "d/x", Kind::File, 0), 0).unwrap().is_ok());
}

/// Under `--links copy` and `copy-or-refuse` what is kept to resolve links
/// is node ids into the namespace's tree, not names: an archive of 40,000
/// names of 3,700 bytes (150 MB of names) holds a few megabytes of link
/// state, and none without copying.
#[test]
fn the_state_kept_for_link_copies_is_ids_not_names() {
    let base: String = (0..15).map(|i| format!("{}{i:03}/", "d".repeat(246))).collect();
    let held = |links: LinkPolicy| {
        // raw() puts headers 1 MiB apart: no size limit here.
        let options = Options { links, max_size: Some(u64::MAX), ..Options::default() };
        let mut v = vetter(&options, false);
        for i in 0..40_000u64 {
            let path = format!("{base}f{i}");
            v.entry(&raw(i, &path, Kind::File, 0), 0).unwrap().unwrap();
        }
        v.links.as_ref().map_or(0, |l| l.held_bytes())
    };
    assert_eq!(held(LinkPolicy::Skip), 0);
    for links in [LinkPolicy::Copy, LinkPolicy::CopyOrRefuse] {
        let bytes = held(links);
        assert!(bytes > 0 && bytes < 4 << 20, "{links:?}: {bytes} bytes for 40,000 names");
    }
}

/// Links themselves are kept with their names and targets, counted: an
/// archive of links with long names and targets is refused once they pass
/// `MAX_LINK_STATE_BYTES`, under both copying policies alike.
#[test]
fn the_links_kept_for_the_link_phase_are_bounded() {
    let name: String = (0..15).map(|i| format!("{}{i:03}/", "d".repeat(246))).collect();
    let target = "../".repeat(1300);
    let first_refused = |links: LinkPolicy| {
        let options = Options { links, max_size: Some(u64::MAX), ..Options::default() };
        let mut v = vetter(&options, false);
        for i in 0..40_000u64 {
            let mut link = raw(i, &format!("{name}l{i}"), Kind::Symlink, 0);
            link.link_target = Some(target.clone().into_bytes());
            if let Err(rule) = v.entry(&link, 0).unwrap() {
                return Some((i, rule));
            }
        }
        None
    };
    let (at, rule) = first_refused(LinkPolicy::Copy).expect("40,000 links of 7,600 bytes are refused");
    assert_eq!(rule, Rule::TooManyNames { max: MAX_LINK_STATE_BYTES });
    assert!(rule.is_archive_wide());
    let per_link = (name.len() + 6 + target.len()) as u64;
    assert!(at > MAX_LINK_STATE_BYTES / (per_link + 1000) && at < MAX_LINK_STATE_BYTES / per_link + 1, "{at}");
    assert_eq!(first_refused(LinkPolicy::CopyOrRefuse), Some((at, rule)));
}

/// A link bomb is counted, not planned: 400 links to a directory of 1,000
/// files hold no paths, and their 400,400 copies count toward the entry
/// limit. Under a limit of 300,000 the link whose copy crosses it refuses
/// the archive (under `copy` as under `copy-or-refuse`: a limit is never a
/// reason to skip), and the links after it are only resolved.
#[test]
fn link_bombs_are_counted_against_the_limits() {
    for links in [LinkPolicy::Copy, LinkPolicy::CopyOrRefuse] {
        let options = Options { links, max_size: Some(u64::MAX), max_entries: 300_000, ..Options::default() };
        let mut v = vetter(&options, false);
        let long = "n".repeat(240);
        let mut index = 0;
        v.entry(&raw(index, "d/", Kind::Directory, 0), 0).unwrap().unwrap();
        for i in 0..1000 {
            index += 1;
            v.entry(&raw(index, &format!("d/{long}{i:04}"), Kind::File, 0), 0).unwrap().unwrap();
        }
        for i in 0..400 {
            index += 1;
            let mut link = raw(index, &format!("l{i}"), Kind::Symlink, 0);
            link.link_target = Some(b"d".to_vec());
            v.entry(&link, 0).unwrap().unwrap();
        }
        let held = v.links.as_ref().unwrap().held_bytes();
        assert!(held < 1 << 20, "{held} bytes held for 400 links");
        v.finish().unwrap();
        let outcomes = judge_links(&mut v);
        assert_eq!(outcomes.len(), 400);
        let refused: Vec<_> = outcomes.iter().enumerate().filter(|(_, o)| matches!(o, Outcome::Refuse(_))).collect();
        assert_eq!(refused.len(), 1, "one archive-wide refusal under {links:?}: {refused:?}");
        let (at, outcome) = refused[0];
        assert_eq!(*outcome, Outcome::Refuse(Rule::TooManyEntries { max: 300_000 }));
        // 1,401 entries, then 1,001 per copy.
        assert_eq!(at, (300_000 - 1401) / 1001, "refused at link {at} under {links:?}");
        for o in &outcomes[..at] {
            assert!(matches!(o, Outcome::Copy { entries: 1001, .. }), "{o:?}");
        }
        for o in &outcomes[at + 1..] {
            assert!(matches!(o, Outcome::Copy { entries: 0, .. }), "only resolved after the refusal: {o:?}");
        }
    }
}

#[test]
fn entry_and_size_limits() {
    let options = Options { max_entries: 1, max_size: Some(10), ..Options::default() };
    let mut v = vetter(&options, false);
    assert_eq!(v.entry(&raw(0, "a", Kind::File, 11), 0).unwrap(), Err(Rule::TooLarge { max: 10 }));
    assert_eq!(v.entry(&raw(1, "b", Kind::File, 0), 0).unwrap(), Err(Rule::TooManyEntries { max: 1 }));
}

#[test]
fn default_size_limit_follows_the_ratio() {
    let options = Options::default();
    assert_eq!(options.size_limit(0), 1 << 30);
    assert_eq!(options.size_limit(100 << 20), 100 * (100 << 20));
}

fn portable_verdicts(entries: &[(&str, Kind)]) -> Vec<Result<Accepted, Rule>> {
    verdicts_with(&Options { portable: true, ..Options::default() }, entries)
}

#[test]
fn portable_mode_refuses_hazards() {
    for name in ["pkg/CON", "pkg/aux.txt", "a\\b", "c:/x", "pkg/x.", "pkg/x ", "a|b", "q?", "lpt\u{b9}"] {
        assert!(matches!(portable_verdicts(&[(name, Kind::File)])[0], Err(Rule::NotPortable(_))), "{name}");
    }
}

#[test]
fn portable_mode_refuses_folding_collisions() {
    let v = portable_verdicts(&[("pkg/README", Kind::File), ("pkg/readme", Kind::File)]);
    assert_eq!(v[1], Err(Rule::FoldingCollision { other: 0 }));
    let v = portable_verdicts(&[("Src/a", Kind::File), ("src/b", Kind::File)]);
    assert_eq!(v[1], Err(Rule::FoldingCollision { other: 0 }));
    let v = portable_verdicts(&[("caf\u{e9}", Kind::File), ("cafe\u{301}", Kind::File)]);
    assert_eq!(v[1], Err(Rule::FoldingCollision { other: 0 }));
    // The same spelling is the ordinary duplicate rule, and an explicit
    // directory after its implicit creation is still fine.
    let v = portable_verdicts(&[("d/f", Kind::File), ("d/", Kind::Directory)]);
    assert!(v.iter().all(Result::is_ok), "{v:?}");
}

#[test]
fn portable_mode_accepts_ordinary_trees() {
    let v = portable_verdicts(&[
        ("pkg-1.0.0/", Kind::Directory),
        ("pkg-1.0.0/Cargo.toml", Kind::File),
        ("pkg-1.0.0/src/lib.rs", Kind::File),
        ("pkg-1.0.0/src/con_util.rs", Kind::File),
        ("pkg-1.0.0/.github/workflows/ci.yml", Kind::File),
    ]);
    assert!(v.iter().all(Result::is_ok), "{v:?}");
}

/// A compromised guest can send anything. Random records (paths from an
/// alphabet of separators, dots, NUL and invalid UTF-8; random kinds,
/// sizes and indices; random data lengths) must never panic the vetter,
/// and whatever it accepts must be a safe relative path.
#[test]
fn random_records_never_yield_an_unsafe_path() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: &[&[u8]] = &[b"a", b"B", b"/", b"//", b".", b"..", b"\\", b"\0", b"\xff", b"\xc3\xa9", b":", b"con"];
    let kinds = [Kind::File, Kind::Directory, Kind::Symlink, Kind::Hardlink, Kind::Fifo, Kind::Other];
    let (mut accepted_count, mut refused_count, mut faults) = (0, 0, 0);
    for round in 0..2000 {
        let links = [LinkPolicy::Refuse, LinkPolicy::Skip, LinkPolicy::Copy, LinkPolicy::CopyOrRefuse][round % 4];
        let special = if round % 5 == 0 { SpecialPolicy::Skip } else { SpecialPolicy::Refuse };
        let strip_components = round % 7 / 5;
        let options = Options { portable: round % 2 == 0, links, special, strip_components, ..Options::default() };
        let mut v = vetter(&options, true);
        let mut index = 0;
        for _ in 0..(next() % 12) {
            if next() % 4 == 0 {
                let _ = v.data((next() % 9) as usize);
                continue;
            }
            let mut path = Vec::new();
            for _ in 0..(next() % 8) {
                path.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            let kind = kinds[(next() % kinds.len() as u64) as usize];
            let mut e = raw(index, "", kind, next() % 5);
            e.path = path;
            if matches!(kind, Kind::Symlink | Kind::Hardlink) {
                let mut target = Vec::new();
                for _ in 0..(next() % 6) {
                    target.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
                }
                e.link_target = Some(target);
            }
            if next() % 10 == 0 {
                e.index = next() % 4;
            }
            match v.entry(&e, 0) {
                Ok(Ok(accepted)) => {
                    index += 1;
                    accepted_count += 1;
                    let p = &accepted.path;
                    assert!(!p.starts_with('/') && !p.contains('\0'), "{p:?}");
                    assert!(p.split('/').all(|c| c != ".." && c != "." && (p.is_empty() || !c.is_empty())), "{p:?}");
                    assert!(matches!(accepted.kind, Kind::File | Kind::Directory));
                    if options.portable {
                        assert!(!p.contains('\\') && !p.contains(':'), "{p:?}");
                    }
                }
                Ok(Err(_)) => {
                    index += 1;
                    refused_count += 1;
                }
                Err(_) => faults += 1,
            }
        }
        let _ = v.finish();
        // Whatever the links, judging never panics, and only `copy` skips,
        // only for a link's own problem.
        for outcome in judge_links(&mut v) {
            match outcome {
                Outcome::Skip(rule) => {
                    assert_eq!(links, LinkPolicy::Copy);
                    assert!(matches!(rule, Rule::Link(_)), "{rule:?}");
                }
                Outcome::Refuse(rule) => {
                    assert!(links != LinkPolicy::Copy || !matches!(rule, Rule::Link(_)), "{rule:?}");
                }
                Outcome::Copy { .. } | Outcome::NotWritten => {}
            }
        }
    }
    // The generator reaches all three outcomes.
    assert!(accepted_count > 100 && refused_count > 100 && faults > 100, "{accepted_count} {refused_count} {faults}");
}

#[test]
fn header_offsets_are_monotonic() {
    let options = Options::default();
    let mut v = vetter(&options, false);
    let mut a = raw(0, "a", Kind::File, 700);
    a.header_offset = 0;
    v.entry(&a, 0).unwrap().unwrap();
    // `a` ends at 512 + 1024: an entry starting inside it is a fault.
    let mut b = raw(1, "b", Kind::File, 0);
    b.header_offset = 1024;
    assert!(v.entry(&b, 0).is_err());
    let mut v = vetter(&options, false);
    v.entry(&a, 0).unwrap().unwrap();
    b.header_offset = 1536;
    v.entry(&b, 0).unwrap().unwrap();
}

#[test]
fn extension_headers_count_toward_the_size_limit() {
    let options = Options { max_size: Some(10_000), ..Options::default() };
    let mut v = vetter(&options, false);
    // One byte of data, 20 KB into the tar stream (after extension headers).
    let mut e = raw(0, "a", Kind::File, 1);
    e.header_offset = 20_000;
    assert_eq!(v.entry(&e, 0).unwrap(), Err(Rule::TooLarge { max: 10_000 }));
}

#[test]
fn implied_directories_count_toward_max_dirs() {
    let options = Options { max_dirs: 3, ..Options::default() };
    let v = verdicts_with(&options, &[("a/b/f", Kind::File), ("a/c/", Kind::Directory), ("a/d/g", Kind::File)]);
    assert!(v[0].is_ok() && v[1].is_ok(), "{v:?}");
    assert_eq!(v[2], Err(Rule::TooManyDirectories { max: 3 }));
    let v = verdicts_with(&options, &[("a/b/c/f", Kind::File), ("a/b/c/", Kind::Directory), ("a/", Kind::Directory)]);
    assert!(v.iter().all(Result::is_ok), "an explicit entry for an implied directory is not a new one: {v:?}");
}

#[test]
fn paths_are_held_to_the_os_limits_whatever_the_options() {
    let o = Options { max_path_bytes: 100_000, max_component_bytes: 100_000, ..Options::default() };
    let long = "abcdefghi/".repeat(409) + "abcdef";
    assert_eq!(long.len(), 4096);
    assert_eq!(normalize(long.as_bytes(), Kind::File, &o), Err(Rule::PathTooLong { len: 4096, max: 4095 }));
    assert!(normalize(&long.as_bytes()[1..], Kind::File, &o).is_ok());
    let wide = vec![b'w'; 256];
    assert_eq!(normalize(&wide, Kind::File, &o), Err(Rule::ComponentTooLong { len: 256, max: 255 }));
}

#[test]
fn protocol_faults() {
    let options = Options::default();
    let mut v = vetter(&options, true);
    assert!(v.entry(&raw(1, "a", Kind::File, 0), 0).is_err(), "index skipped");
    let mut v = vetter(&options, true);
    v.entry(&raw(0, "a", Kind::File, 4), 0).unwrap().unwrap();
    assert!(v.data(5).is_err(), "more data than declared");
    v.data(4).unwrap();
    assert!(v.data(1).is_err(), "data after the end");
    let mut v = vetter(&options, true);
    v.entry(&raw(0, "a", Kind::File, 4), 0).unwrap().unwrap();
    assert!(v.entry(&raw(1, "b", Kind::File, 0), 0).is_err(), "entry inside data");
    assert!(v.finish().is_err(), "ended inside data");
    let mut v = vetter(&options, true);
    assert!(v.entry(&raw(0, "d", Kind::Directory, 3), 0).is_err(), "directory with data");
}

/// The link phase runs under the run's deadline: judging links past it
/// ends with the timeout, within a thousand steps, whatever is left to do.
#[test]
fn the_link_phase_stops_at_the_deadline() {
    let options = Options { links: LinkPolicy::Copy, max_size: Some(u64::MAX), ..Options::default() };
    let mut v = vetter(&options, false);
    let mut index = 0;
    v.entry(&raw(index, "d/", Kind::Directory, 0), 0).unwrap().unwrap();
    for i in 0..3000 {
        index += 1;
        v.entry(&raw(index, &format!("d/f{i}"), Kind::File, 0), 0).unwrap().unwrap();
    }
    for i in 0..10 {
        index += 1;
        let mut link = raw(index, &format!("l{i}"), Kind::Symlink, 0);
        link.link_target = Some(b"d".to_vec());
        v.entry(&link, 0).unwrap().unwrap();
    }
    let mut phase = v.link_phase().unwrap();
    let mut past = Ticker::new(Deadline::after(std::time::Duration::ZERO));
    let error = phase.judge(0, true, &mut past).unwrap_err();
    assert!(matches!(error, Error::Sandbox(crate::SandboxFault::Timeout)), "{error:?}");
    // With time left, the same link is a copy of 3,001 names.
    let mut ticker = Ticker::new(Deadline::after(std::time::Duration::from_secs(60)));
    assert!(matches!(phase.judge(0, true, &mut ticker).unwrap(), Outcome::Copy { entries: 3001, .. }));
}
