//! Reading the archive: standard input or a file, opened without blocking,
//! read under the run's deadline and stall timeout.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use sealtar::Options;

/// The archive at `path` (`-`: standard input), and its size when it is a
/// regular file. Opening never blocks (a FIFO with no writer opens at
/// once), and reads from a pipe, a FIFO or a terminal wait at most until
/// the deadline and the stall timeout, so that an input nobody writes to
/// ends the run.
pub(crate) fn open_input(path: &Path, options: &Options) -> io::Result<(TimedReader, Option<u64>)> {
    let file = if path.as_os_str() == "-" { stdin_file()? } else { open_nonblocking(path)? };
    let size = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    let deadline = Instant::now().checked_add(options.timeout);
    Ok((TimedReader { file, deadline, stall: options.stall_timeout }, size))
}

/// Opens `path` for reading without blocking: `open(2)` of a FIFO waits
/// for a writer unless `O_NONBLOCK` is given. Reads block again afterwards
/// (the waits are [`TimedReader`]'s).
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(OFlags::NONBLOCK.bits() as i32).open(path)?;
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Standard input as a file of its own, read without std's buffer (so that
/// polling its descriptor tells the truth).
#[cfg(unix)]
fn stdin_file() -> io::Result<File> {
    use std::os::fd::AsFd;
    Ok(File::from(io::stdin().as_fd().try_clone_to_owned()?))
}

#[cfg(windows)]
fn stdin_file() -> io::Result<File> {
    use std::os::windows::io::AsHandle;
    Ok(File::from(io::stdin().as_handle().try_clone_to_owned()?))
}

/// A reader that waits for data at most until a deadline, and at most
/// `stall` at a time.
pub(crate) struct TimedReader {
    file: File,
    deadline: Option<Instant>,
    stall: Duration,
}

impl Read for TimedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.wait()?;
        self.file.read(buf)
    }
}

impl TimedReader {
    /// How long the next wait may last, or the error if the deadline or
    /// the stall timeout (counted from `started`) has passed.
    fn time_left(&self, started: Instant) -> io::Result<Duration> {
        let now = Instant::now();
        let stall_left = self.stall.saturating_sub(now - started);
        let left = self.deadline.map_or(stall_left, |d| d.saturating_duration_since(now).min(stall_left));
        if !left.is_zero() {
            return Ok(left);
        }
        let what = if self.deadline.is_some_and(|d| now >= d) {
            "the input was not read before the deadline (--timeout)"
        } else {
            "the input stalled: no bytes arrived in time (--stall-timeout)"
        };
        Err(io::Error::new(io::ErrorKind::TimedOut, what))
    }

    #[cfg(unix)]
    fn wait(&self) -> io::Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let started = Instant::now();
        loop {
            let left = self.time_left(started)?;
            let mut fds = [PollFd::new(&self.file, PollFlags::IN)];
            let timeout = Timespec::try_from(left.min(Duration::from_secs(1))).ok();
            match poll(&mut fds, timeout.as_ref()) {
                Ok(0) => continue,
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Windows cannot wait on a pipe with a timeout (short of overlapped
    /// I/O, which an inherited standard input does not offer): a pipe is
    /// peeked at every few milliseconds until it holds bytes or its writer
    /// is gone (then `read` reports the end). Other handles (files,
    /// consoles) are read directly.
    #[cfg(windows)]
    fn wait(&self) -> io::Result<()> {
        use std::os::windows::io::AsRawHandle;
        type Handle = *mut core::ffi::c_void;
        #[link(name = "kernel32")]
        #[allow(unsafe_code, reason = "declares two kernel32 functions std does not wrap")]
        unsafe extern "system" {
            fn GetFileType(file: Handle) -> u32;
            fn PeekNamedPipe(
                pipe: Handle,
                buffer: *mut core::ffi::c_void,
                size: u32,
                read: *mut u32,
                available: *mut u32,
                left_in_message: *mut u32,
            ) -> i32;
        }
        const FILE_TYPE_PIPE: u32 = 3;
        let handle = self.file.as_raw_handle();
        // SAFETY: `handle` is open for as long as `self.file` is.
        #[allow(unsafe_code, reason = "GetFileType on our own handle; see SAFETY")]
        let file_type = unsafe { GetFileType(handle) };
        if file_type != FILE_TYPE_PIPE {
            return Ok(());
        }
        let started = Instant::now();
        loop {
            let mut available = 0u32;
            // SAFETY: as above; the only out-pointer is a live local, the
            // others are null, which the call allows.
            #[allow(unsafe_code, reason = "PeekNamedPipe on our own handle; see SAFETY")]
            let ok = unsafe {
                PeekNamedPipe(
                    handle,
                    std::ptr::null_mut(),
                    0,
                    std::ptr::null_mut(),
                    &mut available,
                    std::ptr::null_mut(),
                )
            };
            if ok == 0 || available > 0 {
                return Ok(());
            }
            let left = self.time_left(started)?;
            std::thread::sleep(left.min(Duration::from_millis(10)));
        }
    }

    #[cfg(not(any(unix, windows)))]
    fn wait(&self) -> io::Result<()> {
        Ok(())
    }
}
