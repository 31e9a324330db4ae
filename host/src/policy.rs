//! The host's policy: every path rule and every limit, applied to each record
//! the guest returns as if the guest were compromised.
//!
//! The guest's own verdict is only ever a reason to refuse, never a reason to
//! accept. Sequencing is checked too: an entry index out of order, data for a
//! member that has none, or more data than declared is a protocol fault.
//!
//! The [`Vetter`] ties the rooms of this module together: `path` (a name
//! split into safe components), `namespace` (one path, one meaning),
//! `sequence` (order and sizes), `selection` and `exclude` (members,
//! `--exclude`, `--strip-components`), and `links` (the link phase of the
//! copying policies). Only the pipeline drives it.

use crate::error::Error;
use crate::escape;
use crate::kind::Kind;
use crate::options::{LinkPolicy, Options, SpecialPolicy};
use crate::rule::Rule;
use crate::sandbox::RawEntry;
use crate::tree::{NodeId, ROOT, Tree};

mod exclude;
mod links;
mod namespace;
mod path;
pub(crate) mod portable;
mod selection;
mod sequence;
#[cfg(test)]
mod tests;

pub(crate) use links::{Budget, CopyOp, LinkRecord, Outcome};
pub(crate) use path::{STAGING_PREFIX, normalize};
pub(crate) use selection::Selection;

use links::Links;
use namespace::{Namespace, Placed};
use sequence::Sequence;

/// What the writer does with an accepted entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Write the file or directory at [`Accepted::path`].
    Write,
    /// A link or special file that the options skip.
    Skip,
    /// A link judged once every entry is read (the link phase).
    Copy,
    /// Not selected, or excluded: vetted, never written.
    Excluded,
}

/// An entry the policy accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// Normalized path where the entry is written (after
    /// `strip_components`): components joined by `/`, no `.`, no empty
    /// components. Empty for the destination itself (`./`). For an excluded
    /// entry, its normalized name in the archive.
    pub(crate) path: String,
    /// What the entry is.
    pub(crate) kind: Kind,
    /// How many of the path's parent directories no earlier written entry
    /// created (the innermost ones; 0 for excluded entries).
    pub(crate) new_parents: usize,
    /// For a directory: an earlier entry already implied it, so it exists.
    pub(crate) already_made: bool,
    /// What the writer does with it.
    pub(crate) plan: Plan,
}

impl Accepted {
    /// The parent directories no earlier entry created, outermost first.
    pub(crate) fn new_parent_paths(&self) -> Vec<&str> {
        let slashes: Vec<usize> = self.path.match_indices('/').map(|(i, _)| i).collect();
        slashes[slashes.len() - self.new_parents..].iter().map(|&i| &self.path[..i]).collect()
    }

    /// The path of the deepest parent that already existed ("" for the top).
    pub(crate) fn existing_parent(&self) -> &str {
        let mut cut = self.path.len();
        for _ in 0..=self.new_parents {
            cut = self.path[..cut].rfind('/').unwrap_or(0);
        }
        &self.path[..cut]
    }
}

/// Checks a stream of records.
pub(crate) struct Vetter<'o> {
    options: &'o Options,
    selection: &'o Selection,
    sequence: Sequence,
    /// The archive's names.
    archive: Namespace,
    /// With a selection: the names written (after stripping), by the same
    /// rules and limits as `archive`.
    out: Namespace,
    /// Which members matched an entry.
    members_used: Vec<bool>,
    /// Under `--links copy` and `copy-or-refuse`: the written namespace's
    /// nodes and the links, for the link phase.
    links: Option<Links>,
}

impl<'o> Vetter<'o> {
    /// A vetter for one archive. `with_data`: whether file data is expected.
    pub(crate) fn new(options: &'o Options, selection: &'o Selection, with_data: bool) -> Self {
        Vetter {
            options,
            selection,
            sequence: Sequence::new(with_data),
            archive: Namespace::default(),
            out: Namespace::default(),
            members_used: vec![false; selection.member_count()],
            links: options.links.copies().then(|| Links::new(options, selection.strip())),
        }
    }

    /// Judges one entry. `compressed` is how much input has been read so far
    /// (for the size ratio). `Err` is a protocol fault; `Ok(Err(rule))` a
    /// refusal.
    pub(crate) fn entry(&mut self, raw: &RawEntry, compressed: u64) -> Result<Result<Accepted, Rule>, Error> {
        if let Err(rule) = self.sequence.entry(raw, compressed, self.options)? {
            return Ok(Err(rule));
        }
        Ok(self.judge(raw))
    }

    fn judge(&mut self, raw: &RawEntry) -> Result<Accepted, Rule> {
        let plan = match raw.kind {
            Kind::File | Kind::Directory => Plan::Write,
            Kind::Symlink | Kind::Hardlink => match self.options.links {
                LinkPolicy::Skip => Plan::Skip,
                LinkPolicy::Copy | LinkPolicy::CopyOrRefuse => Plan::Copy,
                LinkPolicy::Refuse => return Err(Rule::ForbiddenKind(raw.kind)),
            },
            Kind::CharDevice | Kind::BlockDevice | Kind::Fifo => match self.options.special {
                SpecialPolicy::Skip => Plan::Skip,
                SpecialPolicy::Refuse => return Err(Rule::ForbiddenKind(raw.kind)),
            },
            Kind::Other => return Err(Rule::ForbiddenKind(raw.kind)),
        };
        let is_dir = raw.kind == Kind::Directory;
        // Links and special files are named like files: they are never
        // directories, and nothing may be written below them.
        let name_kind = if is_dir { Kind::Directory } else { Kind::File };
        let components = normalize(&raw.path, name_kind, self.options)?;
        // The guest refuses every kind but files and directories. For the
        // kinds these options let through, the host's own checks decide; for
        // files and directories the guest's refusal stands. It is applied
        // before the path is placed, so that a refused entry's name and
        // parents are never recorded as seen (a later entry below them must
        // still create them).
        if plan == Plan::Write
            && let Some(why) = &raw.refusal
        {
            return Err(Rule::GuestVerdict(why.clone()));
        }
        let placed = self.archive.place(self.options, raw.index, &components, is_dir)?;
        let kind = if is_dir { Kind::Directory } else { Kind::File };
        let archive_path = components.join("/");
        let (accepted, written) = if self.selection.is_active() {
            self.select(raw, &components, archive_path, kind, plan)?
        } else {
            (
                Accepted {
                    path: archive_path,
                    kind,
                    new_parents: placed.new_parents,
                    already_made: placed.already_made,
                    plan,
                },
                Some(placed.node),
            )
        };
        if let Some(links) = &mut self.links {
            let tree = if self.selection.is_active() { self.out.tree() } else { self.archive.tree() };
            let archive_parent = self.archive.tree().parent(placed.node).unwrap_or(ROOT);
            let archive_depth = components.len().saturating_sub(1);
            links.record(raw, tree, written, archive_parent, archive_depth)?;
        }
        Ok(accepted)
    }

    /// Applies members, `--exclude` and `--strip-components` to an entry
    /// that passed every check, and places it in the output namespace.
    /// Returns the entry and its node there, if it is written.
    fn select(
        &mut self,
        raw: &RawEntry,
        components: &[&str],
        archive_path: String,
        kind: Kind,
        plan: Plan,
    ) -> Result<(Accepted, Option<NodeId>), Rule> {
        let excluded = Accepted { path: archive_path, kind, new_parents: 0, already_made: true, plan: Plan::Excluded };
        if !self.selection.selects(components, &mut self.members_used) {
            return Ok((excluded, None));
        }
        // Only UTF-8 names get this far.
        let name = std::str::from_utf8(&raw.path).unwrap_or_default();
        if !excluded.path.is_empty() && self.selection.excludes(name) {
            return Ok((excluded, None));
        }
        let out = &components[self.selection.strip().min(components.len())..];
        let is_dir = kind == Kind::Directory;
        if out.is_empty() {
            return if is_dir {
                // The destination itself.
                Ok((Accepted { path: String::new(), new_parents: 0, already_made: true, plan, ..excluded }, Some(ROOT)))
            } else {
                Err(Rule::StrippedToNothing)
            };
        }
        if out[0].starts_with(STAGING_PREFIX) {
            return Err(Rule::ReservedName);
        }
        let Placed { node, new_parents, already_made } = self.out.place(self.options, raw.index, out, is_dir)?;
        Ok((Accepted { path: out.join("/"), kind, new_parents, already_made, plan }, Some(node)))
    }

    /// Accounts for a chunk of file data.
    pub(crate) fn data(&mut self, len: usize) -> Result<(), Error> {
        self.sequence.data(len)
    }

    /// Whether the current file still expects data.
    pub(crate) fn data_pending(&self) -> bool {
        self.sequence.data_pending()
    }

    /// Checks that the stream ended where it may.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        self.sequence.finish()
    }

    /// Members that matched no entry (escaped), once the archive is read.
    pub(crate) fn members_not_found(&self) -> Vec<String> {
        self.options
            .members
            .iter()
            .zip(&self.members_used)
            .filter(|(_, used)| !**used)
            .map(|(m, _)| escape(m.as_bytes()))
            .collect()
    }

    /// The entry that first used `path` (a written, normalized path), if any.
    pub(crate) fn index_of(&self, path: &str) -> Option<u64> {
        if self.selection.is_active() { self.out.index_of(path) } else { self.archive.index_of(path) }
    }

    /// The link phase, under `--links copy` and `copy-or-refuse`, once the
    /// whole archive is read.
    pub(crate) fn link_phase(&mut self) -> Option<LinkPhase<'_>> {
        let active = self.selection.is_active();
        let written = if active { &self.out } else { &self.archive };
        let budget = Budget {
            entries: self.sequence.entries(),
            bytes: self.sequence.counted(),
            dirs: written.dirs(),
            max_entries: self.options.max_entries,
            max_bytes: self.sequence.size_limit(self.options),
            max_dirs: self.options.max_dirs,
        };
        let links = self.links.as_mut()?;
        Some(LinkPhase {
            links,
            tree: written.tree(),
            archive: active.then(|| self.archive.tree()),
            options: self.options,
            budget,
        })
    }
}

/// The link phase: judging each link, and walking the copies judged.
pub(crate) struct LinkPhase<'v> {
    links: &'v mut Links,
    tree: &'v Tree,
    archive: Option<&'v Tree>,
    options: &'v Options,
    budget: Budget,
}

impl LinkPhase<'_> {
    /// The links, in archive order.
    pub(crate) fn records(&self) -> &[LinkRecord] {
        self.links.records()
    }

    /// Judges link `rec` (counting its copy against the limits unless
    /// `count` is false).
    pub(crate) fn judge(
        &mut self,
        rec: usize,
        count: bool,
        ticker: &mut crate::deadline::Ticker,
    ) -> Result<Outcome, Error> {
        let view = links::View { tree: self.tree, archive: self.archive, options: self.options };
        self.links.judge(view, rec, &mut self.budget, count, ticker)
    }

    /// The written path of a node, escaped (what a copy is a copy of).
    pub(crate) fn shown_path(&self, node: NodeId) -> String {
        escape(self.tree.path(node).as_bytes())
    }

    /// The written path of link `rec`, if it is written.
    pub(crate) fn written_path(&self, rec: usize) -> Option<String> {
        self.links.records()[rec].node_path(self.tree)
    }

    /// Walks the copy of link `rec`, judged a copy of `target`.
    pub(crate) fn walk_copy(
        &self,
        rec: usize,
        target: NodeId,
        ticker: &mut crate::deadline::Ticker,
        op: &mut dyn FnMut(CopyOp<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.links.walk_copy(self.tree, rec, target, ticker, op)
    }
}
