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
use crate::options::{LinkPolicy, MAX_LINK_HOPS, MAX_LINK_STATE_BYTES, Options};
use crate::rule::{LinkProblem, Rule};
use crate::sandbox::RawEntry;
use crate::tree::{NodeId, ROOT, Tree};

use super::path::{check_length, max_path};

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

/// One judging's view of the links: the namespace they resolve in, the
/// options and the deadline.
struct Walker<'a> {
    links: &'a mut Links,
    tree: &'a Tree,
    options: &'a Options,
    ticker: &'a mut Ticker,
}

impl Walker<'_> {
    /// Resolves link `rec` to the file or directory a reader reaches
    /// through it (memoised).
    fn resolve(&mut self, rec: u32) -> Result<Resolved, Halt> {
        let i = rec as usize;
        match &self.links.resolved[i] {
            Memo::Done(result) => return result.clone().map_err(Halt::Problem),
            Memo::InProgress => return Err(Halt::Problem(LinkProblem::Cycle)),
            Memo::Pending => {}
        }
        self.links.resolved[i] = Memo::InProgress;
        let result = self.resolve_uncached(rec);
        match result {
            Ok(r) => self.links.resolved[i] = Memo::Done(Ok(r)),
            Err(Halt::Problem(ref p)) => self.links.resolved[i] = Memo::Done(Err(p.clone())),
            Err(_) => self.links.resolved[i] = Memo::Pending,
        }
        result
    }

    fn resolve_uncached(&mut self, rec: u32) -> Result<Resolved, Halt> {
        let record = &self.links.records[rec as usize];
        let Some(node) = record.node else { return Err(Halt::Problem(LinkProblem::NotExtracted)) };
        let parent = self.tree.parent(node).unwrap_or(ROOT);
        let (text_of, mut walk) = match record.kind {
            Kind::Hardlink => match self.inode(rec)? {
                (Inode::File(file), hops, latest) => return Ok(Resolved { node: file, hops, latest }),
                (Inode::Symlink(symlink), hops, latest) => (symlink, Walk { hops, latest, before: None }),
            },
            _ => (rec, Walk::default()),
        };
        let target = self.links.records[text_of as usize].target.clone();
        let text = target_form(target.as_deref(), self.options)?;
        let node = self.walk(parent, text, true, &mut walk)?;
        Ok(Resolved { node, hops: walk.hops, latest: walk.latest })
    }

    /// What hard link `rec` is another name of (memoised).
    fn inode(&mut self, rec: u32) -> Result<(Inode, usize, u64), Halt> {
        let i = rec as usize;
        match &self.links.inodes[i] {
            Memo::Done(result) => return result.clone().map_err(Halt::Problem),
            Memo::InProgress => return Err(Halt::Problem(LinkProblem::Cycle)),
            Memo::Pending => {}
        }
        self.links.inodes[i] = Memo::InProgress;
        let result = self.inode_uncached(rec);
        match result {
            Ok(r) => self.links.inodes[i] = Memo::Done(Ok(r)),
            Err(Halt::Problem(ref p)) => self.links.inodes[i] = Memo::Done(Err(p.clone())),
            Err(_) => self.links.inodes[i] = Memo::Pending,
        }
        result
    }

    fn inode_uncached(&mut self, rec: u32) -> Result<(Inode, usize, u64), Halt> {
        let record = &self.links.records[rec as usize];
        let index = record.index;
        let target = record.target.clone();
        let text = target_form(target.as_deref(), self.options)?;
        // `--strip-components` strips a hard link's target like a name.
        let comps: Vec<&str> = text.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
        if comps.len() <= self.links.strip {
            return Err(Halt::Problem(LinkProblem::NotExtracted));
        }
        let comps = &comps[self.links.strip..];
        let walk_from_top = |links: &mut Walker<'_>, comps: &[&str]| {
            let text = comps.join("/");
            let mut walk = Walk { before: Some(index), ..Walk::default() };
            links.walk(ROOT, &text, false, &mut walk).map(|node| (node, walk))
        };
        let (node, walk) = match comps.iter().rposition(|c| *c == "..") {
            None => walk_from_top(self, comps)?,
            // Stripped names and `..` together have no reading that both
            // readers are known to share.
            Some(_) if self.links.strip > 0 => return Err(Halt::Problem(LinkProblem::ReadersDisagree)),
            Some(last_up) => {
                // tarfile resolves the whole target; GNU tar drops it up to
                // the last `..`. Only a target both read alike is copied.
                let python = walk_from_top(self, comps);
                let gnu = walk_from_top(self, &comps[last_up + 1..]);
                match (python, gnu) {
                    (Ok(p), Ok(g)) if p.0 == g.0 => p,
                    (Err(Halt::Stop(e)), _) | (_, Err(Halt::Stop(e))) => return Err(Halt::Stop(e)),
                    (Err(Halt::Problem(LinkProblem::Outside)), _) => return Err(Halt::Problem(LinkProblem::Outside)),
                    _ => return Err(Halt::Problem(LinkProblem::ReadersDisagree)),
                }
            }
        };
        let info = self.links.nodes[node as usize];
        match info.what {
            What::File => Ok((Inode::File(node), walk.hops, walk.latest)),
            What::Implied | What::Dir => Err(Halt::Problem(LinkProblem::HardlinkToDirectory)),
            What::Special => Err(Halt::Problem(LinkProblem::NotFileOrDirectory)),
            What::Symlink => Ok((Inode::Symlink(info.link), walk.hops.saturating_add(1), walk.latest)),
            What::Hardlink => {
                let (inode, hops, latest) = match self.inode(info.link) {
                    Ok(found) => found,
                    Err(Halt::Problem(LinkProblem::Cycle)) => return Err(Halt::Problem(LinkProblem::Cycle)),
                    // The other hard link was never made: this one names nothing.
                    Err(Halt::Problem(_)) => return Err(Halt::Problem(LinkProblem::Dangling)),
                    Err(other) => return Err(other),
                };
                let hops = walk.hops.saturating_add(1).saturating_add(hops);
                if hops > MAX_LINK_HOPS {
                    return Err(Halt::Problem(LinkProblem::ChainTooLong { max: MAX_LINK_HOPS }));
                }
                Ok((inode, hops, walk.latest.max(latest)))
            }
        }
    }

    /// Walks `text` (a relative target) from the directory `from`,
    /// following the links on the way, and the last component too when
    /// `follow_last`. Returns the node reached.
    fn walk(&mut self, from: NodeId, text: &str, follow_last: bool, walk: &mut Walk) -> Result<NodeId, Halt> {
        let comps: Vec<&str> = text.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
        // `name/` and `name/.` must name a directory.
        let must_be_dir = matches!(text.rsplit('/').next(), Some("" | ".")) && text.contains('/');
        let mut at = from;
        for (i, c) in comps.iter().enumerate() {
            self.ticker.tick()?;
            let last = i + 1 == comps.len();
            if *c == ".." {
                at = self.tree.parent(at).ok_or(LinkProblem::Outside)?;
                continue;
            }
            let child = self.tree.find(at, c).ok_or(LinkProblem::Dangling)?;
            let info = self.links.nodes[child as usize];
            walk.depends_on(info.created)?;
            match info.what {
                What::Implied | What::Dir => at = child,
                What::File | What::Special if last => at = child,
                What::File | What::Special => return Err(Halt::Problem(LinkProblem::Dangling)),
                What::Symlink | What::Hardlink if last && !follow_last => return Ok(child),
                What::Symlink | What::Hardlink => {
                    let through = match self.resolve(info.link) {
                        Ok(r) => r,
                        Err(Halt::Problem(p @ (LinkProblem::Cycle | LinkProblem::ChainTooLong { .. }))) => {
                            return Err(Halt::Problem(p));
                        }
                        // A link that is never written is not there to pass through.
                        Err(Halt::Problem(_)) => return Err(Halt::Problem(LinkProblem::Dangling)),
                        Err(other) => return Err(other),
                    };
                    walk.hops = walk.hops.saturating_add(1).saturating_add(through.hops);
                    if walk.hops > MAX_LINK_HOPS {
                        return Err(Halt::Problem(LinkProblem::ChainTooLong { max: MAX_LINK_HOPS }));
                    }
                    walk.depends_on(through.latest)?;
                    if !last && !self.links.nodes[through.node as usize].is_dir() {
                        return Err(Halt::Problem(LinkProblem::Dangling));
                    }
                    at = through.node;
                }
            }
        }
        if must_be_dir && at != ROOT && !self.links.nodes[at as usize].is_dir() {
            return Err(Halt::Problem(LinkProblem::Dangling));
        }
        Ok(at)
    }

    /// Counts the copy of `target` at `at` (a link's place) against
    /// `budget`, walking a directory's tree: every name visited counts as
    /// an entry, written or not; links inside are copied as what they name
    /// (under `copy`, those skipped where they are are left out).
    fn count(&mut self, target: NodeId, at: Place, stack: &mut Vec<u32>, budget: &mut Budget) -> Result<(), Halt> {
        let info = self.links.nodes[target as usize];
        if !info.is_dir() && target != ROOT {
            return budget.add(1, info.size, 0).map_err(Halt::Rule);
        }
        for &link in stack.iter() {
            if let Some(node) = self.links.records[link as usize].node
                && inside(self.tree, node, target, self.ticker)?
            {
                return Err(Halt::Problem(LinkProblem::Cycle));
            }
        }
        if stack.len() > MAX_LINK_HOPS {
            return Err(Halt::Problem(LinkProblem::ChainTooLong { max: MAX_LINK_HOPS }));
        }
        budget.add(1, 0, 1).map_err(Halt::Rule)?;
        let mut pending = vec![(target, at)];
        while let Some((dir, dir_at)) = pending.pop() {
            for child in self.tree.children(dir) {
                self.ticker.tick()?;
                let child_at = Place { len: dir_at.len + 1 + self.tree.name_of(child).len(), depth: dir_at.depth + 1 };
                let info = self.links.nodes[child as usize];
                match info.what {
                    What::Implied | What::Dir => {
                        check_length(child_at.len, child_at.depth, self.options).map_err(Halt::Rule)?;
                        budget.add(1, 0, 1).map_err(Halt::Rule)?;
                        pending.push((child, child_at));
                    }
                    What::File => {
                        check_length(child_at.len, child_at.depth, self.options).map_err(Halt::Rule)?;
                        budget.add(1, info.size, 0).map_err(Halt::Rule)?;
                    }
                    What::Special => budget.add(1, 0, 0).map_err(Halt::Rule)?,
                    What::Symlink | What::Hardlink => match self.inner(child)? {
                        None => budget.add(1, 0, 0).map_err(Halt::Rule)?,
                        Some(inner) => {
                            check_length(child_at.len, child_at.depth, self.options).map_err(Halt::Rule)?;
                            stack.push(info.link);
                            let counted = self.count(inner, child_at, stack, budget);
                            stack.pop();
                            counted?;
                        }
                    },
                }
            }
        }
        Ok(())
    }

    /// What the link at `node` inside a copied directory becomes there: the
    /// node to copy, or `None` when `copy` skips it where it is (it cannot
    /// be resolved, or names a directory holding itself). Under
    /// `copy-or-refuse` such a link refuses.
    fn inner(&mut self, node: NodeId) -> Result<Option<NodeId>, Halt> {
        let link = self.links.nodes[node as usize].link;
        let skips = self.links.policy == LinkPolicy::Copy;
        let resolved = match self.resolve(link) {
            Ok(r) => r,
            Err(Halt::Problem(_)) if skips => return Ok(None),
            Err(other) => return Err(other),
        };
        let target = self.links.nodes[resolved.node as usize];
        if !target.is_dir() && target.what != What::File && resolved.node != ROOT {
            return if skips { Ok(None) } else { Err(Halt::Problem(LinkProblem::NotFileOrDirectory)) };
        }
        if (target.is_dir() || resolved.node == ROOT) && inside(self.tree, node, resolved.node, self.ticker)? {
            return if skips { Ok(None) } else { Err(Halt::Problem(LinkProblem::Cycle)) };
        }
        Ok(Some(resolved.node))
    }
}

impl Links {
    /// Walks the copy of link `rec` (judged [`Outcome::Copy`] of `target`),
    /// handing `op` each directory to make and file to copy, parents
    /// first. Only links judged copies are walked, and every link inside
    /// their trees was resolved while they were counted: the walk only
    /// reads what that found.
    pub(crate) fn walk_copy(
        &self,
        tree: &Tree,
        rec: usize,
        target: NodeId,
        ticker: &mut Ticker,
        op: &mut dyn FnMut(CopyOp<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Some(node) = self.records[rec].node else { return Ok(()) };
        let mut to = tree.path(node);
        self.walk_copy_at(tree, target, &mut to, ticker, op)
    }

    fn walk_copy_at(
        &self,
        tree: &Tree,
        target: NodeId,
        to: &mut String,
        ticker: &mut Ticker,
        op: &mut dyn FnMut(CopyOp<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let info = self.nodes[target as usize];
        if info.what == What::File {
            let from = tree.path(target);
            return op(CopyOp::File { from: &from, to, mode: info.mode, mtime: info.mtime.unwrap_or(0) });
        }
        op(CopyOp::Dir { path: to, mode: info.mode, mtime: info.mtime })?;
        // Each directory still to walk, with its written path.
        let mut pending = vec![(target, std::mem::take(to))];
        while let Some((dir, dir_path)) = pending.pop() {
            for child in tree.children(dir) {
                ticker.tick()?;
                let mut path = String::with_capacity(dir_path.len() + 1 + tree.name_of(child).len());
                path.push_str(&dir_path);
                path.push('/');
                path.push_str(tree.name_of(child));
                let info = self.nodes[child as usize];
                match info.what {
                    What::Implied | What::Dir => {
                        op(CopyOp::Dir { path: &path, mode: info.mode, mtime: info.mtime })?;
                        pending.push((child, path));
                    }
                    What::File => {
                        let from = tree.path(child);
                        op(CopyOp::File { from: &from, to: &path, mode: info.mode, mtime: info.mtime.unwrap_or(0) })?;
                    }
                    What::Special => {}
                    What::Symlink | What::Hardlink => {
                        if let Some(inner) = self.inner_resolved(tree, child, ticker)? {
                            self.walk_copy_at(tree, inner, &mut path, ticker, op)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// [`inner`](Self::inner) for a link resolved already, reading only
    /// what its resolution found.
    fn inner_resolved(&self, tree: &Tree, node: NodeId, ticker: &mut Ticker) -> Result<Option<NodeId>, Error> {
        let link = self.nodes[node as usize].link as usize;
        let Some(Memo::Done(Ok(resolved))) = self.resolved.get(link) else { return Ok(None) };
        let target = self.nodes[resolved.node as usize];
        if !target.is_dir() && target.what != What::File {
            return Ok(None);
        }
        if target.is_dir() && inside(tree, node, resolved.node, ticker)? {
            return Ok(None);
        }
        Ok(Some(resolved.node))
    }
}

/// The state of one walk: links followed, and the latest entry it depended
/// on (with `before`: every entry it depends on must come before that one).
#[derive(Debug, Default, Clone, Copy)]
struct Walk {
    hops: usize,
    latest: u64,
    before: Option<u64>,
}

impl Walk {
    fn depends_on(&mut self, entry: u64) -> Result<(), Halt> {
        if let Some(before) = self.before
            && entry >= before
        {
            return Err(Halt::Problem(LinkProblem::LaterEntry { target: entry }));
        }
        self.latest = self.latest.max(entry);
        Ok(())
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
