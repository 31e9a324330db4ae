//! The zstd container (RFC 8878), read here; each block's contents decoded by
//! ruzstd.
//!
//! ruzstd decodes blocks well but holds a frame to little of what zstd(1)
//! holds it to: it ignores the frame header's reserved bit and the declared
//! content size, and leaves the content checksum to its caller. A frame
//! that zstd(1) refuses must not be extracted, so the frame and block
//! headers are read and checked here, and ruzstd is handed a frame header
//! rebuilt from the fields read (without the checksum flag: the checksum is
//! read and compared here too) and then one block at a time.
//!
//! Checked, each against zstd(1) 1.5.4 by experiment (`tests.rs`):
//! - the frame header: the reserved bit must be clear (the unused bit is
//!   ignored, as the format says); a dictionary ID other than 0 is refused
//!   (zstd(1) needs the dictionary, given with `-D`; sealtar has none); the
//!   window (or, for a single-segment frame, the content size) at most
//!   [`MAX_WINDOW`](super::MAX_WINDOW), the most zstd(1) decodes without
//!   `--memory`;
//! - each block: the reserved block type is refused, and its size (a raw or
//!   compressed block's bytes, an RLE block's length) and what it decodes
//!   to at most the block maximum, the smaller of the window and 128 KiB
//!   (what a compressed block decodes to is bounded inside ruzstd, the
//!   vendored copy in `vendor/ruzstd`);
//! - the frame's content: exactly the declared content size when there is
//!   one, and the content checksum (the low 32 bits of its XXH64) when the
//!   header says there is one.
//!
//! Frames follow one another; skippable frames (magic `0x184D2A5?`) are
//! skipped anywhere, the first and last included. Anything else after a
//! frame is refused, as zstd(1) refuses it: zero padding, fewer than four
//! bytes, another format's data (zstd(1) would decode a gzip or xz stream
//! there; sealtar refuses it), a frame cut short.

use std::hash::Hasher;
use std::io::{self, BufRead, Cursor, Read};

use ruzstd::decoding::errors::{DecodeBlockContentError, DecompressBlockError, FrameDecoderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use twox_hash::XxHash64;

/// Magic number of a zstd frame.
pub const MAGIC: u32 = 0xfd2f_b528;

/// Magic numbers of skippable frames: `0x184D2A50` to `0x184D2A5F`.
const SKIPPABLE: std::ops::RangeInclusive<u32> = 0x184d_2a50..=0x184d_2a5f;

/// The largest block of any frame: 128 KiB.
const MAX_BLOCK: u64 = 128 << 10;

/// A zstd decoder over buffered input.
pub struct ZstdDecoder<R: BufRead> {
    input: R,
    decoder: FrameDecoder,
    max_window: u64,
    /// The frame being read, if any.
    frame: Option<Frame>,
}

/// What a frame's header declared, and what it has produced so far.
struct Frame {
    content_size: Option<u64>,
    block_max: u64,
    /// XXH64 of the content, when the header declares a checksum.
    checksum: Option<XxHash64>,
    produced: u64,
    /// The last block has been decoded; what is left is in the decoder.
    last_block: bool,
}

fn corrupt(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn unsupported(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, what.into())
}

/// Fills `buf` from `input`; how many bytes were there before it ended.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Little-endian integer of up to eight bytes.
fn le(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0, |v, &b| v << 8 | u64::from(b))
}

/// `Window_Size` from a `Window_Descriptor` byte (RFC 8878, 3.1.1.1.2).
fn window_size(descriptor: u8) -> u64 {
    let base = 1u64 << (10 + (descriptor >> 3));
    base + base / 8 * u64::from(descriptor & 7)
}

impl<R: BufRead> ZstdDecoder<R> {
    /// A decoder for the zstd data `input` starts with. A frame whose
    /// window is over `max_window` bytes is refused before anything is
    /// allocated for it.
    pub fn new(input: R, max_window: u64) -> Self {
        let mut decoder = FrameDecoder::new();
        decoder.set_max_window_size(max_window);
        ZstdDecoder { input, decoder, max_window, frame: None }
    }

    /// The input, for how far into it the decoder has read.
    pub fn input(&self) -> &R {
        &self.input
    }

    /// At a frame boundary: reads the next frame's header, skipping
    /// skippable frames. Returns false at the end of the input.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            let mut magic = [0u8; 4];
            match read_up_to(&mut self.input, &mut magic)? {
                0 => return Ok(false),
                4 => {}
                n => return Err(corrupt(format!("{n} bytes after the last frame, too few to be another frame"))),
            }
            match u32::from_le_bytes(magic) {
                MAGIC => {
                    self.frame_header()?;
                    return Ok(true);
                }
                m if SKIPPABLE.contains(&m) => {
                    let mut len = [0u8; 4];
                    self.input.read_exact(&mut len)?;
                    let len = u64::from(u32::from_le_bytes(len));
                    let skipped = io::copy(&mut (&mut self.input).take(len), &mut io::sink())?;
                    if skipped < len {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a skippable frame is cut short"));
                    }
                }
                _ => return Err(corrupt("data after the last frame that is not another frame")),
            }
        }
    }

    /// Reads and checks a frame header (its magic number already read),
    /// and starts ruzstd on the frame.
    fn frame_header(&mut self) -> io::Result<()> {
        let mut descriptor = [0u8];
        self.input.read_exact(&mut descriptor)?;
        let descriptor = descriptor[0];
        if descriptor & 0x08 != 0 {
            return Err(unsupported("a frame header has its reserved bit set"));
        }
        let single_segment = descriptor & 0x20 != 0;
        let has_checksum = descriptor & 0x04 != 0;
        let dict_len = [0, 1, 2, 4][usize::from(descriptor & 3)];
        let size_len = match descriptor >> 6 {
            0 => usize::from(single_segment),
            flag => 1 << flag,
        };
        let window_len = usize::from(!single_segment);
        let mut fields = [0u8; 13];
        let fields = &mut fields[..window_len + dict_len + size_len];
        self.input.read_exact(fields)?;
        let (window_field, rest) = fields.split_at(window_len);
        let (dict, size) = rest.split_at(dict_len);
        let dict = le(dict);
        if dict != 0 {
            return Err(unsupported(format!(
                "a frame needs dictionary {dict}, which sealtar does not have (zstd(1) would need it with -D)"
            )));
        }
        let content_size = match size.len() {
            0 => None,
            2 => Some(le(size) + 256),
            _ => Some(le(size)),
        };
        let window = match (window_field.first(), content_size) {
            (Some(&w), _) => window_size(w),
            (None, Some(size)) => size,
            (None, None) => unreachable!("a single-segment frame has a content size"),
        };
        if window > self.max_window {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a frame asks for a {} MiB window; sealtar's limit is {} MiB",
                    window.div_ceil(1 << 20),
                    self.max_window >> 20
                ),
            ));
        }
        // The header as ruzstd reads it: the same fields, no checksum flag
        // (the checksum is read here) and no dictionary ID field.
        let mut header = Vec::with_capacity(18);
        header.extend(MAGIC.to_le_bytes());
        header.push(descriptor & !0x07);
        header.extend_from_slice(window_field);
        header.extend_from_slice(size);
        self.decoder.reset(Cursor::new(header)).map_err(|e| corrupt(format!("a frame header: {e}")))?;
        self.frame = Some(Frame {
            content_size,
            block_max: window.min(MAX_BLOCK),
            checksum: has_checksum.then(|| XxHash64::with_seed(0)),
            produced: 0,
            last_block: false,
        });
        Ok(())
    }

    /// Reads and checks the next block's header, then has ruzstd decode it.
    fn next_block(&mut self) -> io::Result<()> {
        let frame = self.frame.as_mut().expect("inside a frame");
        let mut header = [0u8; 3];
        self.input.read_exact(&mut header)?;
        let value = le(&header);
        let size = value >> 3;
        let kind = (value >> 1) & 3;
        if kind == 3 {
            return Err(corrupt("a block has the reserved block type"));
        }
        if size > frame.block_max {
            let what = if kind == 1 { "an RLE block of" } else { "a block of" };
            return Err(corrupt(format!(
                "{what} {size} bytes is over the frame's block maximum of {} (the smaller of its window and 128 KiB)",
                frame.block_max
            )));
        }
        frame.last_block = value & 1 != 0;
        let source = Cursor::new(header).chain(&mut self.input);
        if let Err(e) = self.decoder.decode_blocks(source, BlockDecodingStrategy::UptoBlocks(1)) {
            return Err(match e {
                FrameDecoderError::FailedToReadBlockBody(e) => match e {
                    DecodeBlockContentError::ReadError { source, .. }
                    | DecodeBlockContentError::DecompressBlockError(DecompressBlockError::BlockContentReadError(
                        source,
                    )) => source,
                    e => corrupt(format!("a block does not decode: {e}")),
                },
                e => corrupt(format!("a block does not decode: {e}")),
            });
        }
        Ok(())
    }

    /// After the last block's content has been read out: the content
    /// size and the checksum.
    fn end_frame(&mut self) -> io::Result<()> {
        let frame = self.frame.take().expect("inside a frame");
        if let Some(declared) = frame.content_size
            && declared != frame.produced
        {
            return Err(corrupt(format!(
                "a frame decodes to {} bytes; its header declares {declared}",
                frame.produced
            )));
        }
        if let Some(hash) = frame.checksum {
            let mut stored = [0u8; 4];
            self.input.read_exact(&mut stored)?;
            if u32::from_le_bytes(stored) != hash.finish() as u32 {
                return Err(corrupt("frame checksum mismatch (the data is corrupt)"));
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Read for ZstdDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(frame) = self.frame.as_mut() else {
                if !self.next_frame()? {
                    return Ok(0);
                }
                continue;
            };
            let n = self.decoder.read(buf)?;
            if n > 0 {
                frame.produced += n as u64;
                if frame.content_size.is_some_and(|declared| frame.produced > declared) {
                    return Err(corrupt(format!(
                        "a frame decodes to more than the {} bytes its header declares",
                        frame.content_size.unwrap_or_default()
                    )));
                }
                if let Some(hash) = &mut frame.checksum {
                    hash.write(&buf[..n]);
                }
                return Ok(n);
            }
            if frame.last_block {
                self.end_frame()?;
            } else {
                self.next_block()?;
            }
        }
    }
}

#[cfg(test)]
mod tests;
