//! The xz container, read here; each block's LZMA2 data (behind at most one
//! BCJ or delta filter) decoded by lzma-rust2.
//!
//! lzma-rust2's own `XzReader` verified each block's check one byte at a time
//! (a 256-entry table): on a 140 MB archive compressed with xz's default
//! CRC-64 that was about a third of the guest's time, 0.5 s of 1.7 s. The
//! container is small and fully specified (the .xz file format, 1.2.1), so
//! it is read here. A block's CRC-32 or CRC-64 is computed by `Checked`
//! (`checked.rs`), which leaves the share of file data sent to the host to
//! the host; each such block is recorded as a `Unit`, and a read that ends
//! one returns by itself. A SHA-256 is computed here.
//!
//! What xz(1) checks is checked, and a stream it refuses is refused: the
//! CRC-32s of the stream header, each block header, the index and the
//! footer; reserved bits and flags; the header's flags against the footer's;
//! each block's declared sizes, its padding and its integrity check (none,
//! CRC-32, CRC-64 or SHA-256; the other check types, which xz(1) can only
//! skip with a warning, are refused); the index against the blocks read
//! (count, sizes, order) and the footer's backward size against the index.
//! Streams may follow one another, with stream padding (zero bytes in
//! multiples of four) between and after them.
//!
//! Not read: a block with more than one filter in front of LZMA2, which
//! xz(1) writes only when asked for a chain of filters by hand.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

use crc::{Digest, Table};
use lzma_rust2::Lzma2Reader;
use lzma_rust2::filter::bcj::BcjReader;
use lzma_rust2::filter::delta::DeltaReader;
use sha2::Digest as _;

use super::checked::{Container, InputPosition, Kind, Unit, UnitEnd, Units};
use super::{CRC32, CRC64};

const MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];
const FOOTER_MAGIC: [u8; 2] = *b"YZ";
const LZMA2: u64 = 0x21;
const DELTA: u64 = 0x03;

/// An xz decoder over buffered input.
pub struct XzDecoder<R: BufRead> {
    /// The input, between blocks; inside a block it is in `chain`.
    input: Option<Metered<R>>,
    /// The block being decoded, if any.
    chain: Option<Chain<R>>,
    /// The per-block decoder memory (dictionary and state) allowed, in KiB.
    mem_limit_kib: u32,
    /// The stream being read, once its header has been; `None` at the start
    /// of the input and between streams.
    stream: Option<Stream>,
    /// What the current block's header declared, and what it has produced.
    block: Block,
    /// Whether a stream has begun (any later one may follow stream padding).
    started: bool,
    /// After the last stream and its padding.
    done: bool,
    /// Decompressed bytes produced so far, over every block.
    produced: u64,
    /// Blocks with a CRC, for `Checked`.
    units: VecDeque<Unit>,
}

/// A block's filters, outermost first, over the metered input.
enum Chain<R: BufRead> {
    Lzma2(Lzma2Reader<Metered<R>>),
    Delta(Box<DeltaReader<Lzma2Reader<Metered<R>>>>),
    Bcj(BcjReader<Lzma2Reader<Metered<R>>>),
}

/// The input, counting the bytes read through it (a block's compressed size).
struct Metered<R> {
    inner: R,
    read: u64,
}

/// What a stream's header says, and a tally of its blocks to hold its index to.
struct Stream {
    flags: [u8; 2],
    blocks: u64,
    /// A CRC-64 of every block's (unpadded size, uncompressed size), in order.
    records: Digest<'static, u64, Table<16>>,
}

#[derive(Default)]
struct Block {
    header_size: u64,
    compressed: Option<u64>,
    uncompressed: Option<u64>,
    produced: u64,
    check: Check,
}

/// A block's integrity check. CRCs are `Checked`'s to compute (see
/// `checked.rs`); a SHA-256 is computed here.
#[derive(Default)]
enum Check {
    #[default]
    None,
    Crc32,
    Crc64,
    Sha256(Box<sha2::Sha256>),
}

/// The filter in front of LZMA2, if any.
enum Front {
    None,
    Delta(usize),
    /// A BCJ filter: its id and start offset.
    Bcj(u64, usize),
}

fn corrupt(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn unsupported(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, what.into())
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> Metered<R> {
    fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    /// The next byte without consuming it, or `None` at the end of the input.
    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.inner.fill_buf()?.first().copied())
    }

    /// A variable-length integer from the input, fed to `crc` as it is read.
    fn vli(&mut self, crc: &mut Digest<'static, u32, Table<16>>, size: &mut u64) -> io::Result<u64> {
        read_vli(|| {
            let b = self.byte()?;
            crc.update(&[b]);
            *size += 1;
            Ok(b)
        })
    }
}

/// A variable-length integer from a block header.
fn vli(bytes: &[u8], pos: &mut usize) -> io::Result<u64> {
    read_vli(|| {
        let b = bytes.get(*pos).copied().ok_or_else(|| corrupt("an xz block header ends inside an integer"))?;
        *pos += 1;
        Ok(b)
    })
}

/// A variable-length integer (1 to 9 bytes, 7 bits each, least significant
/// first, in its shortest form) from the bytes `next` gives.
fn read_vli(mut next: impl FnMut() -> io::Result<u8>) -> io::Result<u64> {
    let mut value = 0u64;
    for i in 0..9 {
        let b = next()?;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if i > 0 && b == 0 {
                return Err(corrupt("an xz integer is not in its shortest form"));
            }
            return Ok(value);
        }
    }
    Err(corrupt("an xz integer is longer than 9 bytes"))
}

impl Check {
    fn new(id: u8) -> io::Result<Check> {
        Ok(match id {
            0x00 => Check::None,
            0x01 => Check::Crc32,
            0x04 => Check::Crc64,
            0x0a => Check::Sha256(Box::default()),
            _ => return Err(unsupported(format!("the xz integrity check type {id} is not supported"))),
        })
    }

    fn size(&self) -> usize {
        match self {
            Check::None => 0,
            Check::Crc32 => 4,
            Check::Crc64 => 8,
            Check::Sha256(_) => 32,
        }
    }

    /// The CRC `Checked` computes for this check, if it is one.
    fn crc(&self) -> Option<Kind> {
        match self {
            Check::Crc32 => Some(Kind::Crc32),
            Check::Crc64 => Some(Kind::Crc64),
            Check::None | Check::Sha256(_) => None,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Check::None | Check::Crc32 | Check::Crc64 => {}
            Check::Sha256(d) => d.update(data),
        }
    }

    fn matches(self, stored: &[u8]) -> bool {
        match self {
            // A CRC is matched by `Checked`, against the unit's end.
            Check::None | Check::Crc32 | Check::Crc64 => true,
            Check::Sha256(d) => d.finalize().as_slice() == stored,
        }
    }
}

impl<R: BufRead> Chain<R> {
    fn lzma2(&self) -> &Lzma2Reader<Metered<R>> {
        match self {
            Chain::Lzma2(r) => r,
            Chain::Delta(r) => r.inner(),
            Chain::Bcj(r) => r.inner(),
        }
    }

    fn into_input(self) -> Metered<R> {
        match self {
            Chain::Lzma2(r) => r.into_inner(),
            Chain::Delta(r) => r.into_inner().into_inner(),
            Chain::Bcj(r) => r.into_inner().into_inner(),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Chain::Lzma2(r) => r.read(buf),
            Chain::Delta(r) => r.read(buf),
            Chain::Bcj(r) => r.read(buf),
        }
    }
}

impl<R: BufRead + InputPosition> XzDecoder<R> {
    /// A decoder for the xz data `inner` starts with. A block whose decoder
    /// would need more than `mem_limit_kib` KiB is refused with an
    /// [`io::ErrorKind::OutOfMemory`] error before anything is allocated.
    pub fn new(inner: R, mem_limit_kib: u32) -> Self {
        XzDecoder {
            input: Some(Metered { inner, read: 0 }),
            chain: None,
            mem_limit_kib,
            stream: None,
            block: Block::default(),
            started: false,
            done: false,
            produced: 0,
            units: VecDeque::new(),
        }
    }

    /// The input, for how far into it the decoder has read.
    pub fn input(&self) -> &R {
        match (&self.input, &self.chain) {
            (Some(input), _) => &input.inner,
            (None, Some(chain)) => &chain.lzma2().inner().inner,
            (None, None) => unreachable!("the input is always in one of the two"),
        }
    }

    /// Reads the container up to the next block's data, through any index,
    /// footer and stream padding on the way; sets `done` at the end.
    fn next_block(&mut self) -> io::Result<()> {
        loop {
            if self.stream.is_none() {
                let input = self.input.as_mut().expect("between blocks");
                // Only the first stream must start at once; later ones may
                // follow stream padding, and the input may end instead.
                if self.started && !Self::stream_padding(input)? {
                    self.done = true;
                    return Ok(());
                }
                self.stream = Some(Self::stream_header(input)?);
                self.started = true;
            }
            let input = self.input.as_mut().expect("between blocks");
            let first = input.byte()?;
            if first != 0 {
                return self.start_block(first);
            }
            let stream = self.stream.take().expect("inside a stream");
            Self::index_and_footer(input, stream)?;
        }
    }

    /// Skips stream padding; whether another stream follows.
    fn stream_padding(input: &mut Metered<R>) -> io::Result<bool> {
        let mut zeros = 0u64;
        let more = loop {
            match input.peek()? {
                None => break false,
                Some(0) => {
                    input.byte()?;
                    zeros += 1;
                }
                Some(_) => break true,
            }
        };
        if !zeros.is_multiple_of(4) {
            return Err(corrupt("xz stream padding is not a multiple of four bytes"));
        }
        Ok(more)
    }

    fn stream_header(input: &mut Metered<R>) -> io::Result<Stream> {
        let mut header = [0u8; 12];
        input.read_exact(&mut header)?;
        if header[..6] != MAGIC {
            return Err(corrupt("data after an xz stream is not another xz stream"));
        }
        let flags = [header[6], header[7]];
        if CRC32.checksum(&flags).to_le_bytes() != header[8..12] {
            return Err(corrupt("xz stream header CRC32 mismatch"));
        }
        if flags[0] != 0 || flags[1] & 0xf0 != 0 {
            return Err(unsupported("xz stream flags that this decoder does not know"));
        }
        Check::new(flags[1])?;
        Ok(Stream { flags, blocks: 0, records: CRC64.digest() })
    }

    /// Reads the block header that starts with `first` and sets up its decoder.
    fn start_block(&mut self, first: u8) -> io::Result<()> {
        let input = self.input.as_mut().expect("between blocks");
        let size = (usize::from(first) + 1) * 4;
        let mut header = vec![0u8; size];
        header[0] = first;
        input.read_exact(&mut header[1..])?;
        let (body, stored) = header.split_at(size - 4);
        if CRC32.checksum(body).to_le_bytes() != stored {
            return Err(corrupt("xz block header CRC32 mismatch"));
        }
        let flags = body[1];
        if flags & 0x3c != 0 {
            return Err(unsupported("reserved bits are set in an xz block header"));
        }
        let mut pos = 2;
        let compressed = if flags & 0x40 != 0 { Some(vli(body, &mut pos)?) } else { None };
        let uncompressed = if flags & 0x80 != 0 { Some(vli(body, &mut pos)?) } else { None };
        if compressed == Some(0) {
            return Err(corrupt("an xz block header declares no compressed data"));
        }
        let mut filters = Vec::new();
        for _ in 0..=(flags & 3) {
            let id = vli(body, &mut pos)?;
            let len = usize::try_from(vli(body, &mut pos)?).unwrap_or(usize::MAX);
            let Some(props) = body.get(pos..pos.saturating_add(len)) else {
                return Err(corrupt("xz filter properties run past the block header"));
            };
            pos += len;
            filters.push((id, props));
        }
        if body[pos..].iter().any(|&b| b != 0) {
            return Err(corrupt("xz block header padding is not zero"));
        }
        let (front, dict_size) = filter_chain(&filters)?;
        if lzma_rust2::lzma2_get_memory_usage(dict_size) > self.mem_limit_kib {
            return Err(io::Error::new(io::ErrorKind::OutOfMemory, "the xz dictionary is over the limit"));
        }
        let stream = self.stream.as_ref().expect("inside a stream");
        let check = Check::new(stream.flags[1])?;
        if let Some(kind) = check.crc() {
            self.units.push_back(Unit { container: Container::XzBlock, kind, start: self.produced, end: None });
        }
        self.block = Block { header_size: size as u64, compressed, uncompressed, produced: 0, check };
        let mut input = self.input.take().expect("between blocks");
        input.read = 0;
        let lzma2 = Lzma2Reader::new(input, dict_size, None);
        self.chain = Some(match front {
            Front::None => Chain::Lzma2(lzma2),
            Front::Delta(distance) => Chain::Delta(Box::new(DeltaReader::new(lzma2, distance))),
            Front::Bcj(id, start) => Chain::Bcj(match id {
                0x04 => BcjReader::new_x86(lzma2, start),
                0x05 => BcjReader::new_ppc(lzma2, start),
                0x06 => BcjReader::new_ia64(lzma2, start),
                0x07 => BcjReader::new_arm(lzma2, start),
                0x08 => BcjReader::new_arm_thumb(lzma2, start),
                0x09 => BcjReader::new_sparc(lzma2, start),
                0x0a => BcjReader::new_arm64(lzma2, start),
                _ => BcjReader::new_riscv(lzma2, start),
            }),
        });
        Ok(())
    }

    /// After a block's data: its padding and check, and its sizes against
    /// its header; the input comes back out of the decoder.
    fn end_block(&mut self) -> io::Result<()> {
        let input = self.chain.take().expect("inside a block").into_input();
        let compressed = input.read;
        let block = std::mem::take(&mut self.block);
        let check = block.check;
        let check_size = check.size();
        self.input = Some(input);
        let input = self.input.as_mut().expect("just put back");
        if block.compressed.is_some_and(|declared| declared != compressed) {
            return Err(corrupt("an xz block's compressed size differs from its header's"));
        }
        if block.uncompressed.is_some_and(|declared| declared != block.produced) {
            return Err(corrupt("an xz block's uncompressed size differs from its header's"));
        }
        for _ in 0..(4 - compressed % 4) % 4 {
            if input.byte()? != 0 {
                return Err(corrupt("xz block padding is not zero"));
            }
        }
        let mut stored = [0u8; 32];
        input.read_exact(&mut stored[..check_size])?;
        if check.crc().is_some() {
            let mut value = [0u8; 8];
            value[..check_size].copy_from_slice(&stored[..check_size]);
            let end = UnitEnd {
                at: self.produced,
                stored: u64::from_le_bytes(value),
                input_offset: input.inner.input_position(),
            };
            self.units.back_mut().expect("pushed at the block's start").end = Some(end);
        } else if !check.matches(&stored[..check_size]) {
            return Err(corrupt("xz block check mismatch (the data is corrupt)"));
        }
        let stream = self.stream.as_mut().expect("inside a stream");
        let unpadded = block.header_size + compressed + check_size as u64;
        stream.blocks += 1;
        stream.records.update(&unpadded.to_le_bytes());
        stream.records.update(&block.produced.to_le_bytes());
        Ok(())
    }

    /// The index (its indicator byte already read) and the stream footer,
    /// both held to the blocks the stream actually had.
    fn index_and_footer(input: &mut Metered<R>, stream: Stream) -> io::Result<()> {
        let mut crc = CRC32.digest();
        crc.update(&[0]);
        let mut size = 1u64;
        let count = input.vli(&mut crc, &mut size)?;
        if count != stream.blocks {
            return Err(corrupt(format!("the xz index lists {count} blocks; the stream has {}", stream.blocks)));
        }
        let mut records = CRC64.digest();
        for _ in 0..count {
            let unpadded = input.vli(&mut crc, &mut size)?;
            let uncompressed = input.vli(&mut crc, &mut size)?;
            records.update(&unpadded.to_le_bytes());
            records.update(&uncompressed.to_le_bytes());
        }
        if records.finalize() != stream.records.finalize() {
            return Err(corrupt("the xz index does not match the stream's blocks"));
        }
        while !size.is_multiple_of(4) {
            let b = input.byte()?;
            if b != 0 {
                return Err(corrupt("xz index padding is not zero"));
            }
            crc.update(&[b]);
            size += 1;
        }
        let mut stored = [0u8; 4];
        input.read_exact(&mut stored)?;
        if crc.finalize().to_le_bytes() != stored {
            return Err(corrupt("xz index CRC32 mismatch"));
        }
        let index_size = size + 4;
        let mut footer = [0u8; 12];
        input.read_exact(&mut footer)?;
        if footer[10..] != FOOTER_MAGIC {
            return Err(corrupt("the xz stream footer's magic bytes are wrong"));
        }
        if CRC32.checksum(&footer[4..10]).to_le_bytes() != footer[..4] {
            return Err(corrupt("xz stream footer CRC32 mismatch"));
        }
        let backward = u32::from_le_bytes([footer[4], footer[5], footer[6], footer[7]]);
        if (u64::from(backward) + 1) * 4 != index_size {
            return Err(corrupt("the xz stream footer's index size is wrong"));
        }
        if footer[8..10] != stream.flags {
            return Err(corrupt("the xz stream header and footer flags differ"));
        }
        Ok(())
    }
}

/// The filter in front of LZMA2 and LZMA2's dictionary size, from a block
/// header's filter list.
fn filter_chain(filters: &[(u64, &[u8])]) -> io::Result<(Front, u32)> {
    let (&(last, props), front) = filters.split_last().expect("at least one filter");
    if last != LZMA2 {
        return Err(unsupported(format!("an xz block whose last filter is {last:#x}, not LZMA2")));
    }
    let &[dict] = props else { return Err(corrupt("LZMA2 filter properties are not one byte")) };
    if dict > 40 {
        return Err(corrupt("the LZMA2 dictionary size byte is over 40"));
    }
    let dict_size = if dict == 40 { u32::MAX } else { (2 | u32::from(dict & 1)) << (dict / 2 + 11) };
    let front = match front {
        [] => Front::None,
        [(DELTA, [distance])] => Front::Delta(usize::from(*distance) + 1),
        [(DELTA, _)] => return Err(corrupt("delta filter properties are not one byte")),
        [(id @ 0x04..=0x0b, props)] => {
            let start = match props {
                [] => 0,
                [a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
                _ => return Err(corrupt("BCJ filter properties are neither empty nor four bytes")),
            };
            // The start offset must be a multiple of the architecture's
            // instruction alignment, as xz(1) requires.
            let alignment = match id {
                0x04 => 1,        // x86
                0x06 => 16,       // IA-64
                0x08 | 0x0b => 2, // ARM-Thumb, RISC-V
                _ => 4,           // PowerPC, ARM, SPARC, ARM64
            };
            if start % alignment != 0 {
                return Err(unsupported(format!(
                    "the BCJ filter {id:#x} starts at offset {start}, not a multiple of {alignment}"
                )));
            }
            Front::Bcj(*id, start as usize)
        }
        [(LZMA2, _)] => return Err(corrupt("LZMA2 is not the last filter of an xz block")),
        [(id, _)] => return Err(unsupported(format!("the xz filter {id:#x} is not supported"))),
        _ => return Err(unsupported("an xz block with more than one filter before LZMA2 is not supported")),
    };
    Ok((front, dict_size))
}

impl<R: BufRead + InputPosition> Read for XzDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                return Ok(0);
            }
            let Some(chain) = self.chain.as_mut() else {
                self.next_block()?;
                continue;
            };
            let n = chain.read(buf)?;
            if n == 0 {
                let crc = self.block.check.crc().is_some();
                self.end_block()?;
                // A block with a CRC ends in a read of its own (`Checked`
                // finishes it and reads on).
                if crc {
                    return Ok(0);
                }
                continue;
            }
            self.block.produced += n as u64;
            self.produced += n as u64;
            if self.block.uncompressed.is_some_and(|declared| self.block.produced > declared) {
                return Err(corrupt("an xz block's data is longer than its header declares"));
            }
            self.block.check.update(&buf[..n]);
            return Ok(n);
        }
    }
}

impl<R: BufRead + InputPosition> Units for XzDecoder<R> {
    fn units(&mut self) -> &mut VecDeque<Unit> {
        &mut self.units
    }
}

#[cfg(test)]
mod tests;
