//! The host's half of each gzip member's CRC-32 check.
//!
//! Inside the sandbox the CRC-32 costs about a fifth of decoding a large
//! `.tar.gz` (wasm has no carry-less multiply); natively it costs almost
//! nothing. So the guest computes it only over the bytes it reads for
//! itself (headers, padding, skipped data), counting the file data it sends
//! as zeros, and at the end of a member some of whose bytes it sent it
//! reports a `member-end`: where the member ends in the tar stream, the CRC
//! its trailer stores, and that partial CRC. CRC-32 is linear, so the
//! member's CRC is the partial one XOR the CRC (no initial value, no final
//! inversion) of the member with every byte the guest kept counted as zero:
//! which is what [`GzipCheck`] computes here from the data chunks, placed
//! by the entries' data offsets. A mismatch is refused with the guest's own
//! words for it; reports that contradict the stream (data before the
//! previous end, an end before data already seen) are a broken protocol.
//!
//! Like everything the guest says, a report can lie: a compromised guest
//! could as well have claimed a right CRC. The check keeps sealtar as strict
//! as gzip(1) on honest parsing of corrupt input, which is its purpose.

use super::wit;
use crate::error::{Error, Layer};

// The guest includes the same file for its half.
#[path = "crc32_shift.rs"]
mod crc32_shift;
use crc32_shift::shift;

/// The running check of the current member.
#[derive(Debug, Default)]
pub(super) struct GzipCheck {
    /// Where the next data chunk lies in the tar stream.
    next: u64,
    /// How far the register accounts for (the member's start, at first).
    at: u64,
    /// CRC register (reflected, no inversions) of the member's sent bytes,
    /// unsent ones as zeros, up to `at`.
    register: u32,
    /// Whether data was sent since the last member's end.
    pending: bool,
}

impl GzipCheck {
    /// An entry: its data, if any, follows at `data_offset`.
    pub(super) fn entry(&mut self, data_offset: u64) {
        self.next = data_offset;
    }

    /// A chunk of file data, at the current entry's next offset.
    pub(super) fn data(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.is_empty() {
            return Ok(());
        }
        let Some(gap) = self.next.checked_sub(self.at) else {
            return Err(Error::protocol("file data placed before the end of a gzip member already reported"));
        };
        let end = self.next.checked_add(bytes.len() as u64).ok_or_else(|| Error::protocol("data offset overflows"))?;
        // crc32fast keeps the register inverted.
        let mut hasher = crc32fast::Hasher::new_with_initial(!shift(self.register, gap));
        hasher.update(bytes);
        self.register = !hasher.finalize();
        (self.at, self.next, self.pending) = (end, end, true);
        Ok(())
    }

    /// The end of a member some of whose bytes were sent.
    pub(super) fn end(&mut self, end: &wit::MemberEnd) -> Result<(), Error> {
        let Some(gap) = end.tar_end.checked_sub(self.at) else {
            return Err(Error::protocol("a gzip member's end reported before file data it holds"));
        };
        let computed = end.unsent ^ shift(self.register, gap);
        (self.at, self.register, self.pending) = (end.tar_end, 0, false);
        if computed != end.stored {
            return Err(Error::Malformed {
                offset: end.input_offset,
                layer: Layer::Input,
                message: format!(
                    "corrupt gzip data: the member's CRC-32 is {:#010x}; its data's is {computed:#010x}",
                    end.stored
                ),
            });
        }
        Ok(())
    }

    /// At a clean end of gzip input: no data may be left unchecked.
    pub(super) fn finish(&self) -> Result<(), Error> {
        if self.pending {
            return Err(Error::protocol("file data after the last gzip member's end"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
