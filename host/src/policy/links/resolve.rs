//! Resolving links: where a reader reaches through a link, memoised per
//! link, as GNU tar and Python's tarfile read it (see the parent module).

use crate::deadline::Ticker;
use crate::kind::Kind;
use crate::options::{MAX_LINK_HOPS, Options};
use crate::rule::LinkProblem;
use crate::tree::{NodeId, ROOT, Tree};

use super::{Halt, Inode, Links, Memo, Resolved, What, target_form};

/// One judging's view of the links: the namespace they resolve in, the
/// options and the deadline.
pub(super) struct Walker<'a> {
    pub(super) links: &'a mut Links,
    pub(super) tree: &'a Tree,
    pub(super) options: &'a Options,
    pub(super) ticker: &'a mut Ticker,
}

impl Walker<'_> {
    /// Resolves link `rec` to the file or directory a reader reaches
    /// through it (memoised).
    pub(super) fn resolve(&mut self, rec: u32) -> Result<Resolved, Halt> {
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
