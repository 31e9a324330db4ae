//! xz mutations (the .xz file format 1.2.1): the stream flags, block
//! header fields (sizes, filter properties, reserved bits, padding), block
//! data and checks, index records, the footer, stream padding, and what
//! follows the last stream. The CRC-32s of the headers, the index and the
//! footer are recomputed after a change to what they cover, and a block's
//! check after a change to its data (from what `xz -dc --ignore-check` makes
//! of the changed file), unless the mutation is of a CRC or check itself.

use crc::{CRC_32_ISO_HDLC, CRC_64_XZ, Crc};
use sha2::Digest as _;

use super::{Rng, flip_bit, run_tool, tail_mutation};

static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
static CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_XZ);
const MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];

struct Block {
    header: usize,
    header_size: usize,
    data: usize,
    /// Where the check starts (after the data and its padding).
    check: usize,
    unpadded: usize,
    uncompressed: u64,
}

struct Stream {
    start: usize,
    blocks: Vec<Block>,
    index: usize,
    footer: usize,
    check_size: usize,
}

fn vli(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..9 {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn put_vli(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn check_size(flags: u8) -> usize {
    match flags & 0x0f {
        0 => 0,
        c => 4 << ((c - 1) / 3),
    }
}

/// The streams of an xz file, found from its end, as far as they parse.
fn streams(bytes: &[u8]) -> Vec<Stream> {
    let mut out = Vec::new();
    let mut end = bytes.len();
    while let Some(s) = stream_ending(bytes, &mut end) {
        out.push(s);
    }
    out.reverse();
    out
}

/// The stream that ends at `end` (after any stream padding), if one parses;
/// `end` is moved to its start.
fn stream_ending(bytes: &[u8], end: &mut usize) -> Option<Stream> {
    while *end >= 4 && bytes[*end - 4..*end] == [0; 4] {
        *end -= 4;
    }
    if *end < 24 || bytes[*end - 2..*end] != *b"YZ" {
        return None;
    }
    let footer = *end - 12;
    let backward = u32::from_le_bytes(bytes[footer + 4..footer + 8].try_into().expect("4 bytes"));
    let index = footer.checked_sub((backward as usize + 1) * 4)?;
    let check = check_size(bytes[footer + 9]);
    let mut pos = index + 1;
    let count = vli(bytes, &mut pos)?;
    let mut records = Vec::new();
    for _ in 0..count.min(10_000) {
        records.push((usize::try_from(vli(bytes, &mut pos)?).ok()?, vli(bytes, &mut pos)?));
    }
    let total = records.iter().try_fold(0usize, |t, (u, _)| t.checked_add(u.checked_next_multiple_of(4)?))?;
    let start = index.checked_sub(total.checked_add(12)?)?;
    if bytes.get(start..start + 6)? != MAGIC {
        return None;
    }
    let mut blocks = Vec::new();
    let mut at = start + 12;
    for (unpadded, uncompressed) in records {
        let header_size = (usize::from(*bytes.get(at)?) + 1) * 4;
        let padded = unpadded.next_multiple_of(4);
        if header_size < 8 || header_size + check > padded || at + padded > index {
            return None;
        }
        let check_at = at + padded - check;
        blocks.push(Block { header: at, header_size, data: at + header_size, check: check_at, unpadded, uncompressed });
        at += padded;
    }
    *end = start;
    Some(Stream { start, blocks, index, footer, check_size: check })
}

fn fix_crc32(bytes: &mut [u8], covered: std::ops::Range<usize>, at: usize) {
    let crc = CRC32.checksum(&bytes[covered]);
    bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// The index records of the stream whose index starts at `index`.
fn records(bytes: &[u8], index: usize) -> Vec<(u64, u64)> {
    let mut pos = index + 1;
    let count = vli(bytes, &mut pos).unwrap_or(0);
    (0..count.min(10_000)).map_while(|_| Some((vli(bytes, &mut pos)?, vli(bytes, &mut pos)?))).collect()
}

/// Writes `records` as the index between `index` and `footer` (the
/// footer's start), with its padding and CRC-32, and the footer's backward
/// size and CRC-32 to match.
fn rewrite_index(bytes: &mut Vec<u8>, index: usize, footer: usize, records: &[(u64, u64)]) {
    let mut new = vec![0u8];
    put_vli(&mut new, records.len() as u64);
    for (u, c) in records {
        put_vli(&mut new, *u);
        put_vli(&mut new, *c);
    }
    while new.len() % 4 != 0 {
        new.push(0);
    }
    new.extend(CRC32.checksum(&new).to_le_bytes());
    let backward = (new.len() / 4 - 1) as u32;
    let len = new.len();
    bytes.splice(index..footer, new);
    let footer = index + len;
    bytes[footer + 4..footer + 8].copy_from_slice(&backward.to_le_bytes());
    fix_crc32(bytes, footer + 4..footer + 10, footer);
}

/// Recomputes a block's check from xz(1)'s reading of the file (without
/// checks): the block's share of the output, where it has one.
fn fix_check(bytes: &mut [u8], s: &Stream, b: usize) {
    let Ok(out) = run_tool("xz", &["-dc", "--ignore-check", "-q"], bytes) else { return };
    let offset: u64 = streams(bytes)
        .iter()
        .take_while(|t| t.start < s.start)
        .flat_map(|t| t.blocks.iter().map(|b| b.uncompressed))
        .sum::<u64>()
        + s.blocks[..b].iter().map(|b| b.uncompressed).sum::<u64>();
    let (start, len) = (offset as usize, s.blocks[b].uncompressed as usize);
    let Some(data) = out.get(start..start + len) else { return };
    let value: Vec<u8> = match bytes[s.footer + 9] & 0x0f {
        1 => CRC32.checksum(data).to_le_bytes().to_vec(),
        4 => CRC64.checksum(data).to_le_bytes().to_vec(),
        10 => sha2::Sha256::digest(data).to_vec(),
        _ => return,
    };
    let at = s.blocks[b].check;
    bytes[at..at + value.len()].copy_from_slice(&value);
}

/// Applies one mutation; says what it did.
pub fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    let list = streams(bytes);
    if list.is_empty() || rng.chance(1, 10) {
        return tail_mutation(rng, bytes, &MAGIC);
    }
    let si = rng.below(list.len());
    let s = &list[si];
    let blocks = s.blocks.len();
    match rng.below(13) {
        0 => {
            // The check type, in the header or the footer or both.
            let check = [0u8, 1, 2, 4, 7, 10, 13, 0x10][rng.below(8)];
            let both = rng.chance(1, 2);
            bytes[s.start + 7] = check;
            fix_crc32(bytes, s.start + 6..s.start + 8, s.start + 8);
            if both {
                bytes[s.footer + 9] = check;
                fix_crc32(bytes, s.footer + 4..s.footer + 10, s.footer);
            }
            format!("stream {si}: check type {check} in the header{}", if both { " and the footer" } else { "" })
        }
        1..=3 if blocks > 0 => {
            let bi = rng.below(blocks);
            let b = &s.blocks[bi];
            let body = b.header..b.header + b.header_size - 4;
            let at = match rng.below(4) {
                0 => b.header + 1,                                // flags: filter count, reserved bits, sizes present
                1 => b.header + 2 + rng.below(b.header_size - 6), // sizes, filter flags, padding
                2 => b.header + b.header_size - 5, // the last byte before the CRC (padding or properties)
                _ => b.header,                     // the header size
            };
            bytes[at] ^= 1 << rng.below(8);
            fix_crc32(bytes, body, b.header + b.header_size - 4);
            format!("stream {si} block {bi}: header byte {} changed, CRC-32 recomputed", at - b.header)
        }
        4 | 5 if blocks > 0 => {
            let bi = rng.below(blocks);
            let b = &s.blocks[bi];
            let note = flip_bit(rng, bytes, b.data..b.check);
            fix_check(bytes, s, bi);
            format!("stream {si} block {bi}: data {note}, check recomputed")
        }
        6 if blocks > 0 && s.check_size > 0 => {
            let b = &s.blocks[rng.below(blocks)];
            bytes[b.check + rng.below(s.check_size)] ^= 1 << rng.below(8);
            format!("stream {si}: a block's check wrong")
        }
        7 | 8 => {
            // The index, rewritten with one record or the count changed.
            let mut records = records(bytes, s.index);
            let what = match rng.below(4) {
                0 if !records.is_empty() => {
                    let r = rng.below(records.len());
                    records[r].1 = records[r].1.wrapping_add([1, u64::MAX, 4096][rng.below(3)]);
                    "an uncompressed size changed"
                }
                1 if !records.is_empty() => {
                    let r = rng.below(records.len());
                    records[r].0 = records[r].0.wrapping_add([1, u64::MAX, 4][rng.below(3)]);
                    "an unpadded size changed"
                }
                2 if records.len() > 1 => {
                    let last = records.len() - 1;
                    records.swap(0, last);
                    "the first and last records swapped"
                }
                _ => {
                    records.push(records.last().copied().unwrap_or((100, 100)));
                    "a record added"
                }
            };
            rewrite_index(bytes, s.index, s.footer, &records);
            format!("stream {si}: index: {what}, CRCs and the footer's size recomputed")
        }
        11 if blocks > 0 => {
            // A block header rewritten with its sizes stated or not (right,
            // or one off), and the index's record and every CRC to match.
            let bi = rng.below(blocks);
            let b = &s.blocks[bi];
            let header = bytes[b.header..b.header + b.header_size - 4].to_vec();
            let flags = header[1];
            let mut pos = 2;
            for present in [0x40, 0x80] {
                if flags & present != 0 {
                    vli(&header, &mut pos);
                }
            }
            let filters_start = pos;
            for _ in 0..=(flags & 3) {
                vli(&header, &mut pos);
                pos += vli(&header, &mut pos).unwrap_or(0) as usize;
            }
            let Some(filters) = header.get(filters_start..pos).map(<[u8]>::to_vec) else {
                return format!("stream {si} block {bi}: header left alone (its filters do not parse)");
            };
            let compressed = (b.unpadded - b.header_size - s.check_size) as u64;
            let state = rng.below(4) as u8;
            let mut off = || [0u64, 0, 0, 1, u64::MAX][rng.below(5)];
            let mut new = vec![0u8, (flags & 3) | state << 6];
            let (c_off, u_off) = (off(), off());
            if state & 1 != 0 {
                put_vli(&mut new, compressed.wrapping_add(c_off));
            }
            if state & 2 != 0 {
                put_vli(&mut new, b.uncompressed.wrapping_add(u_off));
            }
            new.extend(&filters);
            while new.len() % 4 != 0 {
                new.push(0);
            }
            new[0] = (new.len() / 4) as u8; // (size with the CRC) / 4 - 1
            new.extend(CRC32.checksum(&new).to_le_bytes());
            let delta = new.len() as isize - b.header_size as isize;
            let mut records = records(bytes, s.index);
            if let Some(r) = records.get_mut(bi) {
                r.0 = (r.0 as isize + delta) as u64;
            }
            bytes.splice(b.header..b.header + b.header_size, new.iter().copied());
            let (index, footer) = ((s.index as isize + delta) as usize, (s.footer as isize + delta) as usize);
            rewrite_index(bytes, index, footer, &records);
            format!(
                "stream {si} block {bi}: header rewritten stating sizes {state:#04b} (off by {c_off} and {u_off}), \
                 index and CRCs to match"
            )
        }
        9 => {
            let at = s.footer + 4 + rng.below(6);
            bytes[at] ^= 1 << rng.below(8);
            fix_crc32(bytes, s.footer + 4..s.footer + 10, s.footer);
            format!("stream {si}: footer byte {} changed, CRC-32 recomputed", at - s.footer)
        }
        10 => {
            let n = [1, 2, 4, 8, 12][rng.below(5)];
            let at = if rng.chance(1, 2) { s.footer + 12 } else { s.start };
            bytes.splice(at..at, std::iter::repeat_n(0u8, n));
            format!("{n} bytes of stream padding at {at}")
        }
        _ => {
            let at = s.start + 6 + rng.below(6);
            bytes[at] ^= 1 << rng.below(8);
            format!("stream {si}: header byte {} changed, CRC-32 not recomputed", at - s.start)
        }
    }
}
