//! Copies: counting a link's copy against the limits (every name visited
//! counts), and walking it to write it.

use crate::deadline::Ticker;
use crate::error::Error;
use crate::options::{LinkPolicy, MAX_LINK_HOPS};
use crate::rule::LinkProblem;
use crate::tree::{NodeId, Tree};

use super::resolve::Walker;
use super::{Budget, CopyOp, Halt, Links, Memo, Place, What, inside};
use crate::policy::path::check_length;

impl Walker<'_> {
    /// Counts the copy of `target` at `at` (a link's place) against
    /// `budget`, walking a directory's tree: every name visited counts as
    /// an entry, written or not; links inside are copied as what they name
    /// (under `copy`, those skipped where they are are left out).
    pub(super) fn count(
        &mut self,
        target: NodeId,
        at: Place,
        stack: &mut Vec<u32>,
        budget: &mut Budget,
    ) -> Result<(), Halt> {
        let info = self.links.nodes[target as usize];
        if !info.is_dir() {
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
        if !target.is_dir() && target.what != What::File {
            return if skips { Ok(None) } else { Err(Halt::Problem(LinkProblem::NotFileOrDirectory)) };
        }
        if target.is_dir() && inside(self.tree, node, resolved.node, self.ticker)? {
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
