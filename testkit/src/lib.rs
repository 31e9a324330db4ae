//! Test kit for sealtar: tar archives built byte by byte, and (with the
//! `compress` feature) compressed with each format sealtar reads.
//!
//! Hostile archives are built here byte by byte. A validating builder (such as
//! `tar::Builder`) refuses to write exactly the headers these tests need, so
//! every field is set by hand and the checksum is computed (or deliberately
//! broken) last.
//!
//! The crate depends on nothing but the standard library (and, under
//! `compress`, on the encoders), so the guest's unit tests use it without
//! building the host and wasmtime. `sealtar-tests` re-exports all of it.

#[cfg(feature = "compress")]
mod compress;

#[cfg(feature = "compress")]
pub use compress::*;

mod zstd;

pub use zstd::{ZstdBlock, ZstdChecksum, ZstdFrame, xxh64, zstd_raw, zstd_skippable};

/// Size of a tar block.
pub const BLOCK: usize = 512;

/// A single 512-byte header, field by field.
#[derive(Clone)]
pub struct Header {
    bytes: [u8; BLOCK],
    checksum: Option<Vec<u8>>,
}

/// Header formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// POSIX ustar (`ustar\0` `00`).
    Ustar,
    /// GNU (`ustar  \0`).
    Gnu,
    /// Pre-POSIX (no magic).
    V7,
}

impl Header {
    /// A ustar header with the given name, type flag and size; mode 0644,
    /// mtime 1_700_000_000.
    pub fn new(name: &[u8], type_flag: u8, size: u64) -> Header {
        let mut h = Header { bytes: [0; BLOCK], checksum: None };
        h.set(0, 100, name);
        h.mode(0o644).octal(108, 8, 0).octal(116, 8, 0).size(size).mtime(1_700_000_000);
        h.bytes[156] = type_flag;
        h.format(Format::Ustar);
        h
    }

    /// Sets the magic and version fields.
    pub fn format(&mut self, format: Format) -> &mut Self {
        let magic: &[u8] = match format {
            Format::Ustar => b"ustar\x0000",
            Format::Gnu => b"ustar  \0",
            Format::V7 => &[0; 8],
        };
        self.bytes[257..265].copy_from_slice(magic);
        self
    }

    /// Writes raw bytes into a field, NUL-padding the rest of it.
    pub fn set(&mut self, offset: usize, len: usize, value: &[u8]) -> &mut Self {
        assert!(value.len() <= len, "value does not fit the field");
        self.bytes[offset..offset + len].fill(0);
        self.bytes[offset..offset + value.len()].copy_from_slice(value);
        self
    }

    /// Writes an octal number into a field (len-1 digits and a NUL).
    pub fn octal(&mut self, offset: usize, len: usize, value: u64) -> &mut Self {
        let text = format!("{value:0width$o}", width = len - 1);
        assert!(text.len() < len, "number does not fit the field");
        self.set(offset, len, text.as_bytes())
    }

    /// Sets the mode field.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.octal(100, 8, u64::from(mode))
    }

    /// Sets the size field.
    pub fn size(&mut self, size: u64) -> &mut Self {
        self.octal(124, 12, size)
    }

    /// Sets the mtime field.
    pub fn mtime(&mut self, mtime: u64) -> &mut Self {
        self.octal(136, 12, mtime)
    }

    /// Sets the link name field.
    pub fn link(&mut self, target: &[u8]) -> &mut Self {
        self.set(157, 100, target)
    }

    /// Sets the ustar prefix field.
    pub fn prefix(&mut self, prefix: &[u8]) -> &mut Self {
        self.set(345, 155, prefix)
    }

    /// Sets the device major and minor number fields (character and block
    /// devices).
    pub fn device_numbers(&mut self, major: u32, minor: u32) -> &mut Self {
        self.octal(329, 8, u64::from(major)).octal(337, 8, u64::from(minor))
    }

    /// The raw bytes of a field as currently set.
    pub fn field(&self, offset: usize, len: usize) -> &[u8] {
        &self.bytes[offset..offset + len]
    }

    /// Replaces the computed checksum by these raw field bytes.
    pub fn bad_checksum(&mut self, field: &[u8]) -> &mut Self {
        self.checksum = Some(field.to_vec());
        self
    }

    /// The finished block, with its checksum.
    pub fn build(&self) -> [u8; BLOCK] {
        let mut b = self.bytes;
        b[148..156].fill(b' ');
        match &self.checksum {
            Some(raw) => {
                b[148..156].fill(0);
                b[148..148 + raw.len()].copy_from_slice(raw);
            }
            None => {
                let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
                let text = format!("{sum:06o}\0 ");
                b[148..156].copy_from_slice(text.as_bytes());
            }
        }
        b
    }
}

/// One PAX record, with its self-describing length.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = 1 + key.len() + 1 + value.len() + 1;
    let mut len = body_len + 1;
    while len.to_string().len() + body_len != len {
        len += 1;
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

/// An archive assembled block by block.
#[derive(Default, Clone)]
pub struct Tar {
    data: Vec<u8>,
}

impl Tar {
    /// An empty archive.
    pub fn new() -> Tar {
        Tar::default()
    }

    /// Appends a header and its data, padded to a block.
    pub fn entry(&mut self, header: &Header, data: &[u8]) -> &mut Self {
        self.data.extend_from_slice(&header.build());
        self.data.extend_from_slice(data);
        self.pad();
        self
    }

    /// Appends a regular file.
    pub fn file(&mut self, name: &str, contents: &[u8]) -> &mut Self {
        self.entry(&Header::new(name.as_bytes(), b'0', contents.len() as u64), contents)
    }

    /// Appends an executable regular file.
    pub fn exec_file(&mut self, name: &str, contents: &[u8]) -> &mut Self {
        let mut h = Header::new(name.as_bytes(), b'0', contents.len() as u64);
        h.mode(0o755);
        self.entry(&h, contents)
    }

    /// Appends a directory.
    pub fn dir(&mut self, name: &str) -> &mut Self {
        let mut h = Header::new(name.as_bytes(), b'5', 0);
        h.mode(0o755);
        self.entry(&h, b"")
    }

    /// Appends a symbolic link.
    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut h = Header::new(name.as_bytes(), b'2', 0);
        h.link(target.as_bytes()).mode(0o777);
        self.entry(&h, b"")
    }

    /// Appends a hard link.
    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut h = Header::new(name.as_bytes(), b'1', 0);
        h.link(target.as_bytes());
        self.entry(&h, b"")
    }

    /// Appends a character ('3') or block ('4') device with these numbers.
    pub fn device(&mut self, name: &str, type_flag: u8, major: u32, minor: u32) -> &mut Self {
        let mut h = Header::new(name.as_bytes(), type_flag, 0);
        h.mode(0o666).device_numbers(major, minor);
        self.entry(&h, b"")
    }

    /// Appends a named pipe ('6').
    pub fn fifo(&mut self, name: &str) -> &mut Self {
        self.entry(&Header::new(name.as_bytes(), b'6', 0), b"")
    }

    /// Appends a PAX extended header ('x') with these records.
    pub fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        self.pax_typed(b'x', records)
    }

    /// Appends a PAX header of the given type ('x', 'g') with these records.
    pub fn pax_typed(&mut self, type_flag: u8, records: &[(&str, &[u8])]) -> &mut Self {
        let payload: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
        self.pax_raw(type_flag, &payload)
    }

    /// Appends a PAX header with a raw payload.
    pub fn pax_raw(&mut self, type_flag: u8, payload: &[u8]) -> &mut Self {
        let h = Header::new(b"././@PaxHeader", type_flag, payload.len() as u64);
        self.entry(&h, payload)
    }

    /// Appends a GNU long-name ('L') or long-link ('K') header.
    pub fn gnu_long(&mut self, type_flag: u8, name: &[u8]) -> &mut Self {
        let mut payload = name.to_vec();
        payload.push(0);
        let mut h = Header::new(b"././@LongLink", type_flag, payload.len() as u64);
        h.format(Format::Gnu);
        self.entry(&h, &payload)
    }

    /// Appends raw bytes.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.data.extend_from_slice(bytes);
        self
    }

    /// Pads to a block boundary with zeros.
    pub fn pad(&mut self) -> &mut Self {
        let rem = self.data.len() % BLOCK;
        if rem != 0 {
            self.data.resize(self.data.len() + BLOCK - rem, 0);
        }
        self
    }

    /// The archive with its two-block end marker.
    pub fn finish(&self) -> Vec<u8> {
        let mut d = self.data.clone();
        d.resize(d.len() + 2 * BLOCK, 0);
        d
    }

    /// The archive with no end marker.
    pub fn unterminated(&self) -> Vec<u8> {
        self.data.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_are_self_consistent() {
        for value_len in [0usize, 1, 5, 6, 7, 90, 95, 96, 97, 990, 995] {
            let value = vec![b'v'; value_len];
            let r = pax_record("path", &value);
            let digits = r.iter().position(|&b| b == b' ').unwrap();
            let len: usize = std::str::from_utf8(&r[..digits]).unwrap().parse().unwrap();
            assert_eq!(len, r.len(), "value length {value_len}");
        }
    }

    #[test]
    fn header_checksum_is_the_byte_sum() {
        let b = Header::new(b"a.txt", b'0', 3).build();
        let stored = u32::from_str_radix(std::str::from_utf8(&b[148..154]).unwrap(), 8).unwrap();
        let mut copy = b;
        copy[148..156].fill(b' ');
        assert_eq!(stored, copy.iter().map(|&x| u32::from(x)).sum::<u32>());
    }
}
