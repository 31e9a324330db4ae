//! The compressions sealtar reads (gzip, xz, bzip2, zstd) through the whole
//! library and CLI: each one extracts the same tree, with every stream of a
//! concatenation; each one is refused when corrupt or cut short, naming the
//! format and an offset of the input; the size limits hold for each (a bomb
//! is refused before it is decompressed); gzip's zero padding is accepted as
//! GNU tar accepts it; formats sealtar does not read are refused up front,
//! by name.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

use sealtar::{Error, Extractor, Layer, Rule};
use sealtar_tests::{Compression, Node, Tar, gzip, xz_with_dictionary, zstd_raw, zstd_skippable};

use crate::support::{Scene, Trickle, file, options, tree};

/// Text that compresses, but not to nothing, so corruption lands in coded data.
fn text_bytes(lines: u32) -> Vec<u8> {
    (0..lines).flat_map(|i| format!("line {i} of {}\n", i * 7919 % 104_729).into_bytes()).collect()
}

fn sample() -> (Vec<u8>, BTreeMap<String, Node>) {
    let a = text_bytes(20_000);
    let tar = Tar::new().dir("pkg/").file("pkg/a.txt", &a).file("pkg/b.txt", b"tail\n").finish();
    let expected = tree(&[("pkg", Node::Dir), ("pkg/a.txt", file(&a)), ("pkg/b.txt", file(b"tail\n"))]);
    (tar, expected)
}

/// Extracts into a fresh destination and expects `expected`.
fn accept(bytes: &[u8], expected: &BTreeMap<String, Node>) {
    let scene = Scene::bare();
    scene.extract(bytes).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(&scene.dest_tree(), expected);
    scene.assert_no_staging();
    scene.assert_outside_untouched();
}

/// Expects a refusal that leaves a pre-populated destination as it was;
/// returns it.
fn refuse(bytes: &[u8]) -> Error {
    Scene::new().refuse(bytes)
}

/// Expects a malformed-input refusal whose message starts with `prefix`;
/// returns its offset.
fn refuse_input(bytes: &[u8], prefix: &str) -> u64 {
    match refuse(bytes) {
        Error::Malformed { offset, layer: Layer::Input, message } => {
            assert!(message.starts_with(prefix), "message {message:?} does not start with {prefix:?}");
            assert!(offset <= bytes.len() as u64, "offset {offset} beyond the input ({} bytes)", bytes.len());
            offset
        }
        other => panic!("expected malformed input ({prefix}), got {other:?}"),
    }
}

#[test]
fn each_compression_extracts_the_same_tree() {
    let (tar, expected) = sample();
    for c in Compression::ALL {
        accept(&c.compress(&tar), &expected);
    }
}

#[test]
fn each_compression_reads_through_a_trickling_reader() {
    let (tar, expected) = sample();
    for c in Compression::ALL {
        let bytes = c.compress(&tar);
        let scene = Scene::bare();
        scene.extract(Trickle::new(&bytes)).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!(scene.dest_tree(), expected, "{c:?}");
    }
}

#[test]
fn multi_stream_xz_multi_frame_zstd_and_concatenated_bzip2_and_gzip_are_read_whole() {
    let (tar, expected) = sample();
    // Cut inside a header and inside file data, with an empty stream between.
    let cuts = [100, 5000, 70_000];
    for c in Compression::ALL {
        let mut bytes = c.compress(&tar[..cuts[0]]);
        bytes.extend(c.compress(&tar[cuts[0]..cuts[1]]));
        bytes.extend(c.compress(b""));
        bytes.extend(c.compress(&tar[cuts[1]..cuts[2]]));
        bytes.extend(c.compress(&tar[cuts[2]..]));
        accept(&bytes, &expected);
    }
}

#[test]
fn zstd_skippable_frames_are_skipped() {
    let (tar, expected) = sample();
    let mut bytes = zstd_skippable(b"metadata first");
    bytes.extend(Compression::Zstd.compress(&tar[..3000]));
    bytes.extend(zstd_skippable(&[0xee; 1000]));
    bytes.extend(zstd_raw(&tar[3000..], 20));
    accept(&bytes, &expected);
}

#[test]
fn corrupt_data_is_refused_naming_the_format_and_an_input_offset() {
    let (tar, _) = sample();
    for c in Compression::ALL {
        let mut bytes = c.compress(&tar);
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 8] {
            *b ^= 0xa5;
        }
        refuse_input(&bytes, &format!("corrupt {} data", c.name()));
    }
}

/// A stored CRC that does not match is refused by whichever half checks it:
/// the host for the file data it was sent (`extract`), the guest when nothing
/// was sent (`list`); in the decoder's own words, at the offset just after
/// the stored CRC, with nothing written.
#[test]
fn a_wrong_crc_is_refused_whoever_has_the_bytes() {
    let (tar, _) = sample();
    let mut gz = gzip(&tar);
    let n = gz.len();
    gz[n - 8] ^= 1;
    let mut xz = Compression::Xz.compress(&tar);
    // The last block's CRC-64 ends just before the index.
    let backward = u32::from_le_bytes(xz[xz.len() - 8..xz.len() - 4].try_into().unwrap());
    let check_end = xz.len() - 12 - (backward as usize + 1) * 4;
    xz[check_end - 1] ^= 1;
    for (bytes, words, at) in [
        (&gz, "corrupt gzip data: the member's CRC-32 is", n),
        (&xz, "corrupt xz data: xz block check mismatch", check_end),
    ] {
        assert_eq!(refuse_input(bytes, words), at as u64, "{words}");
        match Extractor::new(options()).unwrap().list(&bytes[..]).map(|m| m.error) {
            Ok(Some(Error::Malformed { offset, layer: Layer::Input, message })) => {
                assert!(message.starts_with(words), "{message}");
                assert_eq!(offset, at as u64, "{message}");
            }
            other => panic!("list: {other:?}"),
        }
    }
}

#[test]
fn truncated_streams_are_refused_naming_the_format() {
    let (tar, _) = sample();
    for c in Compression::ALL {
        let bytes = c.compress(&tar);
        for cut in [20, bytes.len() / 2, bytes.len() - 1] {
            match refuse(&bytes[..cut]) {
                Error::Malformed { layer: Layer::Input, message, .. } => {
                    let name = c.name();
                    assert!(
                        message.starts_with(&format!("truncated {name} data"))
                            || message.starts_with(&format!("corrupt {name} data")),
                        "{c:?} cut at {cut}: {message}"
                    );
                }
                other => panic!("{c:?} cut at {cut}: {other:?}"),
            }
        }
    }
}

/// Counts the bytes taken from the inner reader.
struct Counting<'a> {
    inner: &'a [u8],
    taken: &'a AtomicUsize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }
}

#[test]
fn a_bomb_in_each_compression_is_refused_before_it_is_decompressed() {
    for c in Compression::ALL {
        // Enough 1 MiB chunks that the compressed bomb is several input
        // chunks long, so that reading it all would show; at most 8 GiB - 1 MiB,
        // the largest size an octal size field holds.
        let one = c.compress(&[0u8; 1 << 20]).len() as u64;
        let chunks = ((4 << 20) / one).clamp(3 << 10, (8 << 10) - 1);
        let mut bomb = c.bomb("zeros.bin", chunks);
        // The host reads ahead of the guest (about 1 MiB: a few 256 KiB
        // chunks in flight). Where 8 GiB of zeros compresses to less than
        // that (bzip2), more zero streams after the archive keep the input
        // long enough that reading it all would show.
        let zeros = c.compress(&[0u8; 1 << 20]);
        while bomb.len() < 4 << 20 {
            bomb.extend_from_slice(&zeros);
        }
        let scene = Scene::new();
        let before = scene.dest_tree();
        let taken = AtomicUsize::new(0);
        let err = scene.extract(Counting { inner: &bomb, taken: &taken }).expect_err("a bomb must be refused");
        match &err {
            Error::Refused { index: 0, rule: Rule::TooLarge { max }, .. } => assert_eq!(*max, 1 << 30, "{c:?}"),
            other => panic!("{c:?}: expected entry 0 refused as too large, got {other:?}"),
        }
        let taken = taken.into_inner();
        assert!(taken < bomb.len(), "{c:?}: the whole bomb ({taken} bytes) was read before the refusal");
        assert_eq!(scene.dest_tree(), before);
        scene.assert_no_staging();
    }
}

#[test]
fn max_size_holds_for_each_compression() {
    let (tar, _) = sample();
    let mut o = options();
    o.max_size = Some(50_000); // pkg/a.txt alone is larger
    let strict = Extractor::new(o).unwrap();
    for c in Compression::ALL {
        let scene = Scene::new();
        match scene.extract_with(&strict, &c.compress(&tar)[..]) {
            Err(Error::Refused { index: 1, rule: Rule::TooLarge { max: 50_000 }, .. }) => {}
            other => panic!("{c:?}: {other:?}"),
        }
        scene.assert_no_staging();
    }
}

#[test]
fn the_ratio_limit_counts_compressed_bytes_for_each_compression() {
    // Many 200 MiB members of zeros: each is allowed on its own by the 1 GiB
    // floor, but together they outgrow both the floor and 100 times the
    // (tiny) compressed input, so a later member is refused: the sizes
    // are counted the same way whatever the compression.
    for c in Compression::ALL {
        let mut bytes = Vec::new();
        let zeros = c.compress(&[0u8; 1 << 20]);
        for i in 0..8u64 {
            let name = format!("z{i}");
            let header = sealtar_tests::Header::new(name.as_bytes(), b'0', 200 << 20).build();
            bytes.extend(c.compress(&header));
            for _ in 0..200 {
                bytes.extend_from_slice(&zeros);
            }
        }
        bytes.extend(c.compress(&[0u8; 1024]));
        // Listed rather than extracted, so the test does not write 1 GiB.
        let manifest = crate::support::extractor().list(&bytes[..]).unwrap();
        match manifest.error {
            Some(Error::Refused { index, rule: Rule::TooLarge { .. }, .. }) => {
                assert!((5..8).contains(&index), "{c:?}: {index}")
            }
            other => panic!("{c:?}: {other:?}"),
        }
    }
}

#[test]
fn gzip_with_zero_padding_extracts_as_with_gnu_tar() {
    let (tar, expected) = sample();
    for zeros in [1, 4, 511, 512, 10_240, 1 << 20] {
        let mut bytes = gzip(&tar);
        bytes.resize(bytes.len() + zeros, 0);
        accept(&bytes, &expected);
    }
}

#[test]
fn gzip_with_anything_else_after_it_is_refused() {
    let (tar, _) = sample();
    let member = gzip(&tar);
    let mut after_zeros = member.clone();
    after_zeros.extend([0u8; 100]);
    let garbage_at = after_zeros.len() as u64;
    after_zeros.push(1);
    let offset = refuse_input(&after_zeros, "corrupt gzip data");
    assert_eq!(offset, garbage_at, "the offset names the first non-zero byte");
    let mut then_member = member.clone();
    then_member.extend([0u8; 10]);
    then_member.extend(&member);
    refuse_input(&then_member, "corrupt gzip data");
    let mut text = member.clone();
    text.extend(b"trailing text");
    refuse_input(&text, "corrupt gzip data");
}

#[test]
fn a_large_xz_dictionary_is_refused_with_a_message_not_a_trap() {
    let (tar, expected) = sample();
    // xz -9's 64 MiB dictionary is read.
    accept(&xz_with_dictionary(&tar, 26), &expected);
    accept(&xz_with_dictionary(&tar, 27), &expected);
    let err = refuse_input(&xz_with_dictionary(&tar, 29), "the xz data needs a dictionary larger than");
    assert!(err < 100, "refused at the block header, offset {err}");
}

#[test]
fn a_large_zstd_window_is_refused_with_a_message_not_a_trap() {
    let (tar, expected) = sample();
    accept(&zstd_raw(&tar, 27), &expected);
    refuse_input(&zstd_raw(&tar, 30), "corrupt zstd data: a frame asks for a 1024 MiB window");
}

const WE_READ: &str = "sealtar reads tar, optionally compressed with gzip, xz, bzip2 or zstd";

fn unsupported() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a zip archive", b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00\x00\x00".to_vec()),
        ("a 7z archive", b"7z\xbc\xaf\x27\x1c\x00\x04\x00\x00".to_vec()),
        ("a rar archive", b"Rar!\x1a\x07\x00\xcf\x90\x73".to_vec()),
        ("lz4-compressed data", b"\x04\x22\x4d\x18\x64\x40\xa7\x00\x00".to_vec()),
        ("lzip-compressed data", b"LZIP\x01\x0c\x00\x30".to_vec()),
        ("compress (.Z) data", b"\x1f\x9d\x90\x61\x00".to_vec()),
        ("lzma-compressed data", b"\x5d\x00\x00\x80\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x30\x98".to_vec()),
        ("a text file", b"This is a README.\nIt is not an archive.\n".to_vec()),
        ("an empty file", Vec::new()),
        ("not a tar archive", vec![0x99; 2048]),
    ]
}

#[test]
fn unsupported_formats_are_refused_up_front_by_name() {
    for (what, bytes) in unsupported() {
        let offset = refuse_input(&bytes, &format!("this is {what}"));
        assert_eq!(offset, 0, "{what}");
        match refuse(&bytes) {
            Error::Malformed { message, .. } => assert!(message.ends_with(WE_READ), "{message}"),
            other => panic!("{other:?}"),
        }
    }
}
