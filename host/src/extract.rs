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
//! archive; so on any refusal or error the destination is left as it was.
//!
//! Staging directories are locked while in use. One left behind by a killed
//! run is unlocked, so the next run in that destination removes it.

use std::io::{self, Read, Write};
use std::time::{Duration, SystemTime};

use cap_std::fs::{Dir, DirBuilder, OpenOptions};

use crate::error::Error;
use crate::escape;
use crate::kind::Kind;
use crate::noreplace::rename_no_replace;
use crate::options::Options;
use crate::policy::{STAGING_PREFIX, Vetter};
use crate::report::{Hasher, Observer, Progress, Report, Written};
use crate::rule::Rule;
use crate::sandbox::{RawEntry, RawEvent, Sandbox};

/// Extracts `reader` into `dest`, all or nothing, telling `observer` as it goes.
pub fn extract<R: Read + Send, O: Observer + ?Sized>(
    sandbox: &Sandbox,
    options: &Options,
    reader: R,
    dest: &Dir,
    observer: &mut O,
) -> Result<Report, Error> {
    clean_stale_staging(dest);
    let staging = Staging::create(dest)?;
    let mut writer = Writer {
        tree: &staging.tree,
        vetter: Vetter::new(options, true),
        options,
        open: None,
        report: Report::default(),
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
    result.map(|()| report)
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
    report: Report,
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
        let refuse = |rule| Error::Refused { index: raw.index, path: escape(&raw.path), rule };
        let accepted = self.vetter.entry(&raw, compressed)?.map_err(refuse)?;
        for parent in &accepted.new_parents {
            self.mkdir(parent).map_err(|e| self.fs_error(e, parent, &refuse))?;
        }
        let path = String::from_utf8(raw.path.clone()).map_err(|_| Error::protocol("an accepted path is not UTF-8"))?;
        match accepted.kind {
            Kind::Directory => {
                if accepted.path.is_empty() {
                    return Ok(());
                }
                if !accepted.already_made {
                    self.mkdir(&accepted.path).map_err(|e| self.fs_error(e, &accepted.path, &refuse))?;
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
                self.observer.entry(&written);
                self.report.entries.push(written);
            }
            _ => {
                let mode = if raw.mode & 0o100 != 0 { 0o755 } else { 0o644 };
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

    fn mkdir(&mut self, path: &str) -> io::Result<()> {
        self.tree.create_dir_with(path, &dir_builder(0o755))?;
        self.report.directories += 1;
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
        self.observer.entry(&written);
        self.report.entries.push(written);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.vetter.finish()?;
        self.close()
    }
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

/// A locked staging directory inside the destination.
struct Staging {
    name: String,
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
        let root = dest.open_dir(&name).map_err(io_err)?;
        let lock = root
            .open_with("lock", OpenOptions::new().read(true).write(true).create_new(true))
            .map_err(io_err)?
            .into_std();
        // Another process cannot hold it: the directory was created just now.
        let _ = lock.try_lock();
        root.create_dir("tree").map_err(io_err)?;
        let tree = root.open_dir("tree").map_err(io_err)?;
        Ok(Staging { name, lock, tree })
    }

    /// Moves the staged tree into `dest`: plan first, refuse on any clash,
    /// then rename, undoing the renames done so far if one fails.
    fn publish(&self, dest: &Dir, vetter: &Vetter<'_>) -> Result<(), Error> {
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
        Ok(())
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

    fn remove(self, dest: &Dir) {
        let Staging { name, lock, tree } = self;
        drop(tree);
        drop(lock);
        let _ = dest.remove_dir_all(&name);
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

/// Removes staging directories that no live run holds locked. Best effort.
pub fn clean_stale_staging(dest: &Dir) {
    let Ok(entries) = dest.entries() else { return };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else { continue };
        if !name.starts_with(STAGING_PREFIX) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let stale = match dest.open_with(format!("{name}/lock"), OpenOptions::new().read(true).write(true)) {
            Ok(lock) => lock.into_std().try_lock().is_ok(),
            // No lock file: killed between creating the directory and the
            // lock. Give a live run a minute to get that far.
            Err(_) => entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.into_std().elapsed().is_ok_and(|age| age > Duration::from_secs(60))),
        };
        if stale {
            let _ = dest.remove_dir_all(&name);
        }
    }
}
