//! Listing: the vetted manifest of an archive, read in the sandbox and judged
//! by the same policy as extraction, without writing anything.

use std::io::Read;

use crate::error::{Error, SandboxFault};
use crate::escape;
use crate::kind::Kind;
use crate::options::Options;
use crate::policy::Vetter;
use crate::rule::Rule;
use crate::sandbox::{RawEvent, Sandbox};

/// The vetted contents of an archive. Example: [`Extractor::list`](crate::Extractor::list).
#[derive(Debug)]
#[non_exhaustive]
pub struct Manifest {
    /// Every entry read, in archive order.
    pub entries: Vec<ManifestEntry>,
    /// Why reading stopped early, if it did (malformed input, a sandbox
    /// fault, an archive-wide limit).
    pub error: Option<Error>,
}

impl Manifest {
    /// Whether [`Extractor::extract`](crate::Extractor::extract) would accept the archive (into an empty
    /// destination).
    pub fn is_acceptable(&self) -> bool {
        self.error.is_none() && self.entries.iter().all(|e| e.refusal.is_none())
    }
}

/// One entry of a [`Manifest`]. Example: [`Extractor::list`](crate::Extractor::list).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ManifestEntry {
    /// Position in the archive (0-based).
    pub index: u64,
    /// The path as the archive spells it, escaped for display.
    pub path: String,
    /// The path's raw bytes.
    pub raw_path: Vec<u8>,
    /// What it is.
    pub kind: Kind,
    /// The raw type flag byte.
    pub type_flag: u8,
    /// Offset of the entry's first header in the tar stream.
    pub header_offset: u64,
    /// Bytes of data.
    pub size: u64,
    /// Permission bits as stored in the archive (not as they would be written).
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
    /// Link target, escaped, for links.
    pub link_target: Option<String>,
    /// Why the entry is refused, if it is.
    pub refusal: Option<Rule>,
}

/// Reads `reader` in `sandbox` and hands every judged entry to `each`,
/// stopping at an archive-wide refusal (see
/// [`Extractor::list_each`](crate::Extractor::list_each)). Returns why
/// reading stopped early, if it did.
pub(crate) fn list_each<R: Read + Send>(
    sandbox: &Sandbox,
    options: &Options,
    reader: R,
    mut each: impl FnMut(ManifestEntry),
) -> Result<Option<Error>, Error> {
    let mut vetter = Vetter::new(options, false);
    let result = sandbox.run(options, reader, false, |event, compressed| {
        let RawEvent::Entry(raw) = event else {
            return Err(Error::protocol("file data sent while listing"));
        };
        let verdict = vetter.entry(&raw, compressed)?;
        let stop = match &verdict {
            Err(rule) if rule.is_archive_wide() => Some(Error::Refused {
                index: raw.index,
                path: escape::escape_truncated(&raw.path, escape::SHOWN_NAME_BYTES),
                rule: rule.clone(),
            }),
            _ => None,
        };
        each(ManifestEntry {
            index: raw.index,
            path: escape(&raw.path),
            raw_path: raw.path,
            kind: raw.kind,
            type_flag: raw.type_flag,
            header_offset: raw.header_offset,
            size: raw.size,
            mode: raw.mode,
            mtime: raw.mtime,
            link_target: raw.link_target.as_deref().map(escape),
            refusal: verdict.err(),
        });
        stop.map_or(Ok(()), Err)
    });
    match result.and_then(|()| vetter.finish()) {
        Ok(()) => Ok(None),
        Err(e @ (Error::Io { .. } | Error::Setup(_) | Error::Sandbox(SandboxFault::Protocol(_)))) => Err(e),
        Err(e) => Ok(Some(e)),
    }
}
