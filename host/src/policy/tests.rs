//! The policy's unit tests: names, namespaces, limits, sequencing, links.

use super::*;

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
    let mut v = Vetter::new(options, false).unwrap();
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
    let mut v = Vetter::new(&options, false).unwrap();
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
    let mut v = Vetter::new(&options, false).unwrap();
    let mut refused = raw(0, "d/x", Kind::File, 0);
    refused.refusal = Some("guest says no".into());
    assert!(v.entry(&refused, 0).unwrap().is_err());
    let later = v.entry(&raw(1, "d/y", Kind::File, 0), 0).unwrap().unwrap();
    assert_eq!(later.new_parent_paths(), ["d"]);
    // And the refused name itself is free.
    assert!(v.entry(&raw(2, "d/x", Kind::File, 0), 0).unwrap().is_ok());
}

/// Under `--links copy` and `copy-or-refuse` the names kept to resolve
/// links are bounded: an archive of long names is refused once they pass
/// `MAX_LINK_STATE_BYTES`, not held. The same archive without copying
/// keeps no names and is accepted.
#[test]
fn the_names_kept_for_link_copies_are_bounded() {
    let base: String = (0..15).map(|i| format!("{}{i:03}/", "d".repeat(246))).collect();
    let count = |links: LinkPolicy| {
        // raw() puts headers 1 MiB apart: no size limit here.
        let options = Options { links, max_size: Some(u64::MAX), ..Options::default() };
        let mut v = Vetter::new(&options, false).unwrap();
        for i in 0..40_000u64 {
            let path = format!("{base}f{i}");
            match v.entry(&raw(i, &path, Kind::File, 0), 0).unwrap() {
                Ok(_) => {}
                Err(rule) => return Err((i, rule)),
            }
        }
        Ok(v.link_bytes)
    };
    assert_eq!(count(LinkPolicy::Skip), Ok(0));
    let (at, rule) = count(LinkPolicy::Copy).expect_err("40,000 names of 3,700 bytes are refused");
    assert_eq!(rule, Rule::TooManyNames { max: MAX_LINK_STATE_BYTES });
    assert!(rule.is_archive_wide());
    // Each name costs its path twice (name and output) plus a node.
    let per_name = 2 * (base.len() + 6) as u64;
    assert!(at > MAX_LINK_STATE_BYTES / (per_name + 200) && at < MAX_LINK_STATE_BYTES / per_name + 1, "{at}");
    // The limit is archive-wide: the strict policy stops at the same entry.
    assert_eq!(count(LinkPolicy::CopyOrRefuse), Err((at, rule)));
}

/// A link bomb whose copies would take more memory to plan than
/// `MAX_LINK_STATE_BYTES` is refused while counting, before any plan is
/// kept; it is within every other limit (its 400 copies of 1,000 empty
/// files are 400,400 entries). The limit is archive-wide: `copy` refuses
/// the bomb exactly as `copy-or-refuse` does, never trims it.
#[test]
fn the_paths_planned_for_link_copies_are_bounded() {
    for links in [LinkPolicy::Copy, LinkPolicy::CopyOrRefuse] {
        the_paths_planned_for_link_copies_are_bounded_under(links);
    }
}

fn the_paths_planned_for_link_copies_are_bounded_under(links: LinkPolicy) {
    let options = Options { links, max_size: Some(u64::MAX), ..Options::default() };
    let mut v = Vetter::new(&options, false).unwrap();
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
    v.finish().unwrap();
    let verdicts = v.resolve_links();
    assert_eq!(verdicts.len(), 400);
    let refused: Vec<_> =
        verdicts.iter().enumerate().filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e))).collect();
    assert_eq!(refused.len(), 1, "one archive-wide refusal under {links:?}");
    let (at, (_, _, rule)) = refused[0];
    assert_eq!(*rule, Rule::TooManyNames { max: MAX_LINK_STATE_BYTES });
    // About 490 KB of paths per copy: refused near 192 MiB of them.
    assert!((300..400).contains(&at), "refused at link {at} under {links:?}");
    let planned: usize = verdicts.iter().flatten().map(|c| c.ops.len()).sum();
    assert_eq!(planned, at * 1001, "the links before it are planned, none after");
    assert!(verdicts.iter().flatten().all(|c| c.skipped.is_none()), "nothing trimmed under {links:?}");
}

#[test]
fn entry_and_size_limits() {
    let options = Options { max_entries: 1, max_size: Some(10), ..Options::default() };
    let mut v = Vetter::new(&options, false).unwrap();
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
    let alphabet: &[&[u8]] =
        &[b"a", b"B", b"/", b"//", b".", b"..", b"\\", b"\0", b"\xff", b"\xc3\xa9", b":", b"con"];
    let kinds = [Kind::File, Kind::Directory, Kind::Symlink, Kind::Hardlink, Kind::Fifo, Kind::Other];
    let (mut accepted_count, mut refused_count, mut faults) = (0, 0, 0);
    for round in 0..2000 {
        let links = [LinkPolicy::Refuse, LinkPolicy::Skip, LinkPolicy::Copy, LinkPolicy::CopyOrRefuse][round % 4];
        let special = if round % 5 == 0 { SpecialPolicy::Skip } else { SpecialPolicy::Refuse };
        let strip_components = round % 7 / 5;
        let options = Options { portable: round % 2 == 0, links, special, strip_components, ..Options::default() };
        let mut v = Vetter::new(&options, true).unwrap();
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
                    assert!(
                        p.split('/').all(|c| c != ".." && c != "." && (p.is_empty() || !c.is_empty())),
                        "{p:?}"
                    );
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
        // Whatever the links, resolving never panics and every copy
        // stays on names the archive wrote. Only `copy` skips, only for a
        // link's own problem, and a skipped link writes nothing.
        for verdict in v.resolve_links() {
            if let Err((_, _, rule)) = &verdict {
                assert!(links != LinkPolicy::Copy || !matches!(rule, Rule::Link(_)), "{rule:?}");
            }
            let Ok(copy) = verdict else { continue };
            if let Some(skip) = &copy.skipped {
                assert_eq!(links, LinkPolicy::Copy);
                assert!(matches!(skip.rule, Rule::Link(_)) && copy.ops.is_empty(), "{skip:?}");
            }
            for op in copy.ops {
                let (CopyOp::Dir { path: p, .. } | CopyOp::File { to: p, .. }) = op;
                assert!(!p.starts_with('/') && p.split('/').all(|c| !c.is_empty() && c != ".." && c != "."));
            }
        }
    }
    // The generator reaches all three outcomes.
    assert!(
        accepted_count > 100 && refused_count > 100 && faults > 100,
        "{accepted_count} {refused_count} {faults}"
    );
}

#[test]
fn header_offsets_are_monotonic() {
    let options = Options::default();
    let mut v = Vetter::new(&options, false).unwrap();
    let mut a = raw(0, "a", Kind::File, 700);
    a.header_offset = 0;
    v.entry(&a, 0).unwrap().unwrap();
    // `a` ends at 512 + 1024: an entry starting inside it is a fault.
    let mut b = raw(1, "b", Kind::File, 0);
    b.header_offset = 1024;
    assert!(v.entry(&b, 0).is_err());
    let mut v = Vetter::new(&options, false).unwrap();
    v.entry(&a, 0).unwrap().unwrap();
    b.header_offset = 1536;
    v.entry(&b, 0).unwrap().unwrap();
}

#[test]
fn extension_headers_count_toward_the_size_limit() {
    let options = Options { max_size: Some(10_000), ..Options::default() };
    let mut v = Vetter::new(&options, false).unwrap();
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
    let v =
        verdicts_with(&options, &[("a/b/c/f", Kind::File), ("a/b/c/", Kind::Directory), ("a/", Kind::Directory)]);
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
    let mut v = Vetter::new(&options, true).unwrap();
    assert!(v.entry(&raw(1, "a", Kind::File, 0), 0).is_err(), "index skipped");
    let mut v = Vetter::new(&options, true).unwrap();
    v.entry(&raw(0, "a", Kind::File, 4), 0).unwrap().unwrap();
    assert!(v.data(5).is_err(), "more data than declared");
    v.data(4).unwrap();
    assert!(v.data(1).is_err(), "data after the end");
    let mut v = Vetter::new(&options, true).unwrap();
    v.entry(&raw(0, "a", Kind::File, 4), 0).unwrap().unwrap();
    assert!(v.entry(&raw(1, "b", Kind::File, 0), 0).is_err(), "entry inside data");
    assert!(v.finish().is_err(), "ended inside data");
    let mut v = Vetter::new(&options, true).unwrap();
    assert!(v.entry(&raw(0, "d", Kind::Directory, 3), 0).is_err(), "directory with data");
}
