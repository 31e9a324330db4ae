//! The link phase of `--links copy` and `copy-or-refuse`: every link is
//! judged once the whole archive is read, in the namespace that extraction
//! writes, and a link that can be copied is replaced by a copy of the file
//! or directory tree its target names there.
//!
//! What a link means is what GNU tar and Python's tarfile make of it, read
//! through the file system afterwards:
//!
//! - A symbolic link resolves from its own directory when it is read, so
//!   against the whole tree written; links on the way are followed, `..`
//!   climbs to the physical parent.
//! - A hard link names the member its target (from the top, stripped like
//!   names by `--strip-components`) named *when the link was extracted*:
//!   every name on the way must come earlier in the archive. Its last
//!   component is not followed: a hard link to a symbolic link is a second
//!   symbolic link with the same text, resolved from the hard link's own
//!   directory. A target with `..` inside is read two ways (GNU tar drops
//!   everything up to the last `..`, tarfile resolves it), so it must name
//!   the same member both ways.
//!
//! The work is bounded: every link is resolved once (memoised, so a link
//! that others pass through is walked once), a target longer than the path
//! limit is refused, every name a copy visits (skipped ones too) counts as
//! an entry, and the deadline is checked as the walks go. What is held is
//! node ids into the namespace's tree, plus each link's name and target,
//! counted against [`MAX_LINK_STATE_BYTES`].

use crate::deadline::Ticker;
use crate::error::Error;
use crate::kind::Kind;
use crate::options::{LinkPolicy, MAX_LINK_STATE_BYTES, Options};
use crate::rule::{LinkProblem, Rule};
use crate::sandbox::RawEntry;
use crate::tree::{NodeId, ROOT, Tree};

use super::path::max_path;

mod copy;
mod resolve;

use resolve::Walker;

const NONE: u32 = u32::MAX;

/// What a node of the written namespace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    /// A directory that paths imply, without an entry of its own.
    Implied,
    Dir,
    File,
    Symlink,
    Hardlink,
    /// A device or FIFO that `--special skip` leaves out.
    Special,
}

/// One node of the written namespace.
#[derive(Debug, Clone, Copy)]
struct NodeInfo {
    what: What,
    /// The link's record, for links.
    link: u32,
    /// The entry that made the name exist.
    created: u64,
    mode: u32,
    /// The archive's time, for files and explicit directories.
    mtime: Option<i64>,
    size: u64,
}

impl NodeInfo {
    fn implied(created: u64) -> NodeInfo {
        NodeInfo { what: What::Implied, link: NONE, created, mode: 0o755, mtime: None, size: 0 }
    }

    fn is_dir(&self) -> bool {
        matches!(self.what, What::Implied | What::Dir)
    }
}

/// A link entry, kept until every link is judged.
#[derive(Debug)]
pub(crate) struct LinkRecord {
    pub(crate) index: u64,
    pub(crate) kind: Kind,
    pub(crate) header_offset: u64,
    pub(crate) type_flag: u8,
    pub(crate) mode: u32,
    pub(crate) mtime: i64,
    pub(crate) raw_path: Box<[u8]>,
    pub(crate) target: Option<Box<[u8]>>,
    /// Its node in the written namespace; `None` if it is not written
    /// (not selected, or excluded).
    node: Option<NodeId>,
    /// Its parent directory in the archive's namespace, and that
    /// directory's depth, for what is judged by name alone.
    archive_parent: NodeId,
    archive_depth: usize,
}

impl LinkRecord {
    /// Its written path, if it is written.
    pub(crate) fn node_path(&self, tree: &Tree) -> Option<String> {
        self.node.map(|n| tree.path(n))
    }
}

/// How a link resolved: the file or directory it names, the links followed
/// on the way, and the latest entry any step of the way depended on.
#[derive(Debug, Clone, Copy)]
struct Resolved {
    node: NodeId,
    hops: usize,
    latest: u64,
}

/// What a hard link is another name of.
#[derive(Debug, Clone, Copy)]
enum Inode {
    File(NodeId),
    /// The symbolic link of this record: its text is the hard link's too.
    Symlink(u32),
}

#[derive(Debug, Clone)]
enum Memo<T> {
    Pending,
    InProgress,
    Done(Result<T, LinkProblem>),
}

/// Why a walk stopped: a problem of the link's, or the run's deadline.
#[derive(Debug)]
pub(crate) enum Halt {
    Problem(LinkProblem),
    Rule(Rule),
    Stop(Error),
}

impl From<LinkProblem> for Halt {
    fn from(p: LinkProblem) -> Halt {
        Halt::Problem(p)
    }
}

impl From<Error> for Halt {
    fn from(e: Error) -> Halt {
        Halt::Stop(e)
    }
}

/// The links of an archive and the namespace they resolve in.
#[derive(Debug)]
pub(crate) struct Links {
    policy: LinkPolicy,
    strip: usize,
    nodes: Vec<NodeInfo>,
    records: Vec<LinkRecord>,
    resolved: Vec<Memo<Resolved>>,
    inodes: Vec<Memo<(Inode, usize, u64)>>,
    /// Bytes held, about ([`MAX_LINK_STATE_BYTES`]).
    bytes: u64,
}

/// One link's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Written as a copy of `target` (a file or directory of the written
    /// namespace): `entries` names and `bytes` of data in all.
    Copy { target: NodeId, kind: Kind, entries: u64, bytes: u64 },
    /// Under `copy`: not written, for this reason (a [`Rule::Link`]).
    Skip(Rule),
    /// Not written (excluded or not selected), and nothing refuses it.
    NotWritten,
    /// Refuses the archive: under `copy-or-refuse` a link that cannot be
    /// copied, under both a limit its copies cross.
    Refuse(Rule),
}

/// What the links are judged against: the namespace written, the archive's
/// own when it is another one (a selection is active), and the options.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) tree: &'a Tree,
    pub(crate) archive: Option<&'a Tree>,
    pub(crate) options: &'a Options,
}

/// What copies may still add before a limit is crossed.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    pub(crate) entries: u64,
    pub(crate) bytes: u64,
    pub(crate) dirs: u64,
    pub(crate) max_entries: u64,
    pub(crate) max_bytes: u64,
    pub(crate) max_dirs: u64,
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
}

/// One step of writing a copy. Paths are relative to the extracted tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CopyOp<'a> {
    /// Make a directory (its mode as archived; 0o755 for an implied one)
    /// and set its time at the end if the archive gave one.
    Dir { path: &'a str, mode: u32, mtime: Option<i64> },
    /// Copy a written file.
    File { from: &'a str, to: &'a str, mode: u32, mtime: i64 },
}

/// The cost of a record besides its names.
const RECORD_COST: usize =
    size_of::<LinkRecord>() + size_of::<Memo<Resolved>>() + size_of::<Memo<(Inode, usize, u64)>>();

impl Links {
    pub(crate) fn new(options: &Options, strip: usize) -> Links {
        Links {
            policy: options.links,
            strip,
            nodes: vec![NodeInfo { what: What::Dir, ..NodeInfo::implied(0) }],
            records: Vec::new(),
            resolved: Vec::new(),
            inodes: Vec::new(),
            bytes: 0,
        }
    }

    fn charge(&mut self, bytes: usize) -> Result<(), Rule> {
        self.bytes = self.bytes.saturating_add(bytes as u64);
        if self.bytes > MAX_LINK_STATE_BYTES {
            return Err(Rule::TooManyNames { max: MAX_LINK_STATE_BYTES });
        }
        Ok(())
    }

    /// Records an accepted entry: `node` is where it went in the written
    /// namespace (`tree`), `None` if it is not written; `archive_parent` its
    /// parent in the archive's namespace, `archive_depth` that one's depth.
    pub(crate) fn record(
        &mut self,
        raw: &RawEntry,
        tree: &Tree,
        node: Option<NodeId>,
        archive_parent: NodeId,
        archive_depth: usize,
    ) -> Result<(), Rule> {
        // Names the entry added: its implied parents, then itself.
        let added = tree.node_count().saturating_sub(self.nodes.len());
        self.charge(added * size_of::<NodeInfo>())?;
        self.nodes.resize(tree.node_count(), NodeInfo::implied(raw.index));
        let what = match raw.kind {
            Kind::File => What::File,
            Kind::Directory => What::Dir,
            Kind::Symlink => What::Symlink,
            Kind::Hardlink => What::Hardlink,
            _ => What::Special,
        };
        if let Some(node) = node.filter(|&n| n != ROOT) {
            let info = &mut self.nodes[node as usize];
            info.what = what;
            info.mode = raw.mode;
            if matches!(what, What::File | What::Dir) {
                info.mtime = Some(raw.mtime);
            }
            info.size = if what == What::File { raw.size } else { 0 };
        }
        if !matches!(what, What::Symlink | What::Hardlink) {
            return Ok(());
        }
        let target_len = raw.link_target.as_ref().map_or(0, Vec::len);
        self.charge(RECORD_COST + raw.path.len() + target_len)?;
        let record = u32::try_from(self.records.len()).map_err(|_| Rule::TooManyNames { max: MAX_LINK_STATE_BYTES })?;
        if let Some(node) = node.filter(|&n| n != ROOT) {
            self.nodes[node as usize].link = record;
        }
        self.records.push(LinkRecord {
            index: raw.index,
            kind: raw.kind,
            header_offset: raw.header_offset,
            type_flag: raw.type_flag,
            mode: raw.mode,
            mtime: raw.mtime,
            raw_path: raw.path.clone().into_boxed_slice(),
            target: raw.link_target.clone().map(Vec::into_boxed_slice),
            node,
            archive_parent,
            archive_depth,
        });
        self.resolved.push(Memo::Pending);
        self.inodes.push(Memo::Pending);
        Ok(())
    }

    /// Bytes held for the link phase.
    #[cfg(test)]
    pub(super) fn held_bytes(&self) -> u64 {
        self.bytes
    }

    /// The links, in archive order.
    pub(crate) fn records(&self) -> &[LinkRecord] {
        &self.records
    }

    /// Judges link `rec`, counting its copy against `budget` unless
    /// `count` is false (once a limit has refused the archive, later links
    /// are only resolved). `archive` is the archive's namespace when it is
    /// not the written one, to tell a target that is not extracted from one
    /// that does not exist.
    pub(crate) fn judge(
        &mut self,
        view: View<'_>,
        rec: usize,
        budget: &mut Budget,
        count: bool,
        ticker: &mut Ticker,
    ) -> Result<Outcome, Error> {
        let View { tree, archive, options } = view;
        let skips = self.policy == LinkPolicy::Copy;
        let problem = |p: LinkProblem| {
            if skips { Outcome::Skip(Rule::Link(p)) } else { Outcome::Refuse(Rule::Link(p)) }
        };
        let Some(node) = self.records[rec].node else {
            // Not written: judged by its target's form alone.
            return Ok(match self.unwritten_problem(rec, options) {
                Some(p) if !skips => Outcome::Refuse(Rule::Link(p)),
                _ => Outcome::NotWritten,
            });
        };
        let mut walker = Walker { links: self, tree, options, ticker };
        let resolved = match walker.resolve(rec as u32) {
            Ok(r) => r,
            Err(Halt::Stop(e)) => return Err(e),
            Err(Halt::Rule(rule)) => return Ok(Outcome::Refuse(rule)),
            Err(Halt::Problem(LinkProblem::Dangling))
                if archive.is_some_and(|a| walker.links.named_in_archive(a, rec)) =>
            {
                return Ok(problem(LinkProblem::NotExtracted));
            }
            Err(Halt::Problem(p)) => return Ok(problem(p)),
        };
        let target = resolved.node;
        let info = walker.links.nodes[target as usize];
        let kind = match info.what {
            What::File => Kind::File,
            What::Implied | What::Dir => Kind::Directory,
            _ => return Ok(problem(LinkProblem::NotFileOrDirectory)),
        };
        if kind == Kind::Directory && inside(tree, node, target, walker.ticker)? {
            return Ok(problem(LinkProblem::Cycle));
        }
        if !count {
            return Ok(Outcome::Copy { target, kind, entries: 0, bytes: 0 });
        }
        let mut trial = budget.clone();
        let at = Place { len: path_len(tree, node), depth: depth(tree, node) };
        let mut stack = vec![rec as u32];
        match walker.count(target, at, &mut stack, &mut trial) {
            Ok(()) => {
                let (entries, bytes) = (trial.entries - budget.entries, trial.bytes - budget.bytes);
                *budget = trial;
                Ok(Outcome::Copy { target, kind, entries, bytes })
            }
            Err(Halt::Stop(e)) => Err(e),
            Err(Halt::Problem(p)) => {
                // A skipped link's attempted copy still counts toward the
                // entry limit: links that each walk a big tree before
                // failing must not multiply the work.
                if skips {
                    budget.entries = trial.entries;
                }
                Ok(problem(p))
            }
            Err(Halt::Rule(rule)) => Ok(Outcome::Refuse(rule)),
        }
    }

    /// A link that is not written is vetted for its target's form: bad,
    /// too long, Windows-form, absolute, or climbing out of the archive by
    /// name.
    fn unwritten_problem(&self, rec: usize, options: &Options) -> Option<LinkProblem> {
        let record = &self.records[rec];
        let text = match target_form(record.target.as_deref(), options) {
            Ok(text) => text,
            Err(p) => return Some(p),
        };
        let start = if record.kind == Kind::Hardlink { 0 } else { record.archive_depth };
        climbs_out(text, start).then_some(LinkProblem::Outside)
    }

    /// Whether link `rec`'s target, looked up by name (no link followed)
    /// in the archive's namespace, names something there.
    fn named_in_archive(&self, archive: &Tree, rec: usize) -> bool {
        let record = &self.records[rec];
        let Some(text) = record.target.as_deref().and_then(|t| std::str::from_utf8(t).ok()) else { return false };
        let mut at = if record.kind == Kind::Hardlink { ROOT } else { record.archive_parent };
        for c in text.split('/').filter(|c| !c.is_empty() && *c != ".") {
            let next = if c == ".." { archive.parent(at) } else { archive.find(at, c) };
            match next {
                Some(n) => at = n,
                None => return false,
            }
        }
        at != ROOT
    }
}

/// Where a copy is written: its path's length and depth.
#[derive(Debug, Clone, Copy)]
struct Place {
    len: usize,
    depth: usize,
}

/// A link target as text, or why it cannot be resolved at all.
fn target_form<'t>(target: Option<&'t [u8]>, options: &Options) -> Result<&'t str, LinkProblem> {
    let target = target.ok_or(LinkProblem::BadTarget)?;
    if target.is_empty() || target.contains(&0) {
        return Err(LinkProblem::BadTarget);
    }
    let text = std::str::from_utf8(target).map_err(|_| LinkProblem::BadTarget)?;
    if text.len() > max_path(options) {
        return Err(LinkProblem::TargetTooLong { len: text.len(), max: max_path(options) });
    }
    let drive = text.len() >= 2 && text.as_bytes()[0].is_ascii_alphabetic() && text.as_bytes()[1] == b':';
    if drive || text.contains('\\') {
        return Err(LinkProblem::WindowsForm);
    }
    if text.starts_with('/') {
        return Err(LinkProblem::Absolute);
    }
    Ok(text)
}

/// Whether `text`, read by name from a directory `depth` levels down,
/// climbs above the top.
fn climbs_out(text: &str, depth: usize) -> bool {
    let mut depth = depth as i64;
    for c in text.split('/').filter(|c| !c.is_empty() && *c != ".") {
        depth += if c == ".." { -1 } else { 1 };
        if depth < 0 {
            return true;
        }
    }
    false
}

/// Whether `node` is `dir` or below it.
fn inside(tree: &Tree, node: NodeId, dir: NodeId, ticker: &mut Ticker) -> Result<bool, Error> {
    let mut at = Some(node);
    while let Some(n) = at {
        ticker.tick()?;
        if n == dir {
            return Ok(true);
        }
        at = tree.parent(n);
    }
    Ok(false)
}

/// The length of `node`'s path.
fn path_len(tree: &Tree, node: NodeId) -> usize {
    let mut len = 0;
    let mut at = node;
    while let Some(parent) = tree.parent(at) {
        len += tree.name_of(at).len() + usize::from(parent != ROOT);
        at = parent;
    }
    len
}

/// The number of components of `node`'s path.
fn depth(tree: &Tree, node: NodeId) -> usize {
    std::iter::successors(tree.parent(node), |&p| tree.parent(p)).count()
}
