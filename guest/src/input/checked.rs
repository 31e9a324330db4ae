//! The decompressed stream, with each unit's CRC split between the guest
//! and the host.
//!
//! A gzip member carries a CRC-32 of its decompressed bytes, an xz block a
//! CRC-32 or CRC-64 of its own (or a SHA-256, which its decoder checks by
//! itself). Inside the sandbox a CRC is a large cost: wasm has no
//! carry-less multiply, so the guest's CRCs (slice-by-16 tables) run at a
//! fraction of the host's speed, and on a big archive they were a fifth (gzip)
//! and a seventh (xz) of the parser thread. So [`Checked`] computes each
//! unit's CRC over the bytes the parser reads for itself (headers, padding,
//! skipped data), counting the bytes it sends the host as file data as
//! zeros. A CRC is linear: the unit's CRC is that partial CRC XOR the CRC
//! (no initial value, no final inversion) of the unit with every byte the
//! guest kept counted as zero. At the end of a unit some of whose bytes were
//! sent, the parser reports a [`CheckEnd`] (after a [`CheckStart`] before
//! the first of them, which names the CRC) and the host, which has those
//! bytes, finishes the check (`host/src/sandbox/sent_checks.rs`); a unit
//! nothing of which was sent is checked here, at its end.
//!
//! The decoders ([`Units`]) say where each unit starts and ends in the
//! decompressed stream; each of their reads returns bytes of one unit at
//! most, and 0 bytes at the end of a unit whose last bytes an earlier read
//! returned (as well as at the end of the stream: [`Checked`] tells the
//! two apart).

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};

use super::CRC32 as CRC32_TABLES;
#[cfg(feature = "all-formats")]
use super::CRC64 as CRC64_TABLES;

// The host's half of the check counts zeros with the same code.
#[path = "../../../host/src/sandbox/crc_shift.rs"]
#[cfg_attr(not(feature = "all-formats"), allow(dead_code, reason = "this build reads no xz, so has no CRC-64"))]
mod crc_shift;

/// How much decompressed output is buffered ahead of the parser. Headers
/// and padding are read 512 bytes at a time or less; inflating into a
/// buffer this size instead (zlib-rs's fast loop needs room) made big
/// `.tar.gz` archives about 8% faster.
const OUTPUT_BUFFER: usize = 256 * 1024;

/// Which CRC a unit carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// CRC-32 (ISO-HDLC).
    Crc32,
    /// CRC-64 (ECMA-182, as xz uses it).
    #[cfg(feature = "all-formats")]
    Crc64,
}

/// What holds a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A gzip member (always CRC-32).
    GzipMember,
    /// An xz block.
    #[cfg(feature = "all-formats")]
    XzBlock,
}

/// A unit with a CRC, as its decoder found it.
pub struct Unit {
    /// What holds it.
    pub container: Container,
    /// Its CRC.
    pub kind: Kind,
    /// Decompressed bytes before the unit, from the start of the stream.
    pub start: u64,
    /// Once the decoder has read it: the unit's end, its stored CRC and the
    /// input offset just after that CRC.
    pub end: Option<UnitEnd>,
}

/// Where a unit ends, and what it stores.
pub struct UnitEnd {
    /// Decompressed bytes before the unit's end, from the start.
    pub at: u64,
    /// The CRC the unit stores (a CRC-32 in the low 32 bits).
    pub stored: u64,
    /// Input offset just after the stored CRC.
    pub input_offset: u64,
}

/// Where the compressed input is, for error offsets.
pub trait InputPosition {
    /// Bytes of the input the reader has handed out (consumed) so far.
    fn input_position(&self) -> u64;
}

/// A decoder whose output is made of [`Unit`]s (and, between them, bytes
/// that no CRC of this kind covers).
pub trait Units: Read {
    /// The units started so far whose ends [`Checked`] has not reached,
    /// oldest first.
    fn units(&mut self) -> &mut VecDeque<Unit>;
}

/// The start of a unit some of whose bytes are about to be sent to the
/// host: which CRC to compute over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckStart {
    /// What holds the unit.
    pub container: Container,
    /// Its CRC.
    pub kind: Kind,
    /// Offset in the decompressed (tar) stream where the unit's bytes start.
    pub tar_start: u64,
}

/// The end of a unit a [`CheckStart`] announced: what the host needs to
/// finish its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckEnd {
    /// Offset in the decompressed (tar) stream where the unit's bytes end.
    pub tar_end: u64,
    /// Input offset just after the unit's stored CRC.
    pub input_offset: u64,
    /// The CRC the unit stores.
    pub stored: u64,
    /// The CRC of the unit's bytes with every sent byte counted as zero.
    pub unsent: u64,
}

/// What the parser reports for the host's half of the checks, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Before the first sent byte of a unit.
    Start(CheckStart),
    /// At the end of a unit that was started.
    End(CheckEnd),
}

/// The decoder's output, buffered, with each unit's CRC checked: here for
/// the bytes read with [`Read::read`], by the host for those read with
/// [`Checked::read_sent`].
pub struct Checked<D: Units> {
    inner: BufReader<D>,
    /// Decompressed bytes handed out so far.
    position: u64,
    /// The current unit's CRC register (reflected, before the final
    /// inversion) over the bytes handed out, sent ones as zeros, except the
    /// last `zeros` sent bytes, not yet applied; `None` before its first byte.
    register: Option<u64>,
    zeros: u64,
    /// Whether the current unit was announced (a byte of it is to be sent).
    announced: bool,
    /// Starts and ends of units with sent bytes, for the parser to report.
    notices: Vec<Notice>,
}

impl<D: Units> Checked<D> {
    /// `decoder`'s output, buffered and checked.
    pub fn new(decoder: D) -> Self {
        Checked {
            inner: BufReader::with_capacity(OUTPUT_BUFFER, decoder),
            position: 0,
            register: None,
            zeros: 0,
            announced: false,
            notices: Vec::new(),
        }
    }

    /// The decoder.
    pub fn get_ref(&self) -> &D {
        self.inner.get_ref()
    }

    /// Reads bytes that the parser sends to the host as file data: their
    /// share of the CRC is the host's to compute. Returns 0 at the end of
    /// the stream, or when a notice waits in [`Checked::take_notices`].
    pub fn read_sent(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_counted(buf, true)
    }

    /// Starts and ends of units with sent bytes since the last call. While
    /// one waits here, [`Checked::read_sent`] returns 0: the caller reports
    /// it before sending more.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// Whether [`Checked::take_notices`] has something.
    pub fn has_notices(&self) -> bool {
        !self.notices.is_empty()
    }

    fn read_counted(&mut self, buf: &mut [u8], sent: bool) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // A unit that ends here (an empty one, or one whose end the last
            // read reached) is finished before anything after it is read,
            // and what the host needs reported before more data is sent.
            self.finish_ended()?;
            if sent && !self.notices.is_empty() {
                return Ok(0);
            }
            let position = self.position;
            // Which unit the next bytes belong to must be known before they
            // are read: without one ahead, the decoder is made to produce
            // (it records a unit as it starts one). This goes through the
            // buffer once per unit.
            if self.inner.get_mut().units().front().is_none() && self.inner.fill_buf()?.is_empty() {
                if self.at_an_end() {
                    continue;
                }
                return Ok(0);
            }
            let unit = self
                .inner
                .get_mut()
                .units()
                .front()
                .map(|u| (u.start, u.end.as_ref().map(|e| e.at), u.kind, u.container));
            let inside = unit.filter(|u| u.0 <= position);
            if let Some((start, _, kind, container)) = inside
                && sent
                && !self.announced
            {
                self.announced = true;
                self.notices.push(Notice::Start(CheckStart { container, kind, tar_start: start }));
                return Ok(0);
            }
            // A read never crosses a unit's start or end: the decoder's
            // reads stop at both, and a known one bounds this read.
            let bound = unit.map(|(start, end, ..)| if start > position { start } else { end.unwrap_or(u64::MAX) });
            let room =
                bound.map_or(buf.len(), |b| usize::try_from(b - position).map_or(buf.len(), |r| r.min(buf.len())));
            let n = self.inner.read(&mut buf[..room])?;
            if let Some((.., kind, _)) = inside {
                if sent {
                    self.zeros += n as u64;
                } else if n > 0 {
                    let crc = polynomial(kind);
                    let register = crc.shift(self.register.unwrap_or(initial(kind)), std::mem::take(&mut self.zeros));
                    self.register = Some(update(kind, register, &buf[..n]));
                }
            }
            self.position += n as u64;
            // No bytes and no unit ended: the end of the stream.
            if n > 0 || !self.at_an_end() {
                self.finish_ended()?;
                return Ok(n);
            }
        }
    }

    /// Whether a unit ends where the reading is.
    fn at_an_end(&mut self) -> bool {
        let position = self.position;
        self.inner.get_mut().units().front().and_then(|u| u.end.as_ref()).is_some_and(|e| e.at == position)
    }

    /// Finishes every unit whose end is where the reading is.
    fn finish_ended(&mut self) -> io::Result<()> {
        while self.at_an_end() {
            let unit = self.inner.get_mut().units().pop_front().expect("looked at above");
            let UnitEnd { at, stored, input_offset } = unit.end.expect("looked at above");
            let (crc, initial) = (polynomial(unit.kind), initial(unit.kind));
            let register = crc.shift(self.register.take().unwrap_or(initial), std::mem::take(&mut self.zeros));
            let unsent = register ^ initial;
            if std::mem::take(&mut self.announced) {
                self.notices.push(Notice::End(CheckEnd { tar_end: at, input_offset, stored, unsent }));
            } else if unsent != stored {
                return Err(mismatch(unit.container, stored, unsent));
            }
        }
        Ok(())
    }
}

impl<D: Units> Read for Checked<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_counted(buf, false)
    }
}

/// The error for a unit whose CRC does not match (the host words its own
/// check the same way).
pub fn mismatch(container: Container, stored: u64, computed: u64) -> io::Error {
    let message = match container {
        Container::GzipMember => format!("the member's CRC-32 is {stored:#010x}; its data's is {computed:#010x}"),
        #[cfg(feature = "all-formats")]
        Container::XzBlock => "xz block check mismatch (the data is corrupt)".to_string(),
    };
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The register a CRC starts from (all ones, as both CRCs' initial value).
fn initial(kind: Kind) -> u64 {
    match kind {
        Kind::Crc32 => u64::from(u32::MAX),
        #[cfg(feature = "all-formats")]
        Kind::Crc64 => u64::MAX,
    }
}

fn polynomial(kind: Kind) -> &'static crc_shift::Polynomial {
    match kind {
        Kind::Crc32 => &crc_shift::CRC32,
        #[cfg(feature = "all-formats")]
        Kind::Crc64 => &crc_shift::CRC64,
    }
}

/// `register` (reflected, no inversions) continued over `bytes`.
fn update(kind: Kind, register: u64, bytes: &[u8]) -> u64 {
    // The crc crate resumes from a reflected initial value given
    // bit-reversed, and inverts on the way out (xorout).
    match kind {
        Kind::Crc32 => {
            let register = register as u32;
            let mut digest = CRC32_TABLES.digest_with_initial(register.reverse_bits());
            digest.update(bytes);
            u64::from(!digest.finalize())
        }
        #[cfg(feature = "all-formats")]
        Kind::Crc64 => {
            let mut digest = CRC64_TABLES.digest_with_initial(register.reverse_bits());
            digest.update(bytes);
            !digest.finalize()
        }
    }
}
