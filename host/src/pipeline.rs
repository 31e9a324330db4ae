//! The one driver. Every command is a sink on this pipeline:
//!
//! ```text
//!  reader ─► sandbox (guest) ─► records ─► Vetter ─► Sink::entry / data / end
//!                                                 └► (archive read) link phase ─► Sink::link
//! ```
//!
//! The pipeline feeds the sandbox, runs every record through the
//! [`Vetter`], drops the data of entries that are not written, keeps the one
//! deadline over every phase (reading, parsing, vetting, the link phase and
//! the sink's work), checks that every member asked for was found, judges
//! every link under the copying policies, and builds every refusal (rule
//! id, escaping, the name cut to 1 KiB) in one place, [`refusal`]. A sink
//! only decides what to do with an accepted entry and its data: write it
//! (`extract`), hand it to a visitor (`read_entries`, and through it
//! `audit-cargo`), list it (`list`) or collect violations (`check`, and
//! through it `check --batch`).

use std::io::Read;

use crate::deadline::{Deadline, Ticker};
use crate::error::{Error, SandboxFault};
use crate::escape::{SHOWN_NAME_BYTES, escape_truncated};
use crate::kind::Kind;
use crate::options::Options;
use crate::policy::{Accepted, CopyOp, LinkPhase, LinkRecord, Outcome, Plan, Selection, Vetter};
use crate::rule::Rule;
use crate::sandbox::{RawEntry, RawEvent, Sandbox};

/// The refusal of entry `index` named `raw_path` for `rule`: the one place
/// a refusal is built. The name is escaped and cut after
/// [`SHOWN_NAME_BYTES`], whichever command reports it.
pub(crate) fn refusal(index: u64, raw_path: &[u8], rule: Rule) -> Error {
    Error::Refused { index, path: escape_truncated(raw_path, SHOWN_NAME_BYTES), rule }
}

/// What a refused entry means to a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnRefusal {
    /// The first refusal ends the run with it (`extract`, `read_entries`).
    Stop,
    /// A refused entry is a verdict like another; only an archive-wide
    /// rule ends the reading (`list`, `check`).
    Record,
}

/// One entry as the policy judged it.
#[derive(Debug)]
pub(crate) struct Judged<'r> {
    pub(crate) raw: &'r RawEntry,
    /// The entry accepted, or its refusal (an [`Error::Refused`]; only under
    /// [`OnRefusal::Record`]).
    pub(crate) verdict: Result<&'r Accepted, &'r Error>,
}

/// One link as the link phase judged it.
#[derive(Debug)]
pub(crate) struct LinkJudged<'r> {
    pub(crate) record: &'r LinkRecord,
    pub(crate) outcome: &'r Outcome,
    /// The refusal, for [`Outcome::Refuse`] (only under [`OnRefusal::Record`]).
    pub(crate) refusal: Option<&'r Error>,
}

/// The copy of one link judged [`Outcome::Copy`]: what it is a copy of,
/// where it goes, and the walk of what to write.
pub(crate) struct Copies<'p, 'v> {
    phase: &'p LinkPhase<'v>,
    ticker: &'p mut Ticker,
    rec: usize,
}

impl Copies<'_, '_> {
    /// What the link is a copy of (its target's written path), escaped.
    pub(crate) fn copy_of(&self, outcome: &Outcome) -> Option<String> {
        match outcome {
            Outcome::Copy { target, .. } => Some(self.phase.shown_path(*target)),
            _ => None,
        }
    }

    /// Where the link is written, if it is.
    pub(crate) fn written_path(&self) -> Option<String> {
        self.phase.written_path(self.rec)
    }

    /// Hands `op` each step of writing the copy, parents first, under the
    /// run's deadline.
    pub(crate) fn walk(
        &mut self,
        outcome: &Outcome,
        op: &mut dyn FnMut(CopyOp<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Outcome::Copy { target, .. } = outcome else { return Ok(()) };
        let deadline = self.ticker.deadline();
        self.phase.walk_copy(self.rec, *target, self.ticker, &mut |step| {
            deadline.check()?;
            op(step)
        })
    }
}

/// What a command does with the entries the pipeline judges.
pub(crate) trait Sink {
    /// Whether the sink reads file data (the guest sends none otherwise).
    fn wants_data(&self) -> bool;

    /// What a refused entry means to the sink.
    fn on_refusal(&self) -> OnRefusal;

    /// An entry was judged (refused ones only under [`OnRefusal::Record`]).
    fn entry(&mut self, entry: &Judged<'_>) -> Result<(), Error>;

    /// The next piece of the current entry's data: only for an entry judged
    /// [`Plan::Write`], and only when the sink [`wants_data`](Sink::wants_data).
    fn data(&mut self, chunk: &[u8]) -> Result<(), Error> {
        let _ = chunk;
        Ok(())
    }

    /// The current [`Plan::Write`] entry is complete (its data all handed over).
    fn end(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// The pipeline moved on: `input_bytes` of the archive are read.
    fn progress(&mut self, input_bytes: u64) {
        let _ = input_bytes;
    }

    /// One link's verdict, in archive order, once the whole archive is read
    /// and every link judged (under `--links copy` and `copy-or-refuse`).
    fn link(&mut self, link: &LinkJudged<'_>, copies: &mut Copies<'_, '_>) -> Result<(), Error> {
        let _ = (link, copies);
        Ok(())
    }
}

/// What a run leaves for its sink's last steps.
pub(crate) struct Ran<'a> {
    /// The policy's state once the archive was read (names, for messages).
    pub(crate) vetter: Vetter<'a>,
    /// The run's deadline, for the work still to do.
    pub(crate) deadline: Deadline,
    /// Under [`OnRefusal::Record`]: why reading stopped early, if it did
    /// (malformed input, a sandbox fault, an archive-wide limit).
    pub(crate) stopped: Option<Error>,
}

/// The pipeline's fixed parts.
#[derive(Clone, Copy)]
pub(crate) struct Pipeline<'a> {
    pub(crate) sandbox: &'static Sandbox,
    pub(crate) options: &'a Options,
    pub(crate) selection: &'a Selection,
}

impl<'a> Pipeline<'a> {
    /// Runs the archive from `reader` through the sandbox and the policy
    /// into `sink`.
    pub(crate) fn run<R: Read + Send>(&self, reader: R, sink: &mut dyn Sink) -> Result<Ran<'a>, Error> {
        let (sandbox, options) = (self.sandbox, self.options);
        drive(self.options, self.selection, sink, |deadline, with_data, each| {
            sandbox.run(options, reader, with_data, deadline, each)
        })
    }
}

/// Runs records from `source` (the sandbox, or the policy fuzz target's
/// records) through the policy into `sink`.
pub(crate) fn drive<'a>(
    options: &'a Options,
    selection: &'a Selection,
    sink: &mut dyn Sink,
    source: impl FnOnce(&mut Deadline, bool, &mut dyn FnMut(RawEvent, u64) -> Result<(), Error>) -> Result<(), Error>,
) -> Result<Ran<'a>, Error> {
    let mut deadline = Deadline::after(options.timeout);
    let with_data = sink.wants_data();
    let stop = sink.on_refusal() == OnRefusal::Stop;
    let mut vetter = Vetter::new(options, selection, with_data);
    // Whether the current entry's data goes to the sink.
    let mut passing = false;
    let read = source(&mut deadline, with_data, &mut |event, input_bytes| {
        match event {
            RawEvent::Entry(raw) => {
                passing = false;
                match vetter.entry(&raw, input_bytes)? {
                    Err(rule) => {
                        let wide = rule.is_archive_wide();
                        let refused = refusal(raw.index, &raw.path, rule);
                        if stop {
                            return Err(refused);
                        }
                        sink.entry(&Judged { raw: &raw, verdict: Err(&refused) })?;
                        if wide {
                            return Err(refused);
                        }
                    }
                    Ok(accepted) => {
                        let written = accepted.plan == Plan::Write;
                        passing = with_data && written && accepted.kind == Kind::File && vetter.data_pending();
                        sink.entry(&Judged { raw: &raw, verdict: Ok(&accepted) })?;
                        if written && !passing {
                            sink.end()?;
                        }
                    }
                }
            }
            RawEvent::Data(data) => {
                vetter.data(data.len())?;
                if passing {
                    sink.data(&data)?;
                    if !vetter.data_pending() {
                        passing = false;
                        sink.end()?;
                    }
                }
            }
        }
        sink.progress(input_bytes);
        Ok(())
    });
    let mut stopped = None;
    match read.and_then(|()| vetter.finish()) {
        Ok(()) => {}
        Err(e) if stop => return Err(e),
        Err(e @ (Error::Io { .. } | Error::Setup(_) | Error::Sandbox(SandboxFault::Protocol(_)))) => return Err(e),
        Err(e) => stopped = Some(e),
    }
    if stopped.is_none() {
        let missing = vetter.members_not_found();
        if !missing.is_empty() {
            return Err(Error::MembersNotFound(missing));
        }
    }
    match link_phase(&mut vetter, sink, stop, deadline, &mut stopped) {
        Ok(()) => {}
        // Past the deadline, a listing says so after what it has listed.
        Err(e @ Error::Sandbox(SandboxFault::Timeout)) if !stop => stopped = stopped.or(Some(e)),
        Err(e) => return Err(e),
    }
    Ok(Ran { vetter, deadline, stopped })
}

/// Judges every link (counting copies against the limits until one refuses
/// the archive), then hands each verdict to the sink in archive order: a
/// refusal under [`OnRefusal::Stop`] ends the run before any copy is
/// written.
fn link_phase(
    vetter: &mut Vetter<'_>,
    sink: &mut dyn Sink,
    stop: bool,
    deadline: Deadline,
    stopped: &mut Option<Error>,
) -> Result<(), Error> {
    let Some(mut phase) = vetter.link_phase() else { return Ok(()) };
    let mut ticker = Ticker::new(deadline);
    // After an early stop the limits mean nothing: links are only resolved.
    let mut count = stopped.is_none();
    let mut verdicts = Vec::with_capacity(phase.records().len());
    for rec in 0..phase.records().len() {
        deadline.check()?;
        let outcome = phase.judge(rec, count, &mut ticker)?;
        let refused = match &outcome {
            Outcome::Refuse(rule) => {
                let record = &phase.records()[rec];
                let refused = refusal(record.index, &record.raw_path, rule.clone());
                if stop {
                    return Err(refused);
                }
                if rule.is_archive_wide() && count {
                    count = false;
                    *stopped = Some(refusal(record.index, &record.raw_path, rule.clone()));
                }
                Some(refused)
            }
            _ => None,
        };
        verdicts.push((outcome, refused));
    }
    for (rec, (outcome, refused)) in verdicts.iter().enumerate() {
        deadline.check()?;
        let judged = LinkJudged { record: &phase.records()[rec], outcome, refusal: refused.as_ref() };
        sink.link(&judged, &mut Copies { phase: &phase, ticker: &mut ticker, rec })?;
    }
    Ok(())
}
