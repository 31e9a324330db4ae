//! GNU tar as an oracle: find it, extract with it, and compare trees the way
//! the differential tests need (files, contents, owner-exec bits, permission
//! bits as sealtar narrows them, file and directory modification times to
//! the second).
//!
//! Directories that no entry names (implied parents) get the time of
//! extraction from both tools, which run one after the other; two such times
//! are taken as equal when both are recent (within the last hour).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

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
    Dir {
        /// Modification time, whole seconds (floored).
        mtime: i64,
    },
    /// A regular file.
    File {
        /// Contents.
        contents: Vec<u8>,
        /// Owner-exec bit.
        exec: bool,
        /// Permission bits (`0o777`; 0 off Unix).
        mode: u32,
        /// Modification time, whole seconds (floored).
        mtime: i64,
    },
    /// Anything else (a link, a device): sealtar never writes these.
    Other(String),
}

fn seconds(modified: SystemTime) -> i64 {
    match modified.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

fn mtime_of(path: &Path) -> i64 {
    seconds(std::fs::metadata(path).and_then(|m| m.modified()).expect("mtime"))
}

/// Observes every path below `root`.
pub fn observe(root: &Path) -> BTreeMap<String, Observed> {
    snapshot(root)
        .into_iter()
        .map(|(path, node)| {
            let seen = match node {
                Node::Dir => Observed::Dir { mtime: mtime_of(&root.join(&path)) },
                Node::File { contents, exec } => {
                    let meta = std::fs::metadata(root.join(&path)).expect("metadata");
                    let mtime = seconds(meta.modified().expect("mtime"));
                    Observed::File { contents, exec, mode: permission_bits(&meta), mtime }
                }
                other => Observed::Other(format!("{other:?}")),
            };
            (path, seen)
        })
        .collect()
}

#[cfg(unix)]
fn permission_bits(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn permission_bits(_: &std::fs::Metadata) -> u32 {
    0
}

/// What sealtar writes for a file GNU tar wrote with `mode`: the same bits
/// narrowed to `(mode & 0o755) | 0o600`. GNU tar (with
/// `--no-same-permissions`) applies only the umask, so a file archived 0600
/// is 0600 for both, and a world-writable one is narrowed by sealtar alone.
pub fn narrowed(seen: &Observed) -> Observed {
    match seen {
        Observed::File { contents, exec, mode, mtime } if cfg!(unix) => {
            Observed::File { contents: contents.clone(), exec: *exec, mode: (mode & 0o755) | 0o600, mtime: *mtime }
        }
        other => other.clone(),
    }
}

/// Observes every path below `root` as a reader of the tree sees it:
/// symbolic links are followed (a link to a file looks like that file, a link
/// to a directory like that directory and its contents). This is what
/// `--links copy` and `copy-or-refuse` must reproduce for the links they
/// copy. Links that dangle or loop are `Other`.
pub fn observe_followed(root: &Path) -> BTreeMap<String, Observed> {
    let mut out = BTreeMap::new();
    walk_followed(root, "", 0, &mut out);
    out
}

fn walk_followed(dir: &Path, prefix: &str, depth: usize, out: &mut BTreeMap<String, Observed>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let path = entry.path();
        let seen = match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() && depth < 64 => {
                walk_followed(&path, &rel, depth + 1, out);
                Observed::Dir { mtime: seconds(m.modified().expect("mtime")) }
            }
            Ok(m) if m.is_file() => {
                let mode = permission_bits(&m);
                let contents = std::fs::read(&path).expect("read file");
                Observed::File { contents, exec: mode & 0o100 != 0, mode, mtime: seconds(m.modified().expect("mtime")) }
            }
            Ok(_) => Observed::Other("special or too deep".into()),
            Err(e) => Observed::Other(format!("unreadable: {e}")),
        };
        out.insert(rel, seen);
    }
}

/// Whether two observations agree. Directory times agree when equal, or
/// when both are extraction times (recent).
fn same(ours: &Observed, theirs: &Observed) -> bool {
    match (ours, theirs) {
        (Observed::Dir { mtime: a }, Observed::Dir { mtime: b }) => {
            let now = seconds(SystemTime::now());
            a == b || now - a.min(b) <= 3600
        }
        _ => ours == theirs,
    }
}

/// Up to ten differences between two observed trees, described; empty if
/// they are the same. GNU tar's file modes are compared [`narrowed`].
pub fn differences(ours: &BTreeMap<String, Observed>, theirs: &BTreeMap<String, Observed>) -> Vec<String> {
    let brief = |s: &Observed| match s {
        Observed::Dir { mtime } => format!("dir(mtime {mtime})"),
        Observed::File { contents, exec, mode, mtime } => {
            format!("file({} bytes, exec {exec}, mode {mode:04o}, mtime {mtime})", contents.len())
        }
        Observed::Other(o) => o.clone(),
    };
    let mut diffs = Vec::new();
    for (path, seen) in theirs {
        let seen = &narrowed(seen);
        match ours.get(path) {
            None => diffs.push(format!("missing in sealtar: {path}")),
            Some(x) if !same(x, seen) => {
                diffs.push(format!("differs: {path}: sealtar {} / GNU tar {}", brief(x), brief(seen)))
            }
            _ => {}
        }
    }
    diffs.extend(ours.keys().filter(|p| !theirs.contains_key(*p)).map(|p| format!("only in sealtar: {p}")));
    diffs.truncate(10);
    diffs
}
