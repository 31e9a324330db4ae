//! The destination's own modification time: creating and removing the
//! staging directory inside it changes it, so it is read before the run and
//! put back afterwards unless entries were moved into it.

#[cfg(windows)]
use std::time::SystemTime;

use cap_std::fs::Dir;

/// The destination's modification time before the run.
pub(super) struct DestTime(#[cfg(unix)] Option<rustix::fs::Stat>, #[cfg(windows)] Option<SystemTime>);

impl DestTime {
    #[cfg(unix)]
    pub(super) fn read(dest: &Dir) -> DestTime {
        DestTime(rustix::fs::fstat(dest).ok())
    }

    #[cfg(windows)]
    pub(super) fn read(dest: &Dir) -> DestTime {
        DestTime(dest.dir_metadata().and_then(|m| m.modified()).ok().map(|t| t.into_std()))
    }

    #[cfg(not(any(unix, windows)))]
    pub(super) fn read(_dest: &Dir) -> DestTime {
        DestTime()
    }

    /// Sets the modification time back (through the handle; best effort:
    /// only the owner may).
    #[cfg(unix)]
    pub(super) fn restore(&self, dest: &Dir) {
        use rustix::fs::{Mode, OFlags, Timespec, Timestamps, UTIME_OMIT, futimens, openat};
        let Some(before) = &self.0 else { return };
        let Ok(now) = rustix::fs::fstat(dest) else { return };
        if (now.st_mtime, now.st_mtime_nsec) == (before.st_mtime, before.st_mtime_nsec) {
            return;
        }
        let times = Timestamps {
            last_access: Timespec { tv_sec: 0, tv_nsec: UTIME_OMIT },
            last_modification: Timespec { tv_sec: before.st_mtime as _, tv_nsec: before.st_mtime_nsec as _ },
        };
        // The caller's handle may be an `O_PATH` descriptor, which cannot
        // change times: open the directory itself through it.
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if let Ok(itself) = openat(dest, ".", flags, Mode::empty()) {
            let _ = futimens(&itself, &times);
        }
    }

    /// Windows: the caller's handle may lack the right to change
    /// attributes, so the same directory is opened again from the handle
    /// (`ReOpenFile`, no path involved) with just that right.
    #[cfg(windows)]
    pub(super) fn restore(&self, dest: &Dir) {
        use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
        use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
        use windows_sys::Win32::Storage::FileSystem::{
            FILE_FLAG_BACKUP_SEMANTICS, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_WRITE_ATTRIBUTES,
            ReOpenFile,
        };
        let Some(before) = self.0 else { return };
        let Ok(now) = dest.dir_metadata().and_then(|m| m.modified()) else { return };
        if now.into_std() == before {
            return;
        }
        // SAFETY: `dest` is an open handle for the duration of the call; a
        // valid returned handle is owned (and closed) by `OwnedHandle`.
        #[allow(unsafe_code, reason = "ReOpenFile on our own handle, a Win32 call; see SAFETY")]
        let itself = unsafe {
            let raw = ReOpenFile(
                dest.as_raw_handle() as HANDLE,
                FILE_WRITE_ATTRIBUTES,
                FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                FILE_FLAG_BACKUP_SEMANTICS,
            );
            if raw == INVALID_HANDLE_VALUE || raw.is_null() {
                return;
            }
            OwnedHandle::from_raw_handle(raw as _)
        };
        let _ = std::fs::File::from(itself).set_modified(before);
    }

    #[cfg(not(any(unix, windows)))]
    pub(super) fn restore(&self, _dest: &Dir) {}
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn a_changed_time_is_put_back_through_the_handle() {
        let temp = tempfile::tempdir().unwrap();
        let dest = Dir::open_ambient_dir(temp.path(), cap_std::ambient_authority()).unwrap();
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        std::fs::File::open(temp.path()).unwrap().set_modified(old).unwrap();
        let before = DestTime::read(&dest);
        dest.create_dir("x").unwrap();
        dest.remove_dir("x").unwrap();
        assert_ne!(std::fs::metadata(temp.path()).unwrap().modified().unwrap(), old);
        before.restore(&dest);
        assert_eq!(std::fs::metadata(temp.path()).unwrap().modified().unwrap(), old);
    }
}
