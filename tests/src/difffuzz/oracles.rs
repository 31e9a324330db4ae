//! The two reference readers and the tree they leave behind.
//!
//! GNU tar runs once per case (`tar -xf`). Python's tarfile runs in one
//! long-lived `python3` process that reads `archive<TAB>destination` lines on
//! standard input and answers one line per case, so that a run of 100,000
//! cases does not pay 100,000 interpreter start-ups.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A name's bytes: exact on Unix; elsewhere (where the fuzzer's oracles do
/// not run, but the crate must build) its UTF-8 form.
fn os_bytes(name: &OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(name).to_vec()
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().into_owned().into_bytes()
    }
}

/// The owner-exec bit (there is none outside Unix).
fn owner_exec(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o100 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// What a path in an extracted tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory.
    Dir,
    /// A regular file: contents and the owner-exec bit.
    File {
        /// Contents.
        contents: Vec<u8>,
        /// Owner-exec bit.
        exec: bool,
    },
    /// A symbolic link and its target.
    Symlink(Vec<u8>),
    /// Anything else (device, FIFO), or something that could not be read.
    Other(String),
}

/// A tree: raw relative path bytes (`/`-separated) to what is there.
pub type Tree = BTreeMap<Vec<u8>, Entry>;

/// Every path below `root`. Never follows links and never panics: what
/// cannot be read is recorded as [`Entry::Other`].
pub fn tree(root: &Path) -> Tree {
    let mut out = Tree::new();
    walk(root, &[], &mut out);
    out
}

fn walk(dir: &Path, prefix: &[u8], out: &mut Tree) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.insert(prefix.to_vec(), Entry::Other("unreadable directory".into()));
        return;
    };
    for entry in entries.flatten() {
        let mut rel = prefix.to_vec();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(&os_bytes(&entry.file_name()));
        let path = entry.path();
        let node = match std::fs::symlink_metadata(&path) {
            Err(e) => Entry::Other(format!("no metadata: {e}")),
            Ok(m) if m.file_type().is_symlink() => {
                Entry::Symlink(std::fs::read_link(&path).map(|t| os_bytes(t.as_os_str())).unwrap_or_default())
            }
            Ok(m) if m.is_dir() => {
                walk(&path, &rel, out);
                Entry::Dir
            }
            Ok(m) if m.is_file() => match std::fs::read(&path) {
                Ok(contents) => Entry::File { contents, exec: owner_exec(&m) },
                Err(e) => Entry::Other(format!("unreadable file: {e}")),
            },
            Ok(m) => Entry::Other(format!("{:?}", m.file_type())),
        };
        out.insert(rel, node);
    }
}

/// Every path below `root` as a reader of the tree sees it: symbolic links
/// are followed (a link to a file reads as that file, a link to a
/// directory as that directory and what it holds); a link that dangles,
/// one that leads out of `root` (it is not read: a hostile case must not
/// make the fuzzer read the machine), or a directory that is already on the
/// way down (a loop through links: its tree would never end), is
/// [`Entry::Other`].
pub fn tree_followed(root: &Path) -> Tree {
    let mut out = Tree::new();
    let mut on_the_way = Vec::new();
    if let Ok(canonical) = std::fs::canonicalize(root) {
        on_the_way.push(canonical);
    }
    walk_followed(root, &[], &mut on_the_way, &mut out);
    out
}

fn walk_followed(dir: &Path, prefix: &[u8], on_the_way: &mut Vec<std::path::PathBuf>, out: &mut Tree) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let mut rel = prefix.to_vec();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(&os_bytes(&entry.file_name()));
        let path = entry.path();
        let inside =
            std::fs::canonicalize(&path).is_ok_and(|c| on_the_way.first().is_some_and(|root| c.starts_with(root)));
        let node = match std::fs::metadata(&path) {
            Err(e) => Entry::Other(format!("unreadable: {}", e.kind())),
            Ok(_) if !inside => Entry::Other("outside the tree".into()),
            Ok(m) if m.is_dir() => match std::fs::canonicalize(&path) {
                Ok(canonical) if on_the_way.contains(&canonical) => Entry::Other("a loop".into()),
                Ok(canonical) => {
                    on_the_way.push(canonical);
                    walk_followed(&path, &rel, on_the_way, out);
                    on_the_way.pop();
                    Entry::Dir
                }
                Err(e) => Entry::Other(format!("unreadable: {}", e.kind())),
            },
            Ok(m) if m.is_file() => match std::fs::read(&path) {
                Ok(contents) => Entry::File { contents, exec: owner_exec(&m) },
                Err(e) => Entry::Other(format!("unreadable file: {}", e.kind())),
            },
            Ok(_) => Entry::Other("special".into()),
        };
        out.insert(rel, node);
    }
}

/// Up to `max` differences between two trees, described.
pub fn tree_differences(a_name: &str, a: &Tree, b_name: &str, b: &Tree, max: usize) -> Vec<String> {
    let brief = |e: &Entry| match e {
        Entry::Dir => "dir".to_string(),
        Entry::File { contents, exec } => {
            format!("file({} bytes{})", contents.len(), if *exec { ", exec" } else { "" })
        }
        Entry::Symlink(t) => format!("symlink -> {}", super::generate::show(t)),
        Entry::Other(o) => o.clone(),
    };
    let mut out = Vec::new();
    for (path, x) in a {
        match b.get(path) {
            None => out.push(format!("{} only in {a_name} ({})", super::generate::show(path), brief(x))),
            Some(y) if x != y => out.push(format!(
                "{}: {a_name} {} / {b_name} {}{}",
                super::generate::show(path),
                brief(x),
                brief(y),
                if brief(x) == brief(y) { " (contents differ)" } else { "" }
            )),
            _ => {}
        }
    }
    for (path, y) in b {
        if !a.contains_key(path) {
            out.push(format!("{} only in {b_name} ({})", super::generate::show(path), brief(y)));
        }
    }
    out.truncate(max);
    out
}

/// GNU tar's extraction of `archive` into `dest` (no ownership, umask
/// applied to modes): `Err` with its message if it exits non-zero.
pub fn gnu_tar(tar: &str, archive: &Path, dest: &Path) -> Result<(), String> {
    gnu_tar_with(tar, archive, dest, &[])
}

/// [`gnu_tar`] with more options (`--strip-components`, `--exclude`).
pub fn gnu_tar_with(tar: &str, archive: &Path, dest: &Path, args: &[String]) -> Result<(), String> {
    let out = Command::new(tar)
        .args(["--no-same-owner", "--no-same-permissions", "-xf"])
        .arg(archive)
        .arg("-C")
        .arg(dest)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {tar}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let first: Vec<&str> = err.lines().take(2).collect();
        Err(format!("exit {}: {}", out.status.code().unwrap_or(-1), first.join(" | ")))
    }
}

/// The Python side. In the links mode `extractall` runs with the
/// `fully_trusted` filter (its links are made, to be read through; the
/// links mode generates only targets inside the destination). Otherwise it
/// runs with a filter that is `fully_trusted`
/// for regular files and directories and raises for links, devices, FIFOs,
/// absolute names and `..` components: those are exactly what sealtar refuses
/// unconditionally, so a raise there only says "sealtar must refuse", which
/// the rule says anyway, and it keeps a hostile case from making Python
/// write outside its temporary directory.
const PYTHON_SCRIPT: &str = r#"
import sys, tarfile
class Guarded(Exception):
    pass
def guard(member, path):
    name = member.name
    if name.startswith('/') or '..' in name.split('/'):
        raise Guarded('name leaves the destination: %r' % name)
    if member.issym() or member.islnk() or member.ischr() or member.isblk() or member.isfifo():
        raise Guarded('not a file or directory: %r type %r' % (name, member.type))
    return member
out = sys.stdout
for line in sys.stdin:
    mode, archive, dest = line.rstrip('\n').split('\t')
    try:
        with tarfile.open(archive) as t:
            t.extractall(dest, filter=guard if mode == 'guard' else 'fully_trusted')
        answer = 'ok'
    except Exception as e:
        answer = 'err ' + type(e).__name__ + ': ' + str(e)
    out.write(answer.replace('\n', ' ')[:300] + '\n')
    out.flush()
"#;

/// A running `python3` answering one archive at a time.
pub struct Python {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Python {
    /// Starts the interpreter; `None` if there is no `python3` whose tarfile
    /// has extraction filters (3.12, or 3.11.4 and later).
    pub fn start() -> Option<Python> {
        let ok = Command::new("python3")
            .args(["-c", "import tarfile; tarfile.fully_trusted_filter"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return None;
        }
        let mut child = Command::new("python3")
            .args(["-c", PYTHON_SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let stdout = BufReader::new(child.stdout.take()?);
        Some(Python { child, stdin, stdout })
    }

    /// Python's extraction of `archive` into `dest`: `Err` with the
    /// exception if tarfile raised. Restarts the interpreter if it died.
    pub fn extract(&mut self, archive: &Path, dest: &Path) -> Result<(), String> {
        self.extract_as("guard", archive, dest)
    }

    /// Python's extraction of `archive` into `dest` with its links (the
    /// `fully_trusted` filter).
    pub fn extract_with_links(&mut self, archive: &Path, dest: &Path) -> Result<(), String> {
        self.extract_as("links", archive, dest)
    }

    fn extract_as(&mut self, mode: &str, archive: &Path, dest: &Path) -> Result<(), String> {
        let mut line = mode.as_bytes().to_vec();
        line.push(b'\t');
        line.extend_from_slice(&os_bytes(archive.as_os_str()));
        line.push(b'\t');
        line.extend_from_slice(&os_bytes(dest.as_os_str()));
        line.push(b'\n');
        let mut answer = String::new();
        let asked = self.stdin.write_all(&line).and_then(|()| self.stdin.flush());
        let read = asked.and_then(|()| self.stdout.read_line(&mut answer));
        match read {
            Ok(n) if n > 0 => {}
            _ => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                *self = Python::start().expect("python3 restarts");
                return Err("the Python oracle died".into());
            }
        }
        let answer = answer.trim_end();
        if answer == "ok" { Ok(()) } else { Err(answer.trim_start_matches("err ").to_string()) }
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
