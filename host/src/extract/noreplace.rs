//! Renaming without ever replacing: the one primitive the publish step uses
//! to move staged entries into the destination.
//!
//! A "check, then rename" leaves a window in which another process can put
//! something at the destination name and have it replaced. Each OS offers an
//! atomic form, used here, each relative to directory handles:
//!
//! | OS | call | if the file system lacks it |
//! |---|---|---|
//! | Linux, Android | `renameat2(…, RENAME_NOREPLACE)` | check, then rename |
//! | macOS, iOS | `renameatx_np(…, RENAME_EXCL)` | check, then rename |
//! | Windows | `NtSetInformationFile(FileRenameInformation)` with `ReplaceIfExists = FALSE` and the destination directory's handle as `RootDirectory` | — |
//! | FreeBSD | files: `linkat` then `unlinkat` (a link never replaces); directories: check, then `renameat` | check, then rename |
//! | others | check, then rename | — |
//!
//! The fallback for FreeBSD directories (and for file systems without the
//! atomic call) keeps a window, but a narrow one: `rename(2)` of a directory
//! can only replace an *empty* directory (never a file, a link or a directory
//! with anything in it), so what another process can slip in is lost at most
//! as an empty directory.

use std::io;

use cap_std::fs::Dir;

/// Renames `name` in `from` to `new_name` in `to`, failing with
/// [`io::ErrorKind::AlreadyExists`] if anything exists at `new_name`. Both
/// names are single components.
pub(super) fn rename_no_replace(from: &Dir, name: &str, to: &Dir, new_name: &str) -> io::Result<()> {
    os::rename_no_replace(from, name, to, new_name)
}

/// Checks that nothing is at `new_name`, then renames: the fallback where no
/// atomic form exists.
#[allow(dead_code, reason = "unused on Windows, which renames by handle")]
fn checked_rename(from: &Dir, name: &str, to: &Dir, new_name: &str) -> io::Result<()> {
    match to.symlink_metadata(new_name) {
        Ok(_) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => from.rename(name, to, new_name),
        Err(e) => Err(e),
    }
}

/// Moves a non-directory by linking it under the new name (which fails if
/// the name exists) and then unlinking the old name. `Ok(false)` when the
/// file system has no hard links, so the caller can fall back. Built on
/// Linux too, where it is tested.
#[cfg(any(target_os = "freebsd", target_os = "linux"))]
#[cfg_attr(target_os = "linux", allow(dead_code, reason = "Linux renames with renameat2; FreeBSD uses this"))]
fn link_then_unlink(from: &Dir, name: &str, to: &Dir, new_name: &str) -> io::Result<bool> {
    use rustix::fs::{AtFlags, linkat, unlinkat};
    use rustix::io::Errno;
    match linkat(from, name, to, new_name, AtFlags::empty()) {
        Ok(()) => {}
        Err(Errno::OPNOTSUPP | Errno::PERM | Errno::MLINK) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = unlinkat(from, name, AtFlags::empty()) {
        // Leave things as they were: the new link is ours, remove it.
        let _ = unlinkat(to, new_name, AtFlags::empty());
        return Err(e.into());
    }
    Ok(true)
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
mod os {
    use std::io;

    use cap_std::fs::Dir;
    use rustix::fs::{RenameFlags, renameat_with};
    use rustix::io::Errno;

    pub(super) fn rename_no_replace(from: &Dir, name: &str, to: &Dir, new_name: &str) -> io::Result<()> {
        match renameat_with(from, name, to, new_name, RenameFlags::NOREPLACE) {
            Ok(()) => Ok(()),
            // The file system (or, on Linux before 3.15, the kernel) has no
            // atomic form.
            Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => super::checked_rename(from, name, to, new_name),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(target_os = "freebsd")]
mod os {
    use std::io;

    use cap_std::fs::Dir;

    pub(super) fn rename_no_replace(from: &Dir, name: &str, to: &Dir, new_name: &str) -> io::Result<()> {
        let is_dir = from.symlink_metadata(name)?.is_dir();
        if !is_dir && super::link_then_unlink(from, name, to, new_name)? {
            return Ok(());
        }
        // Directories cannot be hard-linked; see the module docs for why
        // this window is narrow.
        super::checked_rename(from, name, to, new_name)
    }
}

#[cfg(windows)]
mod os {
    //! `NtSetInformationFile(FileRenameInformation)`: the call that
    //! `SetFileInformationByHandle(FileRenameInfo)` wraps, made directly
    //! because only its documentation (the WDK's) pins down that the new name
    //! may be relative to `RootDirectory`, and because Wine's wrapper turns
    //! such a name into an absolute path (relative to the working directory),
    //! which the system then refuses beside a `RootDirectory` ("Invalid
    //! parameter").

    use std::io;
    use std::os::windows::io::AsRawHandle;

    use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};
    use windows_sys::Wdk::Storage::FileSystem::{FILE_RENAME_INFORMATION, FileRenameInformation, NtSetInformationFile};
    use windows_sys::Win32::Foundation::{HANDLE, RtlNtStatusToDosError};
    use windows_sys::Win32::Storage::FileSystem::{
        DELETE, FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_SHARE_DELETE, FILE_SHARE_READ,
        FILE_SHARE_WRITE,
    };
    use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;

    pub(super) fn rename_no_replace(from: &Dir, name: &str, to: &Dir, new_name: &str) -> io::Result<()> {
        // The entry itself, file or directory, opened for deletion (which a
        // rename needs) without following a reparse point.
        let mut options = OpenOptions::new();
        options
            .access_mode(DELETE)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT);
        let entry = from.open_with(name, &options)?;

        // FILE_RENAME_INFORMATION ends in a variable-length UTF-16 name (not
        // NUL-terminated: its length is given in bytes). The buffer is u64
        // words, aligned for the struct's handle, and never shorter than the
        // struct itself, which the system checks.
        let wide: Vec<u16> = new_name.encode_utf16().collect();
        let name_bytes = wide.len() * 2;
        let size = (std::mem::offset_of!(FILE_RENAME_INFORMATION, FileName) + name_bytes)
            .max(size_of::<FILE_RENAME_INFORMATION>());
        let mut buffer = vec![0u64; size.div_ceil(8)];
        let info = buffer.as_mut_ptr().cast::<FILE_RENAME_INFORMATION>();
        let too_long = || io::Error::from(io::ErrorKind::InvalidInput);
        let name_len = u32::try_from(name_bytes).map_err(|_| too_long())?;
        let info_len = u32::try_from(size).map_err(|_| too_long())?;
        let mut status_block = IO_STATUS_BLOCK::default();
        // SAFETY: `buffer` is zeroed, aligned for FILE_RENAME_INFORMATION and
        // at least `size` bytes: the fixed part plus `name_bytes` of name
        // (computed above), so the writes stay inside it and the system reads
        // at most `info_len` bytes. `entry` and `to` are open handles for the
        // duration of the call; `status_block` outlives it.
        #[allow(unsafe_code, reason = "NtSetInformationFile renames by handle without replacing; see SAFETY")]
        let status = unsafe {
            (*info).Anonymous.ReplaceIfExists = false;
            (*info).RootDirectory = to.as_raw_handle() as HANDLE;
            (*info).FileNameLength = name_len;
            std::ptr::copy_nonoverlapping(
                wide.as_ptr(),
                std::ptr::addr_of_mut!((*info).FileName).cast::<u16>(),
                wide.len(),
            );
            NtSetInformationFile(
                entry.as_raw_handle() as HANDLE,
                &mut status_block,
                info.cast::<core::ffi::c_void>(),
                info_len,
                FileRenameInformation,
            )
        };
        if status >= 0 {
            return Ok(());
        }
        // STATUS_OBJECT_NAME_COLLISION becomes ERROR_ALREADY_EXISTS, which
        // std maps to `AlreadyExists`.
        // SAFETY: a pure conversion of a status code.
        #[allow(unsafe_code, reason = "a status code conversion; see SAFETY")]
        let code = unsafe { RtlNtStatusToDosError(status) };
        Err(io::Error::from_raw_os_error(code as i32))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple", target_os = "freebsd", windows)))]
mod os {
    use std::io;

    use cap_std::fs::Dir;

    pub(super) fn rename_no_replace(from: &Dir, name: &str, to: &Dir, new_name: &str) -> io::Result<()> {
        super::checked_rename(from, name, to, new_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cap_std::ambient_authority;

    struct Scene {
        root: std::path::PathBuf,
        from: Dir,
        to: Dir,
    }

    fn scene(name: &str) -> Scene {
        let root = std::env::temp_dir().join(format!("sealtar-noreplace-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("from")).unwrap();
        std::fs::create_dir_all(root.join("to")).unwrap();
        let from = Dir::open_ambient_dir(root.join("from"), ambient_authority()).unwrap();
        let to = Dir::open_ambient_dir(root.join("to"), ambient_authority()).unwrap();
        Scene { root, from, to }
    }

    impl Drop for Scene {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    #[test]
    fn moves_files_and_directories() {
        let s = scene("moves");
        s.from.write("f", b"data").unwrap();
        s.from.create_dir("d").unwrap();
        s.from.write("d/inner", b"in").unwrap();
        rename_no_replace(&s.from, "f", &s.to, "f").unwrap();
        rename_no_replace(&s.from, "d", &s.to, "d2").unwrap();
        assert_eq!(s.to.read("f").unwrap(), b"data");
        assert_eq!(s.to.read("d2/inner").unwrap(), b"in");
        assert!(s.from.entries().unwrap().next().is_none(), "nothing is left behind");
    }

    #[test]
    fn never_replaces_a_file() {
        let s = scene("file");
        s.from.write("f", b"new").unwrap();
        s.to.write("f", b"old").unwrap();
        let err = rename_no_replace(&s.from, "f", &s.to, "f").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert_eq!(s.to.read("f").unwrap(), b"old");
        assert_eq!(s.from.read("f").unwrap(), b"new");
    }

    #[test]
    fn never_replaces_a_directory() {
        let s = scene("dir");
        s.from.create_dir("d").unwrap();
        s.from.write("d/new", b"new").unwrap();
        // An empty directory is what a plain rename(2) would replace.
        s.to.create_dir("d").unwrap();
        let err = rename_no_replace(&s.from, "d", &s.to, "d").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert!(s.to.read_dir("d").unwrap().next().is_none(), "the existing directory is untouched");
        assert_eq!(s.from.read("d/new").unwrap(), b"new");
        // A file over a directory, a directory over a file.
        s.from.write("f", b"f").unwrap();
        let err = rename_no_replace(&s.from, "f", &s.to, "d").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        s.to.write("g", b"g").unwrap();
        let err = rename_no_replace(&s.from, "d", &s.to, "g").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert_eq!(s.to.read("g").unwrap(), b"g");
    }

    #[cfg(unix)]
    #[test]
    fn never_replaces_a_symlink() {
        let s = scene("symlink");
        s.from.write("f", b"new").unwrap();
        std::os::unix::fs::symlink("/nonexistent", s.root.join("to").join("f")).unwrap();
        let err = rename_no_replace(&s.from, "f", &s.to, "f").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert_eq!(std::fs::read_link(s.root.join("to").join("f")).unwrap(), std::path::Path::new("/nonexistent"));
    }

    /// FreeBSD's file path (link, then unlink) runs here too.
    #[cfg(any(target_os = "freebsd", target_os = "linux"))]
    #[test]
    fn link_then_unlink_moves_and_never_replaces() {
        let s = scene("link");
        s.from.write("f", b"new").unwrap();
        s.to.write("taken", b"old").unwrap();
        let err = link_then_unlink(&s.from, "f", &s.to, "taken").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert_eq!(s.to.read("taken").unwrap(), b"old");
        assert!(link_then_unlink(&s.from, "f", &s.to, "free").unwrap());
        assert_eq!(s.to.read("free").unwrap(), b"new");
        assert!(s.from.symlink_metadata("f").is_err(), "the old name is gone");
        let meta = std::fs::metadata(s.root.join("to").join("free")).unwrap();
        assert_eq!(std::os::unix::fs::MetadataExt::nlink(&meta), 1);
    }
}
