//! gzip (RFC 1952), read by the guest around zlib-rs's raw inflate: each
//! member's header as gzip(1) reads it, the deflate data, and the trailer's
//! CRC-32 and length; then optional zero padding to the end of the input.
//!
//! The framing is read here, not by `flate2::bufread::GzDecoder`, because
//! the CRC-32 is not computed here: each member is a `Unit` whose CRC
//! `Checked` splits between the guest and the host (see `checked.rs`). The
//! length (ISIZE) is checked here.
//!
//! What a header may hold is what gzip(1) accepts: the magic number, method 8
//! (deflate), no reserved flag bits, then the optional extra field, name and
//! comment (each skipped, never kept, whatever its length) and, if flagged,
//! the header's own CRC-16, which must match.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

use flate2::{Decompress, FlushDecompress, Status};

use super::CRC32;
use super::checked::{Container, InputPosition, Kind, Unit, UnitEnd, Units};

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
/// Flag bits RFC 1952 reserves; gzip(1) refuses a member that sets one.
const RESERVED: u8 = 0xe0;

/// The members of a gzip file, then optional zero padding to the end. Each
/// read returns bytes of one member only, and 0 bytes at the end of a member
/// whose last bytes an earlier read returned as well as at the end of the
/// input (only `Checked`, which tells the two apart, reads it).
pub struct GzipMembers<R: BufRead> {
    source: R,
    state: State,
    /// Decompressed bytes produced so far.
    produced: u64,
    units: VecDeque<Unit>,
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
        GzipMembers { source, state: State::Header, produced: 0, units: VecDeque::new() }
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
                let end =
                    UnitEnd { at: self.produced, stored: stored.into(), input_offset: self.source.input_position() };
                self.units.back_mut().expect("pushed at the member's start").end = Some(end);
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
                    let unit =
                        Unit { container: Container::GzipMember, kind: Kind::Crc32, start: self.produced, end: None };
                    self.units.push_back(unit);
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

impl<R: BufRead + InputPosition> Units for GzipMembers<R> {
    fn units(&mut self) -> &mut VecDeque<Unit> {
        &mut self.units
    }
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
