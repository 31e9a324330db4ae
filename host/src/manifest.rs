//! Listing: the vetted manifest of an archive, read in the sandbox and judged
//! by the same policy as extraction, without writing anything.

use std::io::Read;

use crate::error::{Error, SandboxFault};
use crate::escape;
use crate::kind::Kind;
use crate::options::Options;
use crate::policy::{Plan, Vetter};
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
    /// What extraction does with the entry when it is not refused.
    pub action: Action,
    /// Why the entry is refused, if it is.
    pub refusal: Option<Rule>,
}

/// Reads `reader` in `sandbox` and hands every judged entry to `each`,
/// stopping at an archive-wide refusal (see
/// [`Extractor::list_each`](crate::Extractor::list_each)). Returns why
/// reading stopped early, if it did.
///
/// Entries are handed over as they are read, with one exception: when links
/// are copied ([`LinkPolicy::copies`](crate::LinkPolicy::copies)) a link's
/// verdict depends on the entries after it, so from the first link on,
/// entries are held back (in archive order) until the whole archive is read.
/// That mode keeps every name of the archive for resolving targets anyway;
/// the entries held back count toward the same entry limit.
pub(crate) fn list_each<R: Read + Send>(
    sandbox: &Sandbox,
    options: &Options,
    reader: R,
    mut each: impl FnMut(ManifestEntry),
) -> Result<Option<Error>, Error> {
    let mut vetter = Vetter::new(options, false)?;
    let copies = vetter.copies_links();
    // When links are copied: the entries from the first link on.
    let mut held: Vec<ManifestEntry> = Vec::new();
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
        let entry = ManifestEntry {
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
            action: match &verdict {
                Ok(a) => match a.plan {
                    Plan::Write => Action::Extract,
                    Plan::Skip => Action::Skip,
                    Plan::Copy => Action::Copy { of: String::new() },
                    Plan::Excluded => Action::Excluded,
                },
                Err(_) => Action::Extract,
            },
            refusal: verdict.err(),
        };
        if copies && (!held.is_empty() || matches!(entry.action, Action::Copy { .. })) {
            held.push(entry);
        } else {
            each(entry);
        }
        stop.map_or(Ok(()), Err)
    });
    let mut error = match result.and_then(|()| vetter.finish()) {
        Ok(()) => None,
        Err(e @ (Error::Io { .. } | Error::Setup(_) | Error::Sandbox(SandboxFault::Protocol(_)))) => return Err(e),
        Err(e) => Some(e),
    };
    if error.is_none() {
        let missing = vetter.members_not_found();
        if !missing.is_empty() {
            return Err(Error::MembersNotFound(missing));
        }
    }
    if copies {
        // Links are judged once the whole archive is known: a symbolic link
        // may name a later member.
        let first = held.first().map_or(0, |e| e.index);
        for verdict in vetter.resolve_links() {
            match verdict {
                Ok(copy) => {
                    if let Some(e) = copy.index.checked_sub(first).and_then(|i| held.get_mut(i as usize))
                        && e.refusal.is_none()
                        && matches!(e.action, Action::Copy { .. })
                    {
                        e.action = match copy.skipped {
                            Some(skip) => Action::SkipLink { rule: skip.rule },
                            None => Action::Copy { of: copy.copy_of },
                        };
                    }
                }
                Err((index, path, rule)) => {
                    if rule.is_archive_wide() && error.is_none() {
                        error = Some(Error::Refused { index, path, rule: rule.clone() });
                    }
                    if let Some(e) = index.checked_sub(first).and_then(|i| held.get_mut(i as usize))
                        && e.refusal.is_none()
                    {
                        e.refusal = Some(rule);
                    }
                }
            }
        }
        held.into_iter().for_each(&mut each);
    }
    Ok(error)
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
