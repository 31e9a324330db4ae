//! GNU tar as an oracle: find it, extract with it, and compare trees the way
//! the differential tests need (files, contents, owner-exec bits, file
//! modification times to the second, directories by presence).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::UNIX_EPOCH;

use crate::{Node, snapshot};

/// GNU tar, if this machine has it (`tar` on Linux, often `gtar` elsewhere).
pub fn gnu_tar() -> Option<&'static str> {
    ["tar", "gtar"].into_iter().find(|cmd| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("GNU tar"))
    })
}

/// Extracts `archive` into `dest` with GNU tar (compression detected by tar),
/// without ownership or stored permissions. Returns whether tar succeeded.
pub fn gnu_extract(tar: &str, archive: &Path, dest: &Path) -> Result<(), String> {
    let output = Command::new(tar)
        .args(["--no-same-owner", "--no-same-permissions", "-xf"])
        .arg(archive)
        .arg("-C")
        .arg(dest)
        .output()
        .map_err(|e| format!("running {tar}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("GNU tar failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// What is compared of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// A directory.
    Dir,
    /// A regular file.
    File {
        /// Contents.
        contents: Vec<u8>,
        /// Owner-exec bit.
        exec: bool,
        /// Modification time, whole seconds (floored).
        mtime: i64,
    },
    /// Anything else (a link, a device): sealtar never writes these.
    Other(String),
}

/// Observes every path below `root`.
pub fn observe(root: &Path) -> BTreeMap<String, Observed> {
    snapshot(root)
        .into_iter()
        .map(|(path, node)| {
            let seen = match node {
                Node::Dir => Observed::Dir,
                Node::File { contents, exec } => {
                    let modified = std::fs::metadata(root.join(&path)).and_then(|m| m.modified()).expect("mtime");
                    let mtime = match modified.duration_since(UNIX_EPOCH) {
                        Ok(d) => d.as_secs() as i64,
                        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
                    };
                    Observed::File { contents, exec, mtime }
                }
                other => Observed::Other(format!("{other:?}")),
            };
            (path, seen)
        })
        .collect()
}

/// Up to ten differences between two observed trees, described; empty if
/// they are the same.
pub fn differences(ours: &BTreeMap<String, Observed>, theirs: &BTreeMap<String, Observed>) -> Vec<String> {
    let brief = |s: &Observed| match s {
        Observed::Dir => "dir".to_string(),
        Observed::File { contents, exec, mtime } => {
            format!("file({} bytes, exec {exec}, mtime {mtime})", contents.len())
        }
        Observed::Other(o) => o.clone(),
    };
    let mut diffs = Vec::new();
    for (path, seen) in theirs {
        match ours.get(path) {
            None => diffs.push(format!("missing in sealtar: {path}")),
            Some(x) if x != seen => {
                diffs.push(format!("differs: {path}: sealtar {} / GNU tar {}", brief(x), brief(seen)))
            }
            _ => {}
        }
    }
    diffs.extend(ours.keys().filter(|p| !theirs.contains_key(*p)).map(|p| format!("only in sealtar: {p}")));
    diffs.truncate(10);
    diffs
}
