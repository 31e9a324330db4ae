//! Listing: the vetted manifest of an archive, read in the sandbox and judged
//! by the same policy as extraction, without writing anything. The
//! pipeline's listing sink.

use std::io::Read;

use crate::error::Error;
use crate::escape;
use crate::kind::Kind;
use crate::pipeline::{Copies, Judged, LinkJudged, OnRefusal, Pipeline, Sink};
use crate::policy::{Outcome, Plan};
use crate::rule::Rule;

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
    /// What extraction does with the entry when it is not refused.
    pub action: Action,
    /// Why the entry is refused, if it is.
    pub refusal: Option<Rule>,
    /// The refusal as `extract` and `check` report it (the entry, its name
    /// escaped and cut after 1 KiB, why, and the rule id), if it is refused.
    pub message: Option<String>,
}

/// The listing sink: each entry is handed to `each` as soon as it is
/// judged, and each link (under the copying policies) once every link is
/// judged, since its verdict depends on what follows it. Nothing else is
/// held.
struct Lister<F> {
    each: F,
}

impl<F: FnMut(ManifestEntry)> Sink for Lister<F> {
    fn wants_data(&self) -> bool {
        false
    }

    fn on_refusal(&self) -> OnRefusal {
        OnRefusal::Record
    }

    fn entry(&mut self, judged: &Judged<'_>) -> Result<(), Error> {
        let raw = judged.raw;
        let (action, refusal, message) = match judged.verdict {
            // A link's verdict comes with the others, at the end.
            Ok(accepted) if accepted.plan == Plan::Copy => return Ok(()),
            Ok(accepted) => (
                match accepted.plan {
                    Plan::Write => Action::Extract,
                    Plan::Skip => Action::Skip,
                    Plan::Copy => Action::Copy { of: String::new() },
                    Plan::Excluded => Action::Excluded,
                },
                None,
                None,
            ),
            Err(refused) => (Action::Extract, refused.rule().cloned(), Some(refused.to_string())),
        };
        (self.each)(ManifestEntry {
            index: raw.index,
            path: escape(&raw.path),
            raw_path: raw.path.clone(),
            kind: raw.kind,
            type_flag: raw.type_flag,
            header_offset: raw.header_offset,
            size: raw.size,
            mode: raw.mode,
            mtime: raw.mtime,
            link_target: raw.link_target.as_deref().map(escape),
            action,
            refusal,
            message,
        });
        Ok(())
    }

    fn link(&mut self, link: &LinkJudged<'_>, copies: &mut Copies<'_, '_>) -> Result<(), Error> {
        let record = link.record;
        let (action, refusal) = match link.outcome {
            Outcome::Copy { .. } => (Action::Copy { of: copies.copy_of(link.outcome).unwrap_or_default() }, None),
            Outcome::Skip(rule) => (Action::SkipLink { rule: rule.clone() }, None),
            Outcome::NotWritten => (Action::Excluded, None),
            Outcome::Refuse(rule) => (Action::Copy { of: String::new() }, Some(rule.clone())),
        };
        (self.each)(ManifestEntry {
            index: record.index,
            path: escape(&record.raw_path),
            raw_path: record.raw_path.to_vec(),
            kind: record.kind,
            type_flag: record.type_flag,
            header_offset: record.header_offset,
            size: 0,
            mode: record.mode,
            mtime: record.mtime,
            link_target: record.target.as_deref().map(escape),
            action,
            refusal,
            message: link.refusal.map(ToString::to_string),
        });
        Ok(())
    }
}

/// Reads `reader` and hands every judged entry to `each` (see
/// [`Extractor::list_each`](crate::Extractor::list_each)). Returns why
/// reading stopped early, if it did.
pub(crate) fn list_each<R: Read + Send>(
    pipeline: Pipeline<'_>,
    reader: R,
    each: impl FnMut(ManifestEntry),
) -> Result<Option<Error>, Error> {
    Ok(pipeline.run(reader, &mut Lister { each })?.stopped)
}

/// What extraction does with an entry the policy accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Written as a file or directory.
    Extract,
    /// A link or special file the options skip.
    Skip,
    /// A link replaced by a copy of `of` (its resolved target, as written, escaped).
    Copy {
        /// The file or directory copied.
        of: String,
    },
    /// Not selected, or excluded: vetted, not written.
    Excluded,
    /// A link that [`LinkPolicy::Copy`](crate::LinkPolicy::Copy) cannot
    /// copy: not written. `rule` (a [`Rule::Link`]) says why.
    SkipLink {
        /// Why it cannot be copied.
        rule: Rule,
    },
}
