//! The host's policy: every path rule and every limit, applied to each record
//! the guest returns as if the guest were compromised.
//!
//! The guest's own verdict is only ever a reason to refuse, never a reason to
//! accept. Sequencing is checked too: an entry index out of order, data for a
//! member that has none, or more data than declared is a protocol fault.

use std::collections::{BTreeMap, HashMap};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::Error;
use crate::escape;
use crate::kind::Kind;
use crate::options::{LinkPolicy, MAX_LINK_HOPS, MAX_LINK_STATE_BYTES, Options, SpecialPolicy};
use crate::portable;
use crate::rule::{LinkProblem, Rule};
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

/// What the writer does with an accepted entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Write the file or directory at [`Accepted::path`].
    Write,
    /// A link or special file that the options skip.
    Skip,
    /// A link to be replaced by a copy of its target once every entry is
    /// written ([`Vetter::resolve_links`]).
    Copy,
    /// Not selected, or excluded: vetted, never written.
    Excluded,
}

/// An entry the policy accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Normalized path where the entry is written (after
    /// `strip_components`): components joined by `/`, no `.`, no empty
    /// components. Empty for the destination itself (`./`). For an excluded
    /// entry, its normalized name in the archive.
    pub path: String,
    /// What the entry is.
    pub kind: Kind,
    /// How many of the path's parent directories no earlier written entry
    /// created (the innermost ones; 0 for excluded entries).
    pub new_parents: usize,
    /// For a directory: an earlier entry already implied it, so it exists.
    pub already_made: bool,
    /// What the writer does with it.
    pub plan: Plan,
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

/// Flags of a node in a tree of seen paths.
const DIR: u8 = 1;
const EXPLICIT: u8 = 2;

/// One namespace of paths (the archive's names, or with a selection the
/// names written): every path used so far as a tree of components, the
/// directories in it, and in portable mode the same tree folded.
#[derive(Debug, Default)]
struct Namespace {
    /// Every path used so far: the node's value is the entry that named it.
    seen: Tree,
    /// Directories in the tree (explicit and implied).
    dirs: u64,
    /// Portable mode: the same tree with each component folded (case,
    /// Unicode normalization); a node's value is the `seen` node it stands
    /// for, to catch names that one file system would merge.
    folded: Tree,
}

impl Namespace {
    /// One path, one meaning: checks `components` against earlier entries
    /// and records it if accepted (nothing is recorded for a refused entry).
    /// Returns how many parents are new and whether a directory already
    /// existed (implied).
    fn place(
        &mut self,
        options: &Options,
        index: u64,
        components: &[&str],
        is_dir: bool,
    ) -> Result<(usize, bool), Rule> {
        let Some((last, parents)) = components.split_last() else {
            // `./` or `.`: the destination itself, which exists.
            return Ok((0, true));
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
        if self.dirs.saturating_add(new_dirs) > options.max_dirs {
            return Err(Rule::TooManyDirectories { max: options.max_dirs });
        }
        if options.portable {
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
        if options.portable {
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
        Ok((new_parents, already_made))
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

    /// The node of a normalized path, if it was used (not the root).
    fn node(&self, path: &str) -> Option<NodeId> {
        if path.is_empty() {
            return None;
        }
        self.seen.lookup(path.split('/')).filter(|&n| n != ROOT)
    }

    /// The entry that first used `path` (normalized), if any.
    fn index_of(&self, path: &str) -> Option<u64> {
        self.node(path).map(|n| self.seen.value(n))
    }

    /// Whether `path` (normalized, not empty) is a directory here.
    fn is_dir(&self, path: &str) -> bool {
        self.node(path).is_some_and(|n| self.seen.flags(n) & DIR != 0)
    }
}

/// One name of the archive's own namespace, kept when links are copied to
/// resolve link targets without touching the file system.
#[derive(Debug, Clone)]
struct Node {
    index: u64,
    what: What,
    /// The archive's mtime, for files and explicit directories.
    mtime: Option<i64>,
    mode: u32,
    size: u64,
    /// Where a file (or link) is written, if it is.
    out: Option<String>,
}

#[derive(Debug, Clone)]
enum What {
    File,
    Dir,
    Link { hard: bool, target: Option<Vec<u8>> },
    Special,
}

/// What one name of [`Vetter::names`] costs besides its bytes, about: the
/// node, the key's header and the map's share.
const NAME_COST: usize = size_of::<Node>() + size_of::<String>() + 16;

/// A link to resolve once the whole archive is read.
#[derive(Debug, Clone)]
struct PendingLink {
    index: u64,
    /// Its normalized name in the archive.
    path: String,
    /// Its escaped name as the archive spells it, for messages.
    shown: String,
    /// Its whole escaped name, for the report of a skipped link.
    name: String,
    /// Symbolic or hard link.
    kind: Kind,
    /// Where the copy goes, if the link is written.
    out: Option<String>,
}

/// One step of writing a link's copy. Paths are staged (output) paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOp {
    /// Make a directory; set its time at the end if the archive gave one.
    Dir {
        /// Where.
        path: String,
        /// The target directory's mode as stored (narrowed by the writer
        /// like the target's; 0o755 for an implied directory).
        mode: u32,
        /// The target directory's mtime, if it was an explicit entry.
        mtime: Option<i64>,
    },
    /// Copy a written file.
    File {
        /// The staged file to read.
        from: String,
        /// The new file.
        to: String,
        /// The target's mode as stored (narrowed by the writer like the target's).
        mode: u32,
        /// The target's mtime.
        mtime: i64,
    },
}

/// A link that `--links copy` (or `copy-or-refuse`) replaces by a copy, or
/// that `--links copy` skips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCopy {
    /// The link's entry.
    pub index: u64,
    /// The link's escaped name in the archive.
    pub shown: String,
    /// The resolved target's output path, escaped, for reports (empty for
    /// a skipped link).
    pub copy_of: String,
    /// What to write (empty if the link itself is not written, or skipped).
    pub ops: Vec<CopyOp>,
    /// Under `--links copy`: the link is written and cannot be copied, so
    /// it is skipped, for this reason (a [`Rule::Link`]).
    pub skipped: Option<LinkSkip>,
}

/// A written link that `--links copy` skips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSkip {
    /// Its whole escaped name.
    pub name: String,
    /// Symbolic or hard link.
    pub kind: Kind,
    /// Its escaped target.
    pub target: Option<String>,
    /// Why it cannot be copied.
    pub rule: Rule,
}

/// The selection options, compiled: members, `--exclude` patterns and
/// `--strip-components`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    strip: usize,
    members: Vec<Vec<String>>,
    exclude: Option<GlobSet>,
}

impl Filter {
    /// Compiles the options' selection.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a pattern that is not a glob or a member
    /// name that names nothing.
    pub fn new(options: &Options) -> Result<Filter, Error> {
        let mut members = Vec::new();
        for m in &options.members {
            let comps: Vec<String> = m.split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_string).collect();
            if comps.is_empty() {
                return Err(Error::InvalidOption(format!(
                    "member \"{}\" names no entry (use no members to extract everything)",
                    escape(m.as_bytes())
                )));
            }
            members.push(comps);
        }
        let exclude = if options.exclude.is_empty() {
            None
        } else {
            let mut set = GlobSetBuilder::new();
            for pattern in &options.exclude {
                let p = pattern.trim_end_matches('/');
                // tar's unanchored, leading-directory match with `*`
                // matching `/`: the pattern may start after any `/` and end
                // before any `/`.
                for form in [p.to_string(), format!("{p}/*"), format!("*/{p}"), format!("*/{p}/*")] {
                    let glob =
                        GlobBuilder::new(&form).literal_separator(false).backslash_escape(true).build().map_err(
                            |e| Error::InvalidOption(format!("--exclude \"{}\": {e}", escape(pattern.as_bytes()))),
                        )?;
                    set.add(glob);
                }
            }
            Some(set.build().map_err(|e| Error::InvalidOption(format!("--exclude: {e}")))?)
        };
        Ok(Filter { strip: options.strip_components, members, exclude })
    }

    fn is_active(&self) -> bool {
        self.strip != 0 || !self.members.is_empty() || self.exclude.is_some()
    }
}

/// Checks a stream of records.
pub struct Vetter<'o> {
    options: &'o Options,
    filter: Filter,
    with_data: bool,
    /// The archive's names.
    archive: Namespace,
    /// With a filter: the output namespace (after stripping), by the same
    /// rules and limits as `archive`.
    out: Namespace,
    /// Which members matched an entry.
    members_used: Vec<bool>,
    /// When links are copied: every name of the archive, sorted so that a
    /// directory's contents are one range.
    names: BTreeMap<String, Node>,
    links: Vec<PendingLink>,
    /// Bytes `names` and `links` hold, about ([`MAX_LINK_STATE_BYTES`]).
    link_bytes: u64,
    next_index: u64,
    /// Where the next entry's first header may start at the earliest.
    next_offset: u64,
    /// Bytes counted against the size limit: the tar stream up to the end
    /// of the current entry's data (headers, extension headers, padding and
    /// data), and never less than the sum of the declared sizes.
    counted: u64,
    declared: u64,
    compressed: u64,
    data_left: u64,
}

impl<'o> Vetter<'o> {
    /// A vetter for one archive. `with_data`: whether file data is expected.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] if the options' selection does not compile.
    pub fn new(options: &'o Options, with_data: bool) -> Result<Self, Error> {
        let filter = Filter::new(options)?;
        Ok(Vetter {
            options,
            members_used: vec![false; filter.members.len()],
            filter,
            with_data,
            archive: Namespace::default(),
            out: Namespace::default(),
            names: BTreeMap::new(),
            links: Vec::new(),
            link_bytes: 0,
            next_index: 0,
            next_offset: 0,
            counted: 0,
            declared: 0,
            compressed: 0,
            data_left: 0,
        })
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
        self.compressed = self.compressed.max(compressed);
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
        let plan = match raw.kind {
            Kind::File | Kind::Directory => Plan::Write,
            Kind::Symlink | Kind::Hardlink => match self.options.links {
                LinkPolicy::Skip => Plan::Skip,
                LinkPolicy::Copy | LinkPolicy::CopyOrRefuse => Plan::Copy,
                LinkPolicy::Refuse => return Ok(Err(Rule::ForbiddenKind(raw.kind))),
            },
            Kind::CharDevice | Kind::BlockDevice | Kind::Fifo => match self.options.special {
                SpecialPolicy::Skip => Plan::Skip,
                SpecialPolicy::Refuse => return Ok(Err(Rule::ForbiddenKind(raw.kind))),
            },
            Kind::Other => return Ok(Err(Rule::ForbiddenKind(raw.kind))),
        };
        let is_dir = raw.kind == Kind::Directory;
        // Links and special files are named like files: they are never
        // directories, and nothing may be written below them.
        let name_kind = if is_dir { Kind::Directory } else { Kind::File };
        let components = match normalize(&raw.path, name_kind, self.options) {
            Ok(c) => c,
            Err(rule) => return Ok(Err(rule)),
        };
        // The guest refuses every kind but files and directories. For the
        // kinds these options let through, the host's own checks decide; for
        // files and directories the guest's refusal stands. It is applied
        // before the path is placed, so that a refused entry's name and
        // parents are never recorded as seen (a later entry below them must
        // still create them).
        if plan == Plan::Write
            && let Some(why) = &raw.refusal
        {
            return Ok(Err(Rule::GuestVerdict(why.clone())));
        }
        let placed = match self.place(raw.index, &components, is_dir) {
            Ok(placed) => placed,
            Err(rule) => return Ok(Err(rule)),
        };
        if self.options.links.copies()
            && let Err(rule) = self.record_name(raw, &placed)
        {
            return Ok(Err(rule));
        }
        let accepted = if self.filter.is_active() {
            match self.select(raw.index, &components, placed, plan) {
                Ok(a) => a,
                Err(rule) => return Ok(Err(rule)),
            }
        } else {
            Accepted { plan, ..placed }
        };
        if self.options.links.copies() {
            let written = accepted.plan != Plan::Excluded;
            let archive_path = components.join("/");
            if let Some(node) = self.names.get_mut(&archive_path) {
                node.out = (written && !matches!(node.what, What::Dir)).then(|| accepted.path.clone());
                let out = node.out.as_ref().map_or(0, String::len);
                if let Err(rule) = self.charge(out) {
                    return Ok(Err(rule));
                }
            }
            if plan == Plan::Copy {
                let link = PendingLink {
                    index: raw.index,
                    path: archive_path,
                    shown: escape::escape_truncated(&raw.path, escape::SHOWN_NAME_BYTES),
                    name: escape(&raw.path),
                    kind: raw.kind,
                    out: written.then(|| accepted.path.clone()),
                };
                let cost = size_of::<PendingLink>()
                    + link.path.len()
                    + link.shown.len()
                    + link.name.len()
                    + link.out.as_ref().map_or(0, String::len);
                if let Err(rule) = self.charge(cost) {
                    return Ok(Err(rule));
                }
                self.links.push(link);
            }
        }
        Ok(Ok(accepted))
    }

    /// Counts `bytes` more of the names and paths kept for link copies
    /// against [`MAX_LINK_STATE_BYTES`].
    fn charge(&mut self, bytes: usize) -> Result<(), Rule> {
        self.link_bytes = self.link_bytes.saturating_add(bytes as u64);
        if self.link_bytes > MAX_LINK_STATE_BYTES {
            return Err(Rule::TooManyNames { max: MAX_LINK_STATE_BYTES });
        }
        Ok(())
    }

    /// Records an entry and the directories it implies in the namespace that
    /// link targets are resolved in.
    fn record_name(&mut self, raw: &RawEntry, placed: &Accepted) -> Result<(), Rule> {
        for parent in placed.new_parent_paths() {
            self.charge(NAME_COST + parent.len())?;
            self.names.insert(
                parent.to_string(),
                Node { index: raw.index, what: What::Dir, mtime: None, mode: 0o755, size: 0, out: None },
            );
        }
        let what = match raw.kind {
            Kind::File => What::File,
            Kind::Directory => What::Dir,
            Kind::Symlink | Kind::Hardlink => {
                What::Link { hard: raw.kind == Kind::Hardlink, target: raw.link_target.clone() }
            }
            _ => What::Special,
        };
        if placed.path.is_empty() {
            return Ok(());
        }
        let explicit_time = matches!(what, What::File | What::Dir).then_some(raw.mtime);
        match self.names.get_mut(&placed.path) {
            // An explicit directory after its implied creation.
            Some(node) if matches!(what, What::Dir) => {
                node.mtime = explicit_time;
                node.mode = raw.mode;
            }
            _ => {
                let target = match &what {
                    What::Link { target, .. } => target.as_ref().map_or(0, Vec::len),
                    _ => 0,
                };
                self.charge(NAME_COST + placed.path.len() + target)?;
                self.names.insert(
                    placed.path.clone(),
                    Node { index: raw.index, what, mtime: explicit_time, mode: raw.mode, size: raw.size, out: None },
                );
            }
        }
        Ok(())
    }

    /// Applies members, `--exclude` and `--strip-components` to an entry
    /// that passed every check, and places it in the output namespace.
    fn select(&mut self, index: u64, components: &[&str], placed: Accepted, plan: Plan) -> Result<Accepted, Rule> {
        let excluded = Accepted { new_parents: 0, already_made: true, plan: Plan::Excluded, ..placed };
        if !self.filter.members.is_empty() {
            let mut selected = false;
            for (m, used) in self.filter.members.iter().zip(self.members_used.iter_mut()) {
                if components.len() >= m.len() && components.iter().zip(m).all(|(c, m)| c == m) {
                    *used = true;
                    selected = true;
                }
            }
            if !selected {
                return Ok(excluded);
            }
        }
        if let Some(set) = &self.filter.exclude
            && !excluded.path.is_empty()
            && set.is_match(&excluded.path)
        {
            return Ok(excluded);
        }
        let out = &components[self.filter.strip.min(components.len())..];
        let is_dir = placed_kind_is_dir(excluded.kind);
        if out.is_empty() {
            return if is_dir {
                // The destination itself.
                Ok(Accepted { path: String::new(), new_parents: 0, already_made: true, plan, ..excluded })
            } else {
                Err(Rule::StrippedToNothing)
            };
        }
        if out[0].starts_with(STAGING_PREFIX) {
            return Err(Rule::ReservedName);
        }
        let (new_parents, already_made) = self.out.place(self.options, index, out, is_dir)?;
        Ok(Accepted { path: out.join("/"), kind: excluded.kind, new_parents, already_made, plan })
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

    /// Whether links are copied (and [`resolve_links`](Self::resolve_links)
    /// has work to do).
    pub fn copies_links(&self) -> bool {
        self.options.links.copies()
    }

    /// Members that matched no entry (escaped), once the archive is read.
    pub fn members_not_found(&self) -> Vec<String> {
        self.options
            .members
            .iter()
            .zip(&self.members_used)
            .filter(|(_, used)| !**used)
            .map(|(m, _)| escape(m.as_bytes()))
            .collect()
    }

    /// One path, one meaning: checks `components` against earlier entries and
    /// records it if accepted.
    fn place(&mut self, index: u64, components: &[&str], is_dir: bool) -> Result<Accepted, Rule> {
        let kind = if is_dir { Kind::Directory } else { Kind::File };
        let (new_parents, already_made) = self.archive.place(self.options, index, components, is_dir)?;
        Ok(Accepted { path: components.join("/"), kind, new_parents, already_made, plan: Plan::Write })
    }

    /// The entry that first used `path` (a written, normalized path), if any.
    pub fn index_of(&self, path: &str) -> Option<u64> {
        if self.filter.is_active() { self.out.index_of(path) } else { self.archive.index_of(path) }
    }

    /// Under `--links copy` (or `copy-or-refuse`), once the whole archive is
    /// read: resolves every link in the archive's namespace and plans its
    /// copy. One verdict per link, in archive order. A link that is not
    /// written is still resolved (under `copy-or-refuse`, a hostile link
    /// refuses the archive even when excluded). Under `copy`, a link's own
    /// problem ([`Rule::Link`]) makes it skipped ([`LinkCopy::skipped`])
    /// instead of refused; every other rule still refuses. The entries a
    /// skipped link's copy got through before it failed count toward the
    /// entry limit, so skips cannot multiply the work. Copies count
    /// toward the entry and size limits: the link whose copy crosses one gets
    /// that (archive-wide) rule, and later links are only resolved.
    ///
    /// # Security
    ///
    /// Nothing here touches the file system. Targets are resolved by name
    /// in the archive: absolute, Windows-form, outside, dangling, cyclic and
    /// over-long targets are never copied (skipped or refused), and neither
    /// is a hard link to a later member or a directory. A copy only ever
    /// reads files the archive itself wrote.
    pub fn resolve_links(&self) -> Vec<Result<LinkCopy, (u64, String, Rule)>> {
        let mut memo: HashMap<u64, Result<String, LinkProblem>> = HashMap::new();
        let mut memo_bytes = 0u64;
        for (path, node) in &self.names {
            if let What::Link { .. } = node.what {
                let resolved = self.resolve(node.index, path);
                memo_bytes +=
                    (size_of::<(u64, Result<String, LinkProblem>)>() + resolved.as_ref().map_or(0, String::len)) as u64;
                memo.insert(node.index, resolved);
            }
        }
        let written = if self.filter.is_active() { &self.out } else { &self.archive };
        let mut budget = Budget {
            entries: self.next_index,
            bytes: self.counted,
            dirs: written.dirs,
            max_entries: self.options.max_entries,
            max_bytes: self.options.size_limit(self.compressed),
            max_dirs: self.options.max_dirs,
            names: self.link_bytes.saturating_add(memo_bytes),
            exhausted: false,
        };
        let skips = self.options.links == LinkPolicy::Copy;
        let mut out = Vec::new();
        for link in &self.links {
            // Under `copy`, a link's own problem skips it (or, for a
            // link not written, is no problem at all); any other rule
            // refuses the archive.
            let refuse = |rule: Rule| match rule {
                Rule::Link(_) if skips => Ok(LinkCopy {
                    index: link.index,
                    shown: link.shown.clone(),
                    copy_of: String::new(),
                    ops: Vec::new(),
                    skipped: link.out.as_ref().map(|_| LinkSkip {
                        name: link.name.clone(),
                        kind: link.kind,
                        // Escaped only for the links skipped.
                        target: match self.names.get(&link.path) {
                            Some(Node { what: What::Link { target, .. }, .. }) => target.as_deref().map(escape),
                            _ => None,
                        },
                        rule,
                    }),
                }),
                rule => Err((link.index, link.shown.clone(), rule)),
            };
            if !budget.exhausted
                && let Err(rule) = budget.add_names(0)
            {
                budget.exhausted = true;
                out.push(refuse(rule));
                continue;
            }
            let resolved = match memo.get(&link.index) {
                Some(Ok(r)) => r.clone(),
                Some(Err(problem)) => {
                    out.push(refuse(Rule::Link(problem.clone())));
                    continue;
                }
                None => {
                    out.push(refuse(Rule::Link(LinkProblem::Dangling)));
                    continue;
                }
            };
            let copy_of = match self.output_of(&resolved) {
                Some(p) => escape(p.as_bytes()),
                None if link.out.is_none() => escape(resolved.as_bytes()),
                None => {
                    out.push(refuse(Rule::Link(LinkProblem::NotExtracted)));
                    continue;
                }
            };
            let mut ops = Vec::new();
            if let Some(to) = &link.out
                && !budget.exhausted
            {
                // Count first, then plan: a link bomb is refused before its
                // copies take any memory.
                let mut trial = budget.clone();
                let mut counted = self.expand(&memo, &link.path, &resolved, to, &mut Vec::new(), &mut trial, &mut None);
                if counted.is_ok() {
                    counted = self.expand(
                        &memo,
                        &link.path,
                        &resolved,
                        to,
                        &mut Vec::new(),
                        &mut budget,
                        &mut Some(&mut ops),
                    );
                }
                if let Err(rule) = counted {
                    if rule.is_archive_wide() {
                        budget.exhausted = true;
                    }
                    // A skipped link's attempted copy still counts toward
                    // the entry limit: many links that each expand a big
                    // tree before failing must not cost unbounded work.
                    if skips && matches!(rule, Rule::Link(_)) {
                        budget.entries = trial.entries;
                    }
                    out.push(refuse(rule));
                    continue;
                }
            } else if let Some(problem) = self.cycle(&link.path, &resolved, &[]) {
                out.push(refuse(Rule::Link(problem)));
                continue;
            }
            out.push(Ok(LinkCopy { index: link.index, shown: link.shown.clone(), copy_of, ops, skipped: None }));
        }
        out
    }

    /// Resolves the link named `path` (entry `index`) to the archive path of
    /// a regular file or directory (`""` for the archive's root).
    fn resolve(&self, index: u64, path: &str) -> Result<String, LinkProblem> {
        let Some(Node { what: What::Link { hard, target }, .. }) = self.names.get(path) else {
            return Err(LinkProblem::Dangling);
        };
        let is_hard = *hard;
        let mut stack: Vec<&str> = if is_hard { Vec::new() } else { path.split('/').collect() };
        stack.pop();
        // The remaining components, the next one last.
        let mut pending: Vec<&str> = target_components(target.as_deref())?;
        let mut followed: Vec<u64> = vec![index];
        let mut repeated = false;
        while let Some(c) = pending.pop() {
            match c {
                "" | "." => continue,
                ".." => {
                    if stack.pop().is_none() {
                        return Err(LinkProblem::Outside);
                    }
                    continue;
                }
                _ => stack.push(c),
            }
            let Some(node) = self.names.get(&stack.join("/")) else {
                return Err(LinkProblem::Dangling);
            };
            match &node.what {
                What::Dir => {}
                What::File if pending.is_empty() => {}
                // A file or device used as a directory.
                What::File => return Err(LinkProblem::Dangling),
                What::Special if pending.is_empty() => return Err(LinkProblem::NotFileOrDirectory),
                What::Special => return Err(LinkProblem::Dangling),
                What::Link { hard, target } => {
                    repeated |= followed.contains(&node.index);
                    followed.push(node.index);
                    if followed.len() > MAX_LINK_HOPS + 1 {
                        return Err(if repeated {
                            LinkProblem::Cycle
                        } else {
                            LinkProblem::ChainTooLong { max: MAX_LINK_HOPS }
                        });
                    }
                    stack.pop();
                    if *hard {
                        stack.clear();
                    }
                    pending.extend(target_components(target.as_deref())?);
                }
            }
        }
        let resolved = stack.join("/");
        match self.names.get(&resolved) {
            None if resolved.is_empty() && is_hard => Err(LinkProblem::HardlinkToDirectory),
            None if resolved.is_empty() => Ok(resolved),
            None => Err(LinkProblem::Dangling),
            Some(Node { what: What::Dir, .. }) if is_hard => Err(LinkProblem::HardlinkToDirectory),
            Some(Node { index: target, what: What::File, .. }) if is_hard && *target > index => {
                Err(LinkProblem::LaterEntry { target: *target })
            }
            Some(Node { what: What::File | What::Dir, .. }) => Ok(resolved),
            Some(_) => Err(LinkProblem::NotFileOrDirectory),
        }
    }

    /// Where an archive path is written, if it is: a file's output path, or
    /// a directory's if the output namespace has it.
    fn output_of(&self, archive_path: &str) -> Option<String> {
        match self.names.get(archive_path) {
            Some(Node { what: What::File, out, .. }) => out.clone(),
            Some(Node { what: What::Dir, .. }) => self.dir_output(archive_path),
            None if archive_path.is_empty() => self.dir_output(archive_path),
            _ => None,
        }
    }

    fn dir_output(&self, archive_path: &str) -> Option<String> {
        if !self.filter.is_active() {
            return Some(archive_path.to_string());
        }
        let comps: Vec<&str> = archive_path.split('/').filter(|c| !c.is_empty()).collect();
        let out = comps.get(self.filter.strip..)?.join("/");
        // A directory stripped to the destination itself holds everything
        // written: never a copy source.
        if out.is_empty() {
            return None;
        }
        self.out.is_dir(&out).then_some(out)
    }

    /// A directory copy of `resolved` for the link `link_path` would contain
    /// one of the links being copied (`stack`, or the link itself): endless.
    fn cycle(&self, link_path: &str, resolved: &str, stack: &[String]) -> Option<LinkProblem> {
        if !matches!(self.names.get(resolved), Some(Node { what: What::Dir, .. })) && !resolved.is_empty() {
            return None;
        }
        let inside = |p: &str| resolved.is_empty() || p.strip_prefix(resolved).is_some_and(|r| r.starts_with('/'));
        (inside(link_path) || stack.iter().any(|p| inside(p))).then_some(LinkProblem::Cycle)
    }

    /// Plans the copy of `resolved` (an archive path) at `to` (an output
    /// path), expanding links inside copied directories. With `ops` `None`,
    /// only checks and counts.
    #[allow(clippy::too_many_arguments)]
    fn expand(
        &self,
        memo: &HashMap<u64, Result<String, LinkProblem>>,
        link_path: &str,
        resolved: &str,
        to: &str,
        stack: &mut Vec<String>,
        budget: &mut Budget,
        ops: &mut Option<&mut Vec<CopyOp>>,
    ) -> Result<(), Rule> {
        // Every planned step's paths count against the names limit, when
        // counting as when planning: the plan is held until it is written.
        let push = |ops: &mut Option<&mut Vec<CopyOp>>, budget: &mut Budget, op: CopyOp| {
            let paths = match &op {
                CopyOp::Dir { path, .. } => path.len(),
                CopyOp::File { from, to, .. } => from.len() + to.len(),
            };
            budget.add_names(size_of::<CopyOp>() + paths)?;
            if let Some(ops) = ops.as_deref_mut() {
                ops.push(op);
            }
            Ok::<(), Rule>(())
        };
        if let Some(problem) = self.cycle(link_path, resolved, stack) {
            return Err(Rule::Link(problem));
        }
        if stack.len() >= MAX_LINK_HOPS {
            return Err(Rule::Link(LinkProblem::ChainTooLong { max: MAX_LINK_HOPS }));
        }
        let from = self.output_of(resolved).ok_or(Rule::Link(LinkProblem::NotExtracted))?;
        self.check_output_path(to)?;
        let node = self.names.get(resolved);
        if let Some(Node { what: What::File, mtime, mode, size, .. }) = node {
            budget.add(1, *size, 0)?;
            push(ops, budget, CopyOp::File { from, to: to.to_string(), mode: *mode, mtime: mtime.unwrap_or(0) })?;
            return Ok(());
        }
        budget.add(1, 0, 1)?;
        let mode = node.map_or(0o755, |n| n.mode);
        push(ops, budget, CopyOp::Dir { path: to.to_string(), mode, mtime: node.and_then(|n| n.mtime) })?;
        stack.push(link_path.to_string());
        let (lo, hi) = if resolved.is_empty() {
            (String::new(), String::from("\u{10ffff}"))
        } else {
            (format!("{resolved}/"), format!("{resolved}0"))
        };
        for (path, node) in self.names.range(lo..hi) {
            let rel = &path[if resolved.is_empty() { 0 } else { resolved.len() + 1 }..];
            let child_to = format!("{to}/{rel}");
            match &node.what {
                What::Dir => {
                    if self.output_of(path).is_some() {
                        self.check_output_path(&child_to)?;
                        budget.add(1, 0, 1)?;
                        push(ops, budget, CopyOp::Dir { path: child_to, mode: node.mode, mtime: node.mtime })?;
                    }
                }
                What::File => {
                    if let Some(from) = &node.out {
                        self.check_output_path(&child_to)?;
                        budget.add(1, node.size, 0)?;
                        push(
                            ops,
                            budget,
                            CopyOp::File {
                                from: from.clone(),
                                to: child_to,
                                mode: node.mode,
                                mtime: node.mtime.unwrap_or(0),
                            },
                        )?;
                    }
                }
                What::Link { .. } if node.out.is_some() => match memo.get(&node.index) {
                    // Under `copy`, a link that is skipped where it
                    // is for a problem of its own is left out of the copy
                    // too.
                    Some(Ok(inner)) if self.skips_on_its_own(path, inner) => {}
                    Some(Ok(inner)) => self.expand(memo, path, inner, &child_to, stack, budget, ops)?,
                    Some(Err(_)) | None if self.options.links == LinkPolicy::Copy => {}
                    Some(Err(problem)) => return Err(Rule::Link(problem.clone())),
                    None => return Err(Rule::Link(LinkProblem::Dangling)),
                },
                What::Link { .. } | What::Special => {}
            }
        }
        stack.pop();
        Ok(())
    }

    /// Under `copy`: whether the written link `link_path`, which
    /// resolves to `resolved`, is skipped for a problem of its own (its
    /// target is not extracted, or is a directory holding the link), as
    /// [`resolve_links`](Self::resolve_links) finds before expanding it.
    fn skips_on_its_own(&self, link_path: &str, resolved: &str) -> bool {
        self.options.links == LinkPolicy::Copy
            && (self.output_of(resolved).is_none() || self.cycle(link_path, resolved, &[]).is_some())
    }

    /// A copy's path obeys the same length and depth limits as a name.
    fn check_output_path(&self, path: &str) -> Result<(), Rule> {
        let max_path = self.options.max_path_bytes.min(OS_PATH_MAX);
        if path.len() > max_path {
            return Err(Rule::PathTooLong { len: path.len(), max: max_path });
        }
        let depth = path.split('/').count();
        if depth > self.options.max_depth {
            return Err(Rule::TooDeep { depth, max: self.options.max_depth });
        }
        Ok(())
    }
}

fn placed_kind_is_dir(kind: Kind) -> bool {
    kind == Kind::Directory
}

/// A link target's components, in reverse order (the next one last), or
/// why the target cannot be resolved at all.
fn target_components(target: Option<&[u8]>) -> Result<Vec<&str>, LinkProblem> {
    let target = target.ok_or(LinkProblem::BadTarget)?;
    if target.is_empty() || target.contains(&0) {
        return Err(LinkProblem::BadTarget);
    }
    let text = std::str::from_utf8(target).map_err(|_| LinkProblem::BadTarget)?;
    let drive = text.len() >= 2 && text.as_bytes()[0].is_ascii_alphabetic() && text.as_bytes()[1] == b':';
    if drive || text.contains('\\') {
        return Err(LinkProblem::WindowsForm);
    }
    if text.starts_with('/') {
        return Err(LinkProblem::Absolute);
    }
    Ok(text.split('/').rev().collect())
}

/// What copies may still add before a limit is crossed.
#[derive(Clone)]
struct Budget {
    entries: u64,
    /// Starts at the bytes of the tar stream counted so far.
    bytes: u64,
    /// Starts at the directories of the namespace written.
    dirs: u64,
    max_entries: u64,
    max_bytes: u64,
    max_dirs: u64,
    /// Starts at the bytes of names kept for resolving links.
    names: u64,
    exhausted: bool,
}

impl Budget {
    fn add(&mut self, entries: u64, bytes: u64, dirs: u64) -> Result<(), Rule> {
        self.entries = self.entries.saturating_add(entries);
        self.bytes = self.bytes.saturating_add(bytes);
        self.dirs = self.dirs.saturating_add(dirs);
        if self.entries > self.max_entries {
            return Err(Rule::TooManyEntries { max: self.max_entries });
        }
        if self.bytes > self.max_bytes {
            return Err(Rule::TooLarge { max: self.max_bytes });
        }
        if self.dirs > self.max_dirs {
            return Err(Rule::TooManyDirectories { max: self.max_dirs });
        }
        Ok(())
    }

    /// Counts `bytes` more of planned paths against
    /// [`MAX_LINK_STATE_BYTES`].
    fn add_names(&mut self, bytes: usize) -> Result<(), Rule> {
        self.names = self.names.saturating_add(bytes as u64);
        if self.names > MAX_LINK_STATE_BYTES {
            return Err(Rule::TooManyNames { max: MAX_LINK_STATE_BYTES });
        }
        Ok(())
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
        // One rule, one id on every OS: what Windows itself cannot store is
        // reported exactly as `--portable` reports it elsewhere.
        if options.portable
            && let Some(why) = portable::component_problem(component)
        {
            return Err(Rule::NotPortable(why));
        }
        if let Some(why) = portable::native_problem(component) {
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
}
