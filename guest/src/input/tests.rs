//! The decoders and the format detection, on generated data.

use super::*;
use sealtar_testkit::{Compression, Tar, gzip, xz_with_dictionary, zstd_raw, zstd_skippable};

fn sample_tar() -> Vec<u8> {
    let text: Vec<u8> = (0..5_000u32).flat_map(|i| format!("line {i}: {}\n", i * 7919 % 10_007).into_bytes()).collect();
    Tar::new().file("a.txt", &text).file("b.txt", b"tail").finish()
}

fn decode(data: &[u8]) -> Result<(Format, Vec<u8>), InputError> {
    let mut s = Source::detect(data)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| s.error(&e))?;
    assert!(s.input_offset() <= data.len() as u64);
    Ok((s.format(), out))
}

fn refusal(data: &[u8]) -> String {
    match decode(data) {
        Ok((f, _)) => panic!("accepted as {f:?}"),
        Err(e) => e.message,
    }
}

#[test]
fn plain_tar_passes_through() {
    let tar = sample_tar();
    assert_eq!(decode(&tar).unwrap(), (Format::Tar, tar.clone()));
    let mut s = Source::detect(&tar[..]).unwrap();
    std::io::copy(&mut s, &mut std::io::sink()).unwrap();
    assert_eq!(s.input_offset(), tar.len() as u64);
}

#[test]
fn each_compression_is_detected_and_decoded() {
    let tar = sample_tar();
    for (c, f) in Compression::ALL.into_iter().zip([Format::Gzip, Format::Xz, Format::Bzip2, Format::Zstd]) {
        let data = c.compress(&tar);
        assert_eq!(decode(&data).unwrap(), (f, tar.clone()), "{c:?}");
    }
}

#[test]
fn every_stream_of_a_concatenation_is_read() {
    let tar = sample_tar();
    let (one, two) = tar.split_at(3000);
    for c in Compression::ALL {
        let mut data = c.compress(one);
        data.extend(c.compress(b""));
        data.extend(c.compress(two));
        assert_eq!(decode(&data).unwrap().1, tar, "{c:?}");
    }
}

#[test]
fn zstd_skippable_frames_are_skipped_anywhere() {
    let tar = sample_tar();
    let (one, two) = tar.split_at(1000);
    let mut data = zstd_skippable(b"first");
    data.extend(Compression::Zstd.compress(one));
    data.extend(zstd_skippable(&[7u8; 300]));
    data.extend(zstd_raw(two, 17));
    data.extend(zstd_skippable(b""));
    assert_eq!(decode(&data).unwrap(), (Format::Zstd, tar));
}

#[test]
fn a_skippable_frame_cut_short_is_truncation() {
    let mut data = Compression::Zstd.compress(&sample_tar());
    data.extend(&zstd_skippable(&[1u8; 100])[..50]);
    assert!(refusal(&data).starts_with("truncated zstd data"));
}

#[test]
fn gzip_zero_padding_is_accepted_to_the_end() {
    let tar = sample_tar();
    for zeros in [1, 3, 4, 511, 512, 10_240, 300_000] {
        let mut data = gzip(&tar);
        data.resize(data.len() + zeros, 0);
        assert_eq!(decode(&data).unwrap().1, tar, "{zeros} zeros");
    }
}

#[test]
fn gzip_garbage_after_the_padding_or_the_stream_is_refused() {
    let tar = sample_tar();
    let member = gzip(&tar);
    let mut zeros_then_x = member.clone();
    zeros_then_x.extend([0, 0, 0, b'x']);
    let mut zeros_then_member = member.clone();
    zeros_then_member.extend([0; 100]);
    zeros_then_member.extend(&member);
    let mut x = member.clone();
    x.push(b'x');
    let mut partial_magic = member.clone();
    partial_magic.extend([0x1f, 0x8b]);
    for data in [zeros_then_x, zeros_then_member, x, partial_magic] {
        let m = refusal(&data);
        assert!(m.contains("gzip"), "{m}");
    }
}

#[test]
fn zeros_after_zstd_and_bzip2_are_refused_and_xz_takes_stream_padding() {
    let tar = sample_tar();
    for c in [Compression::Zstd, Compression::Bzip2] {
        let mut data = c.compress(&tar);
        data.extend([0u8; 512]);
        assert!(refusal(&data).contains(c.name()), "{c:?}");
    }
    let mut data = Compression::Xz.compress(&tar);
    data.extend([0u8; 512]);
    assert_eq!(decode(&data).unwrap().1, tar, "xz stream padding");
    data.push(0);
    assert!(refusal(&data).contains("xz"));
}

#[test]
fn corrupt_data_is_refused_and_named() {
    let tar = sample_tar();
    for c in Compression::ALL {
        let mut data = c.compress(&tar);
        let mid = data.len() / 2;
        for b in &mut data[mid..mid + 16] {
            *b ^= 0x5a;
        }
        let m = refusal(&data);
        assert!(m.contains(&format!("{} data", c.name())), "{c:?}: {m}");
    }
}

#[test]
fn truncated_data_is_refused_and_named() {
    let tar = sample_tar();
    for c in Compression::ALL {
        let data = c.compress(&tar);
        for cut in [data.len() / 2, data.len() - 1] {
            let m = refusal(&data[..cut]);
            assert!(m.contains(&format!("{} data", c.name())), "{c:?} cut at {cut}: {m}");
        }
    }
}

#[test]
fn an_xz_dictionary_over_the_limit_is_refused_before_allocation() {
    let tar = sample_tar();
    assert_eq!(decode(&xz_with_dictionary(&tar, 27)).unwrap().1, tar, "xz -9's 64 MiB");
    let m = refusal(&xz_with_dictionary(&tar, 28));
    assert!(m.contains("dictionary larger than sealtar's limit of 128 MiB"), "{m}");
}

#[test]
fn a_zstd_window_over_the_limit_is_refused() {
    let tar = sample_tar();
    assert_eq!(decode(&zstd_raw(&tar, 27)).unwrap().1, tar, "zstd --ultra -22's 128 MiB");
    let m = refusal(&zstd_raw(&tar, 28));
    assert!(m.contains("256 MiB window; sealtar's limit is 128 MiB"), "{m}");
}

#[test]
fn unsupported_formats_are_named() {
    let cases: &[(&[u8], &str)] = &[
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "a zip archive"),
        (b"PK\x05\x06\x00\x00\x00\x00", "a zip archive"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "a 7z archive"),
        (b"Rar!\x1a\x07\x01\x00", "a rar archive"),
        (b"\x04\x22\x4d\x18\x64\x40\xa7", "lz4-compressed data"),
        (b"LZIP\x01\x0c", "lzip-compressed data"),
        (b"\x1f\x9d\x90\x2e\x00", "compress (.Z) data"),
        (b"\x5d\x00\x00\x80\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x33", "lzma-compressed data"),
        (b"", "an empty file"),
        (b"hello, this is a README\nnot an archive\n", "a text file"),
        (&[0xffu8; 600], "not a tar archive"),
    ];
    for (data, what) in cases {
        let m = refusal(data);
        assert!(m.starts_with(&format!("this is {what}")), "{what}: {m}");
        assert!(m.ends_with("sealtar reads tar, optionally compressed with gzip, xz, bzip2 or zstd"), "{m}");
    }
}

#[test]
fn compressed_data_that_is_not_tar_is_named() {
    for c in Compression::ALL {
        let m = refusal(&c.compress(b"just some text, no tar header here"));
        assert!(m.starts_with(&format!("this is {}-compressed data, but not a tar archive", c.name())), "{m}");
        let m = refusal(&c.compress(b""));
        assert!(m.contains("decompresses to nothing"), "{m}");
    }
}

#[test]
fn a_tar_whose_first_name_looks_like_a_magic_number_is_tar() {
    for name in ["PK\x03\x04zip", "Rar!\x1a\x07", "LZIPx", "7z\u{bc}"] {
        let tar = Tar::new().file(name, b"x").finish();
        assert_eq!(decode(&tar).unwrap(), (Format::Tar, tar.clone()), "{name:?}");
    }
}

#[test]
fn zero_blocks_and_short_zeros_go_to_the_parser() {
    assert_eq!(decode(&[0u8; 1024]).unwrap().0, Format::Tar);
    assert_eq!(decode(&[0u8; 100]).unwrap().0, Format::Tar);
}

/// A gzip member built field by field: `flags` with the optional fields they
/// call for, a correct header CRC-16 when FHCRC is set, then `tar` deflated
/// and the trailer (`crc` and `length` as given, or the right ones).
fn member(flags: u8, method: u8, tar: &[u8], crc: Option<u32>, length: Option<u32>) -> Vec<u8> {
    use std::io::Write as _;
    let mut out = vec![0x1f, 0x8b, method, flags, 1, 2, 3, 4, 0, 3];
    if flags & 0x04 != 0 {
        out.extend(6u16.to_le_bytes());
        out.extend(b"AB\x02\x00xy");
    }
    if flags & 0x08 != 0 {
        out.extend(b"archive.tar\0");
    }
    if flags & 0x10 != 0 {
        out.extend([b'c'; 70_000]);
        out.push(0);
    }
    if flags & 0x02 != 0 {
        out.extend((CRC32.checksum(&out) as u16).to_le_bytes());
    }
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflate.write_all(tar).unwrap();
    out.extend(deflate.finish().unwrap());
    out.extend(crc.unwrap_or_else(|| CRC32.checksum(tar)).to_le_bytes());
    out.extend(length.unwrap_or(tar.len() as u32).to_le_bytes());
    out
}

#[test]
fn gzip_header_fields_are_read_as_gzip_reads_them() {
    let tar = sample_tar();
    // Every optional field, alone and together (a comment longer than the
    // input buffer included), and a correct header CRC-16.
    for flags in [0x00, 0x02, 0x04, 0x08, 0x10, 0x1e, 0x01] {
        let data = member(flags, 8, &tar, None, None);
        assert_eq!(decode(&data).unwrap(), (Format::Gzip, tar.clone()), "flags {flags:#04x}");
        let mut two = data.clone();
        two.extend(member(flags, 8, b"", None, None));
        assert_eq!(decode(&two).unwrap().1, tar, "a second, empty member with flags {flags:#04x}");
    }
    let mut bad_hcrc = member(0x0a, 8, &tar, None, None);
    let at = 10 + b"archive.tar\0".len();
    bad_hcrc[at] ^= 1;
    let refused = [
        (bad_hcrc, "CRC-16"),
        (member(0x20, 8, &tar, None, None), "reserved header flags"),
        (member(0x80, 8, &tar, None, None), "reserved header flags"),
        (member(0, 7, &tar, None, None), "compression method 7"),
        (member(0, 8, &tar, Some(CRC32.checksum(&tar) ^ 1), None), "CRC-32"),
        (member(0, 8, &tar, None, Some(tar.len() as u32 + 1)), "length"),
    ];
    for (data, why) in refused {
        let m = refusal(&data);
        assert!(m.starts_with("corrupt gzip data: ") && m.contains(why), "{why}: {m}");
    }
    // Cut inside each part: the header's fixed fields, its name, the data,
    // the trailer.
    let whole = member(0x08, 8, &tar, None, None);
    for cut in [5, 15, whole.len() / 2, whole.len() - 3] {
        let m = refusal(&whole[..cut]);
        assert!(m.starts_with("truncated gzip data"), "cut at {cut}: {m}");
    }
}
