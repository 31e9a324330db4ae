//! Test support for sealtar: a raw tar builder and a tree snapshot.
//!
//! Hostile archives are built here byte by byte. A validating builder (such as
//! `tar::Builder`) refuses to write exactly the headers these tests need, so
//! every field is set by hand and the checksum is computed (or deliberately
//! broken) last.

pub mod cargo;
pub mod difffuzz;
pub mod oracle;
pub mod scene;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

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

/// gzip-compresses `data` in one member.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("in-memory write");
    e.finish().expect("in-memory write")
}

/// A gzip bomb: a tar whose single file `name` holds `size` zero bytes,
/// gzip-compressed at the best ratio. The zeros are streamed through the
/// encoder, so only the compressed output (about `size / 1000` bytes) is held
/// in memory.
pub fn gzip_zeros(name: &str, size: u64) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&Header::new(name.as_bytes(), b'0', size).build()).expect("in-memory write");
    let zeros = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left).map_or(zeros.len(), |l| l.min(zeros.len()));
        e.write_all(&zeros[..n]).expect("in-memory write");
        left -= n as u64;
    }
    // Padding of the last block, then the end-of-archive marker.
    let pad = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
    e.write_all(&zeros[..pad as usize + 2 * BLOCK]).expect("in-memory write");
    e.finish().expect("in-memory write")
}

/// xz-compresses `data` in one stream (preset 1: a 1 MiB dictionary).
pub fn xz(data: &[u8]) -> Vec<u8> {
    xz_with(data, lzma_rust2::XzOptions::with_preset(1))
}

/// xz-compresses `data` in one stream with the given options (check type,
/// block size, filters in front of LZMA2).
pub fn xz_with(data: &[u8], options: lzma_rust2::XzOptions) -> Vec<u8> {
    let mut w = lzma_rust2::XzWriter::new(Vec::new(), options).expect("in-memory write");
    w.write_all(data).expect("in-memory write");
    w.finish().expect("in-memory write")
}

/// bzip2-compresses `data` in one stream.
pub fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(data).expect("in-memory write");
    e.finish().expect("in-memory write")
}

/// zstd-compresses `data` in one frame.
pub fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// A zstd frame built by hand: a frame header declaring a window of
/// `2^window_log` bytes, no content size and no checksum, then `data` in raw
/// (stored) blocks. Lets a test declare any window without allocating it.
pub fn zstd_raw(data: &[u8], window_log: u8) -> Vec<u8> {
    assert!((10..=41).contains(&window_log));
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, (window_log - 10) << 3];
    let block_max = (1usize << window_log).min(128 << 10);
    let mut chunks: Vec<&[u8]> = data.chunks(block_max).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let header = (chunk.len() as u32) << 3 | u32::from(i == last);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(chunk);
    }
    out
}

/// A zstd skippable frame holding `payload`.
pub fn zstd_skippable(payload: &[u8]) -> Vec<u8> {
    let mut out = 0x184d_2a53u32.to_le_bytes().to_vec();
    out.extend((payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// An xz stream of `data` whose block header declares a dictionary of
/// `2^dict_log` bytes (the LZMA2 dictionary byte patched and the header's
/// CRC32 recomputed). A larger dictionary than the encoder used is still a
/// valid stream: the decoder only needs at least as much.
pub fn xz_with_dictionary(data: &[u8], dict_log: u8) -> Vec<u8> {
    assert!((13..=31).contains(&dict_log));
    let mut out = xz(data);
    // Stream header: 12 bytes. Block header: size byte, flags (one filter,
    // no sizes), filter id 0x21, properties size 1, the dictionary byte,
    // padding, CRC32.
    let start = 12;
    let len = (usize::from(out[start]) + 1) * 4;
    assert_eq!(&out[start + 1..start + 4], &[0x00, 0x21, 0x01], "one LZMA2 filter, no sizes");
    out[start + 4] = (dict_log - 12) * 2;
    let mut crc = flate2::Crc::new();
    crc.update(&out[start..start + len - 4]);
    out[start + len - 4..start + len].copy_from_slice(&crc.sum().to_le_bytes());
    out
}

/// The compressions sealtar reads, for tests that run once per format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip.
    Gzip,
    /// xz.
    Xz,
    /// bzip2.
    Bzip2,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// All four.
    pub const ALL: [Compression; 4] = [Compression::Gzip, Compression::Xz, Compression::Bzip2, Compression::Zstd];

    /// The name sealtar's messages use.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
            Compression::Zstd => "zstd",
        }
    }

    /// Compresses `data` in one stream (member, frame).
    pub fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            Compression::Gzip => gzip(data),
            Compression::Xz => xz(data),
            Compression::Bzip2 => bzip2(data),
            Compression::Zstd => zstd(data),
        }
    }

    /// A decompression bomb built from many streams (members, frames) that
    /// each hold 1 MiB of zeros: a tar whose one file `name` declares and
    /// holds `chunks` MiB of zeros. One chunk is compressed once and its
    /// bytes repeated, so building it is cheap.
    pub fn bomb(self, name: &str, chunks: u64) -> Vec<u8> {
        const CHUNK: usize = 1 << 20;
        let zeros = vec![0u8; CHUNK];
        let size = chunks * CHUNK as u64;
        let mut first = Header::new(name.as_bytes(), b'0', size).build().to_vec();
        first.extend_from_slice(&zeros);
        let mut out = self.compress(&first);
        let repeated = self.compress(&zeros);
        for _ in 1..chunks {
            out.extend_from_slice(&repeated);
        }
        out.extend(self.compress(&[0u8; 2 * BLOCK]));
        out
    }
}

/// What a path in a snapshot is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir,
    /// A regular file: contents and whether the owner-exec bit is set.
    File {
        /// Contents.
        contents: Vec<u8>,
        /// Owner-exec bit (always false off Unix).
        exec: bool,
    },
    /// A symbolic link and its target.
    Symlink(String),
    /// Anything else.
    Other,
}

/// Every path below `root` (relative, `/`-separated) and what it is. Links
/// are recorded, never followed.
pub fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries {
        let entry = entry.expect("readable directory entry");
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .expect("below root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let node = if meta.file_type().is_symlink() {
            Node::Symlink(std::fs::read_link(&path).expect("link").to_string_lossy().into_owned())
        } else if meta.is_dir() {
            walk(root, &path, out);
            Node::Dir
        } else if meta.is_file() {
            Node::File { contents: std::fs::read(&path).expect("read file"), exec: is_exec(&meta) }
        } else {
            Node::Other
        };
        out.insert(rel, node);
    }
}

#[cfg(unix)]
fn is_exec(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o100 != 0
}

#[cfg(not(unix))]
fn is_exec(_: &std::fs::Metadata) -> bool {
    false
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
