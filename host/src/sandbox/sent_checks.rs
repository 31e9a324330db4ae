//! The host's half of the CRC checks of gzip members and xz blocks.
//!
//! Inside the sandbox a CRC costs a fifth (gzip's CRC-32) to a seventh
//! (xz's CRC-64) of decoding a large archive, since wasm has no carry-less
//! multiply; natively it costs little. So the guest computes each unit's CRC
//! only over the bytes it reads for itself (headers, padding, skipped data),
//! counting the file data it sends as zeros. Before the first sent byte of a
//! unit it reports a `check-start` (which CRC, where the unit starts in the
//! tar stream), and at its end a `check-end`: where it ends, the CRC the
//! unit stores, and that partial CRC. A CRC is linear, so the unit's CRC is
//! the partial one XOR the CRC (no initial value, no final inversion) of the
//! unit with every byte the guest kept counted as zero: which is what
//! [`SentChecks`] computes here from the data chunks, placed by the
//! entries' data offsets. A mismatch is refused in the guest's words for
//! it; reports that contradict the stream (data before the unit's start or
//! after its end, a unit started inside another, one left open) are a
//! broken protocol.
//!
//! Like everything the guest says, a report can lie: a compromised guest
//! could as well have claimed a right CRC. The check keeps sealtar as strict
//! as gzip(1) and xz(1) on corrupt input, which is its purpose.

use super::wit;
use crate::error::{Error, Layer};

// The guest includes the same file for its half.
#[path = "crc_shift.rs"]
mod crc_shift;
use crc_shift::Polynomial;

/// CRC-64 as xz computes it (slice-by-16; no carry-less multiply needed).
static CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_XZ);

/// The checks of one run.
#[derive(Default)]
pub(super) struct SentChecks {
    /// Where the next data chunk lies in the tar stream.
    next: u64,
    /// Where the last unit ended (units follow one another).
    ended: u64,
    /// The unit a `check-start` opened.
    open: Option<Open>,
}

struct Open {
    container: wit::Container,
    kind: wit::CheckKind,
    /// How far the register accounts for (the unit's start, at first).
    at: u64,
    /// CRC register (reflected, no inversions) of the unit's sent bytes,
    /// unsent ones as zeros, up to `at`.
    register: u64,
}

impl SentChecks {
    /// An entry: its data, if any, follows at `data_offset`.
    pub(super) fn entry(&mut self, data_offset: u64) {
        self.next = data_offset;
    }

    /// A chunk of file data, at the current entry's next offset.
    pub(super) fn data(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let at = self.next;
        self.next = at.checked_add(bytes.len() as u64).ok_or_else(|| Error::protocol("data offset overflows"))?;
        let Some(open) = self.open.as_mut() else {
            if at < self.ended && !bytes.is_empty() {
                return Err(Error::protocol("file data placed inside a checked unit already ended"));
            }
            return Ok(());
        };
        let Some(gap) = at.checked_sub(open.at) else {
            return Err(Error::protocol("file data placed before the checked unit it is sent in"));
        };
        open.register = update(open.kind, polynomial(open.kind).shift(open.register, gap), bytes);
        open.at = self.next;
        Ok(())
    }

    /// A unit some of whose bytes are sent starts.
    pub(super) fn start(&mut self, start: &wit::CheckStart) -> Result<(), Error> {
        if self.open.is_some() {
            return Err(Error::protocol("a checked unit started inside another"));
        }
        if start.tar_start < self.ended {
            return Err(Error::protocol("a checked unit started before the previous one ended"));
        }
        let (container, kind) = (start.container, start.kind);
        self.open = Some(Open { container, kind, at: start.tar_start, register: 0 });
        Ok(())
    }

    /// The end of the unit a start opened.
    pub(super) fn end(&mut self, end: &wit::CheckEnd) -> Result<(), Error> {
        let Some(open) = self.open.take() else {
            return Err(Error::protocol("a checked unit ended that did not start"));
        };
        let Some(gap) = end.tar_end.checked_sub(open.at) else {
            return Err(Error::protocol("a checked unit ended before file data sent in it"));
        };
        self.ended = end.tar_end;
        let computed = end.unsent ^ polynomial(open.kind).shift(open.register, gap);
        if computed == end.stored {
            return Ok(());
        }
        let message = match open.container {
            wit::Container::GzipMember => format!(
                "corrupt gzip data: the member's CRC-32 is {:#010x}; its data's is {computed:#010x}",
                end.stored
            ),
            wit::Container::XzBlock => "corrupt xz data: xz block check mismatch (the data is corrupt)".to_string(),
        };
        Err(Error::Malformed { offset: end.input_offset, layer: Layer::Input, message })
    }

    /// At a clean end: no unit may be left open.
    pub(super) fn finish(&self) -> Result<(), Error> {
        if self.open.is_some() {
            return Err(Error::protocol("a checked unit was left open at the end"));
        }
        Ok(())
    }
}

fn polynomial(kind: wit::CheckKind) -> &'static Polynomial {
    match kind {
        wit::CheckKind::Crc32 => &crc_shift::CRC32,
        wit::CheckKind::Crc64 => &crc_shift::CRC64,
    }
}

/// `register` (reflected, no inversions) continued over `bytes`.
fn update(kind: wit::CheckKind, register: u64, bytes: &[u8]) -> u64 {
    match kind {
        wit::CheckKind::Crc32 => {
            // crc32fast keeps the register inverted.
            let mut hasher = crc32fast::Hasher::new_with_initial(!(register as u32));
            hasher.update(bytes);
            u64::from(!hasher.finalize())
        }
        wit::CheckKind::Crc64 => {
            // The crc crate resumes from a reflected initial value given
            // bit-reversed, and inverts on the way out.
            let mut digest = CRC64.digest_with_initial(register.reverse_bits());
            digest.update(bytes);
            !digest.finalize()
        }
    }
}

#[cfg(test)]
mod tests;
