//! The byte source: recognises the input by its first bytes (never by a file
//! name), decompresses gzip, xz, bzip2 and zstd, and refuses up front, naming
//! it, anything else that is not a tar archive.
//!
//! What each decoder accepts follows the command-line tool GNU tar runs for
//! it, except where that tool only warns:
//! - gzip: every member of a multi-member stream, then optionally zero bytes
//!   up to the end of the input (gzip(1) ignores those silently, so GNU tar
//!   extracts such an archive; some npm tarballs have them). Anything else
//!   after the last member is refused (gzip warns "trailing garbage ignored"
//!   and GNU tar fails).
//! - xz: every stream of a multi-stream file, with stream padding (zero bytes
//!   in multiples of four) between and after them, as xz(1) does.
//! - bzip2: every stream of a concatenation. Trailing bytes that are not
//!   another stream are refused (bzip2(1) warns and ignores them).
//! - zstd: every frame of a multi-frame file; skippable frames are skipped
//!   anywhere. Each frame is held to what its header declares (content size,
//!   checksum, window, block sizes) as zstd(1) holds it (see `zstd.rs`).
//!   Anything else after the last frame, zero bytes included, is refused.
//!
//! A dictionary (xz) or window (zstd) larger than [`MAX_WINDOW`] is refused
//! with a message before anything is allocated for it, so the sandbox's
//! memory cap is never what stops a legitimate-looking archive.
//!
//! The source keeps count of how far into the input it has read so that
//! errors can name a byte offset of the input.

use std::fmt;
use std::io::{self, BufReader, Chain, Cursor, Read};

use crate::numeric::parse_unsigned;

pub mod checked;
mod gzip;
#[cfg(feature = "all-formats")]
mod xz;
#[cfg(feature = "all-formats")]
mod zstd;

pub use checked::Notice;
use checked::{Checked, InputPosition};
use gzip::GzipMembers;

/// CRC-32 as gzip and xz use it (ISO-HDLC), by slice-by-16 tables.
pub(crate) static CRC32: crc::Crc<u32, crc::Table<16>> = crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-64 as xz uses it, by slice-by-16 tables.
#[cfg(feature = "all-formats")]
pub(crate) static CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_XZ);

/// How much compressed input is buffered ahead of the decoder. The buffer
/// is zero-filled on its first use (the standard library's `BufReader` does
/// that for readers that cannot fill uninitialized memory), which costs every
/// archive, however small, the whole buffer in fresh guest pages: 64 KiB keeps
/// that small, and a larger one reads no faster (each fill is one host call).
const INPUT_BUFFER: usize = 64 * 1024;

/// Size of a tar block (the first one is looked at to tell tar from text).
const BLOCK: usize = 512;

/// The largest xz dictionary or zstd window a decoder may allocate: 128 MiB.
/// `xz -9` uses 64 MiB and `zstd --ultra -22` 128 MiB (the most zstd(1)
/// itself decodes without `--memory`); the sandbox has 256 MiB in all.
pub const MAX_WINDOW: u64 = 128 << 20;

/// What follows every "this is …" refusal.
const WHAT_WE_READ: &str = "sealtar reads tar, optionally compressed with gzip, xz, bzip2 or zstd";

/// The formats sealtar reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Uncompressed tar.
    Tar,
    /// gzip (RFC 1952), one or more members.
    Gzip,
    /// xz, one or more streams.
    Xz,
    /// bzip2, one or more streams.
    Bzip2,
    /// Zstandard, one or more frames.
    Zstd,
}

impl Format {
    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Xz => "xz",
            Format::Bzip2 => "bzip2",
            Format::Zstd => "zstd",
        }
    }
}

/// Input that is refused before or while it is decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// Byte offset in the input (the compressed bytes).
    pub offset: u64,
    /// Description.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {} of the input)", self.message, self.offset)
    }
}

/// A reader that counts the bytes it hands out.
pub struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

type Rewound<R> = Chain<Cursor<Vec<u8>>, R>;
type Buffered<R> = BufReader<Counted<Rewound<R>>>;

impl<R: Read> InputPosition for Buffered<R> {
    fn input_position(&self) -> u64 {
        self.get_ref().count - self.buffer().len() as u64
    }
}

enum Decoder<R: Read> {
    Plain(Counted<Rewound<R>>),
    Gzip(Box<Checked<GzipMembers<Buffered<R>>>>),
    #[cfg(feature = "all-formats")]
    Xz(Box<Checked<xz::XzDecoder<Buffered<R>>>>),
    #[cfg(feature = "all-formats")]
    Bzip2(Box<bzip2::bufread::MultiBzDecoder<Buffered<R>>>),
    #[cfg(feature = "all-formats")]
    Zstd(Box<zstd::ZstdDecoder<Buffered<R>>>),
}

/// The decompressed tar stream.
pub struct Source<R: Read> {
    format: Format,
    /// The first block of the tar stream, read to check it, served first.
    head: Cursor<Vec<u8>>,
    decoder: Decoder<R>,
}

impl<R: Read> Source<R> {
    /// Looks at the first bytes of `reader` to choose the decoder, then at the
    /// first block of the tar stream to refuse what is not a tar archive.
    ///
    /// # Errors
    /// A format sealtar does not read (named), an empty input, input whose
    /// first block is not a tar header, or corrupt compressed data at the start.
    pub fn detect(mut reader: R) -> Result<Self, InputError> {
        let mut magic = Vec::with_capacity(BLOCK);
        let at_start = |e: io::Error| InputError { offset: 0, message: format!("read error: {e}") };
        (&mut reader).take(BLOCK as u64).read_to_end(&mut magic).map_err(at_start)?;
        let format = match magic.as_slice() {
            [0x1f, 0x8b, ..] => Format::Gzip,
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Format::Xz,
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Format::Bzip2,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Format::Zstd,
            [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..] => Format::Zstd, // a skippable frame first
            _ => Format::Tar,
        };
        let counted = Counted { inner: Cursor::new(magic).chain(reader), count: 0 };
        let buffered = |counted| BufReader::with_capacity(INPUT_BUFFER, counted);
        let decoder = match format {
            Format::Tar => Decoder::Plain(counted),
            Format::Gzip => Decoder::Gzip(Box::new(Checked::new(GzipMembers::new(buffered(counted))))),
            #[cfg(feature = "all-formats")]
            Format::Xz => {
                // The decoder's own estimate adds about 100 KiB of state to
                // the dictionary; allow for it so a MAX_WINDOW dictionary fits.
                let limit_kib = u32::try_from((MAX_WINDOW >> 10) + 1024).expect("the limit fits");
                Decoder::Xz(Box::new(Checked::new(xz::XzDecoder::new(buffered(counted), limit_kib))))
            }
            #[cfg(feature = "all-formats")]
            Format::Bzip2 => Decoder::Bzip2(Box::new(bzip2::bufread::MultiBzDecoder::new(buffered(counted)))),
            #[cfg(feature = "all-formats")]
            Format::Zstd => Decoder::Zstd(Box::new(zstd::ZstdDecoder::new(buffered(counted), MAX_WINDOW))),
            // The host hands these formats to the guest built with them (it
            // tells them by the same first bytes); this build reports rather
            // than misreads one it is given anyway.
            #[cfg(not(feature = "all-formats"))]
            Format::Xz | Format::Bzip2 | Format::Zstd => {
                let message = format!("this is {} data, which this build of the parser does not read", format.name());
                return Err(InputError { offset: 0, message });
            }
        };
        let mut source = Source { format, head: Cursor::new(Vec::new()), decoder };
        let mut head = vec![0u8; BLOCK];
        let mut filled = 0;
        while filled < BLOCK {
            match source.decoder_read(&mut head[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(source.error(&e)),
            }
        }
        head.truncate(filled);
        if let Some(what) = not_tar(format, &head) {
            return Err(InputError { offset: 0, message: format!("this is {what}; {WHAT_WE_READ}") });
        }
        source.head = Cursor::new(head);
        Ok(source)
    }

    /// The input's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Bytes of the input consumed so far (for compressed input, up to the
    /// decoder's position, not counting what is buffered ahead of it).
    pub fn input_offset(&self) -> u64 {
        let buffered = match &self.decoder {
            Decoder::Plain(c) => return c.count,
            Decoder::Gzip(d) => d.get_ref().get_ref(),
            #[cfg(feature = "all-formats")]
            Decoder::Xz(d) => d.get_ref().input(),
            #[cfg(feature = "all-formats")]
            Decoder::Bzip2(d) => d.get_ref(),
            #[cfg(feature = "all-formats")]
            Decoder::Zstd(d) => d.input(),
        };
        buffered.input_position()
    }

    /// Reads bytes that are sent to the host as file data. For gzip and xz,
    /// their share of each unit's CRC is left to the host (see `checked.rs`),
    /// and 0 is returned, before the end of the stream, while a notice
    /// waits in [`Source::take_notices`]. The first block (`head`) is never
    /// read here: it is the first header, read whole before any data.
    pub fn read_sent(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.decoder {
            _ if (self.head.position() as usize) < self.head.get_ref().len() => self.read(buf),
            Decoder::Gzip(r) => r.read_sent(buf),
            #[cfg(feature = "all-formats")]
            Decoder::Xz(r) => r.read_sent(buf),
            _ => self.read(buf),
        }
    }

    /// Starts and ends of checked units (gzip members, xz blocks) some of
    /// whose bytes were read with [`Source::read_sent`], for the host to
    /// finish their checks.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        match &mut self.decoder {
            Decoder::Gzip(r) => r.take_notices(),
            #[cfg(feature = "all-formats")]
            Decoder::Xz(r) => r.take_notices(),
            _ => Vec::new(),
        }
    }

    /// Whether [`Source::take_notices`] has something.
    pub fn has_notices(&self) -> bool {
        match &self.decoder {
            Decoder::Gzip(r) => r.has_notices(),
            #[cfg(feature = "all-formats")]
            Decoder::Xz(r) => r.has_notices(),
            _ => false,
        }
    }

    /// Describes a read error of this source as a refusal of the input.
    pub fn error(&self, e: &io::Error) -> InputError {
        let name = self.format.name();
        let message = match (self.format, e.kind()) {
            (Format::Tar, _) => format!("read error: {e}"),
            (_, io::ErrorKind::UnexpectedEof) => format!("truncated {name} data: {e}"),
            (Format::Xz, io::ErrorKind::OutOfMemory) => {
                format!("the xz data needs a dictionary larger than sealtar's limit of {} MiB", MAX_WINDOW >> 20)
            }
            _ => format!("corrupt {name} data: {e}"),
        };
        InputError { offset: self.input_offset(), message }
    }

    fn decoder_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.decoder {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            #[cfg(feature = "all-formats")]
            Decoder::Xz(r) => r.read(buf),
            #[cfg(feature = "all-formats")]
            Decoder::Bzip2(r) => r.read(buf),
            #[cfg(feature = "all-formats")]
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if (self.head.position() as usize) < self.head.get_ref().len() {
            return self.head.read(buf);
        }
        self.decoder_read(buf)
    }
}

/// Why the first block of the (decompressed) stream is not a tar archive, or
/// `None` when it is, or may be, one. Only what the tar parser would refuse
/// anyway is named here: a block of zeros (an empty archive), a short
/// zero-filled start, a header whose checksum holds and a cut-off header
/// with the ustar magic all go on to the parser. The named formats are
/// checked only once the block is known not to be a tar header, so a tar
/// whose first name happens to begin with one of their magic numbers stays a
/// tar.
fn not_tar(format: Format, head: &[u8]) -> Option<String> {
    if head.is_empty() {
        return Some(match format {
            Format::Tar => "an empty file".into(),
            f => format!("{} data that decompresses to nothing, not a tar archive", f.name()),
        });
    }
    let ustar = head.get(257..262) == Some(b"ustar");
    if head.iter().all(|&b| b == 0) || (head.len() == BLOCK && checksum_holds(head)) || (head.len() < BLOCK && ustar) {
        return None;
    }
    if format != Format::Tar {
        return Some(format!("{}-compressed data, but not a tar archive", format.name()));
    }
    let named = match head {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] | [b'P', b'K', 7, 8, ..] => "a zip archive",
        [b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, ..] => "a 7z archive",
        [b'R', b'a', b'r', b'!', 0x1a, 0x07, ..] => "a rar archive",
        [0x04, 0x22, 0x4d, 0x18, ..] | [0x02, 0x21, 0x4c, 0x18, ..] => "lz4-compressed data",
        [b'L', b'Z', b'I', b'P', ..] => "lzip-compressed data",
        [0x1f, 0x9d, ..] => "compress (.Z) data",
        [0x1f, 0xa0, ..] => "SCO compress (LZH) data",
        [0x1f, 0x1e, ..] => "pack (.z) data",
        [b'B', b'Z', b'0', ..] => "bzip (version 1) data",
        [0x89, b'L', b'Z', b'O', ..] => "lzop-compressed data",
        [b'!', b'<', b'a', b'r', b'c', b'h', b'>', b'\n', ..] => "an ar archive (a .deb package?)",
        [0xed, 0xab, 0xee, 0xdb, ..] => "an RPM package",
        [b'0', b'7', b'0', b'7', b'0', b'1' | b'2' | b'7', ..] | [0xc7, 0x71, ..] | [0x71, 0xc7, ..] => {
            "a cpio archive"
        }
        _ if looks_like_lzma_alone(head) => "lzma-compressed data (the legacy .lzma format)",
        _ if looks_like_text(head) => "a text file, not a tar archive",
        _ => "not a tar archive (its first block is not a tar header)",
    };
    Some(named.into())
}

/// Whether a header's stored checksum equals its unsigned or signed byte sum
/// (the checksum field counted as spaces), as the tar parser accepts.
fn checksum_holds(block: &[u8]) -> bool {
    let Ok(stored) = parse_unsigned(&block[148..156]) else { return false };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::try_from(stored) == Ok(signed)
}

/// The legacy LZMA header: a properties byte below 225, a dictionary size,
/// and an uncompressed size that is unknown (all ones) or plausible.
fn looks_like_lzma_alone(head: &[u8]) -> bool {
    if head.len() < 13 || head[0] >= 225 {
        return false;
    }
    let dict = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    let size = u64::from_le_bytes(head[5..13].try_into().expect("8 bytes"));
    let dict_is_round = dict.is_power_of_two() || (dict.is_multiple_of(3) && (dict / 3).is_power_of_two());
    dict_is_round && dict >= 1 << 12 && (size == u64::MAX || size < 1 << 48)
}

/// UTF-8 without control characters other than tab, newline, CR and FF.
fn looks_like_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // A block may end inside a character.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
        Err(_) => return false,
    };
    !text.is_empty() && text.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

#[cfg(test)]
mod tests;
