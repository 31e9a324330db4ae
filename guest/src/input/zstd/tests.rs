//! The zstd reader on frames built field by field (`sealtar_testkit::
//! ZstdFrame`) and, where it is installed, on what zstd(1) writes: each
//! check refuses what it must and lets the benign forms through, and each
//! case is also given to `zstd -dc`, which must read it alike (the one
//! place sealtar is stricter than zstd(1) says so).

use std::io::BufReader;
use std::process::{Command, Stdio};

use sealtar_testkit::{ZstdBlock as B, ZstdChecksum, ZstdFrame, zstd_skippable};

use super::*;
use crate::input::MAX_WINDOW;

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7919 % 251) as u8).collect()
}

fn decode(data: &[u8]) -> io::Result<Vec<u8>> {
    // A small buffer, so that headers and blocks cross refills.
    let mut d = ZstdDecoder::new(BufReader::with_capacity(1000, data), MAX_WINDOW);
    let mut out = Vec::new();
    d.read_to_end(&mut out)?;
    Ok(out)
}

/// zstd(1)'s reading of `data`: its output if `zstd -dc` exits 0. `None`
/// when zstd(1) is not installed (said on standard error; under
/// `SEALTAR_REQUIRE_SAMPLES=1` that is a failure).
fn zstd_dc(data: &[u8]) -> Option<Result<Vec<u8>, String>> {
    use std::io::Write;
    let child = Command::new("zstd")
        .args(["-dc", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var_os("SEALTAR_REQUIRE_SAMPLES").is_none_or(|v| v != "1"),
                "zstd(1) is required under SEALTAR_REQUIRE_SAMPLES=1 (Debian: apt-get install zstd): {e}"
            );
            eprintln!("NOTE: zstd(1) is not installed ({e}); these cases are checked against sealtar's reading only");
            return None;
        }
    };
    let mut stdin = child.stdin.take().expect("piped");
    let input = data.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("zstd runs");
    writer.join().expect("writer");
    Some(if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    })
}

/// Expects sealtar to decode `data` to `expected`, and zstd(1) too.
fn accepted(name: &str, data: &[u8], expected: &[u8]) {
    match decode(data) {
        Ok(out) => {
            assert!(out == expected, "{name}: decoded to {} bytes, not the {} expected", out.len(), expected.len())
        }
        Err(e) => panic!("{name}: refused: {e}"),
    }
    if let Some(theirs) = zstd_dc(data) {
        assert!(theirs.as_deref() == Ok(expected), "{name}: zstd(1) reads it otherwise: {:?}", theirs.map(|t| t.len()));
    }
}

/// Expects sealtar to refuse `data` with a message containing `message`
/// (and `kind`), and zstd(1) to refuse it too.
fn refused(name: &str, data: &[u8], kind: io::ErrorKind, message: &str) {
    match decode(data) {
        Ok(out) => panic!("{name}: accepted ({} bytes)", out.len()),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{name}: {e}");
            assert!(e.to_string().contains(message), "{name}: {e:?} does not say {message:?}");
        }
    }
    if let Some(theirs) = zstd_dc(data) {
        assert!(theirs.is_err(), "{name}: zstd(1) accepts it");
    }
}

fn frame(blocks: Vec<B>, set: impl FnOnce(&mut ZstdFrame)) -> Vec<u8> {
    let mut f = ZstdFrame::new(blocks);
    set(&mut f);
    f.build()
}

#[test]
fn benign_frames_are_read_as_zstd_reads_them() {
    let d = sample(5000);
    let raw = || vec![B::Raw(d[..3000].to_vec()), B::Rle(b'x', 500), B::Literals(d[3000..].to_vec())];
    let mut all = d[..3000].to_vec();
    all.extend([b'x'; 500]);
    all.extend(&d[3000..]);
    accepted("no content size, no checksum", &frame(raw(), |_| {}), &all);
    accepted("content size", &frame(raw(), |f| f.content_size = Some(5500)), &all);
    for width in [2, 4, 8] {
        let data = frame(raw(), |f| {
            f.content_size = Some(5500);
            f.content_size_width = Some(width);
        });
        accepted(&format!("content size in {width} bytes"), &data, &all);
    }
    accepted("checksum", &frame(raw(), |f| f.checksum = ZstdChecksum::Right), &all);
    accepted(
        "single segment, checksum",
        &frame(raw(), |f| {
            f.window_descriptor = None;
            f.content_size = Some(5500);
            f.checksum = ZstdChecksum::Right;
        }),
        &all,
    );
    accepted(
        "single segment, one-byte content size",
        &frame(vec![B::Raw(d[..200].to_vec())], |f| {
            f.window_descriptor = None;
            f.content_size = Some(200);
        }),
        &d[..200],
    );
    accepted("the unused bit (the format says to ignore it)", &frame(raw(), |f| f.unused_bit = true), &all);
    for width in [1, 2, 4] {
        accepted(
            &format!("dictionary ID 0 in {width} bytes"),
            &frame(raw(), |f| f.dictionary = Some((0, width))),
            &all,
        );
    }
    let empty = frame(vec![B::Raw(Vec::new())], |f| {
        f.window_descriptor = None;
        f.content_size = Some(0);
    });
    accepted("an empty frame", &empty, b"");
    let mut frames = zstd_skippable(b"first");
    frames.extend(frame(raw(), |f| f.checksum = ZstdChecksum::Right));
    frames.extend(&empty);
    frames.extend(zstd_skippable(&[0; 40]));
    frames.extend(frame(vec![B::Raw(b"tail".to_vec())], |f| f.content_size = Some(4)));
    frames.extend(zstd_skippable(b""));
    let mut expected = all.clone();
    expected.extend(b"tail");
    accepted("frames and skippable frames, first and last included", &frames, &expected);
    // A window of 1 KiB and blocks of exactly 1 KiB: the block maximum is
    // the window, inclusive.
    let small = frame(vec![B::Raw(d[..1024].to_vec()), B::Rle(7, 1024), B::RleLiterals(8, 1024)], |f| {
        f.window_descriptor = Some(0);
    });
    let mut expected = d[..1024].to_vec();
    expected.extend([7; 1024]);
    expected.extend([8; 1024]);
    accepted("blocks of exactly the window", &small, &expected);
    // Matches: a whole window back, and the block's output within its maximum.
    let mut f = ZstdFrame::new(vec![
        B::Raw(d[..1024].to_vec()),
        B::Sequences {
            literals: d[..20].to_vec(),
            literal_length: 10,
            match_length: 34,
            offset_value: 1024 + 3,
            count: 2,
        },
    ]);
    f.window_descriptor = Some(0);
    f.checksum = ZstdChecksum::Right;
    accepted("matches a whole window back", &f.build(), &f.content());
}

#[test]
fn what_zstd_writes_is_read_alike() {
    let d: Vec<u8> = (0..200_000u32).flat_map(|i| format!("{i} {}\n", i * 7919 % 10_007).into_bytes()).collect();
    let variants: &[&[&str]] = &[
        &["-3"],
        &["-1", "--no-check"],
        &["-19", "--check"],
        &["-3", "--no-content-size"],
        &["--fast=5"],
        &["-3", "-B4096"],
        &["--ultra", "-22", "--long=27"],
    ];
    for args in variants {
        let mut cmd = Command::new("zstd");
        cmd.args(["-c", "-q"]).args(*args).stdin(Stdio::piped()).stdout(Stdio::piped());
        let Ok(mut child) = cmd.spawn() else {
            assert!(zstd_dc(b"").is_none(), "zstd(1) runs");
            return;
        };
        let mut stdin = child.stdin.take().expect("piped");
        let input = d.clone();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            stdin.write_all(&input).expect("zstd reads its input");
        });
        let out = child.wait_with_output().expect("zstd runs");
        writer.join().expect("writer");
        assert!(out.status.success(), "zstd {args:?}");
        accepted(&format!("zstd {args:?}"), &out.stdout, &d);
    }
}

#[test]
fn the_frame_header_is_checked() {
    let raw = || vec![B::Raw(sample(100))];
    use io::ErrorKind::{InvalidData, Unsupported};
    refused("the reserved bit", &frame(raw(), |f| f.reserved_bit = true), Unsupported, "reserved bit");
    for (id, width) in [(5, 1), (300, 2), (0x1234_5678, 4), (1, 4)] {
        refused(
            &format!("dictionary {id}"),
            &frame(raw(), |f| f.dictionary = Some((id, width))),
            Unsupported,
            &format!("needs dictionary {id}"),
        );
    }
    refused(
        "a window over the limit",
        &frame(raw(), |f| f.window_descriptor = Some(17 << 3 | 1)),
        InvalidData,
        "a 144 MiB window; sealtar's limit is 128 MiB",
    );
    refused(
        "a single-segment content size over the limit",
        &frame(vec![B::Raw(Vec::new())], |f| {
            f.window_descriptor = None;
            f.content_size = Some(MAX_WINDOW + 1);
        }),
        InvalidData,
        "sealtar's limit is 128 MiB",
    );
}

#[test]
fn the_content_size_is_held_to_the_content() {
    use io::ErrorKind::InvalidData;
    let raw = || vec![B::Raw(sample(1000)), B::Rle(1, 300)];
    for declared in [0, 1, 1299, 1301, 5000, 1 << 40] {
        for single in [false, true] {
            if single && declared > MAX_WINDOW {
                continue;
            }
            let data = frame(raw(), |f| {
                f.content_size = Some(declared);
                if single {
                    f.window_descriptor = None;
                }
            });
            let name = format!("content size {declared} for 1300 bytes (single segment: {single})");
            let message = match declared {
                // The window of a single-segment frame is its content size.
                0..1000 if single => "block maximum",
                0..1300 => "more than the",
                _ => "decodes to 1300 bytes",
            };
            refused(&name, &data, InvalidData, message);
        }
    }
    // The checksum is right: only the size is wrong.
    let data = frame(raw(), |f| {
        f.content_size = Some(1301);
        f.checksum = ZstdChecksum::Right;
    });
    refused("content size one more, checksum right", &data, InvalidData, "its header declares 1301");
}

#[test]
fn the_checksum_is_checked() {
    let d = sample(3000);
    let right = sealtar_testkit::xxh64(&d) as u32;
    for wrong in [right ^ 1, right ^ 0x8000_0000, !right, 0] {
        let data = frame(vec![B::Raw(d.clone())], |f| f.checksum = ZstdChecksum::Value(wrong));
        refused(&format!("checksum {wrong:#x}"), &data, io::ErrorKind::InvalidData, "checksum mismatch");
    }
    // Only the low 32 bits are stored: the high ones are not compared.
    let data = frame(vec![B::Raw(d.clone())], |f| f.checksum = ZstdChecksum::Value(right));
    accepted("the low 32 bits", &data, &d);
    let mut cut = data.clone();
    cut.truncate(data.len() - 2);
    refused("a checksum cut short", &cut, io::ErrorKind::UnexpectedEof, "");
}

#[test]
fn blocks_are_held_to_the_block_maximum() {
    use io::ErrorKind::InvalidData;
    let d = sample(140_000);
    let one_k = |blocks: Vec<B>| frame(blocks, |f| f.window_descriptor = Some(0));
    refused(
        "a raw block over a 1 KiB window",
        &one_k(vec![B::Raw(d[..1025].to_vec())]),
        InvalidData,
        "block maximum of 1024",
    );
    refused("an RLE block over a 1 KiB window", &one_k(vec![B::Rle(1, 1025)]), InvalidData, "an RLE block of 1025");
    refused(
        "a compressed block over a 1 KiB window",
        &one_k(vec![B::Literals(d[..1022].to_vec())]),
        InvalidData,
        "a block of 1025 bytes",
    );
    refused("RLE literals over a 1 KiB window", &one_k(vec![B::RleLiterals(1, 1025)]), InvalidData, "1025");
    // One sequence of 34 bytes after 1000 literals: 1034 bytes in all.
    let trailing = one_k(vec![
        B::Raw(d[..1024].to_vec()),
        B::Sequences { literals: d[..1000].to_vec(), literal_length: 0, match_length: 34, offset_value: 7, count: 1 },
    ]);
    refused("literals after the last match over the block maximum", &trailing, InvalidData, "1034");
    let big = frame(vec![B::Raw(d[..(128 << 10) + 1].to_vec())], |f| f.window_descriptor = Some(10 << 3));
    refused("a raw block over 128 KiB", &big, InvalidData, "block maximum of 131072");
    let big = frame(vec![B::RleLiterals(0, (128 << 10) + 1)], |f| f.window_descriptor = Some(10 << 3));
    refused("RLE literals over 128 KiB", &big, InvalidData, "131073");
    refused(
        "the reserved block type",
        &frame(vec![B::Reserved(vec![1, 2, 3])], |_| {}),
        InvalidData,
        "reserved block type",
    );
}

/// The one rule stricter than zstd(1) 1.5.4: it takes a match from as far
/// back as it still holds the output, past the window; sealtar refuses a
/// match beyond the window, wherever it points.
#[test]
fn a_match_beyond_the_window_is_refused() {
    let d = sample(2000);
    for back in [1025, 1034] {
        let data = frame(
            vec![
                B::Raw(d[..1024].to_vec()),
                B::Sequences {
                    literals: d[..10].to_vec(),
                    literal_length: 10,
                    match_length: 3,
                    offset_value: back + 3,
                    count: 1,
                },
            ],
            |f| f.window_descriptor = Some(0),
        );
        let e = decode(&data).expect_err("refused");
        assert!(e.to_string().contains(&format!("reaches back {back} bytes, beyond the window of 1024")), "{e}");
        if let Some(theirs) = zstd_dc(&data) {
            eprintln!("zstd(1) on a match {back} bytes back in a 1 KiB window: {:?}", theirs.map(|t| t.len()));
        }
    }
    // Beyond everything decoded so far: both refuse.
    let data = frame(
        vec![
            B::Raw(d[..100].to_vec()),
            B::Sequences {
                literals: d[..10].to_vec(),
                literal_length: 10,
                match_length: 3,
                offset_value: 111 + 3,
                count: 1,
            },
        ],
        |_| {},
    );
    refused("a match before the start", &data, io::ErrorKind::InvalidData, "");
}

#[test]
fn what_follows_the_last_frame_is_read_as_zstd_reads_it() {
    use io::ErrorKind::{InvalidData, UnexpectedEof};
    let d = sample(3000);
    let f = frame(vec![B::Raw(d.clone())], |f| f.checksum = ZstdChecksum::Right);
    let with = |tail: &[u8]| [f.as_slice(), tail].concat();
    for n in 1..=3 {
        refused(&format!("{n} bytes of garbage"), &with(&b"xyz"[..n]), InvalidData, "too few to be another frame");
        refused(&format!("{n} zero bytes"), &with(&[0; 3][..n]), InvalidData, "too few");
    }
    refused("four bytes of garbage", &with(b"wxyz"), InvalidData, "not another frame");
    refused("zero padding", &with(&[0; 512]), InvalidData, "not another frame");
    refused("a gzip member (zstd(1) would decode it)", &with(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), InvalidData, "");
    refused("a frame cut after its magic", &with(&f[..4]), UnexpectedEof, "");
    refused("a frame cut in its header", &with(&f[..5]), UnexpectedEof, "");
    refused("a frame cut in a block", &f[..f.len() - 100], UnexpectedEof, "");
    refused("a frame cut before its last block header", &f[..6], UnexpectedEof, "");
    let skip = zstd_skippable(b"payload");
    refused("a skippable frame cut short", &with(&skip[..skip.len() - 1]), UnexpectedEof, "cut short");
    refused("a skippable frame cut in its size", &with(&skip[..6]), UnexpectedEof, "");
    // A last block is required: a frame whose blocks end unmarked is cut short.
    let mut unmarked = frame(vec![B::Raw(d[..10].to_vec()), B::Raw(d[10..20].to_vec())], |_| {});
    unmarked.truncate(unmarked.len() - 13);
    refused("no last block", &unmarked, UnexpectedEof, "");
}
