//! The writer's file-system primitives: modes narrowed at creation, files
//! created new, times set through handles, and the directories whose times
//! are set last.
//!
//! Modes never widen: a file gets `(mode & 0o755) | 0o600`, a directory
//! `(mode & 0o755) | 0o700`, then the umask; set at creation.

use std::io;
use std::time::{Duration, SystemTime};

use cap_std::fs::{Dir, DirBuilder, OpenOptions};

use crate::error::Error;
use crate::escape;
use crate::tree::{NodeId, Tree};

/// The mode a file is created with (before the umask): the archive's
/// permission bits narrowed, never widened; the owner can always read and
/// write it.
pub(crate) fn narrowed_file_mode(archived: u32) -> u32 {
    (archived & 0o755) | 0o600
}

/// The mode a directory is created with (before the umask): the archive's
/// permission bits narrowed, never widened; the owner can always enter,
/// list and write it.
pub(crate) fn narrowed_dir_mode(archived: u32) -> u32 {
    (archived & 0o755) | 0o700
}

/// The mode of a directory that a path implies before (or without) its own
/// entry.
pub(super) const IMPLIED_DIR_MODE: u32 = 0o755;

/// Creates directories with `mode` (minus the umask) on Unix; elsewhere
/// modes do not apply.
pub(super) fn dir_builder(mode: u32) -> DirBuilder {
    let mut builder = DirBuilder::new();
    #[cfg(unix)]
    cap_std::fs::DirBuilderExt::mode(&mut builder, mode);
    #[cfg(not(unix))]
    let _ = (&mut builder, mode);
    builder
}

/// Creates the new file `path` in `tree` with `mode` (minus the umask);
/// fails if anything is there.
pub(super) fn create_file(tree: &Dir, path: &str, mode: u32) -> io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    cap_std::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    Ok(tree.open_with(path, &options)?.into_std())
}

/// The permission bits of a file just created with `requested`: read back
/// through the handle on Unix (the umask applies), `requested` elsewhere.
pub(super) fn file_mode(file: &std::fs::File, requested: u32, path: &str) -> Result<u32, Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = requested;
        let meta = file.metadata().map_err(|e| {
            Error::io(format!("inspecting \"{}\" in the staging directory", escape(path.as_bytes())), e)
        })?;
        Ok(meta.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        Ok(requested)
    }
}

/// The permission bits of a directory in the staging tree, as created.
pub(super) fn dir_mode(tree: &Dir, path: &str) -> Result<u32, Error> {
    #[cfg(unix)]
    {
        use cap_std::fs::PermissionsExt;
        let meta = tree.symlink_metadata(path).map_err(|e| {
            Error::io(format!("inspecting \"{}\" in the staging directory", escape(path.as_bytes())), e)
        })?;
        Ok(meta.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = (tree, path);
        Ok(0o755)
    }
}

/// An explicit entry for a directory a path implied earlier: narrows the
/// staged directory's mode to the entry's (it was created with
/// [`IMPLIED_DIR_MODE`] minus the umask, so the result is `mode` minus the
/// umask too).
#[cfg(unix)]
pub(super) fn narrow_dir(tree: &Dir, path: &str, mode: u32) -> io::Result<()> {
    use cap_std::fs::{Permissions, PermissionsExt};
    let meta = tree.symlink_metadata(path)?;
    if !meta.is_dir() {
        return Err(io::Error::other("the staged directory is not a directory"));
    }
    let current = meta.permissions().mode() & 0o7777;
    let narrowed = current & mode;
    if narrowed != current {
        tree.set_permissions(path, Permissions::from_mode(narrowed))?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn narrow_dir(_tree: &Dir, _path: &str, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Sets a staged directory's modification time through a handle opened on
/// it inside the staging tree (read-only: `futimens` needs no more).
#[cfg(unix)]
fn set_dir_time(tree: &Dir, path: &str, time: SystemTime) -> io::Result<()> {
    let dir = tree.open_with(path, OpenOptions::new().read(true))?.into_std();
    dir.set_modified(time)
}

/// Off Unix, directories are opened without the right to change their
/// attributes; setting their time is best effort there, and a directory that
/// cannot be set keeps the time of its last change.
#[cfg(not(unix))]
fn set_dir_time(tree: &Dir, path: &str, time: SystemTime) -> io::Result<()> {
    if let Ok(dir) = tree.open_dir(path) {
        let _ = dir.into_std_file().set_modified(time);
    }
    Ok(())
}

/// An archive time as a `SystemTime`, if it is one.
pub(super) fn system_time(mtime: i64) -> Option<SystemTime> {
    if mtime >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(mtime.unsigned_abs()))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(mtime.unsigned_abs()))
    }
}

/// The directories whose times are set last, as nodes of a tree of
/// components rather than paths: a hundred thousand directories 4,000 bytes
/// deep cost a node each, not 4,000 bytes each.
#[derive(Default)]
pub(super) struct DirTimes {
    tree: Tree,
    /// In the order the directories were written.
    times: Vec<(NodeId, i64)>,
}

impl DirTimes {
    /// Remembers `path`'s time; `false` if the tree is full (more nodes or
    /// name bytes than 32 bits count, far past any limit's default).
    pub(super) fn push(&mut self, path: &str, mtime: i64) -> bool {
        let Some(node) = self.tree.intern(path) else { return false };
        self.times.push((node, mtime));
        true
    }

    /// Sets every time remembered, in `tree` (the staged tree), checking the
    /// deadline as it goes.
    pub(super) fn apply(&self, tree: &Dir, ticker: &mut crate::deadline::Ticker) -> Result<(), Error> {
        for &(node, mtime) in &self.times {
            ticker.tick()?;
            let Some(time) = system_time(mtime) else { continue };
            let path = self.tree.path(node);
            set_dir_time(tree, &path, time)
                .map_err(|e| Error::io(format!("setting the time of \"{}\"", escape(path.as_bytes())), e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_narrow_and_never_widen() {
        assert_eq!(narrowed_file_mode(0o777), 0o755);
        assert_eq!(narrowed_file_mode(0o000), 0o600);
        assert_eq!(narrowed_file_mode(0o4755), 0o755, "no set-id bits");
        assert_eq!(narrowed_file_mode(0o600), 0o600);
        assert_eq!(narrowed_dir_mode(0o000), 0o700);
        assert_eq!(narrowed_dir_mode(0o1777), 0o755, "no sticky bit, nothing writable by others");
    }

    #[test]
    fn archive_times_before_and_after_the_epoch() {
        assert_eq!(system_time(0), Some(SystemTime::UNIX_EPOCH));
        assert!(system_time(-86_400).is_some_and(|t| t < SystemTime::UNIX_EPOCH));
    }

    #[cfg(unix)]
    #[test]
    fn directory_times_are_set_through_the_tree() {
        let temp = tempfile::tempdir().unwrap();
        let tree = Dir::open_ambient_dir(temp.path(), cap_std::ambient_authority()).unwrap();
        tree.create_dir_all("a/b").unwrap();
        let mut times = DirTimes::default();
        assert!(times.push("a/b", 1_000_000_000) && times.push("a", 2_000_000_000));
        let mut ticker = crate::deadline::Ticker::new(crate::deadline::Deadline::after(Duration::from_secs(60)));
        times.apply(&tree, &mut ticker).unwrap();
        let mtime = |p: &str| std::fs::metadata(temp.path().join(p)).unwrap().modified().unwrap();
        assert_eq!(mtime("a/b"), SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000));
        assert_eq!(mtime("a"), SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000));
    }
}
