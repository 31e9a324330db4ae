//! zstd frames built field by field (RFC 8878), for tests that need a
//! header field, a block or a checksum no encoder would write: a reserved
//! bit, a dictionary ID, a content size that is not the content's, a block
//! over the maximum, a match that reaches past the window.
//!
//! Blocks are raw, RLE, compressed blocks of literals only (raw or RLE
//! literals, no sequences), or compressed blocks of literals and repeated
//! sequences whose three codes are each given in RLE mode, so that their
//! bitstream holds only the offsets' extra bits. That is enough to reach
//! every check a decoder makes outside the entropy coding itself.

/// XXH64 of `data` with seed 0 (zstd's content checksum is its low 32 bits).
pub fn xxh64(data: &[u8]) -> u64 {
    const P1: u64 = 0x9e37_79b1_85eb_ca87;
    const P2: u64 = 0xc2b2_ae3d_27d4_eb4f;
    const P3: u64 = 0x1656_67b1_9e37_79f9;
    const P4: u64 = 0x85eb_ca77_c2b2_ae63;
    const P5: u64 = 0x27d4_eb2f_1656_67c5;
    let word = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let round = |acc: u64, input: u64| acc.wrapping_add(input.wrapping_mul(P2)).rotate_left(31).wrapping_mul(P1);
    let mut rest = data;
    let mut h = if data.len() >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        while rest.len() >= 32 {
            for (i, lane) in v.iter_mut().enumerate() {
                *lane = round(*lane, word(&rest[8 * i..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0].rotate_left(1).wrapping_add(v[1].rotate_left(7)).wrapping_add(v[2].rotate_left(12));
        h = h.wrapping_add(v[3].rotate_left(18));
        for lane in v {
            h = (h ^ round(0, lane)).wrapping_mul(P1).wrapping_add(P4);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(data.len() as u64);
    while rest.len() >= 8 {
        h = (h ^ round(0, word(rest))).rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        let w = u64::from(u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")));
        h = (h ^ w.wrapping_mul(P1)).rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        h = (h ^ u64::from(b).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// One block of a [`ZstdFrame`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZstdBlock {
    /// A raw block: these bytes, stored.
    Raw(Vec<u8>),
    /// An RLE block: the byte, repeated this many times.
    Rle(u8, u32),
    /// A compressed block of raw literals and no sequences.
    Literals(Vec<u8>),
    /// A compressed block of RLE literals (the byte, this many times) and no
    /// sequences.
    RleLiterals(u8, u32),
    /// A compressed block: raw literals, then `count` equal sequences, each
    /// `literals` (0 to 15) literals and then a match of `length` (3 to 34)
    /// bytes at `offset_value` (the format's `Offset_Value`: 1 to 3 name a
    /// repeat offset, `offset + 3` a new one).
    Sequences {
        /// The literals section.
        literals: Vec<u8>,
        /// Literals per sequence.
        literal_length: u8,
        /// Match length per sequence.
        match_length: u8,
        /// `Offset_Value` per sequence.
        offset_value: u32,
        /// How many sequences (at most 127).
        count: u8,
    },
    /// A block of the reserved type, with these bytes.
    Reserved(Vec<u8>),
    /// A compressed block with this content, taken as is.
    CompressedRaw(Vec<u8>),
}

/// The content checksum a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZstdChecksum {
    /// No checksum (the flag is clear).
    None,
    /// The right one, computed from the content.
    Right,
    /// These four bytes.
    Value(u32),
}

/// A zstd frame, field by field. The defaults ([`ZstdFrame::new`]) are a
/// 128 KiB window, no content size, no dictionary ID, no checksum.
#[derive(Clone, Debug)]
pub struct ZstdFrame {
    /// The `Window_Descriptor` byte, or `None` for a single-segment frame
    /// (whose window is its content size).
    pub window_descriptor: Option<u8>,
    /// The declared content size, if any.
    pub content_size: Option<u64>,
    /// The content size field's width (1, 2, 4 or 8 bytes; 1 only for a
    /// single-segment frame), or `None` for the smallest that fits.
    pub content_size_width: Option<usize>,
    /// The dictionary ID and its field's width (1, 2 or 4 bytes).
    pub dictionary: Option<(u32, usize)>,
    /// The content checksum.
    pub checksum: ZstdChecksum,
    /// The frame header descriptor's reserved bit (3).
    pub reserved_bit: bool,
    /// The frame header descriptor's unused bit (4).
    pub unused_bit: bool,
    /// The blocks; the last one is marked last.
    pub blocks: Vec<ZstdBlock>,
}

impl ZstdFrame {
    /// A frame of these blocks with the defaults.
    pub fn new(blocks: Vec<ZstdBlock>) -> ZstdFrame {
        ZstdFrame {
            window_descriptor: Some(7 << 3),
            content_size: None,
            content_size_width: None,
            dictionary: None,
            checksum: ZstdChecksum::None,
            reserved_bit: false,
            unused_bit: false,
            blocks,
        }
    }

    /// A frame of `data` in raw blocks of at most 128 KiB and a window of
    /// `2^window_log` bytes.
    pub fn raw(data: &[u8], window_log: u8) -> ZstdFrame {
        assert!((10..=41).contains(&window_log));
        let max = (1usize << window_log.min(17)).min(128 << 10);
        let mut blocks: Vec<ZstdBlock> = data.chunks(max).map(|c| ZstdBlock::Raw(c.to_vec())).collect();
        if blocks.is_empty() {
            blocks.push(ZstdBlock::Raw(Vec::new()));
        }
        let mut frame = ZstdFrame::new(blocks);
        frame.window_descriptor = Some((window_log - 10) << 3);
        frame
    }

    /// What the blocks decode to, as far as this builder knows it
    /// (`CompressedRaw` and `Reserved` blocks count as nothing).
    pub fn content(&self) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        for block in &self.blocks {
            match block {
                ZstdBlock::Raw(d) | ZstdBlock::Literals(d) => out.extend_from_slice(d),
                ZstdBlock::Rle(b, n) | ZstdBlock::RleLiterals(b, n) => out.extend(std::iter::repeat_n(*b, *n as usize)),
                ZstdBlock::Sequences { literals, literal_length, match_length, offset_value, count } => {
                    let mut lit = literals.iter();
                    let mut r = [1usize, 4, 8];
                    for _ in 0..*count {
                        out.extend(lit.by_ref().take(usize::from(*literal_length)));
                        // Repeat offsets (RFC 8878, 3.1.2.5): with no literals
                        // before the match, the codes name the next one along.
                        let offset = match (*offset_value, *literal_length > 0) {
                            (1, true) => r[0],
                            (2, true) | (1, false) => {
                                r = [r[1], r[0], r[2]];
                                r[0]
                            }
                            (3, true) | (2, false) => {
                                r = [r[2], r[0], r[1]];
                                r[0]
                            }
                            (3, false) => {
                                r = [r[0].saturating_sub(1), r[0], r[1]];
                                r[0]
                            }
                            (v, _) => {
                                r = [v as usize - 3, r[0], r[1]];
                                r[0]
                            }
                        };
                        for _ in 0..*match_length {
                            let Some(&b) = out.len().checked_sub(offset).and_then(|at| out.get(at)) else { break };
                            out.push(b);
                        }
                    }
                    out.extend(lit);
                }
                ZstdBlock::Reserved(_) | ZstdBlock::CompressedRaw(_) => {}
            }
        }
        out
    }

    /// The frame's bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut descriptor = 0u8;
        let single = self.window_descriptor.is_none();
        let size_width = self.content_size.map(|size| {
            self.content_size_width.unwrap_or(match size {
                0..=255 if single => 1,
                256..=65_791 => 2,
                0..=0xffff_ffff => 4,
                _ => 8,
            })
        });
        descriptor |= match size_width {
            None | Some(1) => 0,
            Some(2) => 1 << 6,
            Some(4) => 2 << 6,
            Some(_) => 3 << 6,
        };
        descriptor |= u8::from(single) << 5 | u8::from(self.unused_bit) << 4 | u8::from(self.reserved_bit) << 3;
        descriptor |= u8::from(self.checksum != ZstdChecksum::None) << 2;
        descriptor |= match self.dictionary {
            None => 0,
            Some((_, 1)) => 1,
            Some((_, 2)) => 2,
            Some(_) => 3,
        };
        let mut out = 0xfd2f_b528u32.to_le_bytes().to_vec();
        out.push(descriptor);
        out.extend(self.window_descriptor);
        if let Some((id, width)) = self.dictionary {
            out.extend_from_slice(&id.to_le_bytes()[..width]);
        }
        if let (Some(size), Some(width)) = (self.content_size, size_width) {
            let value = if width == 2 { size - 256 } else { size };
            out.extend_from_slice(&value.to_le_bytes()[..width]);
        }
        let last = self.blocks.len().saturating_sub(1);
        for (i, block) in self.blocks.iter().enumerate() {
            let (kind, size, body) = match block {
                ZstdBlock::Raw(d) => (0, d.len(), d.clone()),
                ZstdBlock::Rle(b, n) => (1, *n as usize, vec![*b]),
                ZstdBlock::Reserved(d) => (3, d.len(), d.clone()),
                compressed => {
                    let body = compressed_body(compressed);
                    (2, body.len(), body)
                }
            };
            let header = (size as u32) << 3 | kind << 1 | u32::from(i == last);
            out.extend_from_slice(&header.to_le_bytes()[..3]);
            out.extend(body);
        }
        match self.checksum {
            ZstdChecksum::None => {}
            ZstdChecksum::Right => out.extend((xxh64(&self.content()) as u32).to_le_bytes()),
            ZstdChecksum::Value(v) => out.extend(v.to_le_bytes()),
        }
        out
    }
}

/// A literals section header of `kind` (0 raw, 1 RLE) for `n` literals.
fn literals_header(kind: u32, n: u32) -> Vec<u8> {
    match n {
        0..=31 => vec![(n << 3 | kind) as u8],
        32..=4095 => (n << 4 | 1 << 2 | kind).to_le_bytes()[..2].to_vec(),
        _ => (n << 4 | 3 << 2 | kind).to_le_bytes()[..3].to_vec(),
    }
}

/// The content of a compressed block.
fn compressed_body(block: &ZstdBlock) -> Vec<u8> {
    match block {
        ZstdBlock::Literals(d) => {
            let mut out = literals_header(0, d.len() as u32);
            out.extend_from_slice(d);
            out.push(0); // no sequences
            out
        }
        ZstdBlock::RleLiterals(b, n) => {
            let mut out = literals_header(1, *n);
            out.extend([*b, 0]);
            out
        }
        ZstdBlock::Sequences { literals, literal_length, match_length, offset_value, count } => {
            assert!(*literal_length < 16 && (3..=34).contains(match_length) && *offset_value > 0 && *count < 128);
            let mut out = literals_header(0, literals.len() as u32);
            out.extend_from_slice(literals);
            let offset_code = 31 - offset_value.leading_zeros();
            // The three symbols in RLE mode: the literal length and match
            // length codes carry no extra bits here, the offset code carries
            // `offset_code` of them.
            out.extend([*count, 1 << 6 | 1 << 4 | 1 << 2, *literal_length, offset_code as u8, match_length - 3]);
            // The bitstream is read backwards from its last bit set: each
            // sequence's offset bits, written here in reverse order.
            let (mut acc, mut bits) = (0u128, 0u32);
            for _ in 0..*count {
                acc |= u128::from(offset_value - (1 << offset_code)) << bits;
                bits += offset_code;
                assert!(bits < 120, "too many offset bits for this builder");
            }
            acc |= 1 << bits;
            out.extend_from_slice(&acc.to_le_bytes()[..(bits as usize + 8) / 8]);
            out
        }
        ZstdBlock::CompressedRaw(d) => d.clone(),
        ZstdBlock::Raw(_) | ZstdBlock::Rle(..) | ZstdBlock::Reserved(_) => unreachable!("not a compressed block"),
    }
}

/// A zstd skippable frame holding `payload`.
pub fn zstd_skippable(payload: &[u8]) -> Vec<u8> {
    let mut out = 0x184d_2a53u32.to_le_bytes().to_vec();
    out.extend((payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A zstd frame built by hand: a frame header declaring a window of
/// `2^window_log` bytes, no content size and no checksum, then `data` in raw
/// (stored) blocks. Lets a test declare any window without allocating it.
pub fn zstd_raw(data: &[u8], window_log: u8) -> Vec<u8> {
    ZstdFrame::raw(data, window_log).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_matches_known_values() {
        // XXH64 with seed 0; the low 32 bits of each are what `zstd --check`
        // writes after the same input.
        assert_eq!(xxh64(b""), 0xef46_db37_51d8_e999);
        assert_eq!(xxh64(b"a"), 0xd24e_c4f1_a98c_6e5b);
        assert_eq!(xxh64(b"abc"), 0x44bc_2cf5_ad77_0999);
        assert_eq!(xxh64(b"Nobody inspects the spammish repetition"), 0xfbce_a83c_8a37_8bf1);
    }

    #[test]
    fn raw_frames_match_the_old_builder() {
        // The layout zstd_raw always had: magic, descriptor 0, window byte,
        // 3-byte block headers.
        let f = zstd_raw(b"abc", 17);
        assert_eq!(f, [0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3, 3 << 3 | 1, 0, 0, b'a', b'b', b'c']);
    }
}
