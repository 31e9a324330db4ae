//! Reading an archive's vetted contents without writing them anywhere: the
//! pipeline's visiting sink.
//!
//! [`Extractor::read_entries`] runs the same sandbox and the same policy as
//! [`Extractor::extract`], but instead of writing each accepted entry into a
//! directory it hands the entry and then its data to an [`EntryVisitor`]. It
//! is how `sealtar audit-cargo` compares a `.crate` with the directory Cargo
//! unpacked it into, reading the `.crate` once and never putting it on disk.

use std::io::{self, Read};

use crate::pipeline::{Judged, OnRefusal, Sink};
use crate::policy::Plan;
use crate::{Error, Extractor, Kind};

/// One entry that the policy accepts, as handed to an [`EntryVisitor`]
/// (example there).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// Position in the archive (0-based).
    pub index: u64,
    /// The normalized path: UTF-8 components joined by `/`, without `.`,
    /// empty components or a trailing `/`. This is the path `extract` would
    /// write, relative to the destination.
    pub path: String,
    /// [`Kind::File`] or [`Kind::Directory`]; nothing else is ever accepted.
    pub kind: Kind,
    /// Bytes of data that follow (0 for directories).
    pub size: u64,
    /// Permission bits as stored in the archive (not as they would be written).
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
}

/// Receives the vetted contents of an archive from
/// [`Extractor::read_entries`], in archive order: for each accepted entry,
/// [`entry`](Self::entry), then [`data`](Self::data) zero or more times
/// (the file's bytes, in order, `size` bytes in all), then
/// [`end`](Self::end).
///
/// An error returned by any method stops the reading; it comes back from
/// `read_entries` as [`Error::Io`].
///
/// ```no_run
/// use std::io;
/// use sealtar::{Entry, EntryVisitor, Extractor, Options};
///
/// /// Counts the bytes of every accepted file.
/// #[derive(Default)]
/// struct Sizes(Vec<(String, u64)>);
///
/// impl EntryVisitor for Sizes {
///     fn entry(&mut self, entry: &Entry) -> io::Result<()> {
///         self.0.push((entry.path.clone(), 0));
///         Ok(())
///     }
///     fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
///         if let Some(last) = self.0.last_mut() {
///             last.1 += chunk.len() as u64;
///         }
///         Ok(())
///     }
/// }
///
/// let mut sizes = Sizes::default();
/// Extractor::new(Options::new())?.read_entries(std::fs::File::open("pkg.tar.gz")?, &mut sizes)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait EntryVisitor {
    /// An accepted entry begins.
    ///
    /// # Errors
    ///
    /// Any error stops the reading.
    fn entry(&mut self, entry: &Entry) -> io::Result<()>;

    /// The next piece of the current file's data (never empty).
    ///
    /// # Errors
    ///
    /// Any error stops the reading.
    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        let _ = chunk;
        Ok(())
    }

    /// The current entry is complete: all its data has been handed over.
    ///
    /// # Errors
    ///
    /// Any error stops the reading.
    fn end(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Extractor {
    /// Reads the archive from `reader` and hands each entry the policy
    /// accepts, with its data, to `visitor`. Writes nothing.
    ///
    /// The archive's root entry (`./`) is not handed over. Directories that
    /// files imply without an entry of their own are not handed over either:
    /// they are the parents of the paths that are.
    ///
    /// # Security
    ///
    /// The same sandbox, rules and limits as [`extract`](Self::extract),
    /// minus the comparison with a destination's existing content: only
    /// regular files and directories with safe, unique, normalized paths
    /// reach the visitor, and the archive is refused at its first entry that
    /// breaks a rule. Because entries are handed over as they are read, the
    /// visitor may already have seen earlier entries of an archive that is
    /// refused later on: a visitor that must not act on a refused archive
    /// keeps what it learned until this returns `Ok`.
    ///
    /// # Errors
    ///
    /// A refusal ([`Error::is_refusal`]): [`Error::Refused`] naming the entry
    /// and the rule, [`Error::Malformed`] or [`Error::Sandbox`].
    /// [`Error::Io`] when reading the archive fails or the visitor returns
    /// an error.
    pub fn read_entries<R: Read + Send>(&self, reader: R, visitor: &mut dyn EntryVisitor) -> Result<(), Error> {
        self.pipeline().run(reader, &mut Visit { visitor, handing: false }).map(|_| ())
    }
}

/// The visiting sink: hands each written entry and its data over; links'
/// copies, skipped and excluded entries are not.
struct Visit<'v> {
    visitor: &'v mut dyn EntryVisitor,
    /// The current entry was handed over (its data and end follow).
    handing: bool,
}

fn visitor_error(e: io::Error) -> Error {
    Error::io("the entry visitor stopped", e)
}

impl Sink for Visit<'_> {
    fn wants_data(&self) -> bool {
        true
    }

    fn on_refusal(&self) -> OnRefusal {
        OnRefusal::Stop
    }

    fn entry(&mut self, judged: &Judged<'_>) -> Result<(), Error> {
        self.handing = false;
        let Ok(accepted) = judged.verdict else { return Ok(()) };
        if accepted.plan != Plan::Write || accepted.path.is_empty() {
            return Ok(());
        }
        let raw = judged.raw;
        let entry = Entry {
            index: raw.index,
            path: accepted.path.clone(),
            kind: accepted.kind,
            size: if accepted.kind == Kind::File { raw.size } else { 0 },
            mode: raw.mode,
            mtime: raw.mtime,
        };
        self.visitor.entry(&entry).map_err(visitor_error)?;
        self.handing = true;
        Ok(())
    }

    fn data(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.handing { self.visitor.data(chunk).map_err(visitor_error) } else { Ok(()) }
    }

    fn end(&mut self) -> Result<(), Error> {
        if std::mem::take(&mut self.handing) { self.visitor.end().map_err(visitor_error) } else { Ok(()) }
    }
}
