//! The host policy on records from a compromised guest: any sequence of
//! entries (any index, path bytes, kind, size, guest verdict) and data
//! events. The policy must never panic, and everything it accepts must be
//! safe to create: a relative UTF-8 path within the limits, no `..`, `.` or
//! empty components, no NUL, only files and directories, never a path twice,
//! never below a file, never a file where a directory was.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use sealtar::Kind;
use sealtar::fuzzing::{Event, vet};

fuzz_target!(|data: &[u8]| run(data));

/// Pieces paths are built from, so that short inputs reach the interesting
/// shapes; a piece index past the table takes a raw byte instead.
const PIECES: &[&[u8]] = &[
    b"a", b"B", b"/", b"//", b".", b"..", b"./", b"../", b"\\", b"\0", b"\xff", b"\xc3\xa9", b"e\xcc\x81", b":", b"con",
    b"CON", b".sealtar-staging-1", b" ", b"~1", b"\xe2\x80\x8b", b"A", b"b",
];

const KINDS: [Kind; 8] =
    [Kind::File, Kind::Directory, Kind::Symlink, Kind::Hardlink, Kind::CharDevice, Kind::BlockDevice, Kind::Fifo, Kind::Other];

fn run(data: &[u8]) {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let Some(setup) = next() else { return };
    let mut options = sealtar::Options::default();
    options.cache_dir = None;
    options.portable = setup & 1 != 0;
    let with_data = setup & 2 != 0;
    if setup & 4 != 0 {
        // Small limits, so that they are reached.
        options.max_depth = 3;
        options.max_path_bytes = 12;
        options.max_component_bytes = 5;
        options.max_entries = 6;
        options.max_size = Some(7);
    }
    let mut events = Vec::new();
    let mut index = 0u64;
    while let Some(op) = next() {
        if op % 7 == 0 {
            events.push(Event::Data(usize::from(next().unwrap_or(0) % 9)));
            continue;
        }
        let mut path = Vec::new();
        for _ in 0..next().unwrap_or(0) % 12 {
            let p = usize::from(next().unwrap_or(0));
            match PIECES.get(p) {
                Some(piece) => path.extend_from_slice(piece),
                None => path.push(next().unwrap_or(0)),
            }
        }
        let kind = KINDS[usize::from(op >> 3) % KINDS.len()];
        let size = u64::from(next().unwrap_or(0) % 5);
        let e = if op % 11 == 0 { u64::from(next().unwrap_or(0) % 4) } else { index };
        index += 1;
        events.push(Event::Entry { index: e, path, kind, size, mode: 0o644, guest_refusal: op % 13 == 0 });
    }

    let accepted = vet(&options, with_data, &events);

    // path -> is a directory (explicit or implied)
    let mut seen: HashMap<String, bool> = HashMap::new();
    for a in &accepted {
        let p = &a.path;
        assert!(matches!(a.kind, Kind::File | Kind::Directory), "{a:?}");
        assert!(!p.starts_with('/') && !p.contains('\0'), "{p:?}");
        assert!(p.len() <= options.max_path_bytes, "{p:?}");
        if p.is_empty() {
            assert_eq!(a.kind, Kind::Directory, "an empty path that is not the root directory");
            continue;
        }
        let components: Vec<&str> = p.split('/').collect();
        assert!(components.len() <= options.max_depth, "{p:?}");
        assert!(!components[0].starts_with(".sealtar-staging-"), "{p:?}");
        for c in &components {
            assert!(!c.is_empty() && *c != "." && *c != "..", "{p:?}");
            assert!(c.len() <= options.max_component_bytes, "{p:?}");
            if options.portable {
                assert!(!c.contains('\\') && !c.contains(':'), "{p:?}");
            }
        }
        // Every parent is a directory; new parents are exactly the ones not
        // seen before, outermost first.
        let mut expected_new = Vec::new();
        for i in 1..components.len() {
            let parent = components[..i].join("/");
            match seen.get(&parent) {
                Some(true) => {}
                Some(false) => panic!("{p:?} accepted below the file {parent:?}"),
                None => expected_new.push(parent),
            }
        }
        assert_eq!(a.new_parents, expected_new, "{p:?}");
        for parent in &a.new_parents {
            seen.insert(parent.clone(), true);
        }
        let is_dir = a.kind == Kind::Directory;
        match seen.get(p.as_str()) {
            None => {}
            Some(true) if is_dir && a.already_made => {}
            Some(_) => panic!("{p:?} accepted twice, or as a file where a directory was"),
        }
        seen.insert(p.clone(), is_dir);
    }
}
