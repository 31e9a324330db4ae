//! zstd mutations (RFC 8878): the frame header descriptor's bits, the
//! window descriptor, a dictionary ID, the content size (its value and its
//! width), block headers (type, size, last flag), block contents, skippable
//! frames, and what follows the last frame. The content checksum is
//! recomputed (from what `zstd -dc --no-check` makes of the changed frame)
//! unless the mutation is of the checksum itself.

use super::{Rng, flip_bit, run_tool, tail_mutation};

const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A frame's layout.
struct Frame {
    start: usize,
    descriptor: usize,
    /// The header's end (the first block header).
    header_end: usize,
    /// Each block: its header's offset, type and size.
    blocks: Vec<(usize, u8, usize)>,
    /// Where the checksum is, if there is one.
    checksum: Option<usize>,
    end: usize,
}

fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 6 <= bytes.len() {
        if bytes[pos + 1..pos + 4] == [0x2a, 0x4d, 0x18] && bytes[pos] & 0xf0 == 0x50 {
            let len = u32::from_le_bytes(bytes[pos + 4..pos + 8.min(bytes.len() - pos)].try_into().unwrap_or([0; 4]));
            pos += 8 + len as usize;
            continue;
        }
        if bytes[pos..pos + 4] != MAGIC {
            break;
        }
        let d = bytes[pos + 4];
        let single = d & 0x20 != 0;
        let fcs = match d >> 6 {
            0 => usize::from(single),
            f => 1 << f,
        };
        let header_end = pos + 5 + usize::from(!single) + [0, 1, 2, 4][usize::from(d & 3)] + fcs;
        let mut at = header_end;
        let mut blocks = Vec::new();
        loop {
            let Some(h) = bytes.get(at..at + 3) else { return out };
            let v = u32::from_le_bytes([h[0], h[1], h[2], 0]);
            let kind = ((v >> 1) & 3) as u8;
            let size = (v >> 3) as usize;
            blocks.push((at, kind, size));
            at += 3 + if kind == 1 { 1 } else { size };
            if v & 1 != 0 {
                break;
            }
        }
        let checksum = (d & 4 != 0).then_some(at);
        let end = at + if d & 4 != 0 { 4 } else { 0 };
        if end > bytes.len() {
            break;
        }
        out.push(Frame { start: pos, descriptor: pos + 4, header_end, blocks, checksum, end });
        pos = end;
    }
    out
}

/// Recomputes the checksum of the frame at `start` (after a change) from
/// zstd(1)'s reading of it without its checksum, when it reads it.
fn fix_checksum(bytes: &mut [u8], start: usize) {
    let Some(f) = frames(&bytes[start..]).into_iter().next() else { return };
    let Some(at) = f.checksum else { return };
    let frame = &bytes[start..start + f.end];
    if let Ok(out) = run_tool("zstd", &["-dc", "--no-check", "-q"], frame) {
        let sum = sealtar_testkit::xxh64(&out) as u32;
        bytes[start + at..start + at + 4].copy_from_slice(&sum.to_le_bytes());
    }
}

/// Rewrites the header of frame `f` with its content size field replaced
/// by `value` in `width` bytes (`None`: no content size).
fn set_content_size(bytes: &mut Vec<u8>, f: &Frame, value: Option<(u64, usize)>) {
    let d = bytes[f.descriptor];
    let single = d & 0x20 != 0;
    let fields_start = f.descriptor + 1 + usize::from(!single) + [0, 1, 2, 4][usize::from(d & 3)];
    let (flag, field) = match value {
        None if single => return,
        None => (0, Vec::new()),
        Some((v, w)) => {
            let flag = match w {
                1 if single => 0,
                2 => 1,
                4 => 2,
                _ => 3,
            };
            let w = if w == 1 && !single { 8 } else { w };
            let stored = if w == 2 { v.wrapping_sub(256) } else { v };
            (flag, stored.to_le_bytes()[..w].to_vec())
        }
    };
    bytes[f.descriptor] = (d & 0x3f) | flag << 6;
    bytes.splice(fields_start..f.header_end, field);
}

/// Applies one mutation; says what it did.
pub fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    let list = frames(bytes);
    if list.is_empty() || rng.chance(1, 10) {
        return tail_mutation(rng, bytes, &MAGIC);
    }
    let i = rng.below(list.len());
    let f = &list[i];
    let note = match rng.below(13) {
        0 => {
            bytes[f.descriptor] |= 0x08;
            format!("frame {i}: reserved bit set")
        }
        1 => {
            bytes[f.descriptor] ^= 0x10;
            format!("frame {i}: unused bit toggled")
        }
        2 => {
            bytes[f.descriptor] ^= 0x04;
            format!("frame {i}: checksum flag toggled")
        }
        3 if bytes[f.descriptor] & 0x20 == 0 => {
            let at = f.descriptor + 1;
            let old = bytes[at];
            bytes[at] = match rng.below(3) {
                0 => old.saturating_add(8),
                1 => old.saturating_sub(8),
                _ => rng.below(256) as u8,
            };
            format!("frame {i}: window descriptor {old:#x} -> {:#x}", bytes[at])
        }
        4 => {
            // A dictionary ID field, 0 or not.
            let d = bytes[f.descriptor];
            let width = [1usize, 2, 4][rng.below(3)];
            let id: u32 = if rng.chance(1, 2) { 0 } else { 1 + rng.below(1000) as u32 };
            let at = f.descriptor + 1 + usize::from(d & 0x20 == 0);
            let old = [0, 1, 2, 4][usize::from(d & 3)];
            bytes.splice(at..at + old, id.to_le_bytes()[..width].to_vec());
            bytes[f.descriptor] = (d & !3) | [0, 1, 2, 0, 3][width];
            format!("frame {i}: dictionary ID {id} in {width} bytes")
        }
        5 | 6 => {
            let actual = run_tool("zstd", &["-dc", "--no-check", "-q"], &bytes[f.start..f.end]).map(|o| o.len() as u64);
            let base = actual.clone().unwrap_or(1000);
            let value = match rng.below(5) {
                0 => base,
                1 => base + 1,
                2 => base.saturating_sub(1),
                3 => base ^ (1 << rng.below(20)),
                _ => rng.next_u64() >> rng.below(64),
            };
            let width = [1, 2, 4, 8][rng.below(4)];
            let value = if width == 2 { value.clamp(256, 65_791) } else { value };
            let value = if width < 8 { value & ((1u64 << (8 * width)) - 1) } else { value };
            set_content_size(bytes, f, Some((value, width)));
            format!(
                "frame {i}: content size {value} in {width} bytes (the content is {})",
                actual.map_or("unknown".to_string(), |a| a.to_string())
            )
        }
        7 => {
            set_content_size(bytes, f, None);
            format!("frame {i}: content size removed")
        }
        8 => {
            let (at, _, _) = f.blocks[rng.below(f.blocks.len())];
            let v = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], 0]);
            let new = match rng.below(4) {
                0 => v ^ 1,                         // last flag
                1 => v ^ (1 << (1 + rng.below(2))), // type
                2 => v.wrapping_add(8 << rng.below(8)) & 0xff_ffff,
                _ => v.wrapping_sub(8) & 0xff_ffff,
            };
            bytes[at..at + 3].copy_from_slice(&new.to_le_bytes()[..3]);
            format!("frame {i}: block header at {at}: {v:#x} -> {new:#x}")
        }
        9 | 10 => {
            let (at, kind, size) = f.blocks[rng.below(f.blocks.len())];
            let len = if kind == 1 { 1 } else { size };
            flip_bit(rng, bytes, at + 3..at + 3 + len)
        }
        11 if f.checksum.is_some() => {
            let at = f.checksum.expect("checked");
            bytes[at + rng.below(4)] ^= 1 << rng.below(8);
            return format!("frame {i}: checksum wrong");
        }
        _ => {
            let payload: Vec<u8> = (0..rng.below(64)).map(|_| rng.below(256) as u8).collect();
            let mut skip = vec![0x50 + rng.below(16) as u8, 0x2a, 0x4d, 0x18];
            skip.extend((payload.len() as u32).to_le_bytes());
            skip.extend(payload);
            let at = if rng.chance(1, 2) { f.start } else { f.end };
            bytes.splice(at..at, skip);
            return format!("skippable frame inserted at {at}");
        }
    };
    fix_checksum(bytes, f.start);
    format!("{note}, checksum recomputed")
}
