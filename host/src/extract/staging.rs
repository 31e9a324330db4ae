//! The staging directory: created inside the destination, written into,
//! then published by renames that never replace anything, or removed.
//!
//! The archive is first written into a fresh staging directory inside the
//! destination (`.sealtar-staging-*/tree`). Only when every entry has
//! passed and every byte is written is the staged tree moved into place:
//! each staged entry that has no counterpart in the destination is renamed
//! in, and existing directories are entered. Before the first rename, the
//! whole move is planned and any clash with existing content refuses the
//! archive.
//!
//! The staging directory is removed through the handle this run opened when
//! it created it, after checking the lock file (created inside it, locked
//! for the whole run) is still the one this run made: a directory of that
//! name that another process made, or a symbolic link, is never touched.
//! Removal walks the tree holding two file descriptors at most, whatever its
//! depth, and never follows a symbolic link. A staging directory left by a
//! run that was killed stays, for its owner to remove.

use std::io;
use std::time::SystemTime;

use cap_std::fs::{Dir, OpenOptions};

use super::files::dir_builder;
use super::noreplace::rename_no_replace;
use crate::deadline::Deadline;
use crate::error::Error;
use crate::escape;
use crate::pipeline::refusal;
use crate::policy::STAGING_PREFIX;
use crate::rule::Rule;

/// A locked staging directory inside the destination, held by handle.
pub(super) struct Staging {
    name: String,
    /// The staging directory itself, opened without following links right
    /// after this run created it.
    root: Dir,
    /// The marker: created (exclusively) by this run inside `root` and
    /// locked until the directory is removed.
    lock: std::fs::File,
    pub(super) tree: Dir,
}

impl Staging {
    pub(super) fn create(dest: &Dir) -> Result<Staging, Error> {
        let builder = dir_builder(0o700);
        let mut attempt = 0u32;
        let name = loop {
            let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            let name = format!("{STAGING_PREFIX}{}-{nanos:08x}{attempt}", std::process::id());
            match dest.create_dir_with(&name, &builder) {
                Ok(()) => break name,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(Error::io("creating a staging directory in the destination", e)),
            }
        };
        let io_err = |e| Error::io(format!("preparing the staging directory {name}"), e);
        let root = open_own_dir(dest, &name).map_err(io_err)?;
        let lock = root
            .open_with("lock", OpenOptions::new().read(true).write(true).create_new(true))
            .map_err(io_err)?
            .into_std();
        // Another process cannot hold it: the file was created just now.
        let _ = lock.try_lock();
        root.create_dir("tree").map_err(io_err)?;
        let tree = root.open_dir("tree").map_err(io_err)?;
        Ok(Staging { name, root, lock, tree })
    }

    /// Moves the staged tree into `dest`: plan first, refuse on any clash,
    /// then rename, undoing the renames done so far if one fails. Whether
    /// anything was moved into `dest` itself (not only into existing
    /// directories).
    pub(super) fn publish(&self, dest: &Dir, owner: &Owner<'_>, deadline: Deadline) -> Result<bool, Error> {
        let mut moves = Vec::new();
        self.plan(dest, owner, deadline, "", &mut moves)?;
        for (done, path) in moves.iter().enumerate() {
            if let Err(e) = move_entry(&self.tree, dest, path) {
                for undo in moves[..done].iter().rev() {
                    let _ = move_entry(dest, &self.tree, undo);
                }
                return Err(match e.kind() {
                    io::ErrorKind::AlreadyExists => exists_in_destination(owner, path),
                    _ => Error::io(format!("moving \"{}\" into the destination", escape(path.as_bytes())), e),
                });
            }
        }
        Ok(moves.iter().any(|p| !p.contains('/')))
    }

    fn plan(
        &self,
        dest: &Dir,
        owner: &Owner<'_>,
        deadline: Deadline,
        dir: &str,
        moves: &mut Vec<String>,
    ) -> Result<(), Error> {
        deadline.check()?;
        let listing = if dir.is_empty() { self.tree.entries() } else { self.tree.read_dir(dir) };
        let listing = listing.map_err(|e| Error::io("listing the staging directory", e))?;
        let mut names = Vec::new();
        for entry in listing {
            let entry = entry.map_err(|e| Error::io("listing the staging directory", e))?;
            let name = entry.file_name().into_string().map_err(|_| Error::protocol("a staged name is not UTF-8"))?;
            let is_dir = entry.file_type().map_err(|e| Error::io("listing the staging directory", e))?.is_dir();
            names.push((name, is_dir));
        }
        names.sort();
        for (name, is_dir) in names {
            let path = if dir.is_empty() { name } else { format!("{dir}/{name}") };
            match dest.symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => moves.push(path),
                Ok(existing) if existing.is_dir() && is_dir => self.plan(dest, owner, deadline, &path, moves)?,
                Ok(_) => return Err(exists_in_destination(owner, &path)),
                Err(e) => {
                    return Err(Error::io(format!("inspecting \"{}\" in the destination", escape(path.as_bytes())), e));
                }
            }
        }
        Ok(())
    }

    /// Removes the staging directory if it is still the one this run
    /// created: its lock file must be the one this run made and holds.
    pub(super) fn remove(self, dest: &Dir) {
        let Staging { name, root, lock, tree } = self;
        drop(tree);
        if is_our_marker(&root, &lock) {
            // Windows deletes an open file only when its last handle closes:
            // until then the name stays, and with it the staging directory.
            // So the lock is closed before the removal there (after the
            // check above); on Unix it is held to the end.
            #[cfg(not(unix))]
            drop(lock);
            let _ = remove_own_dir(dest, &name, root);
        }
    }
}

/// The refusal for a staged path that something in the destination occupies,
/// naming the entry that first used the path.
fn exists_in_destination(owner: &Owner<'_>, path: &str) -> Error {
    refusal(owner(path).unwrap_or_default(), path.as_bytes(), Rule::ExistsInDestination)
}

/// The entry that first used a written path, to name it in a refusal.
pub(super) type Owner<'a> = dyn Fn(&str) -> Option<u64> + 'a;

/// Renames `path` from one tree to the same place in the other, never
/// replacing anything. Both parents are opened as handles first so the final
/// rename involves single names only.
fn move_entry(from: &Dir, to: &Dir, path: &str) -> io::Result<()> {
    let (parent, name) = match path.rsplit_once('/') {
        Some((parent, name)) => (Some(parent), name),
        None => (None, path),
    };
    let from_parent = match parent {
        Some(p) => from.open_dir(p)?,
        None => from.try_clone()?,
    };
    let to_parent = match parent {
        Some(p) => to.open_dir(p)?,
        None => to.try_clone()?,
    };
    rename_no_replace(&from_parent, name, &to_parent, name)
}

/// Opens the directory `name` that this run just created in `dest`, without
/// following a symbolic link, and checks it is an empty directory of this
/// user: if another process swapped something in between, nothing of
/// theirs is used (or later removed).
#[cfg(unix)]
fn open_own_dir(dest: &Dir, name: &str) -> io::Result<Dir> {
    use rustix::fs::{OFlags, openat};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = openat(dest, name, flags, rustix::fs::Mode::empty())?;
    let stat = rustix::fs::fstat(&fd)?;
    let mut listing = rustix::fs::Dir::read_from(&fd)?;
    let mut entries = 0;
    while let Some(entry) = listing.read() {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            entries += 1;
        }
    }
    if stat.st_uid != rustix::process::geteuid().as_raw() || entries != 0 {
        return Err(io::Error::other("the new staging directory was replaced"));
    }
    Ok(Dir::from_std_file(std::fs::File::from(fd)))
}

#[cfg(not(unix))]
fn open_own_dir(dest: &Dir, name: &str) -> io::Result<Dir> {
    dest.open_dir(name)
}

/// Whether `root` still holds the lock file this run created and locked
/// (opened again without following links, compared by device and inode).
#[cfg(unix)]
fn is_our_marker(root: &Dir, lock: &std::fs::File) -> bool {
    use rustix::fs::{OFlags, fstat, openat};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let (Ok(marker), Ok(ours)) = (openat(root, "lock", flags, rustix::fs::Mode::empty()), fstat(lock)) else {
        return false;
    };
    fstat(&marker).is_ok_and(|m| (m.st_dev, m.st_ino) == (ours.st_dev, ours.st_ino))
}

#[cfg(not(unix))]
fn is_our_marker(root: &Dir, _lock: &std::fs::File) -> bool {
    root.symlink_metadata("lock").is_ok_and(|m| m.is_file())
}

/// Removes everything below `root` (the staging directory, opened by this
/// run), then `root` itself from `dest` if `name` still names it.
///
/// Depth-first with at most two descriptors open (the directory being
/// emptied and, briefly, its listing or its parent): a level's
/// subdirectories are remembered by name, and the walk climbs back through
/// `..`, checking that it arrives in the directory it came from (device and
/// inode). Nothing is followed: directories are opened with `O_NOFOLLOW`,
/// and everything that is not a directory is unlinked, never opened.
#[cfg(unix)]
fn remove_own_dir(dest: &Dir, name: &str, root: Dir) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::OwnedFd;

    use rustix::fs::{AtFlags, FileType, OFlags, fstat, openat, statat, unlinkat};

    struct Level {
        name: CString,
        id: (u64, u64),
        subdirs: Vec<CString>,
        listed: bool,
    }
    #[allow(clippy::unnecessary_cast, reason = "`st_dev` and `st_ino` are not u64 on every Unix")]
    let id = |fd: &OwnedFd| fstat(fd).map(|s| (s.st_dev as u64, s.st_ino as u64));
    let open_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;

    let mut current: OwnedFd = root.into_std_file().into();
    let root_id = id(&current)?;
    let mut levels = vec![Level { name: CString::default(), id: root_id, subdirs: Vec::new(), listed: false }];
    while let Some(level) = levels.last_mut() {
        if !level.listed {
            let mut listing = rustix::fs::Dir::read_from(&current)?;
            while let Some(entry) = listing.read() {
                let entry = entry?;
                let entry_name = entry.file_name();
                if matches!(entry_name.to_bytes(), b"." | b"..") {
                    continue;
                }
                let is_dir = match entry.file_type() {
                    FileType::Unknown => statat(&current, entry_name, AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok_and(|s| FileType::from_raw_mode(s.st_mode as _) == FileType::Directory),
                    t => t == FileType::Directory,
                };
                if is_dir {
                    level.subdirs.push(entry_name.to_owned());
                } else {
                    unlinkat(&current, entry_name, AtFlags::empty())?;
                }
            }
            level.listed = true;
        }
        if let Some(sub) = level.subdirs.pop() {
            match openat(&current, &sub, open_flags, rustix::fs::Mode::empty()) {
                Ok(fd) => {
                    let sub_id = id(&fd)?;
                    levels.push(Level { name: sub, id: sub_id, subdirs: Vec::new(), listed: false });
                    current = fd;
                }
                // Replaced by something that is not a directory: unlink it.
                Err(rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) => {
                    unlinkat(&current, &sub, AtFlags::empty())?;
                }
                Err(rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(e.into()),
            }
            continue;
        }
        // This level is empty: climb to its parent and remove it there.
        let Some(done) = levels.pop() else { break };
        let Some(parent) = levels.last() else {
            levels.push(done);
            break;
        };
        let up = openat(&current, "..", open_flags, rustix::fs::Mode::empty())?;
        if id(&up)? != parent.id {
            return Err(io::Error::other("the staging tree was moved while being removed"));
        }
        unlinkat(&up, &done.name, AtFlags::REMOVEDIR)?;
        current = up;
    }
    drop(current);
    // The staging directory is empty; remove it if its name still names it.
    let named = statat(dest, name, AtFlags::SYMLINK_NOFOLLOW)?;
    #[allow(clippy::unnecessary_cast, reason = "`st_dev` and `st_ino` are not u64 on every Unix")]
    let named = (named.st_dev as u64, named.st_ino as u64);
    if named != root_id {
        return Err(io::Error::other("the staging directory's name was reused"));
    }
    unlinkat(dest, name, AtFlags::REMOVEDIR)?;
    Ok(())
}

#[cfg(not(unix))]
fn remove_own_dir(dest: &Dir, name: &str, root: Dir) -> io::Result<()> {
    drop(root);
    dest.remove_dir_all(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dest() -> (tempfile::TempDir, Dir) {
        let temp = tempfile::tempdir().unwrap();
        let dest = Dir::open_ambient_dir(temp.path(), cap_std::ambient_authority()).unwrap();
        (temp, dest)
    }

    fn names_in(dest: &Dir) -> Vec<String> {
        let mut names: Vec<String> =
            dest.entries().unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    fn never(_: &str) -> Option<u64> {
        None
    }

    #[test]
    fn staging_is_created_inside_and_removed_without_a_trace() {
        let (_temp, dest) = temp_dest();
        let staging = Staging::create(&dest).unwrap();
        let made = names_in(&dest);
        assert_eq!(made.len(), 1);
        assert!(made[0].starts_with(STAGING_PREFIX), "{made:?}");
        staging.tree.create_dir_all("a/b/c").unwrap();
        staging.tree.write("a/b/c/f", b"x").unwrap();
        staging.remove(&dest);
        assert!(names_in(&dest).is_empty());
    }

    #[test]
    fn publish_moves_new_names_and_enters_existing_directories() {
        let (_temp, dest) = temp_dest();
        dest.create_dir("shared").unwrap();
        dest.write("shared/old", b"old").unwrap();
        let staging = Staging::create(&dest).unwrap();
        staging.tree.create_dir_all("shared/new").unwrap();
        staging.tree.write("shared/new/f", b"f").unwrap();
        staging.tree.write("top", b"t").unwrap();
        let moved_top = staging.publish(&dest, &never, Deadline::after(std::time::Duration::from_secs(60))).unwrap();
        staging.remove(&dest);
        assert!(moved_top, "a new top-level name was moved in");
        assert_eq!(names_in(&dest), ["shared", "top"]);
        assert_eq!(dest.read("shared/old").unwrap(), b"old");
        assert_eq!(dest.read("shared/new/f").unwrap(), b"f");
    }

    #[test]
    fn a_clash_refuses_before_anything_moves() {
        let (_temp, dest) = temp_dest();
        dest.write("b", b"theirs").unwrap();
        let staging = Staging::create(&dest).unwrap();
        staging.tree.write("a", b"mine").unwrap();
        staging.tree.write("b", b"mine").unwrap();
        let named = |path: &str| (path == "b").then_some(7);
        let error = staging.publish(&dest, &named, Deadline::after(std::time::Duration::from_secs(60))).unwrap_err();
        assert!(
            matches!(&error, Error::Refused { index: 7, rule: Rule::ExistsInDestination, path } if path == "b"),
            "{error:?}"
        );
        staging.remove(&dest);
        assert_eq!(names_in(&dest), ["b"], "nothing moved, the staging directory is gone");
        assert_eq!(dest.read("b").unwrap(), b"theirs");
    }

    #[test]
    fn publishing_past_the_deadline_moves_nothing() {
        let (_temp, dest) = temp_dest();
        let staging = Staging::create(&dest).unwrap();
        staging.tree.write("a", b"mine").unwrap();
        let error = staging.publish(&dest, &never, Deadline::after(std::time::Duration::ZERO)).unwrap_err();
        assert!(matches!(error, Error::Sandbox(crate::SandboxFault::Timeout)), "{error:?}");
        staging.remove(&dest);
        assert!(names_in(&dest).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_staging_directory_is_left_alone() {
        let (temp, dest) = temp_dest();
        let staging = Staging::create(&dest).unwrap();
        let name = names_in(&dest).remove(0);
        // Another process swaps the directory for one of its own.
        std::fs::rename(temp.path().join(&name), temp.path().join("moved")).unwrap();
        std::fs::create_dir(temp.path().join(&name)).unwrap();
        std::fs::write(temp.path().join(&name).join("theirs"), b"x").unwrap();
        staging.remove(&dest);
        assert!(temp.path().join(&name).join("theirs").exists(), "their directory is untouched");
    }
}
