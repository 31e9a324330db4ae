//! bzip2 mutations: the block-size digit, each block's stored CRC, its
//! randomised bit and origin pointer, its data, the stream's combined CRC,
//! blocks dropped, repeated or swapped, and what follows the last stream.
//! Blocks are bit-aligned, so a stream is handled as bits. After a change to
//! a block, its CRC is recomputed from what libbzip2 makes of that block on
//! its own (it hands out a block's bytes before it compares the CRC), and the
//! stream's combined CRC from the blocks' CRCs, unless the mutation is of a
//! CRC itself.

use crc::{CRC_32_BZIP2, Crc};

use super::{Rng, tail_mutation};

static CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_BZIP2);
const BLOCK_MAGIC: u64 = 0x3141_5926_5359;
const END_MAGIC: u64 = 0x1772_4538_5090;

/// Bits, most significant first, as bzip2 writes them.
#[derive(Clone, Default)]
struct Bits(Vec<bool>);

impl Bits {
    fn from_bytes(bytes: &[u8]) -> Bits {
        Bits(bytes.iter().flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1)).collect())
    }

    fn to_bytes(&self) -> Vec<u8> {
        self.0.chunks(8).map(|c| c.iter().enumerate().fold(0u8, |b, (i, &bit)| b | u8::from(bit) << (7 - i))).collect()
    }

    fn get(&self, at: usize, n: usize) -> u64 {
        self.0[at..at + n].iter().fold(0, |v, &b| v << 1 | u64::from(b))
    }

    fn set(&mut self, at: usize, n: usize, value: u64) {
        for i in 0..n {
            self.0[at + i] = value >> (n - 1 - i) & 1 == 1;
        }
    }

    fn push(&mut self, n: usize, value: u64) {
        for i in (0..n).rev() {
            self.0.push(value >> i & 1 == 1);
        }
    }
}

/// One stream: its byte range, level digit, blocks (bit ranges from their
/// magic) and the bit where its end marker starts.
struct Stream {
    bytes: std::ops::Range<usize>,
    bits: Bits,
    blocks: Vec<std::ops::Range<usize>>,
    end: usize,
}

/// The streams of a bzip2 file, as far as they are found.
fn streams(bytes: &[u8]) -> Vec<Stream> {
    let mut out = Vec::new();
    let mut pos = 0;
    while bytes.len() >= pos + 14 && bytes[pos..pos + 3] == *b"BZh" {
        // The stream ends at the end marker's CRC, padded to a byte; find the
        // markers bit by bit.
        let rest = Bits::from_bytes(&bytes[pos..]);
        let mut marks = Vec::new();
        let mut end = None;
        let mut at = 32;
        while at + 48 <= rest.0.len() {
            match rest.get(at, 48) {
                BLOCK_MAGIC => {
                    marks.push(at);
                    at += 48;
                }
                END_MAGIC => {
                    end = Some(at);
                    break;
                }
                _ => at += 1,
            }
        }
        let Some(end) = end else { break };
        let stream_bits = (end + 48 + 32).next_multiple_of(8);
        if stream_bits > rest.0.len() {
            break;
        }
        let blocks = marks.iter().enumerate().map(|(i, &m)| m..marks.get(i + 1).copied().unwrap_or(end)).collect();
        let bits = Bits(rest.0[..stream_bits].to_vec());
        out.push(Stream { bytes: pos..pos + stream_bits / 8, bits, blocks, end });
        pos += stream_bits / 8;
    }
    out
}

impl Stream {
    /// The stream with these blocks (bit ranges of `self.bits`), in this
    /// order, and its combined CRC recomputed from their stored CRCs.
    fn rebuild(&self, blocks: &[std::ops::Range<usize>]) -> Vec<u8> {
        let mut bits = Bits(self.bits.0[..32].to_vec());
        let mut combined = 0u32;
        for b in blocks {
            let crc = self.bits.get(b.start + 48, 32) as u32;
            combined = combined.rotate_left(1) ^ crc;
            bits.0.extend_from_slice(&self.bits.0[b.clone()]);
        }
        bits.push(48, END_MAGIC);
        bits.push(32, u64::from(combined));
        while !bits.0.len().is_multiple_of(8) {
            bits.0.push(false);
        }
        bits.to_bytes()
    }

    /// What libbzip2 decodes block `b` to, on its own in a stream of one
    /// block: its bytes, whether or not its stored CRC is right.
    fn block_output(&self, b: &std::ops::Range<usize>) -> Vec<u8> {
        let one = Stream { bytes: 0..0, bits: self.bits.clone(), blocks: vec![b.clone()], end: 0 };
        let input = one.rebuild(std::slice::from_ref(b));
        let mut d = bzip2::Decompress::new(false);
        let mut out = Vec::with_capacity(1 << 20);
        loop {
            let before = (d.total_in(), d.total_out());
            match d.decompress_vec(&input[d.total_in() as usize..], &mut out) {
                Ok(bzip2::Status::StreamEnd) | Err(_) => return out,
                Ok(_) => {}
            }
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            } else if (d.total_in(), d.total_out()) == before {
                return out;
            }
            if out.len() > 64 << 20 {
                return out;
            }
        }
    }
}

/// Applies one mutation; says what it did.
pub fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    let list = streams(bytes);
    // A block shorter than its fixed fields is a magic number found by
    // chance inside changed data: such a stream is not taken apart.
    let whole = list.iter().all(|s| s.blocks.iter().all(|b| b.len() > 106));
    if list.is_empty() || !whole || rng.chance(1, 10) {
        return tail_mutation(rng, bytes, b"BZh9");
    }
    let si = rng.below(list.len());
    let s = &list[si];
    let n = s.blocks.len();
    let mut s_bits = s.bits.clone();
    let mut order: Vec<std::ops::Range<usize>> = s.blocks.clone();
    let note = match rng.below(10) {
        0 => {
            let digit = b"0123456789A"[rng.below(11)];
            bytes[s.bytes.start + 3] = digit;
            return format!("stream {si}: block size digit {}", digit as char);
        }
        1 if n > 0 => {
            // A stored block CRC changed; the combined CRC made to agree.
            let b = &s.blocks[rng.below(n)];
            let crc = s_bits.get(b.start + 48, 32) ^ (1 << rng.below(32));
            s_bits.set(b.start + 48, 32, crc);
            "a block's stored CRC changed (the stream's CRC agrees)".to_string()
        }
        2 => {
            let at = s.end + 48 + rng.below(32);
            let mut bits = s.bits.clone();
            bits.0[at] = !bits.0[at];
            bytes.splice(s.bytes.clone(), bits.to_bytes());
            return format!("stream {si}: combined CRC wrong");
        }
        3..=5 if n > 0 => {
            // The randomised bit, the origin pointer or a data bit of a
            // block; its CRC recomputed from what it now decodes to.
            let bi = rng.below(n);
            let b = s.blocks[bi].clone();
            let (at, what) = match rng.below(3) {
                0 => (b.start + 80, "randomised bit".to_string()),
                1 => (b.start + 81 + rng.below(24), "origin pointer bit".to_string()),
                _ => {
                    let at = b.start + 105 + rng.below(b.len().saturating_sub(105).max(1));
                    (at.min(b.end - 1), "data bit".to_string())
                }
            };
            s_bits.0[at] = !s_bits.0[at];
            let changed = Stream { bytes: 0..0, bits: s_bits.clone(), blocks: vec![b.clone()], end: 0 };
            let out = changed.block_output(&b);
            s_bits.set(b.start + 48, 32, u64::from(CRC.checksum(&out)));
            format!("block {bi}: {what} {} flipped, CRCs recomputed", at - b.start)
        }
        6 if n > 1 => {
            order.swap(0, n - 1);
            "first and last blocks swapped".to_string()
        }
        7 if n > 0 => {
            let b = order[rng.below(n)].clone();
            order.push(b);
            "a block repeated at the end".to_string()
        }
        8 if n > 0 => {
            order.remove(rng.below(n));
            "a block dropped".to_string()
        }
        _ => {
            // An empty stream after this one (bzip2 writes one for empty input).
            let empty = [0x42, 0x5a, 0x68, 0x39, 0x17, 0x72, 0x45, 0x38, 0x50, 0x90, 0, 0, 0, 0];
            bytes.splice(s.bytes.end..s.bytes.end, empty);
            return format!("stream {si}: an empty stream after it");
        }
    };
    let changed = Stream { bytes: s.bytes.clone(), bits: s_bits, blocks: s.blocks.clone(), end: s.end };
    bytes.splice(s.bytes.clone(), changed.rebuild(&order));
    format!("stream {si}: {note}")
}
