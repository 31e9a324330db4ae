//! One path, one meaning: a namespace of the paths used so far (the
//! archive's names, or with a selection the names written), the directories
//! they imply, and in portable mode the same names folded.

use crate::options::Options;
use crate::rule::Rule;
use crate::tree::{NodeId, ROOT, Tree};

use super::portable;

/// Flags of a node: a directory (explicit or implied) ...
pub(crate) const DIR: u8 = 1;
/// ... that an entry of its own named.
const EXPLICIT: u8 = 2;

/// Where an accepted path went in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placed {
    /// Its node (the root for the destination itself).
    pub(crate) node: NodeId,
    /// How many of its parents no earlier entry created (the innermost ones).
    pub(crate) new_parents: usize,
    /// A directory that an earlier entry implied already.
    pub(crate) already_made: bool,
}

/// Every path used so far as a tree of components (a node's value is the
/// entry that named it), the directories in it, and in portable mode the
/// same tree folded.
#[derive(Debug, Default)]
pub(crate) struct Namespace {
    tree: Tree,
    /// Directories in the tree (explicit and implied).
    dirs: u64,
    /// Portable mode: the same tree with each component folded (case,
    /// Unicode normalization); a node's value is the `tree` node it stands
    /// for, to catch names that one file system would merge.
    folded: Tree,
}

impl Namespace {
    /// Checks `components` against the paths used before and records it if
    /// accepted (nothing is recorded for a refused path).
    pub(crate) fn place(
        &mut self,
        options: &Options,
        index: u64,
        components: &[&str],
        is_dir: bool,
    ) -> Result<Placed, Rule> {
        let Some((last, parents)) = components.split_last() else {
            // `./` or `.`: the destination itself, which exists.
            return Ok(Placed { node: ROOT, new_parents: 0, already_made: true });
        };
        // The parents that exist already, outermost first.
        let mut existing: Vec<NodeId> = Vec::with_capacity(components.len());
        let mut at = ROOT;
        for component in parents {
            let Some(node) = self.tree.find(at, component) else { break };
            if self.tree.flags(node) & DIR == 0 {
                return Err(Rule::FileDirectoryConflict { other: self.tree.value(node) });
            }
            existing.push(node);
            at = node;
        }
        let new_parents = parents.len() - existing.len();
        let mut already_made = false;
        let found = if new_parents == 0 { self.tree.find(at, last) } else { None };
        if let Some(node) = found {
            let flags = self.tree.flags(node);
            let other = self.tree.value(node);
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
            at = self.tree.insert(at, component, index, flags).ok_or(Rule::TooManyEntries { max: index })?;
            existing.push(at);
        }
        if already_made {
            self.tree.set(at, index, DIR | EXPLICIT);
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
        Ok(Placed { node: at, new_parents, already_made })
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
                return Err(Rule::FoldingCollision { other: self.tree.value(node) });
            }
            f = next;
        }
        Ok(())
    }

    /// The entry that first used `path` (normalized, not empty), if any.
    pub(crate) fn index_of(&self, path: &str) -> Option<u64> {
        if path.is_empty() {
            return None;
        }
        self.tree.lookup(path.split('/')).filter(|&n| n != ROOT).map(|n| self.tree.value(n))
    }

    /// The tree of names.
    pub(crate) fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Directories, explicit and implied.
    pub(crate) fn dirs(&self) -> u64 {
        self.dirs
    }
}
