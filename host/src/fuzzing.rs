//! Not part of the API: the entry point of the host-policy fuzz target
//! (`fuzz/fuzz_targets/policy.rs`), compiled only with the `fuzzing` feature.
//!
//! It feeds records as a compromised guest could send them (any index, path,
//! kind, size, order, data lengths) through the same pipeline and policy
//! that `extract`, `list` and `check` use, and returns what the policy accepted, so the
//! target can assert that every accepted path is safe.

#![allow(missing_docs, reason = "not part of the API: the fuzz target's entry point")]

use crate::kind::Kind;
use crate::options::Options;
use crate::pipeline::{Judged, OnRefusal, Sink, drive};
use crate::policy::Selection;
use crate::sandbox::{RawEntry, RawEvent};

/// One record from the guest.
#[derive(Debug, Clone)]
pub enum Event {
    Entry { index: u64, path: Vec<u8>, kind: Kind, size: u64, mode: u32, guest_refusal: bool },
    Data(usize),
}

/// An entry the policy accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub path: String,
    pub kind: Kind,
    pub new_parents: Vec<String>,
    pub already_made: bool,
}

/// Vets `events` in order through the pipeline as `list` does (refused
/// entries are recorded, a protocol fault ends the stream; under the
/// copying link policies the link phase runs too) and returns the accepted
/// entries.
pub fn vet(options: &Options, with_data: bool, events: &[Event]) -> Vec<Accepted> {
    // Options whose selection does not compile vet nothing.
    let Ok(selection) = Selection::new(options) else { return Vec::new() };
    let mut sink = Collect { with_data, out: Vec::new() };
    let _ = drive(options, &selection, &mut sink, |_, _, each| {
        for event in events {
            let event = match event {
                Event::Data(len) => RawEvent::Data(vec![0; *len]),
                Event::Entry { index, path, kind, size, mode, guest_refusal } => RawEvent::Entry(RawEntry {
                    index: *index,
                    header_offset: index.saturating_mul(512),
                    path: path.clone(),
                    kind: *kind,
                    type_flag: b'0',
                    size: *size,
                    mode: *mode,
                    mtime: 0,
                    link_target: None,
                    refusal: guest_refusal.then(|| "refused by the guest".to_string()),
                }),
            };
            each(event, 0)?;
        }
        Ok(())
    });
    sink.out
}

/// Keeps what the policy accepted.
struct Collect {
    with_data: bool,
    out: Vec<Accepted>,
}

impl Sink for Collect {
    fn wants_data(&self) -> bool {
        self.with_data
    }

    fn on_refusal(&self) -> OnRefusal {
        OnRefusal::Record
    }

    fn entry(&mut self, judged: &Judged<'_>) -> Result<(), crate::Error> {
        if let Ok(a) = judged.verdict {
            self.out.push(Accepted {
                new_parents: a.new_parent_paths().into_iter().map(str::to_string).collect(),
                path: a.path.clone(),
                kind: a.kind,
                already_made: a.already_made,
            });
        }
        Ok(())
    }
}
