//! Writing: staging inside the destination, then publishing by rename.
//!
//! All writes go through `cap_std::fs::Dir` handles rooted at the destination
//! the caller opened, so no path can resolve outside it. The archive is first
//! written into a fresh staging directory inside the destination
//! (`.sealtar-staging-*/tree`). Only when every entry has passed and every
//! byte is written is the staged tree moved into place: each staged entry that
//! has no counterpart in the destination is renamed in (never replacing
//! anything), and existing directories are entered. Before the first rename,
//! the whole move is planned and any clash with existing content refuses the
//! archive; so on any refusal or error the destination is left as it was,
//! down to its own modification time.
//!
//! The staging directory is removed through the handle this run opened when
//! it created it, after checking the lock file (created inside it, locked for
//! the whole run) is still the one this run made: a directory of that name
//! that another process made, or a symbolic link, is never touched. Removal
//! walks the tree holding two file descriptors at most, whatever its depth,
//! and never follows a symbolic link. A staging directory left by a run that
//! was killed stays, for its owner to remove.
//!
//! Modes never widen: a file gets `(mode & 0o755) | 0o600`, a directory
//! `(mode & 0o755) | 0o700`, then the umask; set at creation.

use std::io::{self, Read, Write};
use std::time::{Duration, SystemTime};

use cap_std::fs::{Dir, DirBuilder, OpenOptions};

use crate::error::Error;
use crate::escape;
use crate::kind::Kind;
use crate::noreplace::rename_no_replace;
use crate::options::Options;
use crate::policy::{Accepted, CopyOp, LinkCopy, Plan, STAGING_PREFIX, Vetter};
use crate::report::{Copied, Hasher, Observer, Progress, REPORT_BYTES, Report, Skipped, Written};
use crate::rule::Rule;
use crate::sandbox::{RawEntry, RawEvent, Sandbox};
use crate::seen::{NodeId, Tree};

/// The mode a file is created with (before the umask): the archive's
/// permission bits narrowed, never widened; the owner can always read and
/// write it.
pub fn narrowed_file_mode(archived: u32) -> u32 {
    (archived & 0o755) | 0o600
}

/// The mode a directory is created with (before the umask): the archive's
/// permission bits narrowed, never widened; the owner can always enter,
/// list and write it.
pub fn narrowed_dir_mode(archived: u32) -> u32 {
    (archived & 0o755) | 0o700
}

/// The mode of a directory that a path implies before (or without) its own
/// entry.
const IMPLIED_DIR_MODE: u32 = 0o755;

/// Extracts `reader` into `dest`, all or nothing, telling `observer` as it goes.
pub fn extract<R: Read + Send, O: Observer + ?Sized>(
    sandbox: &Sandbox,
    options: &Options,
    reader: R,
    dest: &Dir,
    observer: &mut O,
) -> Result<Report, Error> {
    let vetter = Vetter::new(options, true)?;
    let before = DestTime::read(dest);
    let staging = Staging::create(dest)?;
    let mut writer = Writer {
        tree: &staging.tree,
        vetter,
        options,
        open: None,
        discard: false,
        dir_times: DirTimes::default(),
        report: Report::default(),
        report_bytes: 0,
        progress: Progress::default(),
        observer,
    };
    let result = sandbox
        .run(options, reader, true, |event, compressed| writer.handle(event, compressed))
        .and_then(|()| writer.finish())
        .and_then(|()| staging.publish(dest, &writer.vetter));
    let report = std::mem::take(&mut writer.report);
    drop(writer);
    staging.remove(dest);
    // Creating and removing the staging directory touched the destination's
    // modification time; put it back unless entries were moved into it.
    if !matches!(result, Ok(true)) {
        before.restore(dest);
    }
    result.map(|_| report)
}

struct OpenFile {
    file: std::fs::File,
    mtime: i64,
    hasher: Option<Hasher>,
    written: Written,
}

struct Writer<'a, O: ?Sized> {
    tree: &'a Dir,
    vetter: Vetter<'a>,
    options: &'a Options,
    open: Option<OpenFile>,
    /// The current file is not written (excluded): its data is dropped.
    discard: bool,
    /// Directories whose archive mtime is set once everything is written.
    dir_times: DirTimes,
    report: Report,
    /// Bytes the report's lists hold so far ([`REPORT_BYTES`]); `usize::MAX`
    /// once they are full.
    report_bytes: usize,
    progress: Progress,
    observer: &'a mut O,
}

impl<O: Observer + ?Sized> Writer<'_, O> {
    fn handle(&mut self, event: RawEvent, compressed: u64) -> Result<(), Error> {
        match event {
            RawEvent::Entry(raw) => {
                self.progress.entries += 1;
                self.entry(raw, compressed)?;
            }
            RawEvent::Data(data) => {
                self.vetter.data(data.len())?;
                if self.discard {
                    self.discard = self.vetter.data_pending();
                    return Ok(());
                }
                let open = self.open.as_mut().ok_or_else(|| Error::protocol("data without an open file"))?;
                open.file
                    .write_all(&data)
                    .map_err(|e| Error::io(format!("writing \"{}\"", escape(open.written.dest_path.as_bytes())), e))?;
                if let Some(hasher) = open.hasher.as_mut() {
                    hasher.update(&data);
                }
                self.report.bytes += data.len() as u64;
                if !self.vetter.data_pending() {
                    self.close()?;
                }
            }
        }
        self.progress.input_bytes = compressed;
        self.progress.bytes_written = self.report.bytes;
        self.observer.progress(&self.progress);
        Ok(())
    }

    fn entry(&mut self, raw: RawEntry, compressed: u64) -> Result<(), Error> {
        let refuse = |rule| Error::Refused {
            index: raw.index,
            path: crate::escape::escape_truncated(&raw.path, crate::escape::SHOWN_NAME_BYTES),
            rule,
        };
        let accepted = self.vetter.entry(&raw, compressed)?.map_err(refuse)?;
        if accepted.plan == Plan::Excluded {
            self.discard = self.vetter.data_pending();
            return Ok(());
        }
        self.make_parents(&accepted, &refuse)?;
        match accepted.plan {
            Plan::Write => {}
            Plan::Skip => {
                self.record_skipped(Skipped {
                    index: raw.index,
                    path: escape(&raw.path),
                    kind: raw.kind,
                    link_target: raw.link_target.as_deref().map(escape),
                    reason: None,
                });
                return Ok(());
            }
            // Written by `finish`, once every target is.
            Plan::Copy | Plan::Excluded => return Ok(()),
        }
        let path = String::from_utf8(raw.path.clone()).map_err(|_| Error::protocol("an accepted path is not UTF-8"))?;
        match accepted.kind {
            Kind::Directory => {
                if accepted.path.is_empty() {
                    return Ok(());
                }
                if accepted.already_made {
                    self.narrow_dir(&accepted.path, narrowed_dir_mode(raw.mode))
                        .map_err(|e| self.fs_error(e, &accepted.path, &refuse))?;
                } else {
                    self.tree
                        .create_dir_with(&accepted.path, &dir_builder(narrowed_dir_mode(raw.mode)))
                        .map_err(|e| self.fs_error(e, &accepted.path, &refuse))?;
                    self.report.directories += 1;
                }
                if !self.dir_times.push(&accepted.path, raw.mtime) {
                    return Err(refuse(Rule::TooManyDirectories { max: self.options.max_dirs }));
                }
                let mode = self.dir_mode(&accepted.path)?;
                let written = Written {
                    index: raw.index,
                    path,
                    dest_path: accepted.path,
                    kind: Kind::Directory,
                    size: 0,
                    mode,
                    hash: None,
                };
                self.record(written);
            }
            _ => {
                let mode = narrowed_file_mode(raw.mode);
                let file =
                    self.create_file(&accepted.path, mode).map_err(|e| self.fs_error(e, &accepted.path, &refuse))?;
                let mode = file_mode(&file, mode, &accepted.path)?;
                self.report.files += 1;
                let written = Written {
                    index: raw.index,
                    path,
                    dest_path: accepted.path,
                    kind: Kind::File,
                    size: raw.size,
                    mode,
                    hash: None,
                };
                let hasher = self.options.content_hash.map(Hasher::new);
                self.open = Some(OpenFile { file, mtime: raw.mtime, hasher, written });
                if !self.vetter.data_pending() {
                    self.close()?;
                }
            }
        }
        Ok(())
    }

    /// The permission bits of a directory in the staging tree, as created.
    fn dir_mode(&self, path: &str) -> Result<u32, Error> {
        #[cfg(unix)]
        {
            use cap_std::fs::PermissionsExt;
            let meta = self.tree.symlink_metadata(path).map_err(|e| {
                Error::io(format!("inspecting \"{}\" in the staging directory", escape(path.as_bytes())), e)
            })?;
            Ok(meta.permissions().mode() & 0o7777)
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            Ok(0o755)
        }
    }

    fn fs_error(&self, e: io::Error, path: &str, refuse: &dyn Fn(Rule) -> Error) -> Error {
        if e.kind() == io::ErrorKind::AlreadyExists {
            // The policy saw no earlier use of this path, yet the file system
            // has one: it folds names (case, Unicode normalization).
            return refuse(Rule::FileSystemCollision);
        }
        Error::io(format!("creating \"{}\" in the staging directory", escape(path.as_bytes())), e)
    }

    /// Creates the parents no earlier entry created, each inside a handle to
    /// the one before: the cost is one step per new directory, not one path
    /// walk per new directory.
    fn make_parents(&mut self, accepted: &Accepted, refuse: &dyn Fn(Rule) -> Error) -> Result<(), Error> {
        if accepted.new_parents == 0 {
            return Ok(());
        }
        let base = accepted.existing_parent();
        let mut at = if base.is_empty() { self.tree.try_clone() } else { self.tree.open_dir(base) }
            .map_err(|e| self.fs_error(e, base, refuse))?;
        let parents = accepted.new_parent_paths();
        let builder = dir_builder(IMPLIED_DIR_MODE);
        for (i, parent) in parents.iter().enumerate() {
            let name = parent.rsplit('/').next().unwrap_or(parent);
            at.create_dir_with(name, &builder).map_err(|e| self.fs_error(e, parent, refuse))?;
            self.report.directories += 1;
            if i + 1 < parents.len() {
                at = at.open_dir(name).map_err(|e| self.fs_error(e, parent, refuse))?;
            }
        }
        Ok(())
    }

    /// An explicit entry for a directory a path implied earlier: narrows the
    /// staged directory's mode to the entry's (it was created with
    /// [`IMPLIED_DIR_MODE`] minus the umask, so the result is `mode` minus
    /// the umask too).
    #[cfg(unix)]
    fn narrow_dir(&self, path: &str, mode: u32) -> io::Result<()> {
        use cap_std::fs::{Permissions, PermissionsExt};
        let meta = self.tree.symlink_metadata(path)?;
        if !meta.is_dir() {
            return Err(io::Error::other("the staged directory is not a directory"));
        }
        let current = meta.permissions().mode() & 0o7777;
        let narrowed = current & mode;
        if narrowed != current {
            self.tree.set_permissions(path, Permissions::from_mode(narrowed))?;
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn narrow_dir(&self, _path: &str, _mode: u32) -> io::Result<()> {
        Ok(())
    }

    fn create_file(&self, path: &str, mode: u32) -> io::Result<std::fs::File> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        cap_std::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        Ok(self.tree.open_with(path, &options)?.into_std())
    }

    /// Finishes the open file: sets its modification time through the
    /// handle, records it and tells the observer.
    fn close(&mut self) -> Result<(), Error> {
        let Some(open) = self.open.take() else { return Ok(()) };
        let OpenFile { file, mtime, hasher, mut written } = open;
        if let Some(time) = system_time(mtime) {
            file.set_modified(time).map_err(|e| {
                Error::io(format!("setting the time of \"{}\"", escape(written.dest_path.as_bytes())), e)
            })?;
        }
        written.hash = hasher.map(Hasher::finish);
        self.record(written);
        Ok(())
    }

    /// After the last entry: members asked for and not found, link copies,
    /// then directory times (last, as GNU tar does: writing into a directory
    /// changes its time).
    fn finish(&mut self) -> Result<(), Error> {
        self.vetter.finish()?;
        self.close()?;
        let missing = self.vetter.members_not_found();
        if !missing.is_empty() {
            return Err(Error::MembersNotFound(missing));
        }
        if self.vetter.copies_links() {
            // Every verdict first: a refused link (under `copy-or-refuse`
            // any link that cannot be copied; under either policy, a link
            // bomb crossing a limit) ends the run before any copy is written.
            let copies: Vec<LinkCopy> = self
                .vetter
                .resolve_links()
                .into_iter()
                .collect::<Result<_, _>>()
                .map_err(|(index, path, rule)| Error::Refused { index, path, rule })?;
            for copy in copies {
                if let Some(skip) = copy.skipped {
                    self.record_skipped(Skipped {
                        index: copy.index,
                        path: skip.name,
                        kind: skip.kind,
                        link_target: skip.target,
                        reason: Some(skip.rule),
                    });
                    continue;
                }
                self.write_copy(&copy)?;
            }
            // Links skipped at the end join the others in archive order.
            self.report.skipped.sort_by_key(|s| s.index);
        }
        let dir_times = std::mem::take(&mut self.dir_times);
        for &(node, mtime) in &dir_times.times {
            let Some(time) = system_time(mtime) else { continue };
            let path = dir_times.tree.path(node);
            set_dir_time(self.tree, &path, time)
                .map_err(|e| Error::io(format!("setting the time of \"{}\"", escape(path.as_bytes())), e))?;
        }
        Ok(())
    }

    /// Writes one link's copy: directories, and files read back from the
    /// staged tree through its handle (never a path outside it).
    fn write_copy(&mut self, copy: &LinkCopy) -> Result<(), Error> {
        let refuse = |rule| Error::Refused { index: copy.index, path: copy.shown.clone(), rule };
        let mut written = None;
        for op in &copy.ops {
            match op {
                CopyOp::Dir { path, mode, mtime } => {
                    self.tree
                        .create_dir_with(path, &dir_builder(narrowed_dir_mode(*mode)))
                        .map_err(|e| self.fs_error(e, path, &refuse))?;
                    self.report.directories += 1;
                    if let Some(mtime) = mtime
                        && !self.dir_times.push(path, *mtime)
                    {
                        return Err(refuse(Rule::TooManyDirectories { max: self.options.max_dirs }));
                    }
                    written.get_or_insert_with(|| path.clone());
                }
                CopyOp::File { from, to, mode, mtime } => {
                    let io_err = |e| {
                        Error::io(
                            format!("copying \"{}\" to \"{}\"", escape(from.as_bytes()), escape(to.as_bytes())),
                            e,
                        )
                    };
                    let mut source = self.tree.open(from).map_err(io_err)?.into_std();
                    let mut file =
                        self.create_file(to, narrowed_file_mode(*mode)).map_err(|e| self.fs_error(e, to, &refuse))?;
                    let n = io::copy(&mut source, &mut file).map_err(io_err)?;
                    if let Some(time) = system_time(*mtime) {
                        file.set_modified(time).map_err(io_err)?;
                    }
                    self.report.files += 1;
                    self.report.bytes += n;
                    written.get_or_insert_with(|| to.clone());
                }
            }
        }
        if let Some(written) = written {
            let copied = Copied {
                index: copy.index,
                path: copy.shown.clone(),
                written: escape(written.as_bytes()),
                copy_of: copy.copy_of.clone(),
            };
            let cost = size_of::<Copied>() + copied.path.len() + copied.written.len() + copied.copy_of.len();
            let report = &mut self.report;
            keep(&mut self.report_bytes, &mut report.copied, &mut report.omitted.copied, copied, cost);
        }
        Ok(())
    }

    /// Tells the observer of a written entry and lists it in the report
    /// while the report has room.
    fn record(&mut self, written: Written) {
        self.observer.entry(&written);
        let cost = size_of::<Written>() + written.path.len() + written.dest_path.len();
        let report = &mut self.report;
        keep(&mut self.report_bytes, &mut report.entries, &mut report.omitted.entries, written, cost);
    }

    /// Lists a skipped entry in the report while it has room.
    fn record_skipped(&mut self, skipped: Skipped) {
        let cost = size_of::<Skipped>() + skipped.path.len() + skipped.link_target.as_ref().map_or(0, String::len);
        let report = &mut self.report;
        keep(&mut self.report_bytes, &mut report.skipped, &mut report.omitted.skipped, skipped, cost);
    }
}

/// Adds `item` (about `cost` bytes) to one of a report's lists while the
/// lists together hold at most [`REPORT_BYTES`]; counts it in `omitted`
/// otherwise. Once one record does not fit, none after it does
/// (`used` becomes `usize::MAX`): the lists hold the first records, in the
/// order they were made.
fn keep<T>(used: &mut usize, list: &mut Vec<T>, omitted: &mut u64, item: T, cost: usize) {
    match used.checked_add(cost).filter(|&total| total <= REPORT_BYTES) {
        Some(total) => {
            *used = total;
            list.push(item);
        }
        None => {
            *used = usize::MAX;
            *omitted += 1;
        }
    }
}

/// The directories whose times are set last, as nodes of a tree of
/// components rather than paths: a hundred thousand directories 4,000 bytes
/// deep cost a node each, not 4,000 bytes each.
#[derive(Default)]
struct DirTimes {
    tree: Tree,
    /// In the order the directories were written.
    times: Vec<(NodeId, i64)>,
}

impl DirTimes {
    /// Remembers `path`'s time; `false` if the tree is full (more nodes or
    /// name bytes than 32 bits count, far past any limit's default).
    fn push(&mut self, path: &str, mtime: i64) -> bool {
        let Some(node) = self.tree.intern(path) else { return false };
        self.times.push((node, mtime));
        true
    }
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

/// The permission bits of a file just created with `requested`: read back
/// through the handle on Unix (the umask applies), `requested` elsewhere.
fn file_mode(file: &std::fs::File, requested: u32, path: &str) -> Result<u32, Error> {
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

/// Creates directories with `mode` (minus the umask) on Unix; elsewhere
/// modes do not apply.
fn dir_builder(mode: u32) -> DirBuilder {
    let mut builder = DirBuilder::new();
    #[cfg(unix)]
    cap_std::fs::DirBuilderExt::mode(&mut builder, mode);
    #[cfg(not(unix))]
    let _ = (&mut builder, mode);
    builder
}

fn system_time(mtime: i64) -> Option<SystemTime> {
    if mtime >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(mtime.unsigned_abs()))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(mtime.unsigned_abs()))
    }
}

/// The destination's modification time before the run.
struct DestTime(#[cfg(unix)] Option<rustix::fs::Stat>, #[cfg(windows)] Option<SystemTime>);

impl DestTime {
    #[cfg(unix)]
    fn read(dest: &Dir) -> DestTime {
        DestTime(rustix::fs::fstat(dest).ok())
    }

    #[cfg(windows)]
    fn read(dest: &Dir) -> DestTime {
        DestTime(dest.dir_metadata().and_then(|m| m.modified()).ok().map(|t| t.into_std()))
    }

    #[cfg(not(any(unix, windows)))]
    fn read(_dest: &Dir) -> DestTime {
        DestTime()
    }

    /// Sets the modification time back (through the handle; best effort:
    /// only the owner may).
    #[cfg(unix)]
    fn restore(&self, dest: &Dir) {
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
    fn restore(&self, dest: &Dir) {
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
        #[allow(unsafe_code)]
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
    fn restore(&self, _dest: &Dir) {}
}

/// A locked staging directory inside the destination, held by handle.
struct Staging {
    name: String,
    /// The staging directory itself, opened without following links right
    /// after this run created it.
    root: Dir,
    /// The marker: created (exclusively) by this run inside `root` and
    /// locked until the directory is removed.
    lock: std::fs::File,
    tree: Dir,
}

impl Staging {
    fn create(dest: &Dir) -> Result<Staging, Error> {
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
    fn publish(&self, dest: &Dir, vetter: &Vetter<'_>) -> Result<bool, Error> {
        let mut moves = Vec::new();
        self.plan(dest, vetter, "", &mut moves)?;
        for (done, path) in moves.iter().enumerate() {
            if let Err(e) = move_entry(&self.tree, dest, path) {
                for undo in moves[..done].iter().rev() {
                    let _ = move_entry(dest, &self.tree, undo);
                }
                return Err(match e.kind() {
                    io::ErrorKind::AlreadyExists => exists_in_destination(vetter, path),
                    _ => Error::io(format!("moving \"{}\" into the destination", escape(path.as_bytes())), e),
                });
            }
        }
        Ok(moves.iter().any(|p| !p.contains('/')))
    }

    fn plan(&self, dest: &Dir, vetter: &Vetter<'_>, dir: &str, moves: &mut Vec<String>) -> Result<(), Error> {
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
                Ok(existing) if existing.is_dir() && is_dir => self.plan(dest, vetter, &path, moves)?,
                Ok(_) => return Err(exists_in_destination(vetter, &path)),
                Err(e) => {
                    return Err(Error::io(format!("inspecting \"{}\" in the destination", escape(path.as_bytes())), e));
                }
            }
        }
        Ok(())
    }

    /// Removes the staging directory if it is still the one this run
    /// created: its lock file must be the one this run made and holds.
    fn remove(self, dest: &Dir) {
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
fn exists_in_destination(vetter: &Vetter<'_>, path: &str) -> Error {
    Error::Refused {
        index: vetter.index_of(path).unwrap_or_default(),
        path: escape(path.as_bytes()),
        rule: Rule::ExistsInDestination,
    }
}

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
    // `st_dev` and `st_ino` are not u64 on every Unix.
    #[allow(clippy::unnecessary_cast)]
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
    #[allow(clippy::unnecessary_cast)]
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
