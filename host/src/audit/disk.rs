//! The disk side of an audit: what a crate directory holds, read through
//! handles one name at a time without following a link.

use std::collections::BTreeMap;
use std::io::{self, Read};

use cap_std::fs::{Dir, OpenOptions};
use sha2::{Digest, Sha256};

use super::{DiskKind, Finding, Problem};
use crate::{Error, escape};

/// What the directory holds: every path (UTF-8, `/`-separated) and its kind,
/// plus names that are not UTF-8 (always extra).
pub(super) struct Tree {
    pub(super) nodes: BTreeMap<String, DiskKind>,
    pub(super) not_utf8: Vec<(String, DiskKind)>,
    /// The permission findings of the directories (each seen through the
    /// handle the walk lists it with) and of files whose names are not
    /// UTF-8; see [`Tree::permissions`] for the other files.
    walked_permissions: Vec<Finding>,
}

/// The mode and link count of the files an audit opened, taken from their
/// handles when opened: the permission checks need no second look.
#[derive(Default)]
pub(super) struct FileStats {
    #[cfg(unix)]
    by_path: BTreeMap<String, (u32, u64)>,
}

impl FileStats {
    /// Records the file at `path`, opened and looked at as `meta`.
    pub(super) fn record(&mut self, path: &str, meta: &std::fs::Metadata) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            self.by_path.insert(path.to_string(), (meta.mode(), meta.nlink()));
        }
        #[cfg(not(unix))]
        let _ = (path, meta);
    }
}

impl Tree {
    /// Lists `root` recursively, opening each directory by name with
    /// `O_NOFOLLOW` from its parent's handle. Iterative, so a deep tree
    /// cannot exhaust the stack; one directory handle open at a time.
    pub(super) fn walk(root: &Dir) -> Result<Tree, Error> {
        let mut tree = Tree { nodes: BTreeMap::new(), not_utf8: Vec::new(), walked_permissions: Vec::new() };
        let mut pending = vec![String::new()];
        while let Some(dir_path) = pending.pop() {
            let listing_error = |e| io_error(&dir_path, e);
            let handle = if dir_path.is_empty() {
                root.try_clone().map_err(listing_error)?
            } else {
                match open_dir_path(root, &dir_path) {
                    Ok(handle) => handle,
                    // Replaced by a link since it was listed.
                    Err(e) if is_symlink_error(&e) => {
                        tree.nodes.insert(dir_path, DiskKind::Symlink);
                        continue;
                    }
                    Err(e) => return Err(listing_error(e)),
                }
            };
            #[cfg(unix)]
            {
                use cap_std::fs::MetadataExt;
                let meta = handle.dir_metadata().map_err(listing_error)?;
                let shown = || escape(dir_path.as_bytes());
                mode_findings(&shown, DiskKind::Directory, meta.mode(), meta.nlink(), &mut tree.walked_permissions);
            }
            for entry in handle.entries().map_err(listing_error)? {
                let entry = entry.map_err(listing_error)?;
                let file_type = entry.file_type().map_err(listing_error)?;
                let kind = if file_type.is_symlink() {
                    DiskKind::Symlink
                } else if file_type.is_dir() {
                    DiskKind::Directory
                } else if file_type.is_file() {
                    DiskKind::File
                } else {
                    DiskKind::Other
                };
                let name = entry.file_name();
                // Escaped for display, only when a finding needs it.
                let shown = || {
                    let name = escape(name.as_encoded_bytes());
                    if dir_path.is_empty() { name } else { format!("{}/{name}", escape(dir_path.as_bytes())) }
                };
                let Some(name) = name.to_str() else {
                    // Never opened by name later: looked at now.
                    #[cfg(unix)]
                    if kind == DiskKind::File {
                        use cap_std::fs::MetadataExt;
                        let meta = entry.metadata().map_err(|e| Error::io(format!("reading \"{}\"", shown()), e))?;
                        mode_findings(&shown, kind, meta.mode(), meta.nlink(), &mut tree.walked_permissions);
                    }
                    tree.not_utf8.push((shown(), kind));
                    continue;
                };
                let path = if dir_path.is_empty() { name.to_string() } else { format!("{dir_path}/{name}") };
                if kind == DiskKind::Directory {
                    pending.push(path.clone());
                }
                tree.nodes.insert(path, kind);
            }
        }
        Ok(tree)
    }

    /// The permission findings under the directory (Unix; none elsewhere):
    /// for every directory and file, write permission for others; for every
    /// file, more than one name and the set-user-ID or set-group-ID bits.
    /// Once per file and problem. Files in `stats` were looked at through
    /// the handle they were read with; the others are looked at now, by name
    /// from their parent's handle, without following a link (one that
    /// vanished or became a link since the walk is skipped: it is not a file).
    pub(super) fn permissions(&self, root: &Dir, stats: &FileStats) -> Result<Vec<Finding>, Error> {
        #[cfg(unix)]
        {
            use cap_std::fs::MetadataExt;
            let mut out = self.walked_permissions.clone();
            let mut opener = Opener { root, parent_cache: None };
            for (path, _) in self.nodes.iter().filter(|(_, kind)| **kind == DiskKind::File) {
                let (mode, nlink) = match stats.by_path.get(path) {
                    Some(&stat) => stat,
                    None => match opener.look(path) {
                        Ok(meta) if meta.is_file() => (meta.mode(), meta.nlink()),
                        Ok(_) => continue,
                        Err(e) if e.kind() == io::ErrorKind::NotFound || is_symlink_error(&e) => continue,
                        Err(e) => return Err(io_error(path, e)),
                    },
                };
                mode_findings(&|| escape(path.as_bytes()), DiskKind::File, mode, nlink, &mut out);
            }
            Ok(out)
        }
        #[cfg(not(unix))]
        {
            let _ = (root, stats);
            Ok(self.walked_permissions.clone())
        }
    }

    /// Everything not `expected`, as findings; below an extra directory
    /// only the directory itself is reported.
    pub(super) fn extras(&self, expected: impl Fn(&str) -> bool) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut extra_dirs: Vec<&str> = Vec::new();
        for (path, kind) in &self.nodes {
            if expected(path) || parents(path).any(|p| extra_dirs.contains(&p)) {
                continue;
            }
            if *kind == DiskKind::Directory {
                extra_dirs.push(path);
            }
            out.push(Finding::new(path, Problem::Extra(*kind)));
        }
        for (path, kind) in &self.not_utf8 {
            // Already escaped; a non-UTF-8 name below an extra directory is
            // covered by it.
            if !parents(path).any(|p| extra_dirs.contains(&p)) {
                out.push(Finding { path: path.clone(), problem: Problem::Extra(*kind) });
            }
        }
        out
    }
}

/// The permission findings of one file or directory (`shown`: its path,
/// already escaped): more than one name for a file, write permission for
/// others, set-user-ID or set-group-ID on a file. A directory's set-group-ID
/// bit is not one: Linux sets it on every directory made in a directory
/// that has it, and it grants nothing.
#[cfg(unix)]
fn mode_findings(shown: &dyn Fn() -> String, kind: DiskKind, mode: u32, nlink: u64, out: &mut Vec<Finding>) {
    let finding = |problem| Finding { path: shown(), problem };
    if kind == DiskKind::File && nlink > 1 {
        out.push(finding(Problem::HardLink { links: nlink }));
    }
    if mode & 0o002 != 0 {
        out.push(finding(Problem::WorldWritable { mode }));
    }
    if kind == DiskKind::File && mode & 0o6000 != 0 {
        out.push(finding(Problem::SetId { mode }));
    }
}

/// Opens files by relative path one component at a time, never following a
/// link, keeping the last parent directory open (archives list a
/// directory's files together).
pub(super) struct Opener<'d> {
    pub(super) root: &'d Dir,
    pub(super) parent_cache: Option<(String, Dir)>,
}

impl Opener<'_> {
    /// The directory holding `path`, and its last component.
    fn parent<'p>(&mut self, path: &'p str) -> io::Result<(&Dir, &'p str)> {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        if parent.is_empty() {
            return Ok((self.root, name));
        }
        if self.parent_cache.as_ref().is_none_or(|(p, _)| p != parent) {
            self.parent_cache = Some((parent.to_string(), open_dir_path(self.root, parent)?));
        }
        let Some((_, dir)) = &self.parent_cache else { unreachable!("just filled") };
        Ok((dir, name))
    }

    /// Opens the regular file at `path`, and what its handle says about it
    /// (its mode and links, for the permission checks).
    pub(super) fn open_file(&mut self, path: &str) -> io::Result<(std::fs::File, std::fs::Metadata)> {
        let (dir, name) = self.parent(path)?;
        let file = open_nofollow(dir, name, false)?.into_std();
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        Ok((file, meta))
    }

    /// What is at `path`, without following a link.
    #[cfg(unix)]
    fn look(&mut self, path: &str) -> io::Result<cap_std::fs::Metadata> {
        let (dir, name) = self.parent(path)?;
        dir.symlink_metadata(name)
    }
}

/// The ancestors of a relative path, outermost first (`a`, `a/b` for `a/b/c`).
pub(super) fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// A path made only of normal components: no `..`, `.`, empty component,
/// leading `/` or backslash.
pub(super) fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.contains('\0')
        && path.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Opens the crate directory `name` in `parent` without following a link:
/// `Ok(Err(finding))` when it is a symlink or not a directory.
pub(super) fn open_crate_dir(parent: &Dir, name: &str) -> Result<Result<Dir, Finding>, Error> {
    let shown = escape(name.as_bytes());
    if !is_plain_relative(name) || name.contains('/') {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "not a single path component");
        return Err(Error::io(format!("opening crate directory \"{shown}\""), e));
    }
    let io_err = |e| Error::io(format!("opening crate directory \"{shown}\""), e);
    let file_type = parent.symlink_metadata(name).map_err(io_err)?.file_type();
    if file_type.is_symlink() {
        return Ok(Err(Finding::new("", Problem::CrateDirectoryIsSymlink)));
    }
    if !file_type.is_dir() {
        let kind = if file_type.is_file() { DiskKind::File } else { DiskKind::Other };
        return Ok(Err(Finding::new("", Problem::CrateNotDirectory(kind))));
    }
    match open_nofollow(parent, name, true) {
        Ok(dir) => Ok(Ok(Dir::from_std_file(dir.into_std()))),
        // Replaced by a link since the look above.
        Err(e) if is_symlink_error(&e) => Ok(Err(Finding::new("", Problem::CrateDirectoryIsSymlink))),
        Err(e) => Err(io_err(e)),
    }
}

/// What `open` with `O_NOFOLLOW` (and `O_DIRECTORY`) says when it meets a link.
pub(super) fn is_symlink_error(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        let code = e.raw_os_error();
        code == Some(rustix::io::Errno::LOOP.raw_os_error()) || code == Some(rustix::io::Errno::NOTDIR.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Opens a directory by relative path, one component at a time, never
/// following a link.
pub(super) fn open_dir_path(root: &Dir, path: &str) -> io::Result<Dir> {
    let mut components = path.split('/');
    let first = components.next().unwrap_or_default();
    let mut dir = Dir::from_std_file(open_nofollow(root, first, true)?.into_std());
    for component in components {
        dir = Dir::from_std_file(open_nofollow(&dir, component, true)?.into_std());
    }
    Ok(dir)
}

/// Opens one name in `dir` for reading without following a symbolic link
/// (`O_NOFOLLOW`) and without blocking on a FIFO (`O_NONBLOCK`).
pub(super) fn open_nofollow(dir: &Dir, name: &str, directory: bool) -> io::Result<cap_std::fs::File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use cap_std::fs::OpenOptionsExt;
        use rustix::fs::OFlags;
        let mut flags = OFlags::NOFOLLOW | OFlags::NONBLOCK;
        if directory {
            flags |= OFlags::DIRECTORY;
        }
        options.custom_flags(flags.bits() as i32);
    }
    #[cfg(windows)]
    {
        // A directory opens only with backup semantics; a reparse point
        // (symlink, junction) is opened itself, never followed.
        use cap_std::fs::OpenOptionsExt;
        use windows_sys::Win32::Storage::FileSystem::{FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT};
        options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | if directory { FILE_FLAG_BACKUP_SEMANTICS } else { 0 });
    }
    #[cfg(not(unix))]
    {
        // No O_NOFOLLOW: look first (a race with a concurrent writer remains;
        // cap-std still keeps the open inside `dir`).
        let meta = dir.symlink_metadata(name)?;
        if meta.is_symlink() || meta.is_dir() != directory {
            return Err(io::Error::other("not the kind expected, or a symlink"));
        }
    }
    dir.open_with(name, &options)
}

/// Reads a small file at the root of `dir` (not following links): `None` if
/// it is larger than `max` bytes or not a regular file.
pub(super) fn read_capped(dir: &Dir, name: &str, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut contents = Vec::new();
    Ok(read_capped_into(dir, name, max, &mut contents)?.then_some(contents))
}

/// [`read_capped`] into `contents` (cleared first), reusing its memory:
/// `false` if the file is larger than `max` bytes or not a regular file.
pub(super) fn read_capped_into(dir: &Dir, name: &str, max: u64, contents: &mut Vec<u8>) -> io::Result<bool> {
    contents.clear();
    let file = open_nofollow(dir, name, false)?.into_std();
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > max {
        return Ok(false);
    }
    // Sized once from the handle; a file still growing is read to `max + 1`.
    contents.reserve(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
    file.take(max + 1).read_to_end(contents)?;
    Ok(contents.len() as u64 <= max)
}

pub(super) fn sha256_hex(reader: &mut dyn Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
    }
    Ok(super::trust::hex(&hasher.finalize()))
}

pub(super) fn io_error(path: &str, e: io::Error) -> Error {
    Error::io(format!("reading \"{}\" in the crate directory", escape(path.as_bytes())), e)
}
