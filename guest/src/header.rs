//! The 512-byte tar header, field by field.
//!
//! sealtar reads the fields that decide a member's name, size and kind itself,
//! by name, rather than through a library's reading of them: the decisions
//! below are exactly where GNU tar, Python's tarfile and other readers part
//! ways, and each one has to be visible in one place.
//!
//! The layout is POSIX ustar (IEEE Std 1003.1-1988). GNU's headers use the
//! same offsets up to `devminor`; what GNU keeps in the `prefix` area (access
//! and change times, multi-volume offsets, sparse maps) is never read here,
//! only checked to be empty.

use std::ops::Range;

/// Size of a header block.
pub const BLOCK: usize = 512;

/// The named fields of a header block (byte ranges).
pub mod field {
    use std::ops::Range;

    /// Member name (NUL-terminated unless it fills the field).
    pub const NAME: Range<usize> = 0..100;
    /// Permission bits, octal.
    pub const MODE: Range<usize> = 100..108;
    /// Owner's numeric id, octal.
    pub const UID: Range<usize> = 108..116;
    /// Group's numeric id, octal.
    pub const GID: Range<usize> = 116..124;
    /// Data size, octal or base-256.
    pub const SIZE: Range<usize> = 124..136;
    /// Modification time, octal or base-256.
    pub const MTIME: Range<usize> = 136..148;
    /// Header checksum, octal.
    pub const CHKSUM: Range<usize> = 148..156;
    /// Type flag (one byte).
    pub const TYPEFLAG: usize = 156;
    /// Link target.
    pub const LINKNAME: Range<usize> = 157..257;
    /// Format magic: `ustar\0` (POSIX) or `ustar ` (GNU).
    pub const MAGIC: Range<usize> = 257..263;
    /// Format version: `00` (POSIX) or ` \0` (GNU).
    pub const VERSION: Range<usize> = 263..265;
    /// Owner's name.
    pub const UNAME: Range<usize> = 265..297;
    /// Group's name.
    pub const GNAME: Range<usize> = 297..329;
    /// Device major number, octal.
    pub const DEVMAJOR: Range<usize> = 329..337;
    /// Device minor number, octal.
    pub const DEVMINOR: Range<usize> = 337..345;
    /// POSIX ustar: the name's leading directories. GNU: access time, change
    /// time, multi-volume offset and a sparse map live in these bytes.
    pub const PREFIX: Range<usize> = 345..500;
}

/// Which header format the magic and version fields announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Exactly `ustar\0` and `00`: POSIX ustar (and PAX), whose `prefix`
    /// field holds leading directories of the name.
    Posix,
    /// Exactly `ustar  \0`: GNU.
    Gnu,
    /// Anything else: pre-POSIX (v7), a `ustar\0` magic with another version,
    /// or an unknown magic.
    Other,
}

/// A borrowed view of one header block.
#[derive(Clone, Copy)]
pub struct RawHeader<'a> {
    block: &'a [u8; BLOCK],
}

impl<'a> RawHeader<'a> {
    /// Views `block` as a header.
    pub fn new(block: &'a [u8; BLOCK]) -> Self {
        RawHeader { block }
    }

    /// The raw bytes of one field.
    pub fn field(&self, range: Range<usize>) -> &'a [u8] {
        &self.block[range]
    }

    /// The type flag.
    pub fn type_flag(&self) -> u8 {
        self.block[field::TYPEFLAG]
    }

    /// The format that magic and version announce.
    pub fn format(&self) -> Format {
        let magic = self.field(field::MAGIC);
        let version = self.field(field::VERSION);
        match (magic, version) {
            (b"ustar\0", b"00") => Format::Posix,
            (b"ustar ", b" \0") => Format::Gnu,
            _ => Format::Other,
        }
    }

    /// The `name` field up to its first NUL (every reader cuts it there).
    pub fn name(&self) -> &'a [u8] {
        until_nul(self.field(field::NAME))
    }

    /// The `linkname` field up to its first NUL.
    pub fn link_name(&self) -> &'a [u8] {
        until_nul(self.field(field::LINKNAME))
    }

    /// The `prefix` field up to its first NUL, for a POSIX header; `None`
    /// for any other format, whose bytes there are not a name.
    pub fn prefix(&self) -> Option<&'a [u8]> {
        (self.format() == Format::Posix).then(|| until_nul(self.field(field::PREFIX)))
    }

    /// Whether the `prefix` area holds any non-zero byte.
    pub fn prefix_area_used(&self) -> bool {
        self.field(field::PREFIX).iter().any(|&b| b != 0)
    }

    /// The name as the header alone spells it: POSIX `prefix/name`, or the
    /// `name` field.
    pub fn path(&self) -> Vec<u8> {
        let name = self.name();
        match self.prefix() {
            Some(prefix) if !prefix.is_empty() => {
                let mut path = Vec::with_capacity(prefix.len() + 1 + name.len());
                path.extend_from_slice(prefix);
                path.push(b'/');
                path.extend_from_slice(name);
                path
            }
            _ => name.to_vec(),
        }
    }
}

/// `bytes` up to (not including) the first NUL.
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealtar_testkit::{Format as F, Header};

    fn with(h: &Header, f: impl FnOnce(RawHeader<'_>)) {
        let block = h.build();
        f(RawHeader::new(&block));
    }

    #[test]
    fn fields_are_where_posix_puts_them() {
        let mut h = Header::new(b"dir/file.txt", b'5', 7);
        h.link(b"target").prefix(b"some/prefix").device_numbers(3, 4);
        with(&h, |r| {
            assert_eq!(r.name(), b"dir/file.txt");
            assert_eq!(r.link_name(), b"target");
            assert_eq!(r.type_flag(), b'5');
            assert_eq!(r.field(field::SIZE), b"00000000007\0");
            assert_eq!(r.field(field::MODE), b"0000644\0");
            assert_eq!(r.field(field::DEVMAJOR), b"0000003\0");
            assert_eq!(r.field(field::DEVMINOR), b"0000004\0");
            assert_eq!(r.format(), Format::Posix);
            assert_eq!(r.path(), b"some/prefix/dir/file.txt");
        });
    }

    #[test]
    fn only_posix_headers_have_a_prefix() {
        let mut h = Header::new(b"f", b'0', 0);
        h.prefix(b"p");
        for (format, expect) in [(F::Ustar, Format::Posix), (F::Gnu, Format::Gnu), (F::V7, Format::Other)] {
            h.format(format);
            with(&h, |r| {
                assert_eq!(r.format(), expect);
                assert!(r.prefix_area_used());
                assert_eq!(r.prefix().is_some(), expect == Format::Posix);
            });
        }
        // `ustar\0` with a version other than `00` is not POSIX.
        h.format(F::Ustar).set(field::VERSION.start, 2, b"\0\0");
        with(&h, |r| assert_eq!(r.format(), Format::Other));
        h.set(field::VERSION.start, 2, b" \0");
        with(&h, |r| assert_eq!(r.format(), Format::Other));
    }

    #[test]
    fn names_stop_at_the_first_nul() {
        let mut h = Header::new(b"abc\0def", b'0', 0);
        h.link(b"t\0u");
        with(&h, |r| {
            assert_eq!(r.name(), b"abc");
            assert_eq!(r.link_name(), b"t");
        });
        let full = [b'n'; 100];
        with(&Header::new(&full, b'0', 0), |r| assert_eq!(r.name(), &full[..]));
    }
}
