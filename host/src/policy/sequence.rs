//! Sequencing and sizes: records come in order, data only where it was
//! declared, and the bytes read count toward the size limit. A record out of
//! order is a protocol fault of the guest, not a verdict on the archive.

use crate::error::Error;
use crate::kind::Kind;
use crate::options::Options;
use crate::rule::Rule;
use crate::sandbox::RawEntry;

/// Size of a tar header block.
const BLOCK: u64 = 512;

/// Where the stream of records is.
#[derive(Debug, Default)]
pub(crate) struct Sequence {
    with_data: bool,
    next_index: u64,
    /// Where the next entry's first header may start at the earliest.
    next_offset: u64,
    /// Bytes counted against the size limit: the tar stream up to the end
    /// of the current entry's data (headers, extension headers, padding and
    /// data), and never less than the sum of the declared sizes.
    counted: u64,
    declared: u64,
    compressed: u64,
    data_left: u64,
}

impl Sequence {
    /// `with_data`: whether file data follows file entries.
    pub(crate) fn new(with_data: bool) -> Sequence {
        Sequence { with_data, ..Sequence::default() }
    }

    /// Accounts for one record. `Err` is a protocol fault; `Ok(Err(rule))`
    /// a limit the archive crosses.
    pub(crate) fn entry(
        &mut self,
        raw: &RawEntry,
        compressed: u64,
        options: &Options,
    ) -> Result<Result<(), Rule>, Error> {
        if raw.index != self.next_index {
            return Err(Error::protocol(format!("entry index {} where {} was due", raw.index, self.next_index)));
        }
        if self.data_left != 0 {
            return Err(Error::protocol(format!("entry {} began before the previous file's data ended", raw.index)));
        }
        let header_only = !matches!(raw.kind, Kind::File | Kind::Other);
        if header_only && raw.size != 0 {
            return Err(Error::protocol(format!("{} entry {} declares data", raw.kind, raw.index)));
        }
        // Headers follow each other: an entry starts after the previous
        // one's header and padded data.
        if raw.header_offset < self.next_offset {
            return Err(Error::protocol(format!(
                "entry {} starts at byte {} of the tar stream, inside the previous entry (which ends at {})",
                raw.index, raw.header_offset, self.next_offset
            )));
        }
        self.next_offset =
            raw.header_offset.saturating_add(BLOCK).saturating_add(raw.size.div_ceil(BLOCK).saturating_mul(BLOCK));
        self.next_index += 1;
        self.compressed = self.compressed.max(compressed);
        self.data_left = if self.with_data && raw.kind == Kind::File { raw.size } else { 0 };

        if self.next_index > options.max_entries {
            return Ok(Err(Rule::TooManyEntries { max: options.max_entries }));
        }
        // Extension headers (PAX `x` and `g`, GNU `L` and `K`) cost as much
        // to read as data: the tar stream consumed so far counts.
        self.declared = self.declared.saturating_add(raw.size);
        let stream = raw.header_offset.saturating_add(BLOCK).saturating_add(raw.size);
        self.counted = self.counted.max(stream).max(self.declared);
        let limit = options.size_limit(compressed);
        if self.counted > limit {
            return Ok(Err(Rule::TooLarge { max: limit }));
        }
        Ok(Ok(()))
    }

    /// Accounts for a chunk of file data.
    pub(crate) fn data(&mut self, len: usize) -> Result<(), Error> {
        let len = len as u64;
        if len == 0 || len > self.data_left {
            return Err(Error::protocol(format!("{len} bytes of data where {} were due", self.data_left)));
        }
        self.data_left -= len;
        Ok(())
    }

    /// Whether the current file still expects data.
    pub(crate) fn data_pending(&self) -> bool {
        self.data_left != 0
    }

    /// Checks that the stream ended where it may.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.data_left != 0 {
            return Err(Error::protocol("the archive ended inside a file's data"));
        }
        Ok(())
    }

    /// Entries read so far.
    pub(crate) fn entries(&self) -> u64 {
        self.next_index
    }

    /// Bytes counted against the size limit so far.
    pub(crate) fn counted(&self) -> u64 {
        self.counted
    }

    /// The size limit in force, given the input read so far.
    pub(crate) fn size_limit(&self, options: &Options) -> u64 {
        options.size_limit(self.compressed)
    }
}
