//! The compressions sealtar reads, for compressed test archives: gzip
//! (flate2), xz (lzma-rust2's encoder), bzip2 and zstd (ruzstd's encoder),
//! and zstd and xz streams patched by hand where a test needs a field no
//! encoder writes.

use std::io::Write;

use crate::{BLOCK, Header};

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
