//! The xz container reader on streams written by lzma-rust2's encoder and,
//! where it is installed, by xz(1) itself, intact and tampered with.

use std::io::BufReader;

use lzma_rust2::{CheckType, FilterType, XzOptions};

use super::*;

fn sample() -> Vec<u8> {
    (0..20_000u32).flat_map(|i| format!("{i:05} {}\n", i * 7919 % 10_007).into_bytes()).collect()
}

/// Error offsets are not what these tests look at.
impl InputPosition for BufReader<&[u8]> {
    fn input_position(&self) -> u64 {
        0
    }
}

/// The decoded data, every block's check verified (CRCs by `Checked`).
fn decode(data: &[u8]) -> io::Result<Vec<u8>> {
    // A small buffer, so that the container's reads cross refills.
    let mut d = super::super::checked::Checked::new(XzDecoder::new(BufReader::with_capacity(1000, data), u32::MAX));
    let mut out = Vec::new();
    d.read_to_end(&mut out)?;
    Ok(out)
}

fn refusal(data: &[u8]) -> io::Error {
    match decode(data) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}

fn encode(data: &[u8], set: impl FnOnce(&mut XzOptions)) -> Vec<u8> {
    let mut options = XzOptions::with_preset(1);
    set(&mut options);
    sealtar_testkit::xz_with(data, options)
}

/// Five times the sample in blocks of 256 KiB of input each (the encoder
/// makes a block no smaller than its dictionary: 256 KiB at preset 0).
fn blocks() -> (Vec<u8>, Vec<u8>) {
    let data = sample().repeat(5);
    let mut options = XzOptions::with_preset(0);
    options.set_block_size(std::num::NonZeroU64::new(256 << 10));
    let x = sealtar_testkit::xz_with(&data, options);
    (data, x)
}

fn put_vli(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_vli(bytes: &[u8], pos: &mut usize) -> u64 {
    vli(bytes, pos).expect("a valid integer")
}

fn footer_crc(x: &mut [u8]) {
    let f = x.len() - 12;
    let crc = CRC32.checksum(&x[f + 4..f + 10]);
    x[f..f + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Rewrites the (one) stream's index after `change` edits its records,
/// with the index's padding, CRC-32 and the footer's backward size fixed up.
fn rewrite_index(x: &[u8], change: impl FnOnce(&mut Vec<(u64, u64)>)) -> Vec<u8> {
    let footer = &x[x.len() - 12..];
    let backward = u32::from_le_bytes(footer[4..8].try_into().unwrap());
    let start = x.len() - 12 - (backward as usize + 1) * 4;
    let mut pos = start + 1;
    let count = get_vli(x, &mut pos);
    let mut records: Vec<(u64, u64)> = (0..count).map(|_| (get_vli(x, &mut pos), get_vli(x, &mut pos))).collect();
    change(&mut records);
    let mut index = vec![0u8];
    put_vli(&mut index, records.len() as u64);
    for (unpadded, uncompressed) in records {
        put_vli(&mut index, unpadded);
        put_vli(&mut index, uncompressed);
    }
    while index.len() % 4 != 0 {
        index.push(0);
    }
    index.extend(CRC32.checksum(&index).to_le_bytes());
    let mut out = x[..start].to_vec();
    out.extend(&index);
    out.extend(footer);
    let f = out.len() - 12;
    out[f + 4..f + 8].copy_from_slice(&(index.len() as u32 / 4 - 1).to_le_bytes());
    footer_crc(&mut out);
    out
}

#[test]
fn every_check_type_and_block_layout_decodes() {
    let data = sample().repeat(3);
    for check in [CheckType::None, CheckType::Crc32, CheckType::Crc64, CheckType::Sha256] {
        // One block, and blocks of 256 KiB (preset 0's dictionary).
        for block in [None, std::num::NonZeroU64::new(256 << 10)] {
            let mut options = XzOptions::with_preset(0);
            options.set_check_sum_type(check);
            options.set_block_size(block);
            let x = sealtar_testkit::xz_with(&data, options);
            assert!(decode(&x).unwrap() == data, "{check:?} {block:?}");
            // The last byte before the index is the last block's check's.
            let backward = u32::from_le_bytes(x[x.len() - 8..x.len() - 4].try_into().unwrap());
            let mut bad = x.clone();
            bad[x.len() - 12 - (backward as usize + 1) * 4 - 1] ^= 1;
            match check {
                // Without a check that byte is the end of the LZMA2 data or its padding.
                CheckType::None => assert!(decode(&bad).is_err(), "{check:?} {block:?}"),
                _ => assert!(refusal(&bad).to_string().contains("check mismatch"), "{check:?} {block:?}"),
            }
        }
    }
}

#[test]
fn one_filter_in_front_of_lzma2_is_read_and_two_are_refused() {
    let data = sample();
    let filters = [
        (FilterType::Delta, 4),
        (FilterType::BcjX86, 0),
        (FilterType::BcjX86, 4096),
        (FilterType::BcjPpc, 0),
        (FilterType::BcjIa64, 0),
        (FilterType::BcjArm, 0),
        (FilterType::BcjArmThumb, 0),
        (FilterType::BcjSparc, 0),
        (FilterType::BcjArm64, 0),
        (FilterType::BcjRiscv, 0),
    ];
    for (filter, property) in filters {
        let x = encode(&data, |o| o.prepend_pre_filter(filter, property));
        assert!(decode(&x).unwrap() == data, "{filter:?} {property}");
    }
    // A start offset that is not a multiple of the instructions' alignment.
    let misaligned =
        [(FilterType::BcjPpc, 2), (FilterType::BcjIa64, 8), (FilterType::BcjArm, 2), (FilterType::BcjArmThumb, 1)]
            .into_iter()
            .chain([(FilterType::BcjSparc, 1), (FilterType::BcjArm64, 2), (FilterType::BcjRiscv, 1)]);
    for (filter, start) in misaligned {
        let x = encode(&data, |o| o.prepend_pre_filter(filter, start));
        let e = refusal(&x);
        assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{filter:?} at {start}");
        assert!(e.to_string().contains("not a multiple of"), "{e}");
        let x = encode(&data, |o| o.prepend_pre_filter(filter, 16));
        assert!(decode(&x).unwrap() == data, "{filter:?} at 16");
    }
    let x = encode(&data, |o| {
        o.prepend_pre_filter(FilterType::BcjX86, 0);
        o.prepend_pre_filter(FilterType::Delta, 1);
    });
    let e = refusal(&x);
    assert_eq!(e.kind(), io::ErrorKind::Unsupported);
    assert!(e.to_string().contains("more than one filter"), "{e}");
}

#[test]
fn the_index_is_held_to_the_blocks_read() {
    let (data, x) = blocks();
    assert!(decode(&rewrite_index(&x, |_| {})).unwrap() == data, "the rewrite alone changes nothing");
    let e = refusal(&rewrite_index(&x, |r| r.push(r[0])));
    assert!(e.to_string().contains("the xz index lists"), "{e}");
    let e = refusal(&rewrite_index(&x, |r| {
        let last = r.len() - 1;
        assert!(last >= 2 && r[0] != r[last], "{r:?}");
        r.swap(0, last);
    }));
    assert!(e.to_string().contains("does not match the stream's blocks"), "{e}");
    let e = refusal(&rewrite_index(&x, |r| r[1].1 += 1));
    assert!(e.to_string().contains("does not match the stream's blocks"), "{e}");
}

#[test]
fn the_footer_is_held_to_the_index_and_the_header() {
    let (_, x) = blocks();
    let f = x.len() - 12;
    let mut bad = x.clone();
    bad[f + 4] += 1;
    footer_crc(&mut bad);
    assert!(refusal(&bad).to_string().contains("index size is wrong"));
    let mut bad = x.clone();
    bad[f + 9] = 0x01; // CRC-32 in the footer, CRC-64 in the header
    footer_crc(&mut bad);
    assert!(refusal(&bad).to_string().contains("flags differ"));
    let mut bad = x.clone();
    bad[f] ^= 1;
    assert!(refusal(&bad).to_string().contains("footer CRC32"));
}

#[test]
fn headers_are_checked() {
    let (_, x) = blocks();
    // A check type xz(1) could only skip (2: four bytes, not defined).
    let mut bad = x.clone();
    bad[7] = 0x02;
    let crc = CRC32.checksum(&bad[6..8]);
    bad[8..12].copy_from_slice(&crc.to_le_bytes());
    let e = refusal(&bad);
    assert_eq!(e.kind(), io::ErrorKind::Unsupported);
    assert!(e.to_string().contains("check type 2 is not supported"), "{e}");
    // Reserved bits of the first block header's flags.
    let mut bad = x.clone();
    let size = (usize::from(bad[12]) + 1) * 4;
    bad[13] |= 0x04;
    let crc = CRC32.checksum(&bad[12..12 + size - 4]);
    bad[12 + size - 4..12 + size].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(refusal(&bad).kind(), io::ErrorKind::Unsupported);
    // Any flipped header byte fails its CRC-32.
    for at in [6, 13, 12 + size - 1] {
        let mut bad = x.clone();
        bad[at] ^= 0x10;
        assert!(refusal(&bad).to_string().contains("CRC32"), "byte {at}");
    }
}

#[test]
fn stream_padding_is_whole_words_between_and_after_streams() {
    let data = sample();
    let (one, two) = data.split_at(5000);
    let mut x = encode(one, |_| {});
    x.extend([0u8; 8]);
    x.extend(encode(two, |o| o.set_check_sum_type(CheckType::Sha256)));
    x.extend([0u8; 4]);
    assert!(decode(&x).unwrap() == data);
    let mut odd = x.clone();
    odd.push(0);
    assert!(refusal(&odd).to_string().contains("multiple of four"));
    let mut garbage = x.clone();
    garbage.extend(b"not an xz stream");
    assert!(refusal(&garbage).to_string().contains("not another xz stream"));
}

/// xz(1), where it is installed, and this reader agree on every stream it
/// writes and on every single-byte change to one: both decode it to the same
/// bytes, or both refuse it.
#[cfg(unix)]
mod against_xz {
    use std::process::{Command, Stdio};

    use super::*;

    fn xz(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
        use std::io::Write;
        let mut child = Command::new("xz")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("xz(1) must be installed for this test (Debian: xz-utils)");
        let mut stdin = child.stdin.take().expect("piped");
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("xz runs");
        writer.join().expect("writer");
        out.status.success().then_some(out.stdout)
    }

    #[test]
    fn every_stream_xz_writes_decodes_the_same() {
        let data = sample();
        let variants: &[&[&str]] = &[
            &["-6"],
            &["-0", "--check=none"],
            &["-1", "--check=crc32"],
            &["-1", "--check=sha256"],
            &["-1", "-T2", "--block-size=8KiB"],
            &["--x86", "--lzma2=preset=1"],
            &["--delta=dist=2", "--lzma2=preset=1"],
            &["--arm64", "--lzma2=preset=1"],
        ];
        for args in variants {
            let mut cmd = vec!["-c"];
            cmd.extend_from_slice(args);
            let x = xz(&cmd, &data).unwrap_or_else(|| panic!("xz {args:?} failed"));
            assert!(decode(&x).unwrap() == data, "xz {args:?}");
        }
    }

    /// xz(1) with threads writes each block's sizes into its header; a
    /// header that declares other sizes than the block has is refused.
    #[test]
    fn a_block_is_held_to_the_sizes_its_header_declares() {
        let data = sample();
        let x = xz(&["-c", "-1", "-T2", "--block-size=8KiB"], &data).expect("xz compresses");
        let size = (usize::from(x[12]) + 1) * 4;
        assert_eq!(x[13] & 0xc0, 0xc0, "both sizes declared");
        // The last byte of each size: one less there is 128 less in all.
        let mut pos = 14;
        get_vli(&x, &mut pos);
        let compressed_at = pos - 1;
        assert_eq!(get_vli(&x, &mut pos), 8 << 10);
        let uncompressed_at = pos - 1;
        assert!(x[compressed_at] > 1 && x[uncompressed_at] > 1);
        for (at, message) in
            [(compressed_at, "compressed size differs"), (uncompressed_at, "longer than its header declares")]
        {
            let mut bad = x.clone();
            bad[at] -= 1;
            let crc = CRC32.checksum(&bad[12..12 + size - 4]);
            bad[12 + size - 4..12 + size].copy_from_slice(&crc.to_le_bytes());
            assert!(refusal(&bad).to_string().contains(message), "{message}: {}", refusal(&bad));
            assert_eq!(xz(&["-dc"], &bad), None, "xz(1) refuses it too");
        }
    }

    /// A BCJ filter's start offset: both accept it or both refuse it (xz
    /// 5.4 does not know RISC-V, which is left out).
    #[test]
    fn bcj_start_offsets_are_read_alike() {
        let data = sample();
        let filters = [
            FilterType::BcjX86,
            FilterType::BcjPpc,
            FilterType::BcjIa64,
            FilterType::BcjArm,
            FilterType::BcjArmThumb,
            FilterType::BcjSparc,
            FilterType::BcjArm64,
        ];
        let mut refused = 0;
        for filter in filters {
            for start in [0, 1, 2, 4, 8, 16, 24] {
                let x = encode(&data, |o| o.prepend_pre_filter(filter, start));
                let ours = decode(&x).ok();
                assert!(ours == xz(&["-dc"], &x), "{filter:?} at {start}");
                refused += usize::from(ours.is_none());
            }
        }
        assert!(refused > 10, "misaligned offsets were tried");
    }

    /// A fixed sequence of pseudo-random numbers (xorshift).
    fn numbers(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    #[test]
    fn single_byte_changes_are_read_alike() {
        let data = sample();
        let x = xz(&["-c", "-1", "-T2", "--block-size=8KiB"], &data).expect("xz compresses");
        let mut next = numbers(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0;
        for round in 0..300 {
            // Half the changes in the container's first and last 96 bytes.
            let r = next();
            let at = match round % 2 {
                0 if r.is_multiple_of(2) => (r as usize / 2) % 96,
                0 => x.len() - 1 - (r as usize / 2) % 96,
                _ => r as usize % x.len(),
            };
            let mut bad = x.clone();
            bad[at] ^= 1 << (next() % 8);
            let ours = decode(&bad).ok();
            let theirs = xz(&["-dc"], &bad);
            assert!(ours == theirs, "byte {at}: ours {:?}, xz {:?}", ours.map(|o| o.len()), theirs.map(|t| t.len()));
            accepted += usize::from(ours.is_some());
        }
        // A changed byte is almost always caught (a CRC covers every byte
        // but the block padding and stream padding, which must be zero).
        assert!(accepted < 10, "{accepted} changed streams decoded");
    }

    /// The byte ranges of `x` (one stream) that a CRC-32 covers, each with
    /// where its CRC-32 is: the stream header's flags, each block header,
    /// the index and the footer's fields.
    fn crc_regions(x: &[u8]) -> Vec<(std::ops::Range<usize>, usize)> {
        let mut regions = vec![(6..8, 8)];
        let footer = x.len() - 12;
        let backward = u32::from_le_bytes(x[footer + 4..footer + 8].try_into().unwrap());
        let index = footer - (backward as usize + 1) * 4;
        let mut pos = index + 1;
        let count = get_vli(x, &mut pos);
        let mut block = 12;
        for _ in 0..count {
            let unpadded = get_vli(x, &mut pos) as usize;
            get_vli(x, &mut pos);
            let size = (usize::from(x[block]) + 1) * 4;
            regions.push((block..block + size - 4, block + size - 4));
            block += unpadded.next_multiple_of(4);
        }
        assert_eq!(block, index, "the blocks end where the index starts");
        regions.push((index..footer - 4, footer - 4));
        regions.push((footer + 4..footer + 10, footer));
        regions
    }

    /// Changes behind the CRC-32s: a bit of a header, the index or the
    /// footer flipped and its CRC-32 made right again, so that what is
    /// compared is what each reader makes of the fields themselves (sizes,
    /// flags, filters, counts). Both decode it to the same bytes or both
    /// refuse it.
    #[test]
    fn field_changes_behind_a_valid_crc_are_read_alike() {
        let data = sample();
        let x = xz(&["-c", "-1", "-T2", "--block-size=8KiB"], &data).expect("xz compresses");
        let regions = crc_regions(&x);
        assert!(regions.len() > 5, "several blocks");
        let mut next = numbers(0x2545_f491_4f6c_dd1d);
        let mut accepted = 0;
        for _ in 0..300 {
            let (range, crc_at) = regions[next() as usize % regions.len()].clone();
            let at = range.start + next() as usize % range.len();
            let mut bad = x.clone();
            bad[at] ^= 1 << (next() % 8);
            let crc = CRC32.checksum(&bad[range.clone()]);
            bad[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
            let ours = decode(&bad).ok();
            let theirs = xz(&["-dc"], &bad);
            assert!(
                ours == theirs,
                "byte {at} in {range:?}: ours {:?}, xz {:?}",
                ours.map(|o| o.len()),
                theirs.map(|t| t.len())
            );
            accepted += usize::from(ours.is_some());
        }
        // Some changes are harmless to both (a dictionary size that is still
        // large enough, say); most are not.
        assert!(accepted < 150, "{accepted} changed streams decoded");
    }
}
