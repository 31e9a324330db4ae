//! Extraction: the pipeline's writing sink. Every accepted entry is written
//! into a staging directory inside the destination, link copies after the
//! last entry, directory times last; then the staged tree is published by
//! renames that never replace anything (`staging`), or removed.
//!
//! All writes go through `cap_std::fs::Dir` handles rooted at the destination
//! the caller opened, so no path can resolve outside it. On any refusal or
//! error the destination is left as it was, down to its own modification
//! time (`dest_time`).

use std::io::{Read, Write};

use cap_std::fs::Dir;

use crate::deadline::Ticker;
use crate::error::Error;
use crate::escape::{self, escape};
use crate::kind::Kind;
use crate::options::Options;
use crate::pipeline::{Copies, Judged, LinkJudged, OnRefusal, Pipeline, Sink, refusal};
use crate::policy::{Accepted, CopyOp, Outcome, Plan};
use crate::report::{Copied, Hasher, Observer, Progress, REPORT_BYTES, Report, Skipped, Written};
use crate::rule::Rule;

mod dest_time;
mod files;
mod noreplace;
mod staging;

pub(crate) use files::{narrowed_dir_mode, narrowed_file_mode};

use dest_time::DestTime;
use files::{DirTimes, IMPLIED_DIR_MODE, create_file, dir_builder, dir_mode, file_mode, narrow_dir, system_time};
use staging::Staging;

/// Extracts `reader` into `dest`, all or nothing, telling `observer` as it goes.
pub(crate) fn extract<R: Read + Send, O: Observer + ?Sized>(
    pipeline: Pipeline<'_>,
    reader: R,
    dest: &Dir,
    observer: &mut O,
) -> Result<Report, Error> {
    let before = DestTime::read(dest);
    let staging = Staging::create(dest)?;
    let mut writer = Writer {
        tree: &staging.tree,
        options: pipeline.options,
        open: None,
        dir_times: DirTimes::default(),
        report: Report::default(),
        report_bytes: 0,
        progress: Progress::default(),
        observer,
    };
    let result = pipeline.run(reader, &mut writer).and_then(|ran| {
        writer.close()?;
        // Links skipped at the end join the others in archive order.
        writer.report.skipped.sort_by_key(|s| s.index);
        // Directory times last, as GNU tar does: writing into a directory
        // changes its time.
        writer.dir_times.apply(writer.tree, &mut Ticker::new(ran.deadline))?;
        ran.deadline.check()?;
        staging.publish(dest, &|path| ran.vetter.index_of(path), ran.deadline)
    });
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

/// The writing sink.
struct Writer<'a, O: ?Sized> {
    tree: &'a Dir,
    options: &'a Options,
    open: Option<OpenFile>,
    /// Directories whose archive mtime is set once everything is written.
    dir_times: DirTimes,
    report: Report,
    /// Bytes the report's lists hold so far ([`REPORT_BYTES`]); `usize::MAX`
    /// once they are full.
    report_bytes: usize,
    progress: Progress,
    observer: &'a mut O,
}

impl<O: Observer + ?Sized> Sink for Writer<'_, O> {
    fn wants_data(&self) -> bool {
        true
    }

    fn on_refusal(&self) -> OnRefusal {
        OnRefusal::Stop
    }

    fn entry(&mut self, judged: &Judged<'_>) -> Result<(), Error> {
        self.progress.entries += 1;
        let Ok(accepted) = judged.verdict else { return Ok(()) };
        let raw = judged.raw;
        if accepted.plan == Plan::Excluded {
            return Ok(());
        }
        let refuse = |rule| refusal(raw.index, &raw.path, rule);
        self.make_parents(accepted, &refuse)?;
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
            // Written once every entry is (the link phase).
            Plan::Copy | Plan::Excluded => return Ok(()),
        }
        let path = String::from_utf8(raw.path.clone()).map_err(|_| Error::protocol("an accepted path is not UTF-8"))?;
        if accepted.kind == Kind::Directory {
            return self.directory(accepted, raw.mode, raw.mtime, raw.index, path, &refuse);
        }
        let mode = narrowed_file_mode(raw.mode);
        let file = create_file(self.tree, &accepted.path, mode).map_err(|e| fs_error(e, &accepted.path, &refuse))?;
        let mode = file_mode(&file, mode, &accepted.path)?;
        self.report.files += 1;
        let written = Written {
            index: raw.index,
            path,
            dest_path: accepted.path.clone(),
            kind: Kind::File,
            size: raw.size,
            mode,
            hash: None,
        };
        let hasher = self.options.content_hash.map(Hasher::new);
        self.open = Some(OpenFile { file, mtime: raw.mtime, hasher, written });
        Ok(())
    }

    fn data(&mut self, data: &[u8]) -> Result<(), Error> {
        let open = self.open.as_mut().ok_or_else(|| Error::protocol("data without an open file"))?;
        open.file
            .write_all(data)
            .map_err(|e| Error::io(format!("writing \"{}\"", escape(open.written.dest_path.as_bytes())), e))?;
        if let Some(hasher) = open.hasher.as_mut() {
            hasher.update(data);
        }
        self.report.bytes += data.len() as u64;
        Ok(())
    }

    fn end(&mut self) -> Result<(), Error> {
        self.close()
    }

    fn progress(&mut self, input_bytes: u64) {
        self.progress.input_bytes = input_bytes;
        self.progress.bytes_written = self.report.bytes;
        self.observer.progress(&self.progress);
    }

    fn link(&mut self, link: &LinkJudged<'_>, copies: &mut Copies<'_, '_>) -> Result<(), Error> {
        let record = link.record;
        match link.outcome {
            Outcome::Skip(rule) => {
                self.record_skipped(Skipped {
                    index: record.index,
                    path: escape(&record.raw_path),
                    kind: record.kind,
                    link_target: record.target.as_deref().map(escape),
                    reason: Some(rule.clone()),
                });
                Ok(())
            }
            Outcome::Copy { .. } => {
                let refuse = |rule| refusal(record.index, &record.raw_path, rule);
                let mut first = None;
                copies.walk(link.outcome, &mut |op| {
                    let path = self.write_copy_step(&op, &refuse)?;
                    first.get_or_insert(path);
                    Ok(())
                })?;
                if let Some(written) = first {
                    let copied = Copied {
                        index: record.index,
                        path: escape::escape_truncated(&record.raw_path, escape::SHOWN_NAME_BYTES),
                        written: escape(written.as_bytes()),
                        copy_of: copies.copy_of(link.outcome).unwrap_or_default(),
                    };
                    let cost = size_of::<Copied>() + copied.path.len() + copied.written.len() + copied.copy_of.len();
                    let report = &mut self.report;
                    keep(&mut self.report_bytes, &mut report.copied, &mut report.omitted.copied, copied, cost);
                }
                Ok(())
            }
            Outcome::NotWritten | Outcome::Refuse(_) => Ok(()),
        }
    }
}

impl<O: Observer + ?Sized> Writer<'_, O> {
    /// Writes a directory entry (or narrows one a path implied).
    fn directory(
        &mut self,
        accepted: &Accepted,
        mode: u32,
        mtime: i64,
        index: u64,
        path: String,
        refuse: &dyn Fn(Rule) -> Error,
    ) -> Result<(), Error> {
        if accepted.path.is_empty() {
            return Ok(());
        }
        if accepted.already_made {
            narrow_dir(self.tree, &accepted.path, narrowed_dir_mode(mode))
                .map_err(|e| fs_error(e, &accepted.path, refuse))?;
        } else {
            self.tree
                .create_dir_with(&accepted.path, &dir_builder(narrowed_dir_mode(mode)))
                .map_err(|e| fs_error(e, &accepted.path, refuse))?;
            self.report.directories += 1;
        }
        if !self.dir_times.push(&accepted.path, mtime) {
            return Err(refuse(Rule::TooManyDirectories { max: self.options.max_dirs }));
        }
        let mode = dir_mode(self.tree, &accepted.path)?;
        let written =
            Written { index, path, dest_path: accepted.path.clone(), kind: Kind::Directory, size: 0, mode, hash: None };
        self.record(written);
        Ok(())
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
            .map_err(|e| fs_error(e, base, refuse))?;
        let parents = accepted.new_parent_paths();
        let builder = dir_builder(IMPLIED_DIR_MODE);
        for (i, parent) in parents.iter().enumerate() {
            let name = parent.rsplit('/').next().unwrap_or(parent);
            at.create_dir_with(name, &builder).map_err(|e| fs_error(e, parent, refuse))?;
            self.report.directories += 1;
            if i + 1 < parents.len() {
                at = at.open_dir(name).map_err(|e| fs_error(e, parent, refuse))?;
            }
        }
        Ok(())
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

    /// Writes one step of a link's copy: a directory, or a file read back
    /// from the staged tree through its handle (never a path outside it).
    /// Returns the path written.
    fn write_copy_step(&mut self, op: &CopyOp<'_>, refuse: &dyn Fn(Rule) -> Error) -> Result<String, Error> {
        match *op {
            CopyOp::Dir { path, mode, mtime } => {
                self.tree
                    .create_dir_with(path, &dir_builder(narrowed_dir_mode(mode)))
                    .map_err(|e| fs_error(e, path, refuse))?;
                self.report.directories += 1;
                if let Some(mtime) = mtime
                    && !self.dir_times.push(path, mtime)
                {
                    return Err(refuse(Rule::TooManyDirectories { max: self.options.max_dirs }));
                }
                Ok(path.to_string())
            }
            CopyOp::File { from, to, mode, mtime } => {
                let io_err = |e| {
                    Error::io(format!("copying \"{}\" to \"{}\"", escape(from.as_bytes()), escape(to.as_bytes())), e)
                };
                let mut source = self.tree.open(from).map_err(io_err)?.into_std();
                let mut file =
                    create_file(self.tree, to, narrowed_file_mode(mode)).map_err(|e| fs_error(e, to, refuse))?;
                let n = std::io::copy(&mut source, &mut file).map_err(io_err)?;
                if let Some(time) = system_time(mtime) {
                    file.set_modified(time).map_err(io_err)?;
                }
                self.report.files += 1;
                self.report.bytes += n;
                Ok(to.to_string())
            }
        }
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

/// A failure to create `path` in the staging tree: a refusal when the file
/// system has the name already although the policy saw no earlier use of
/// it (it folds names: case, Unicode normalization), else an I/O error.
fn fs_error(e: std::io::Error, path: &str, refuse: &dyn Fn(Rule) -> Error) -> Error {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        return refuse(Rule::FileSystemCollision);
    }
    Error::io(format!("creating \"{}\" in the staging directory", escape(path.as_bytes())), e)
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
