//! Paths as a tree of interned components: the names an archive has used
//! (the policy's namespaces, the link phase), and the directories whose
//! times are set last.
//!
//! An archive of a thousand files, each a thousand directories deep, implies
//! a million directories. Keeping each one as a full path string would cost
//! gigabytes (every path repeats all of its ancestors); here each directory
//! costs one node (24 bytes), its own name once in a shared arena, and one
//! slot in a hash index keyed by (parent node, name). Names are hashed with
//! the standard library's randomly keyed SipHash, so an archive cannot choose
//! names that collide.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};

/// A node: the root (the destination itself) is node 0.
pub(crate) type NodeId = u32;

/// The root node: the archive's top directory.
pub(crate) const ROOT: NodeId = 0;

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Caller data (the entry that created or last named the node).
    value: u64,
    parent: NodeId,
    /// The next node whose (parent, name) has the same hash.
    next: u32,
    /// The first and last children added, and the sibling added after this
    /// node: a directory's children in the order they were added, without a
    /// second index.
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
    name_start: u32,
    name_len: u16,
    flags: u8,
}

/// A tree of interned path components. Component names may be at most
/// 65,535 bytes (the policy refuses components over 255 bytes first; a
/// case-folded one can be a few times longer).
#[derive(Debug)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
    names: Vec<u8>,
    index: HashMap<u64, u32>,
    hasher: RandomState,
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

impl Tree {
    /// A tree holding only the root.
    pub(crate) fn new() -> Tree {
        let root = Node {
            value: 0,
            parent: NONE,
            next: NONE,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
            name_start: 0,
            name_len: 0,
            flags: 0,
        };
        Tree { nodes: vec![root], names: Vec::new(), index: HashMap::new(), hasher: RandomState::new() }
    }

    fn key(&self, parent: NodeId, name: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        parent.hash(&mut h);
        name.hash(&mut h);
        h.finish()
    }

    fn name(&self, node: &Node) -> &[u8] {
        let start = node.name_start as usize;
        &self.names[start..start + usize::from(node.name_len)]
    }

    /// The child of `parent` called `name`, if there is one.
    pub(crate) fn find(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        let mut at = *self.index.get(&self.key(parent, name))?;
        while at != NONE {
            let node = &self.nodes[at as usize];
            if node.parent == parent && self.name(node) == name.as_bytes() {
                return Some(at);
            }
            at = node.next;
        }
        None
    }

    /// Adds `name` under `parent` (which must not have it yet). `None` if the
    /// tree is full (2^32 nodes or 4 GiB of names) or the name is longer
    /// than 65,535 bytes.
    pub(crate) fn insert(&mut self, parent: NodeId, name: &str, value: u64, flags: u8) -> Option<NodeId> {
        let name_len = u16::try_from(name.len()).ok()?;
        let name_start = u32::try_from(self.names.len()).ok()?;
        u32::try_from(self.names.len() + name.len()).ok()?;
        let id = u32::try_from(self.nodes.len()).ok().filter(|&id| id != NONE)?;
        let key = self.key(parent, name);
        let next = self.index.insert(key, id).unwrap_or(NONE);
        self.names.extend_from_slice(name.as_bytes());
        let last = std::mem::replace(&mut self.nodes[parent as usize].last_child, id);
        if last == NONE {
            self.nodes[parent as usize].first_child = id;
        } else {
            self.nodes[last as usize].next_sibling = id;
        }
        self.nodes.push(Node {
            value,
            parent,
            next,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
            name_start,
            name_len,
            flags,
        });
        Some(id)
    }

    /// The node's parent (`None` for the root).
    pub(crate) fn parent(&self, id: NodeId) -> Option<NodeId> {
        Some(self.nodes[id as usize].parent).filter(|&p| p != NONE)
    }

    /// The node's own name (empty for the root).
    pub(crate) fn name_of(&self, id: NodeId) -> &str {
        // Every name was inserted as a `&str` and is whole.
        std::str::from_utf8(self.name(&self.nodes[id as usize])).unwrap_or_default()
    }

    /// The node's children, in the order they were added.
    pub(crate) fn children(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let first = self.nodes[id as usize].first_child;
        std::iter::successors(Some(first).filter(|&c| c != NONE), move |&c| {
            Some(self.nodes[c as usize].next_sibling).filter(|&s| s != NONE)
        })
    }

    /// Nodes in the tree, the root included: every id is below this.
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node's value.
    pub(crate) fn value(&self, id: NodeId) -> u64 {
        self.nodes[id as usize].value
    }

    /// The node's flags.
    pub(crate) fn flags(&self, id: NodeId) -> u8 {
        self.nodes[id as usize].flags
    }

    /// Replaces the node's value and flags.
    pub(crate) fn set(&mut self, id: NodeId, value: u64, flags: u8) {
        let node = &mut self.nodes[id as usize];
        node.value = value;
        node.flags = flags;
    }

    /// The node reached from the root through `components`, if all exist.
    pub(crate) fn lookup<'c>(&self, components: impl IntoIterator<Item = &'c str>) -> Option<NodeId> {
        components.into_iter().try_fold(ROOT, |at, c| self.find(at, c))
    }

    /// The node for `path` (components joined by `/`), adding the
    /// components it does not have yet with value and flags 0. `None` if
    /// the tree is full.
    pub(crate) fn intern(&mut self, path: &str) -> Option<NodeId> {
        let mut at = ROOT;
        for name in path.split('/').filter(|c| !c.is_empty()) {
            at = match self.find(at, name) {
                Some(child) => child,
                None => self.insert(at, name, 0, 0)?,
            };
        }
        Some(at)
    }

    /// The path from the root to `id`, components joined by `/`.
    pub(crate) fn path(&self, id: NodeId) -> String {
        let mut names = Vec::new();
        let mut at = id;
        while at != ROOT && at != NONE {
            let node = &self.nodes[at as usize];
            names.push(self.name(node));
            at = node.parent;
        }
        let mut path = Vec::with_capacity(names.iter().map(|n| n.len() + 1).sum());
        for (i, name) in names.iter().rev().enumerate() {
            if i > 0 {
                path.push(b'/');
            }
            path.extend_from_slice(name);
        }
        // Every name was inserted as a `&str` and is whole.
        String::from_utf8(path).unwrap_or_default()
    }

    /// Nodes besides the root.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.nodes.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_insert_and_lookup() {
        let mut t = Tree::new();
        let a = t.insert(ROOT, "a", 7, 1).unwrap();
        let b = t.insert(a, "b", 8, 2).unwrap();
        let other_b = t.insert(ROOT, "b", 9, 0).unwrap();
        assert_eq!(t.find(ROOT, "a"), Some(a));
        assert_eq!(t.find(a, "b"), Some(b));
        assert_eq!(t.find(ROOT, "b"), Some(other_b));
        assert_eq!(t.find(b, "a"), None);
        assert_eq!(t.lookup(["a", "b"]), Some(b));
        assert_eq!(t.lookup(["a", "c"]), None);
        assert_eq!((t.value(b), t.flags(b)), (8, 2));
        t.set(b, 10, 3);
        assert_eq!((t.value(b), t.flags(b)), (10, 3));
        assert_eq!(t.len(), 3);
        assert_eq!(t.insert(ROOT, &"x".repeat(65_536), 0, 0), None);
    }

    #[test]
    fn intern_shares_components_and_path_rebuilds_them() {
        let mut t = Tree::new();
        let deep = t.intern("a/b/c").unwrap();
        let sibling = t.intern("a/b/d").unwrap();
        assert_eq!(t.len(), 4, "a, b, c and d: the shared parents are stored once");
        assert_eq!(t.intern("a/b/c"), Some(deep));
        assert_eq!(t.intern("/a//b/c/"), Some(deep));
        assert_eq!(t.path(deep), "a/b/c");
        assert_eq!(t.path(sibling), "a/b/d");
        assert_eq!(t.path(ROOT), "");
        assert_eq!(t.intern(""), Some(ROOT));
        assert_eq!(t.lookup(["a", "b"]).map(|b| t.path(b)), Some("a/b".to_string()));
    }

    #[test]
    fn children_and_parents_are_walked_without_a_second_index() {
        let mut t = Tree::new();
        let a = t.intern("a").unwrap();
        let b = t.intern("a/b").unwrap();
        let c = t.intern("a/c").unwrap();
        let d = t.intern("a/b/d").unwrap();
        assert_eq!(t.children(a).collect::<Vec<_>>(), [b, c]);
        assert_eq!(t.children(ROOT).collect::<Vec<_>>(), [a]);
        assert_eq!(t.children(d).count(), 0);
        assert_eq!((t.parent(d), t.parent(a), t.parent(ROOT)), (Some(b), Some(ROOT), None));
        assert_eq!((t.name_of(d), t.name_of(ROOT)), ("d", ""));
        assert_eq!(t.node_count(), 5);
    }

    #[test]
    fn a_deep_chain_costs_a_node_per_level() {
        let mut t = Tree::new();
        let mut at = ROOT;
        for _ in 0..100_000 {
            at = t.insert(at, "aaa", 0, 0).unwrap();
        }
        assert_eq!(t.len(), 100_000);
        assert_eq!(t.names.len(), 300_000);
        assert_eq!(t.lookup(std::iter::repeat_n("aaa", 100_000)), Some(at));
    }
}
