//! The tar grammar: a pull parser over the decompressed stream.
//!
//! sealtar's rule is to agree with GNU tar and Python's tarfile on what an
//! archive contains, or refuse it. The block sequencing is therefore done here
//! rather than by a tar library, whose reading differs in places (the `tar`
//! crate applies a PAX `size` to a following GNU long-name header, skips data
//! declared by header-only types, and ignores a `prefix` field under a
//! `ustar\0` magic whose version is not `00`). Header fields are read by
//! name through [`RawHeader`].
//!
//! A header that two mature readers could read differently is refused, never
//! interpreted; the shapes found so far are the [`GrammarRule`]s.
//!
//! The decisions, each covered by a unit test below:
//! - the `prefix` field is a name only under exactly `ustar\0` + `00`; any
//!   other header with a non-zero byte in that area is refused
//!   ([`GrammarRule::PrefixOutsidePosix`]);
//! - the padding after an extension header's payload must be zeros
//!   ([`GrammarRule::ExtensionPadding`]);
//! - an old-style (`\0`) member is a directory when its name ends in `/`,
//!   and is refused when its raw `name` field and its final (PAX or GNU long)
//!   name disagree about that slash ([`GrammarRule::OldStyleSlash`]);
//! - every numeric field (mode, uid, gid, size, mtime, devmajor, devminor)
//!   of every header block, extension headers included, must decode as
//!   strict octal or base-256, and must not be blank or above 32 bits (ids,
//!   device numbers) where GNU tar decodes it ([`GrammarRule::NumericField`]);
//! - a PAX `size` replaces the header size, larger or smaller;
//! - PAX and GNU `L`/`K` records apply to the next real member only, and only
//!   once: a second PAX header, a second `L` or `K`, or a name given by both a
//!   PAX record and an `L` header is refused;
//! - a PAX global header is accepted only when it changes no member field
//!   (`git archive` writes one holding a comment);
//! - header-only kinds (directories, links, devices, FIFOs) that declare data
//!   are refused: GNU tar skips that data, Python and Go do not;
//! - sparse members and multi-volume continuations are refused;
//! - the archive ends at the first all-zero block; anything after it must be
//!   zeros (at most [`MAX_TRAILING_ZEROS`] bytes of them); a stream that ends
//!   cleanly on a header boundary without the marker is accepted, as every
//!   reader does.

use std::io::Read;
use std::ops::Range;

pub use crate::header::BLOCK;
use crate::header::{Format, RawHeader, field};
use crate::input::checked::{CheckEnd, CheckStart};
use crate::input::{Notice, Source};
use crate::numeric::{is_blank, parse_signed, parse_unsigned};
use crate::pax::{self, PaxRecords};
use crate::rules::GrammarRule;

/// Zero bytes tolerated after the end-of-archive marker. Writers pad to a
/// record size (10 KiB by default, rarely more than 1 MiB); more than that,
/// like any non-zero byte, is data no reader agrees on and is refused.
pub const MAX_TRAILING_ZEROS: u64 = 1 << 20;

/// Largest data chunk in one event.
const MAX_CHUNK: usize = 1 << 20;

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Regular file (or unknown type carrying data, see [`Kind::Other`]).
    File,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Hard link.
    Hardlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Anything else; its data, if any, is skipped.
    Other,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Directory => "directory",
            Kind::Symlink => "symbolic link",
            Kind::Hardlink => "hard link",
            Kind::CharDevice => "character device",
            Kind::BlockDevice => "block device",
            Kind::Fifo => "FIFO",
            Kind::Other => "special member",
        }
    }

    fn header_only(self) -> bool {
        !matches!(self, Kind::File | Kind::Other)
    }
}

/// Caps enforced while parsing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most members.
    pub max_entries: u64,
    /// Longest path or link target in bytes.
    pub max_path_bytes: usize,
    /// Largest PAX or GNU long-name payload in bytes.
    pub max_extension_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_entries: 1_000_000, max_path_bytes: 4096, max_extension_bytes: 1 << 20 }
    }
}

/// One member as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position among reported members.
    pub index: u64,
    /// Tar-stream offset of the member's first header (extension headers included).
    pub header_offset: u64,
    /// Tar-stream offset of the member's data (just after its last header).
    pub data_offset: u64,
    /// Path bytes as the archive spells them.
    pub path: Vec<u8>,
    /// Kind.
    pub kind: Kind,
    /// Raw type flag.
    pub type_flag: u8,
    /// Data bytes that follow.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time in seconds since the epoch.
    pub mtime: i64,
    /// Link target for links.
    pub link_target: Option<Vec<u8>>,
    /// The guest's advisory verdict.
    pub refusal: Option<String>,
}

/// One step of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A member header.
    Entry(Entry),
    /// A chunk of the current file's data.
    Data(Vec<u8>),
    /// A unit with a CRC (a gzip member, an xz block) some of whose bytes
    /// are sent as data starts: it comes before the first of them.
    CheckStart(CheckStart),
    /// That unit's end: the host finishes its check (see
    /// `input/checked.rs`). It comes after every data chunk before the
    /// unit's end and before any after it.
    CheckEnd(CheckEnd),
}

/// Which stream an offset counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The archive as given.
    Input,
    /// The decompressed tar stream.
    Tar,
}

/// A malformed archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the problem.
    pub offset: u64,
    /// Stream the offset counts in.
    pub layer: Layer,
    /// Description.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layer = match self.layer {
            Layer::Input => "input",
            Layer::Tar => "tar stream",
        };
        write!(f, "{} (at byte {} of the {layer})", self.message, self.offset)
    }
}

enum State {
    /// Not yet looked at the input.
    Start,
    /// Between members or inside one.
    Reading,
    /// Clean end reached.
    Done,
    /// An error was returned; it is returned again on every later call.
    Failed(ParseError),
}

/// Pending extension records for the next real member.
#[derive(Default)]
struct Pending {
    first_offset: Option<u64>,
    pax: Option<PaxRecords>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    /// Bytes consumed by extension headers since the last member.
    consumed: u64,
}

/// The pull parser.
pub struct Parser<R: Read> {
    reader: Option<R>,
    source: Option<Source<R>>,
    limits: Limits,
    with_data: bool,
    state: State,
    /// Offset in the tar stream.
    offset: u64,
    /// Data bytes of the current member still to deliver or skip.
    data_left: u64,
    /// Whether the current member's data is delivered (a file, with data on).
    deliver: bool,
    /// Padding after the current member's data.
    pad_left: u64,
    next_index: u64,
}

impl<R: Read> Parser<R> {
    /// Makes a parser over `reader`. Nothing is read until the first call.
    pub fn new(reader: R, limits: Limits, with_data: bool) -> Self {
        Parser {
            reader: Some(reader),
            source: None,
            limits,
            with_data,
            state: State::Start,
            offset: 0,
            data_left: 0,
            deliver: false,
            pad_left: 0,
            next_index: 0,
        }
    }

    /// Returns the next events: at most about `budget` bytes of data
    /// (delivered, or skipped when data is not wanted), at least one event
    /// unless the archive has ended. An empty vector means a clean end.
    pub fn next_batch(&mut self, budget: usize) -> Result<Vec<Event>, ParseError> {
        match &self.state {
            State::Done => return Ok(Vec::new()),
            State::Failed(e) => return Err(e.clone()),
            State::Start => self.start().inspect_err(|e| self.state = State::Failed(e.clone()))?,
            State::Reading => {}
        }
        let mut events = Vec::new();
        match self.fill_batch(budget.max(1), &mut events) {
            // Deliver what was read before the error; the error comes next call.
            Err(e) if !events.is_empty() => self.state = State::Failed(e),
            Err(e) => {
                self.state = State::Failed(e.clone());
                return Err(e);
            }
            Ok(()) if events.is_empty() => self.state = State::Done,
            Ok(()) => {}
        }
        Ok(events)
    }

    fn start(&mut self) -> Result<(), ParseError> {
        let reader = self.reader.take().expect("start runs once");
        match Source::detect(reader) {
            Ok(source) => self.source = Some(source),
            Err(e) => return Err(ParseError { offset: e.offset, layer: Layer::Input, message: e.message }),
        }
        self.state = State::Reading;
        Ok(())
    }

    fn fill_batch(&mut self, budget: usize, events: &mut Vec<Event>) -> Result<(), ParseError> {
        let mut used = 0usize;
        loop {
            if self.data_left > 0 {
                if self.deliver {
                    let room = budget.saturating_sub(used).min(MAX_CHUNK);
                    if room == 0 {
                        return Ok(());
                    }
                    let take = usize::try_from(self.data_left).map_or(room, |left| left.min(room));
                    let mut chunk = vec![0u8; take];
                    // A chunk stops at a checked unit's start or end, which
                    // is reported before the data that follows it.
                    let filled = self.read_sent(&mut chunk)?;
                    chunk.truncate(filled);
                    self.data_left -= filled as u64;
                    used += filled;
                    if filled > 0 {
                        events.push(Event::Data(chunk));
                    }
                    self.report_notices(events);
                } else {
                    // Skipped data is work too, charged to the batch: the
                    // host sees a member's header (and may stop the run)
                    // before its data is decoded, not after. A call that
                    // starts mid-member has nothing to show yet, and skips
                    // the rest of it.
                    let room = budget.saturating_sub(used);
                    if room == 0 && !events.is_empty() {
                        return Ok(());
                    }
                    let take = if events.is_empty() { self.data_left } else { self.data_left.min(room as u64) };
                    self.skip(take, "member data")?;
                    self.data_left -= take;
                    used = used.saturating_add(usize::try_from(take).unwrap_or(usize::MAX));
                }
                continue;
            }
            if self.pad_left > 0 {
                let pad = self.pad_left;
                self.skip(pad, "padding")?;
                self.pad_left = 0;
            }
            if used >= budget && !events.is_empty() {
                return Ok(());
            }
            let next = self.next_entry()?;
            self.report_notices(events);
            match next {
                Some(entry) => {
                    used += BLOCK + entry.path.len();
                    self.data_left = entry.size;
                    self.pad_left = padding(entry.size);
                    self.deliver = self.with_data && entry.kind == Kind::File;
                    events.push(Event::Entry(entry));
                }
                None => return Ok(()),
            }
        }
    }

    /// Reads headers until a real member (or the end), applying extension
    /// headers on the way.
    fn next_entry(&mut self) -> Result<Option<Entry>, ParseError> {
        let mut pending = Pending::default();
        loop {
            let header_offset = self.offset;
            let mut block = [0u8; BLOCK];
            let got = self.read_full(&mut block)?;
            if got == 0 {
                if pending.first_offset.is_some() {
                    return Err(self.err_at(header_offset, "archive ends after an extension header, before its member"));
                }
                // End of stream on a block boundary without an end marker: every reader accepts this.
                return Ok(None);
            }
            if got < BLOCK {
                return Err(self.err_at(header_offset, "truncated header block"));
            }
            if block.iter().all(|&b| b == 0) {
                if pending.first_offset.is_some() {
                    return Err(self.err_at(header_offset, "end-of-archive marker right after an extension header"));
                }
                self.check_trailer()?;
                return Ok(None);
            }
            verify_checksum(&block).map_err(|m| self.err_at(header_offset, m))?;
            let header = RawHeader::new(&block);
            let type_flag = header.type_flag();
            let numbers = decode_numbers(&header, self.next_index).map_err(|m| self.err_at(header_offset, m))?;
            let size = numbers.size;
            match type_flag {
                b'S' => return Err(self.err_at(header_offset, "GNU sparse members are not supported")),
                b'M' => {
                    return Err(self.err_at(header_offset, "GNU multi-volume continuation members are not supported"));
                }
                b'N' => return Err(self.err_at(header_offset, "old GNU long-name members are not supported")),
                _ => {}
            }
            if header.format() != Format::Posix && header.prefix_area_used() {
                let what = match header.format() {
                    Format::Gnu => "GNU header",
                    _ if header.field(field::MAGIC) == b"ustar\0" => "ustar header whose version is not \"00\"",
                    _ => "pre-POSIX header",
                };
                let message = GrammarRule::PrefixOutsidePosix.message(format_args!(
                    "{what} with non-zero bytes in the prefix area (bytes {}..{})",
                    field::PREFIX.start,
                    field::PREFIX.end
                ));
                return Err(self.err_at(header_offset, message));
            }

            match type_flag {
                b'x' | b'X' | b'g' | b'L' | b'K' => {
                    pending.first_offset.get_or_insert(header_offset);
                    let payload = self.read_extension(size, header_offset, type_flag)?;
                    pending.consumed += (BLOCK as u64) + size + padding(size);
                    if pending.consumed > 4 * (self.limits.max_extension_bytes as u64) + 4 * BLOCK as u64 {
                        return Err(self.err_at(header_offset, "too many extension headers before one member"));
                    }
                    self.apply_extension(&mut pending, type_flag, payload, header_offset)?;
                    continue;
                }
                _ => {}
            }

            if self.next_index >= self.limits.max_entries {
                return Err(self.err_at(
                    header_offset,
                    format!("more than {} members (the entry limit)", self.limits.max_entries),
                ));
            }

            let pax = pending.pax.take().unwrap_or_default();
            if pax.sparse {
                return Err(self.err_at(header_offset, "PAX sparse members are not supported"));
            }
            let path = match (pax.path, pending.long_name.take()) {
                (Some(_), Some(_)) => {
                    return Err(self.err_at(header_offset, "member named by both a PAX path and a GNU long name"));
                }
                (Some(p), None) | (None, Some(p)) => p,
                (None, None) => header.path(),
            };
            let mut kind = kind_of(type_flag);
            if type_flag == 0 {
                let raw_slash = header.name().last() == Some(&b'/');
                let final_slash = path.last() == Some(&b'/');
                if raw_slash != final_slash {
                    let message = GrammarRule::OldStyleSlash.message(format_args!(
                        "old-style member whose name field {} in '/' but whose final name {}",
                        if raw_slash { "ends" } else { "does not end" },
                        if final_slash { "does" } else { "does not" },
                    ));
                    return Err(self.err_at(header_offset, message));
                }
                if final_slash {
                    kind = Kind::Directory;
                }
            }
            let link_target = if matches!(kind, Kind::Symlink | Kind::Hardlink) {
                match (pax.linkpath, pending.long_link.take()) {
                    (Some(_), Some(_)) => {
                        return Err(
                            self.err_at(header_offset, "link target given by both a PAX linkpath and a GNU long link")
                        );
                    }
                    (Some(l), None) | (None, Some(l)) => Some(l),
                    (None, None) => Some(header.link_name().to_vec()),
                }
            } else {
                None
            };
            let size = pax.size.unwrap_or(size);
            if kind.header_only() && size != 0 {
                return Err(self.err_at(
                    header_offset,
                    format!(
                        "{} header declares {size} bytes of data; readers disagree on whether to skip them",
                        kind.name()
                    ),
                ));
            }
            let mode = numbers.mode;
            let mtime = pax.mtime.unwrap_or(numbers.mtime);
            if path.len() > self.limits.max_path_bytes {
                return Err(self.err_at(
                    header_offset,
                    format!("path of {} bytes exceeds the {}-byte limit", path.len(), self.limits.max_path_bytes),
                ));
            }
            if link_target.as_ref().is_some_and(|l| l.len() > self.limits.max_path_bytes) {
                return Err(self.err_at(header_offset, "link target exceeds the path limit"));
            }
            let refusal = verdict(kind, &path);
            let index = self.next_index;
            self.next_index += 1;
            return Ok(Some(Entry {
                index,
                header_offset: pending.first_offset.unwrap_or(header_offset),
                data_offset: self.offset,
                path,
                kind,
                type_flag,
                size,
                mode: (mode & 0o7777) as u32,
                mtime,
                link_target,
                refusal,
            }));
        }
    }

    fn read_extension(&mut self, size: u64, at: u64, type_flag: u8) -> Result<Vec<u8>, ParseError> {
        let max = self.limits.max_extension_bytes;
        let len = usize::try_from(size).ok().filter(|&n| n <= max).ok_or_else(|| {
            self.err_at(
                at,
                format!("extension header ('{}') of {size} bytes exceeds the {max}-byte limit", type_flag as char),
            )
        })?;
        let mut payload = vec![0u8; len];
        self.read_exact(&mut payload, "extension header data")?;
        let mut pad = [0u8; BLOCK];
        let pad = &mut pad[..padding(size) as usize];
        self.read_exact(pad, "padding")?;
        if let Some(pos) = pad.iter().position(|&b| b != 0) {
            let message = GrammarRule::ExtensionPadding.message(format_args!(
                "non-zero byte in the padding after the '{}' header's {size}-byte payload (payload byte {})",
                type_flag as char,
                size + pos as u64
            ));
            return Err(self.err_at(at, message));
        }
        Ok(payload)
    }

    fn apply_extension(
        &mut self,
        pending: &mut Pending,
        type_flag: u8,
        payload: Vec<u8>,
        at: u64,
    ) -> Result<(), ParseError> {
        match type_flag {
            b'x' | b'X' => {
                let records = pax::parse(&payload).map_err(|m| self.err_at(at, m))?;
                if pending.pax.is_some() {
                    return Err(self.err_at(at, "two PAX extended headers for one member"));
                }
                pending.pax = Some(records);
            }
            b'g' => {
                let records = pax::parse(&payload).map_err(|m| self.err_at(at, m))?;
                if records.affects_members() {
                    return Err(
                        self.err_at(at, "PAX global header changes member fields; readers apply it differently")
                    );
                }
            }
            b'L' | b'K' => {
                // Every reader cuts a GNU long name at its first NUL.
                let end = payload.iter().position(|&b| b == 0).unwrap_or(payload.len());
                let mut name = payload;
                name.truncate(end);
                let slot = if type_flag == b'L' { &mut pending.long_name } else { &mut pending.long_link };
                if slot.is_some() {
                    return Err(self.err_at(at, "two GNU long-name headers of one kind for one member"));
                }
                *slot = Some(name);
            }
            _ => unreachable!("only extension types reach here"),
        }
        Ok(())
    }

    /// After the first zero block: the rest of the stream must be zeros.
    fn check_trailer(&mut self) -> Result<(), ParseError> {
        let mut buf = [0u8; 8192];
        let mut seen = 0u64;
        loop {
            let n = self.read_some(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            if let Some(pos) = buf[..n].iter().position(|&b| b != 0) {
                return Err(self.err_at(
                    self.offset - (n - pos) as u64,
                    "data after the end-of-archive marker (readers disagree on whether it is part of the archive)",
                ));
            }
            seen += n as u64;
            if seen > MAX_TRAILING_ZEROS {
                return Err(self.err_at(self.offset, "more than 1 MiB of padding after the end-of-archive marker"));
            }
        }
    }

    fn source(&mut self) -> &mut Source<R> {
        self.source.as_mut().expect("source is set once started")
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, ParseError> {
        self.read_from_source(buf, false)
    }

    /// One read of the source, `sent` (see [`Source::read_sent`]) or not,
    /// counted in the tar offset.
    fn read_from_source(&mut self, buf: &mut [u8], sent: bool) -> Result<usize, ParseError> {
        loop {
            let source = self.source();
            let read = if sent { source.read_sent(buf) } else { source.read(buf) };
            match read {
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let e = self.source.as_ref().expect("started").error(&e);
                    return Err(ParseError { offset: e.offset, layer: Layer::Input, message: e.message });
                }
            }
        }
    }

    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, ParseError> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self.read_some(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        Ok(filled)
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), ParseError> {
        if self.read_full(buf)? < buf.len() {
            return Err(self.err_at(self.offset, format!("archive truncated inside {what}")));
        }
        Ok(())
    }

    /// Reads file data that is sent to the host until `buf` is full or a
    /// checked unit's start or end waits to be reported; returns the bytes
    /// read.
    fn read_sent(&mut self, buf: &mut [u8]) -> Result<usize, ParseError> {
        let mut filled = 0;
        while filled < buf.len() && !self.source().has_notices() {
            let n = self.read_from_source(&mut buf[filled..], true)?;
            if n == 0 && !self.source().has_notices() {
                return Err(self.err_at(self.offset, "archive truncated inside file data"));
            }
            filled += n;
        }
        Ok(filled)
    }

    /// Adds the checked units' starts and ends reached so far to `events`.
    fn report_notices(&mut self, events: &mut Vec<Event>) {
        if let Some(source) = self.source.as_mut() {
            events.extend(source.take_notices().into_iter().map(|notice| match notice {
                Notice::Start(start) => Event::CheckStart(start),
                Notice::End(end) => Event::CheckEnd(end),
            }));
        }
    }

    fn skip(&mut self, mut n: u64, what: &str) -> Result<(), ParseError> {
        let mut buf = [0u8; 8192];
        while n > 0 {
            let want = usize::try_from(n).map_or(buf.len(), |n| n.min(buf.len()));
            let got = self.read_some(&mut buf[..want])?;
            if got == 0 {
                return Err(self.err_at(self.offset, format!("archive truncated inside {what}")));
            }
            n -= got as u64;
        }
        Ok(())
    }

    fn err_at(&self, offset: u64, message: impl Into<String>) -> ParseError {
        ParseError { offset, layer: Layer::Tar, message: message.into() }
    }
}

/// The numeric fields of a header block that the parser uses.
struct Numbers {
    mode: u64,
    size: u64,
    mtime: i64,
}

/// Extension headers: GNU tar reads only their size; Python all their fields.
fn is_extension(type_flag: u8) -> bool {
    matches!(type_flag, b'x' | b'X' | b'g' | b'L' | b'K')
}

/// Decodes every numeric field of a header block (the checksum is
/// [`verify_checksum`]'s), extension headers included, or names the first
/// field that does not decode ([`GrammarRule::NumericField`]). Python's
/// tarfile decodes all of them in every block and ends the archive at one it
/// cannot read, where GNU tar reads on. `index` is the entry the header
/// belongs to.
fn decode_numbers(header: &RawHeader<'_>, index: u64) -> Result<Numbers, String> {
    let type_flag = header.type_flag();
    let bad = |name: &str, range: Range<usize>, problem: &dyn std::fmt::Display| {
        let who = if is_extension(type_flag) {
            format!("'{}' header \"{}\" of entry {index}", type_flag.escape_ascii(), header.name().escape_ascii())
        } else {
            format!("entry {index} \"{}\"", header.path().escape_ascii())
        };
        GrammarRule::NumericField
            .message(format_args!("{who}: {name} field \"{}\" {problem}", header.field(range).escape_ascii()))
    };
    // Where GNU tar decodes a field it reads a blank one as -1, Python as 0.
    let gnu_decodes = |name: &str| match name {
        "size" => true,
        "devmajor" | "devminor" => matches!(type_flag, b'3' | b'4'),
        _ => !is_extension(type_flag),
    };
    let unsigned = |name: &str, range: Range<usize>, max: u64| {
        let raw = header.field(range.clone());
        let gnu = gnu_decodes(name);
        if gnu && is_blank(raw) {
            return Err(bad(name, range, &"holds only spaces"));
        }
        match parse_unsigned(raw) {
            Ok(v) if v <= max || !gnu => Ok(v),
            Ok(v) => Err(bad(name, range, &format_args!("is {v}, above {max}"))),
            Err(e) => Err(bad(name, range, &format_args!("does not decode ({e})"))),
        }
    };
    // uid_t, gid_t and GNU's major_t and minor_t are 32 bits: where GNU tar
    // decodes these fields it refuses larger values, Python reads them.
    let id_max = u64::from(u32::MAX);
    let mode = unsigned("mode", field::MODE, u64::MAX)?;
    unsigned("uid", field::UID, id_max)?;
    unsigned("gid", field::GID, id_max)?;
    let size = unsigned("size", field::SIZE, u64::MAX)?;
    let raw_mtime = header.field(field::MTIME);
    if gnu_decodes("mtime") && is_blank(raw_mtime) {
        return Err(bad("mtime", field::MTIME, &"holds only spaces"));
    }
    let mtime =
        parse_signed(raw_mtime).map_err(|e| bad("mtime", field::MTIME, &format_args!("does not decode ({e})")))?;
    unsigned("devmajor", field::DEVMAJOR, id_max)?;
    unsigned("devminor", field::DEVMINOR, id_max)?;
    Ok(Numbers { mode, size, mtime })
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn kind_of(type_flag: u8) -> Kind {
    match type_flag {
        b'0' | 0 | b'7' => Kind::File,
        b'1' => Kind::Hardlink,
        b'2' => Kind::Symlink,
        b'3' => Kind::CharDevice,
        b'4' => Kind::BlockDevice,
        b'5' => Kind::Directory,
        b'6' => Kind::Fifo,
        _ => Kind::Other,
    }
}

/// The stored checksum must equal the unsigned or the signed byte sum of the
/// header with the checksum field read as spaces (both conventions exist).
fn verify_checksum(block: &[u8; BLOCK]) -> Result<(), String> {
    let stored = parse_unsigned(&block[field::CHKSUM]).map_err(|e| format!("bad checksum field: {e}"))?;
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if field::CHKSUM.contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    if stored == unsigned || i64::try_from(stored) == Ok(signed) {
        Ok(())
    } else {
        Err(format!("header checksum mismatch (stored {stored}, computed {unsigned})"))
    }
}

/// The guest's own, advisory verdict. The host decides independently.
fn verdict(kind: Kind, path: &[u8]) -> Option<String> {
    if !matches!(kind, Kind::File | Kind::Directory) {
        return Some(format!("{} members are never extracted", kind.name()));
    }
    if path.contains(&0) {
        return Some("path contains a NUL byte".into());
    }
    if std::str::from_utf8(path).is_err() {
        return Some("path is not UTF-8".into());
    }
    if path.first() == Some(&b'/') {
        return Some("absolute path".into());
    }
    if path.split(|&b| b == b'/').any(|c| c == b"..") {
        return Some("path has a '..' component".into());
    }
    if path.split(|&b| b == b'/').skip(1).any(|c| c == b".") {
        // `dir/.` as a file: GNU tar refuses it, a normalizing reader writes `dir`.
        return Some("path has a '.' component after its start".into());
    }
    if path.split(|&b| b == b'/').all(|c| c.is_empty() || c == b".") && kind == Kind::File {
        return Some("empty file name".into());
    }
    None
}

#[cfg(test)]
mod tests;
