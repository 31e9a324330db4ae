//! The host's policy: every path rule and every limit, applied to each record
//! the guest returns as if the guest were compromised.
//!
//! The guest's own verdict is only ever a reason to refuse, never a reason to
//! accept. Sequencing is checked too: an entry index out of order, data for a
//! member that has none, or more data than declared is a protocol fault.

use crate::error::Error;
use crate::kind::Kind;
use crate::options::Options;
use crate::portable;
use crate::rule::Rule;
use crate::sandbox::RawEntry;
use crate::seen::{NodeId, ROOT, Tree};

/// Names starting with this are sealtar's staging directories; an archive may
/// not use them at its top level, or a later run would clean them up.
pub const STAGING_PREFIX: &str = ".sealtar-staging-";

/// The longest path the operating system opens: Linux's `PATH_MAX` is 4096
/// bytes *including* the terminating NUL. Paths are checked against this
/// whatever [`Options::max_path_bytes`] says, so that `check` never accepts
/// a path that `extract` cannot create.
pub const OS_PATH_MAX: usize = 4095;

/// The longest component the operating system stores: `NAME_MAX` on every
/// common file system.
pub const OS_NAME_MAX: usize = 255;

/// Size of a tar header block.
const BLOCK: u64 = 512;

/// An entry the policy accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Normalized path: components joined by `/`, no `.`, no empty
    /// components. Empty for the archive's root directory (`./`).
    pub path: String,
    /// File or directory.
    pub kind: Kind,
    /// How many of the path's parent directories no earlier entry created
    /// (the innermost ones).
    pub new_parents: usize,
    /// For a directory: an earlier entry already implied it, so it exists.
    pub already_made: bool,
}

impl Accepted {
    /// The parent directories no earlier entry created, outermost first.
    pub fn new_parent_paths(&self) -> Vec<&str> {
        let slashes: Vec<usize> = self.path.match_indices('/').map(|(i, _)| i).collect();
        slashes[slashes.len() - self.new_parents..].iter().map(|&i| &self.path[..i]).collect()
    }

    /// The path of the deepest parent that already existed ("" for the top).
    pub fn existing_parent(&self) -> &str {
        let mut cut = self.path.len();
        for _ in 0..=self.new_parents {
            cut = self.path[..cut].rfind('/').unwrap_or(0);
        }
        &self.path[..cut]
    }
}

/// Flags of a node in the tree of seen paths.
const DIR: u8 = 1;
const EXPLICIT: u8 = 2;

/// Checks a stream of records.
pub struct Vetter<'o> {
    options: &'o Options,
    with_data: bool,
    /// Every path used so far: the node's value is the entry that named it.
    seen: Tree,
    /// Directories in the tree (explicit and implied).
    dirs: u64,
    /// Portable mode: the same tree with each component folded (case,
    /// Unicode normalization); a node's value is the `seen` node it stands
    /// for, to catch names that one file system would merge.
    folded: Tree,
    next_index: u64,
    /// Where the next entry's first header may start at the earliest.
    next_offset: u64,
    /// Bytes counted against the size limit: the tar stream up to the end
    /// of the current entry's data (headers, extension headers, padding and
    /// data), and never less than the sum of the declared sizes.
    counted: u64,
    declared: u64,
    data_left: u64,
}

impl<'o> Vetter<'o> {
    /// A vetter for one archive. `with_data`: whether file data is expected.
    pub fn new(options: &'o Options, with_data: bool) -> Self {
        Vetter {
            options,
            with_data,
            seen: Tree::new(),
            dirs: 0,
            folded: Tree::new(),
            next_index: 0,
            next_offset: 0,
            counted: 0,
            declared: 0,
            data_left: 0,
        }
    }

    /// Judges one entry. `compressed` is how much input has been read so far
    /// (for the size ratio). `Err` is a protocol fault; `Ok(Err(rule))` a
    /// refusal.
    pub fn entry(&mut self, raw: &RawEntry, compressed: u64) -> Result<Result<Accepted, Rule>, Error> {
        if raw.index != self.next_index {
            return Err(Error::protocol(format!("entry index {} where {} was due", raw.index, self.next_index)));
        }
        if self.data_left != 0 {
            return Err(Error::protocol(format!("entry {} began before the previous file's data ended", raw.index)));
        }
        let header_only = !matches!(raw.kind, Kind::File | Kind::Other);
        if header_only && raw.size != 0 {
            return Err(Error::protocol(format!("{} entry {} declares data", raw.kind, raw.index)));
        }
        // Headers follow each other: an entry starts after the previous
        // one's header and padded data.
        if raw.header_offset < self.next_offset {
            return Err(Error::protocol(format!(
                "entry {} starts at byte {} of the tar stream, inside the previous entry (which ends at {})",
                raw.index, raw.header_offset, self.next_offset
            )));
        }
        self.next_offset =
            raw.header_offset.saturating_add(BLOCK).saturating_add(raw.size.div_ceil(BLOCK).saturating_mul(BLOCK));
        self.next_index += 1;
        self.data_left = if self.with_data && raw.kind == Kind::File { raw.size } else { 0 };

        if self.next_index > self.options.max_entries {
            return Ok(Err(Rule::TooManyEntries { max: self.options.max_entries }));
        }
        // Extension headers (PAX `x` and `g`, GNU `L` and `K`) cost as much
        // to read as data: the tar stream consumed so far counts.
        self.declared = self.declared.saturating_add(raw.size);
        let stream = raw.header_offset.saturating_add(BLOCK).saturating_add(raw.size);
        self.counted = self.counted.max(stream).max(self.declared);
        let limit = self.options.size_limit(compressed);
        if self.counted > limit {
            return Ok(Err(Rule::TooLarge { max: limit }));
        }
        if !matches!(raw.kind, Kind::File | Kind::Directory) {
            return Ok(Err(Rule::ForbiddenKind(raw.kind)));
        }
        let components = match normalize(&raw.path, raw.kind, self.options) {
            Ok(c) => c,
            Err(rule) => return Ok(Err(rule)),
        };
        let verdict = self.place(raw.index, &components, raw.kind == Kind::Directory);
        Ok(match (verdict, &raw.refusal) {
            (Ok(_), Some(why)) => Err(Rule::GuestVerdict(why.clone())),
            (v, _) => v,
        })
    }

    /// Accounts for a chunk of file data.
    pub fn data(&mut self, len: usize) -> Result<(), Error> {
        let len = len as u64;
        if len == 0 || len > self.data_left {
            return Err(Error::protocol(format!("{len} bytes of data where {} were due", self.data_left)));
        }
        self.data_left -= len;
        Ok(())
    }

    /// Whether the current file still expects data.
    pub fn data_pending(&self) -> bool {
        self.data_left != 0
    }

    /// Checks that the stream ended where it may.
    pub fn finish(&self) -> Result<(), Error> {
        if self.data_left != 0 {
            return Err(Error::protocol("the archive ended inside a file's data"));
        }
        Ok(())
    }

    /// One path, one meaning: checks `components` against earlier entries and
    /// records it if accepted. Nothing is recorded for a refused entry.
    fn place(&mut self, index: u64, components: &[&str], is_dir: bool) -> Result<Accepted, Rule> {
        let kind = if is_dir { Kind::Directory } else { Kind::File };
        let Some((last, parents)) = components.split_last() else {
            // `./` or `.`: the destination itself, which exists.
            return Ok(Accepted { path: String::new(), kind, new_parents: 0, already_made: true });
        };
        // The parents that exist already, outermost first.
        let mut existing: Vec<NodeId> = Vec::with_capacity(components.len());
        let mut at = ROOT;
        for component in parents {
            let Some(node) = self.seen.find(at, component) else { break };
            if self.seen.flags(node) & DIR == 0 {
                return Err(Rule::FileDirectoryConflict { other: self.seen.value(node) });
            }
            existing.push(node);
            at = node;
        }
        let new_parents = parents.len() - existing.len();
        let mut already_made = false;
        let found = if new_parents == 0 { self.seen.find(at, last) } else { None };
        if let Some(node) = found {
            let flags = self.seen.flags(node);
            let other = self.seen.value(node);
            match (flags & DIR != 0, is_dir) {
                (true, true) if flags & EXPLICIT == 0 => already_made = true,
                (true, false) | (false, true) => return Err(Rule::FileDirectoryConflict { other }),
                _ => return Err(Rule::Duplicate { first: other }),
            }
            existing.push(node);
            at = node;
        }
        let new_dirs = new_parents as u64 + u64::from(is_dir && found.is_none());
        if self.dirs.saturating_add(new_dirs) > self.options.max_dirs {
            return Err(Rule::TooManyDirectories { max: self.options.max_dirs });
        }
        if self.options.portable {
            self.check_folding(components, &existing)?;
        }
        // Accepted: record it.
        for (i, component) in components.iter().enumerate().skip(existing.len()) {
            let flags = if i + 1 < components.len() || is_dir { DIR } else { 0 };
            let flags = if i + 1 == components.len() { flags | EXPLICIT } else { flags };
            at = self.seen.insert(at, component, index, flags).ok_or(Rule::TooManyEntries { max: index })?;
            existing.push(at);
        }
        if already_made {
            self.seen.set(at, index, DIR | EXPLICIT);
        }
        self.dirs += new_dirs;
        if self.options.portable {
            let mut f = ROOT;
            for (component, &node) in components.iter().zip(&existing) {
                let key = portable::fold(component);
                f = match self.folded.find(f, &key) {
                    Some(f) => f,
                    None => {
                        self.folded.insert(f, &key, u64::from(node), 0).ok_or(Rule::TooManyEntries { max: index })?
                    }
                };
            }
        }
        Ok(Accepted { path: components.join("/"), kind, new_parents, already_made })
    }

    /// Portable mode: refuses a path one of whose prefixes folds to the same
    /// name as a different path seen before. `existing` holds the nodes of
    /// the prefixes that were seen already.
    fn check_folding(&self, components: &[&str], existing: &[NodeId]) -> Result<(), Rule> {
        let mut f = ROOT;
        for (i, component) in components.iter().enumerate() {
            let key = portable::fold(component);
            // A folded name folds to itself, but a component longer than
            // 255 bytes once folded cannot be in the tree.
            let Some(next) = self.folded.find(f, &key) else { return Ok(()) };
            let stands_for = self.folded.value(next);
            if existing.get(i).map(|&n| u64::from(n)) != Some(stands_for) {
                let node = NodeId::try_from(stands_for).unwrap_or(ROOT);
                return Err(Rule::FoldingCollision { other: self.seen.value(node) });
            }
            f = next;
        }
        Ok(())
    }

    /// The entry that first used `path` (normalized), if any.
    pub fn index_of(&self, path: &str) -> Option<u64> {
        self.seen.lookup(path.split('/')).filter(|&n| n != ROOT).map(|n| self.seen.value(n))
    }
}

/// Splits a raw path into safe components, or names the rule it breaks.
/// A leading `./` and repeated `/` are dropped; a `.` component anywhere
/// else is refused ([`Rule::DotComponent`]). The host applies this to the
/// final path on its own: it trusts no guest record.
pub fn normalize<'p>(raw: &'p [u8], kind: Kind, options: &Options) -> Result<Vec<&'p str>, Rule> {
    if raw.contains(&0) {
        return Err(Rule::NulByte);
    }
    let path = std::str::from_utf8(raw).map_err(|_| Rule::NotUtf8)?;
    let max_path = options.max_path_bytes.min(OS_PATH_MAX);
    if path.len() > max_path {
        return Err(Rule::PathTooLong { len: path.len(), max: max_path });
    }
    if path.starts_with('/') {
        return Err(Rule::AbsolutePath);
    }
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if components.contains(&"..") {
        return Err(Rule::ParentComponent);
    }
    if path.split('/').skip(1).any(|c| c == ".") {
        return Err(Rule::DotComponent);
    }
    let max_component = options.max_component_bytes.min(OS_NAME_MAX);
    if let Some(long) = components.iter().find(|c| c.len() > max_component) {
        return Err(Rule::ComponentTooLong { len: long.len(), max: max_component });
    }
    if components.len() > options.max_depth {
        return Err(Rule::TooDeep { depth: components.len(), max: options.max_depth });
    }
    for component in &components {
        if let Some(why) = portable::native_problem(component) {
            return Err(Rule::PlatformUnsafe(why));
        }
        if options.portable
            && let Some(why) = portable::component_problem(component)
        {
            return Err(Rule::NotPortable(why));
        }
    }
    if kind == Kind::File {
        if components.is_empty() {
            return Err(Rule::EmptyName);
        }
        if path.ends_with('/') {
            return Err(Rule::TrailingSlash);
        }
    }
    if components.first().is_some_and(|c| c.starts_with(STAGING_PREFIX)) {
        return Err(Rule::ReservedName);
    }
    Ok(components)
}

#[cfg(test)]
mod tests {
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
        let mut v = Vetter::new(options, false);
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
        let o = Options::default();
        assert_eq!(normalize(b"./a//b/c", Kind::File, &o).unwrap(), ["a", "b", "c"]);
        assert_eq!(normalize(b".//a", Kind::File, &o).unwrap(), ["a"]);
        assert!(normalize(b"./", Kind::Directory, &o).unwrap().is_empty());
        assert!(normalize(b".", Kind::Directory, &o).unwrap().is_empty());
        assert_eq!(normalize(b"...", Kind::File, &o).unwrap(), ["..."]);
        assert_eq!(normalize(b"a/.b/c.", Kind::Directory, &o).unwrap(), ["a", ".b", "c."]);
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
        let mut v = Vetter::new(&options, false);
        let mut e = raw(0, "fine.txt", Kind::File, 0);
        e.refusal = Some("guest says no".into());
        assert_eq!(v.entry(&e, 0).unwrap(), Err(Rule::GuestVerdict("guest says no".into())));
    }

    #[test]
    fn entry_and_size_limits() {
        let options = Options { max_entries: 1, max_size: Some(10), ..Options::default() };
        let mut v = Vetter::new(&options, false);
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
            let options = Options { portable: round % 2 == 0, ..Options::default() };
            let mut v = Vetter::new(&options, true);
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
        let mut v = Vetter::new(&options, false);
        let mut a = raw(0, "a", Kind::File, 700);
        a.header_offset = 0;
        v.entry(&a, 0).unwrap().unwrap();
        // `a` ends at 512 + 1024: an entry starting inside it is a fault.
        let mut b = raw(1, "b", Kind::File, 0);
        b.header_offset = 1024;
        assert!(v.entry(&b, 0).is_err());
        let mut v = Vetter::new(&options, false);
        v.entry(&a, 0).unwrap().unwrap();
        b.header_offset = 1536;
        v.entry(&b, 0).unwrap().unwrap();
    }

    #[test]
    fn extension_headers_count_toward_the_size_limit() {
        let options = Options { max_size: Some(10_000), ..Options::default() };
        let mut v = Vetter::new(&options, false);
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
        let mut v = Vetter::new(&options, true);
        assert!(v.entry(&raw(1, "a", Kind::File, 0), 0).is_err(), "index skipped");
        let mut v = Vetter::new(&options, true);
        v.entry(&raw(0, "a", Kind::File, 4), 0).unwrap().unwrap();
        assert!(v.data(5).is_err(), "more data than declared");
        v.data(4).unwrap();
        assert!(v.data(1).is_err(), "data after the end");
        let mut v = Vetter::new(&options, true);
        v.entry(&raw(0, "a", Kind::File, 4), 0).unwrap().unwrap();
        assert!(v.entry(&raw(1, "b", Kind::File, 0), 0).is_err(), "entry inside data");
        assert!(v.finish().is_err(), "ended inside data");
        let mut v = Vetter::new(&options, true);
        assert!(v.entry(&raw(0, "d", Kind::Directory, 3), 0).is_err(), "directory with data");
    }
}
