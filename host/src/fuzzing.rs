//! Not part of the API: the entry point of the host-policy fuzz target
//! (`fuzz/fuzz_targets/policy.rs`), compiled only with the `fuzzing` feature.
//!
//! It feeds records as a compromised guest could send them (any index, path,
//! kind, size, order, data lengths) to the same policy that `extract`,
//! `list` and `check` use, and returns what the policy accepted, so the
//! target can assert that every accepted path is safe.

#![allow(missing_docs)]

use crate::kind::Kind;
use crate::options::Options;
use crate::policy::Vetter;
use crate::sandbox::RawEntry;

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

/// Vets `events` in order as `list` does (refused entries are skipped, a
/// protocol fault ends the stream) and returns the accepted entries.
pub fn vet(options: &Options, with_data: bool, events: &[Event]) -> Vec<Accepted> {
    // Options whose selection does not compile vet nothing.
    let Ok(mut vetter) = Vetter::new(options, with_data) else { return Vec::new() };
    let mut out = Vec::new();
    for event in events {
        match event {
            Event::Data(len) => {
                if vetter.data(*len).is_err() {
                    break;
                }
            }
            Event::Entry { index, path, kind, size, mode, guest_refusal } => {
                let raw = RawEntry {
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
                };
                match vetter.entry(&raw, 0) {
                    Err(_) => break,
                    Ok(Ok(a)) => out.push(Accepted {
                        new_parents: a.new_parent_paths().into_iter().map(str::to_string).collect(),
                        path: a.path,
                        kind: a.kind,
                        already_made: a.already_made,
                    }),
                    Ok(Err(_)) => {}
                }
            }
        }
    }
    let _ = vetter.finish();
    out
}
