//! gzip (RFC 1952), read by the guest around zlib-rs's raw inflate: each
//! member's header as gzip(1) reads it, the deflate data, and the trailer's
//! CRC-32 and length; then optional zero padding to the end of the input.
//!
//! The framing is read here, not by `flate2::bufread::GzDecoder`, for the
//! CRC-32, which is the largest cost after inflating itself: wasm has no
//! carry-less multiply, so the guest's CRC (slice-by-16 tables) runs at
//! about a tenth of the host's. [`Checked`] therefore computes it only over
//! the bytes the parser reads for itself (headers, padding, skipped data),
//! counting the bytes it sends the host as file data as zeros. CRC-32 is
//! linear: a member's CRC is that partial CRC XOR the CRC of the sent bytes
//! in their places (zeros elsewhere, no initial value). At the end of a
//! member some of whose bytes were sent, the parser reports a
//! [`MemberEnd`] and the host, which has those bytes, finishes the check
//! (`host/src/sandbox/gzip_check.rs`); a member nothing of which was sent is
//! checked here, at its end, as before.
//!
//! What a header may hold is what gzip(1) accepts: the magic number, method 8
//! (deflate), no reserved flag bits, then the optional extra field, name and
//! comment (each skipped, never kept, whatever its length) and, if flagged,
//! the header's own CRC-16, which must match.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};

use flate2::{Decompress, FlushDecompress, Status};

use super::CRC32;

// The host's half of the check counts zeros with the same code.
#[path = "../../../host/src/sandbox/crc32_shift.rs"]
mod crc32_shift;
use crc32_shift::shift;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
/// Flag bits RFC 1952 reserves; gzip(1) refuses a member that sets one.
const RESERVED: u8 = 0xe0;

/// How much decompressed output is buffered ahead of the parser. Headers
/// and padding are read 512 bytes at a time or less; inflating into a
/// buffer this size instead (zlib-rs's fast loop needs room) made big
/// archives about 8% faster.
const OUTPUT_BUFFER: usize = 256 * 1024;

/// Where the compressed input is, for error offsets.
pub trait InputPosition {
    /// Bytes of the input the reader has handed out (consumed) so far.
    fn input_position(&self) -> u64;
}

/// A member's trailer, read when the decoder reached it.
struct Trailer {
    /// Decompressed bytes before the member's end, from the start.
    at: u64,
    /// The CRC-32 the trailer stores.
    stored: u32,
    /// Input offset just after the trailer.
    input_offset: u64,
}

/// The end of a member some of whose bytes were sent to the host: what the
/// host needs to finish its CRC-32 check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEnd {
    /// Offset in the decompressed (tar) stream where the member's bytes end.
    pub tar_end: u64,
    /// Input offset just after the member's trailer.
    pub input_offset: u64,
    /// The CRC-32 the trailer stores.
    pub stored: u32,
    /// The CRC-32 of the member's bytes with every sent byte counted as zero.
    pub unsent: u32,
}

/// The members of a gzip file, then optional zero padding to the end. Each
/// read returns bytes of one member only, and 0 bytes at the end of a member
/// whose last bytes an earlier read returned as well as at the end of the
/// input (only [`Checked`], which tells the two apart, reads it). Each
/// member's length (ISIZE) is checked here and its stored CRC-32 queued for
/// [`Checked`].
pub struct GzipMembers<R: BufRead> {
    source: R,
    state: State,
    /// Decompressed bytes produced so far.
    produced: u64,
    trailers: VecDeque<Trailer>,
}

enum State {
    /// A member's header comes next.
    Header,
    /// Inside a member's deflate data.
    Data { inflate: Box<Decompress>, length: u32 },
    /// After a member's trailer: another member, zero padding or the end.
    Between,
}

impl<R: BufRead + InputPosition> GzipMembers<R> {
    pub fn new(source: R) -> Self {
        GzipMembers { source, state: State::Header, produced: 0, trailers: VecDeque::new() }
    }

    pub fn get_ref(&self) -> &R {
        &self.source
    }

    /// Inflates into `buf` until some output comes or the member ends; at its
    /// end, reads the trailer. Returns the bytes written to `buf`.
    fn inflate(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let State::Data { inflate, length } = &mut self.state else { unreachable!("called inside a member") };
        loop {
            let input = self.source.fill_buf()?;
            let at_end = input.is_empty();
            let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
            let status = inflate.decompress(input, buf, FlushDecompress::None).map_err(invalid)?;
            let used = usize::try_from(inflate.total_in() - in_before).expect("at most the input's length");
            let made = usize::try_from(inflate.total_out() - out_before).expect("at most the buffer's length");
            self.source.consume(used);
            self.produced += made as u64;
            // ISIZE is the length modulo 2^32 (RFC 1952).
            *length = length.wrapping_add(made as u32);
            if status == Status::StreamEnd {
                let State::Data { length, .. } = std::mem::replace(&mut self.state, State::Between) else {
                    unreachable!("matched above")
                };
                let stored = read_trailer(&mut self.source, length)?;
                let input_offset = self.source.input_position();
                self.trailers.push_back(Trailer { at: self.produced, stored, input_offset });
                return Ok(made);
            }
            if made > 0 {
                return Ok(made);
            }
            if used == 0 {
                return Err(if at_end {
                    io::Error::new(io::ErrorKind::UnexpectedEof, "the input ends inside a member's deflate data")
                } else {
                    invalid("the deflate data makes no progress")
                });
            }
        }
    }
}

impl<R: BufRead + InputPosition> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.state {
                State::Header => {
                    read_header(&mut self.source)?;
                    self.state = State::Data { inflate: Box::new(Decompress::new(false)), length: 0 };
                }
                // 0 only at a member's end: `Checked` reads on.
                State::Data { .. } => return self.inflate(buf),
                State::Between => match self.source.fill_buf()?.first() {
                    None => return Ok(0),
                    Some(0) => return skip_zero_padding(&mut self.source),
                    Some(_) => self.state = State::Header,
                },
            }
        }
    }
}

/// The decompressed stream, buffered, with each member's CRC-32 checked:
/// here for the bytes read with [`Read::read`], by the host for those read
/// with [`Checked::read_sent`] (see the module's documentation).
pub struct Checked<R: BufRead + InputPosition> {
    inner: BufReader<GzipMembers<R>>,
    /// Decompressed bytes handed out so far.
    position: u64,
    /// The current member's CRC register (reflected, before the final
    /// inversion) over the bytes handed out, sent ones as zeros, except the
    /// last `zeros` sent bytes, not yet applied.
    register: u32,
    zeros: u64,
    /// Whether any byte of the current member was sent.
    sent: bool,
    /// Ends of members with sent bytes, for the parser to report.
    ends: Vec<MemberEnd>,
}

impl<R: BufRead + InputPosition> Checked<R> {
    pub fn new(source: R) -> Self {
        Checked {
            inner: BufReader::with_capacity(OUTPUT_BUFFER, GzipMembers::new(source)),
            position: 0,
            register: !0,
            zeros: 0,
            sent: false,
            ends: Vec::new(),
        }
    }

    pub fn get_ref(&self) -> &R {
        self.inner.get_ref().get_ref()
    }

    /// Reads bytes that the parser sends to the host as file data: their
    /// share of the CRC-32 is the host's to compute. Returns 0 at the end of
    /// the stream, or when a member's end waits in [`Checked::take_ends`].
    pub fn read_sent(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_counted(buf, true)
    }

    /// Ends of members with sent bytes reached since the last call. While
    /// one waits here, [`Checked::read_sent`] returns 0: the caller reports
    /// it before sending more.
    pub fn take_ends(&mut self) -> Vec<MemberEnd> {
        std::mem::take(&mut self.ends)
    }

    /// Whether [`Checked::take_ends`] has something.
    pub fn has_ends(&self) -> bool {
        !self.ends.is_empty()
    }

    fn read_counted(&mut self, buf: &mut [u8], sent: bool) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // A member that ends here (an empty one, or one whose end the
            // last read reached) is finished before anything after it is
            // read, and its end reported before more data is sent.
            self.finish_ended()?;
            if sent && !self.ends.is_empty() {
                return Ok(0);
            }
            // A read never crosses a member's end: `GzipMembers` returns at
            // one (with 0 bytes if it made none), and a known end bounds it.
            let room = match self.inner.get_ref().trailers.front() {
                Some(t) => usize::try_from(t.at - self.position).map_or(buf.len(), |left| left.min(buf.len())),
                None => buf.len(),
            };
            let n = self.inner.read(&mut buf[..room])?;
            if sent {
                self.zeros += n as u64;
                self.sent |= n > 0;
            } else if n > 0 {
                self.register = update(shift(self.register, std::mem::take(&mut self.zeros)), &buf[..n]);
            }
            self.position += n as u64;
            // No bytes and no member ended: the end of the stream.
            if n > 0 || !self.at_an_end() {
                self.finish_ended()?;
                return Ok(n);
            }
        }
    }

    /// Whether a member ends where the reading is.
    fn at_an_end(&self) -> bool {
        self.inner.get_ref().trailers.front().is_some_and(|t| t.at == self.position)
    }

    /// Finishes every member whose end is where the reading is.
    fn finish_ended(&mut self) -> io::Result<()> {
        while self.at_an_end() {
            let Trailer { at, stored, input_offset } =
                self.inner.get_mut().trailers.pop_front().expect("looked at above");
            let unsent = !shift(self.register, std::mem::take(&mut self.zeros));
            self.register = !0;
            if std::mem::take(&mut self.sent) {
                self.ends.push(MemberEnd { tar_end: at, input_offset, stored, unsent });
            } else if unsent != stored {
                return Err(crc_mismatch(stored, unsent));
            }
        }
        Ok(())
    }
}

impl<R: BufRead + InputPosition> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_counted(buf, false)
    }
}

/// The message for a member whose CRC-32 does not match (the host words
/// its own check the same way).
fn crc_mismatch(stored: u32, computed: u32) -> io::Error {
    invalid(format!("the member's CRC-32 is {stored:#010x}; its data's is {computed:#010x}"))
}

/// `register` (reflected, no inversions) continued over `bytes`.
fn update(register: u32, bytes: &[u8]) -> u32 {
    // The crc crate resumes from a reflected initial value given
    // bit-reversed, and inverts on the way out (ISO-HDLC's xorout).
    let mut digest = CRC32.digest_with_initial(register.reverse_bits());
    digest.update(bytes);
    !digest.finalize()
}

fn invalid(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Reads one member's header, checking what gzip(1) checks.
fn read_header(source: &mut impl BufRead) -> io::Result<()> {
    let mut fixed = [0u8; 10];
    source.read_exact(&mut fixed)?;
    if fixed[..2] != [0x1f, 0x8b] {
        return Err(invalid("not a gzip member header (gzip(1) calls it trailing garbage)"));
    }
    if fixed[2] != 8 {
        return Err(invalid(format!("compression method {} is not deflate (8)", fixed[2])));
    }
    let flags = fixed[3];
    if flags & RESERVED != 0 {
        return Err(invalid(format!("reserved header flags are set ({flags:#04x})")));
    }
    let mut crc = (flags & FHCRC != 0).then(|| CRC32.digest());
    let mut seen = |bytes: &[u8]| {
        if let Some(crc) = crc.as_mut() {
            crc.update(bytes);
        }
    };
    seen(&fixed);
    if flags & FEXTRA != 0 {
        let mut xlen = [0u8; 2];
        source.read_exact(&mut xlen)?;
        seen(&xlen);
        skip(source, usize::from(u16::from_le_bytes(xlen)), &mut seen)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            skip_through_nul(source, &mut seen)?;
        }
    }
    if let Some(crc) = crc {
        let mut stored = [0u8; 2];
        source.read_exact(&mut stored)?;
        // The CRC-16 is the low half of the header's CRC-32.
        if u16::from_le_bytes(stored) != crc.finalize() as u16 {
            return Err(invalid("the header's CRC-16 does not match"));
        }
    }
    Ok(())
}

/// Consumes `count` bytes, showing each run of them to `seen`.
fn skip(source: &mut impl BufRead, mut count: usize, seen: &mut impl FnMut(&[u8])) -> io::Result<()> {
    while count > 0 {
        let available = source.fill_buf()?;
        if available.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let n = available.len().min(count);
        seen(&available[..n]);
        source.consume(n);
        count -= n;
    }
    Ok(())
}

/// Consumes a zero-terminated field, its NUL included, showing it to `seen`.
fn skip_through_nul(source: &mut impl BufRead, seen: &mut impl FnMut(&[u8])) -> io::Result<()> {
    loop {
        let available = source.fill_buf()?;
        if available.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let (n, done) = match available.iter().position(|&b| b == 0) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        seen(&available[..n]);
        source.consume(n);
        if done {
            return Ok(());
        }
    }
}

/// Reads a member's trailer, checks its length (modulo 2^32) against what the
/// member decoded to, and returns its CRC-32.
fn read_trailer(source: &mut impl BufRead, length: u32) -> io::Result<u32> {
    let mut trailer = [0u8; 8];
    source.read_exact(&mut trailer)?;
    let stored_crc = u32::from_le_bytes(trailer[..4].try_into().expect("four bytes"));
    let stored_length = u32::from_le_bytes(trailer[4..].try_into().expect("four bytes"));
    if stored_length != length {
        return Err(invalid(format!("the member's length (modulo 2^32) is {stored_length}; its data's is {length}")));
    }
    Ok(stored_crc)
}

/// Consumes zero bytes to the end of `source`; any other byte is an error
/// (and stays unconsumed, so the error's offset points at it).
fn skip_zero_padding(source: &mut impl BufRead) -> io::Result<usize> {
    loop {
        let bytes = source.fill_buf()?;
        if bytes.is_empty() {
            return Ok(0);
        }
        if let Some(pos) = bytes.iter().position(|&b| b != 0) {
            source.consume(pos);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "data after the zero padding that follows the last member (gzip(1) calls it trailing garbage)",
            ));
        }
        let n = bytes.len();
        source.consume(n);
    }
}
