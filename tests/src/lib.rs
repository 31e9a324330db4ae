//! Test support for sealtar: the raw tar builder and the compressions (from
//! `sealtar-testkit`, re-exported here), the differential fuzzer, the
//! decoder differential, GNU tar as an oracle, Cargo homes for the audit
//! tests, and a tree snapshot.

pub mod cargo;
pub mod decoders;
pub mod difffuzz;
pub mod oracle;
pub mod scene;

use std::collections::BTreeMap;
use std::path::Path;

pub use sealtar_testkit::*;

/// What a path in a snapshot is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir,
    /// A regular file: contents and whether the owner-exec bit is set.
    File {
        /// Contents.
        contents: Vec<u8>,
        /// Owner-exec bit (always false off Unix).
        exec: bool,
    },
    /// A symbolic link and its target.
    Symlink(String),
    /// Anything else.
    Other,
}

/// Every path below `root` (relative, `/`-separated) and what it is. Links
/// are recorded, never followed.
pub fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries {
        let entry = entry.expect("readable directory entry");
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .expect("below root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let node = if meta.file_type().is_symlink() {
            Node::Symlink(std::fs::read_link(&path).expect("link").to_string_lossy().into_owned())
        } else if meta.is_dir() {
            walk(root, &path, out);
            Node::Dir
        } else if meta.is_file() {
            Node::File { contents: std::fs::read(&path).expect("read file"), exec: is_exec(&meta) }
        } else {
            Node::Other
        };
        out.insert(rel, node);
    }
}

#[cfg(unix)]
fn is_exec(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o100 != 0
}

#[cfg(not(unix))]
fn is_exec(_: &std::fs::Metadata) -> bool {
    false
}
