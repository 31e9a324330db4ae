//! Reading an archive's vetted contents without writing them anywhere.
//!
//! [`Extractor::read_entries`] runs the same sandbox and the same policy as
//! [`Extractor::extract`], but instead of writing each accepted entry into a
//! directory it hands the entry and then its data to an [`EntryVisitor`]. It
//! is how `sealtar audit-cargo` compares a `.crate` with the directory Cargo
//! unpacked it into, reading the `.crate` once and never putting it on disk.

use std::io::{self, Read};

use crate::policy::{Plan, Vetter};
use crate::sandbox::RawEvent;
use crate::{Error, Extractor, Kind, escape};

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
        let mut vetter = Vetter::new(&self.options, true)?;
        // Entries the options leave out (excluded, skipped, and link copies,
        // which are not handed over) have their data dropped.
        let mut dropping = false;
        let visitor_error = |e| Error::io("the entry visitor stopped", e);
        self.sandbox
            .run(&self.options, reader, true, |event, compressed| match event {
                RawEvent::Entry(raw) => {
                    let accepted = vetter.entry(&raw, compressed)?.map_err(|rule| Error::Refused {
                        index: raw.index,
                        path: escape(&raw.path),
                        rule,
                    })?;
                    if accepted.plan != Plan::Write {
                        dropping = vetter.data_pending();
                        return Ok(());
                    }
                    if accepted.path.is_empty() {
                        return Ok(());
                    }
                    let entry = Entry {
                        index: raw.index,
                        path: accepted.path,
                        kind: accepted.kind,
                        size: if accepted.kind == Kind::File { raw.size } else { 0 },
                        mode: raw.mode,
                        mtime: raw.mtime,
                    };
                    visitor.entry(&entry).map_err(visitor_error)?;
                    if !vetter.data_pending() {
                        visitor.end().map_err(visitor_error)?;
                    }
                    Ok(())
                }
                RawEvent::Data(data) => {
                    vetter.data(data.len())?;
                    if dropping {
                        dropping = vetter.data_pending();
                        return Ok(());
                    }
                    visitor.data(&data).map_err(visitor_error)?;
                    if !vetter.data_pending() {
                        visitor.end().map_err(visitor_error)?;
                    }
                    Ok(())
                }
            })
            .and_then(|()| vetter.finish())?;
        // The same end-of-archive checks as extraction: members not found,
        // and the link verdicts that refuse the archive (a link that
        // `--links copy-or-refuse` cannot copy, a link bomb under either
        // copying policy; copies themselves are not handed over).
        let missing = vetter.members_not_found();
        if !missing.is_empty() {
            return Err(Error::MembersNotFound(missing));
        }
        if vetter.copies_links() {
            for verdict in vetter.resolve_links() {
                verdict.map_err(|(index, path, rule)| Error::Refused { index, path, rule })?;
            }
        }
        Ok(())
    }
}
