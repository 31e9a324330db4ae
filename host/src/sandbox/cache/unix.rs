//! Unix: walk the path from `/` by handle, checking every directory.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use cap_std::fs::Dir;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Symbolic links followed while walking a path, as the kernel allows.
const MAX_LINKS: usize = 40;

const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

fn me() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Why a directory on the way to the cache cannot be trusted, if it
/// cannot. `last` is the cache directory itself.
fn distrust(fd: &OwnedFd, shown: &Path, last: bool) -> Option<String> {
    let Ok(st) = rustix::fs::fstat(fd) else {
        return Some(format!("cannot inspect {}", super::shown(shown)));
    };
    let uid = st.st_uid;
    let mode = Mode::from_raw_mode(st.st_mode);
    let what = if last { "it".to_string() } else { format!("its ancestor {}", super::shown(shown)) };
    if last && uid != me() {
        return Some(format!("{what} belongs to user {uid}, not to this user"));
    }
    if uid != me() && uid != 0 {
        return Some(format!("{what} belongs to user {uid}, neither this user nor root"));
    }
    let sticky = mode.contains(Mode::SVTX);
    if mode.intersects(Mode::WGRP | Mode::WOTH) && (last || !sticky) {
        let how = if last { "" } else { " without the sticky bit" };
        return Some(format!("{what} is writable by group or others{how}"));
    }
    None
}

/// Opens `path` as a directory handle, creating missing components
/// (mode 0700), following no symbolic link at its last component and
/// checking every directory passed through. Symbolic links in ancestors
/// are followed only from directories already checked, so whoever could
/// change them could change the directory itself.
pub(super) fn open_trusted_dir(path: &Path) -> Result<File, String> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(|e| format!("the working directory is unknown ({e})"))?.join(path)
    };
    let open_root = || -> Result<OwnedFd, String> {
        let root = rustix::fs::openat(CWD, "/", DIR_FLAGS, Mode::empty())
            .map_err(|e| format!("cannot open / ({})", std::io::Error::from(e)))?;
        match distrust(&root, Path::new("/"), false) {
            Some(why) => Err(why),
            None => Ok(root),
        }
    };
    let mut fd = open_root()?;
    let mut shown = PathBuf::from("/");
    // Components still to walk, the next one last.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, &path);
    let mut links = 0;
    while let Some(name) = pending.pop() {
        let last = pending.is_empty();
        let here = shown.join(&name);
        let next = match rustix::fs::openat(&fd, name.as_os_str(), DIR_FLAGS, Mode::empty()) {
            Err(Errno::NOENT) => {
                match rustix::fs::mkdirat(&fd, name.as_os_str(), Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => {
                        return Err(format!("cannot create {} ({})", super::shown(&here), std::io::Error::from(e)));
                    }
                }
                rustix::fs::openat(&fd, name.as_os_str(), DIR_FLAGS, Mode::empty())
            }
            other => other,
        };
        match next {
            Ok(next) => {
                if let Some(why) = distrust(&next, &here, last) {
                    return Err(why);
                }
                fd = next;
                shown = if name.as_bytes() == b".." { shown.parent().unwrap_or(&shown).to_path_buf() } else { here };
            }
            Err(Errno::LOOP | Errno::NOTDIR) => {
                let is_link = rustix::fs::statat(&fd, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
                if !is_link {
                    return Err(format!("{} is not a directory", super::shown(&here)));
                }
                if last {
                    return Err("it is a symbolic link".to_string());
                }
                links += 1;
                if links > MAX_LINKS {
                    return Err(format!("too many symbolic links on the way to {}", super::shown(&here)));
                }
                let target = rustix::fs::readlinkat(&fd, name.as_os_str(), Vec::new()).map_err(|e| {
                    format!("cannot read the link {} ({})", super::shown(&here), std::io::Error::from(e))
                })?;
                let target = PathBuf::from(OsString::from(std::ffi::OsStr::from_bytes(target.as_bytes())));
                if target.is_absolute() {
                    fd = open_root()?;
                    shown = PathBuf::from("/");
                }
                push_components(&mut pending, &target);
            }
            Err(e) => return Err(format!("cannot open {} ({})", super::shown(&here), std::io::Error::from(e))),
        }
    }
    Ok(File::from(fd))
}

/// Pushes the components of `path` onto `pending` so that its first
/// component is popped next.
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    let names: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    pending.extend(names.into_iter().rev());
}

/// Opens `name` in `dir` for reading, failing on a symbolic link.
pub(super) fn open_file_nofollow(dir: &Dir, name: &str) -> std::io::Result<File> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    Ok(File::from(rustix::fs::openat(dir, name, flags, Mode::empty())?))
}

/// A regular file this user owns and no one else can write.
pub(super) fn trusted_file(file: &File) -> bool {
    file.metadata().is_ok_and(|m| m.is_file() && m.uid() == me() && m.mode() & 0o022 == 0)
}
