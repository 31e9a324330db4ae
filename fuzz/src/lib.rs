//! Helpers shared by the input-layer fuzz targets.

use std::io::Read;

use sealtar_guest::input::Source;
use sealtar_guest::parser::{Event, Kind, Limits, Parser};

/// The most decoded output a target reads before it stops (a fuzz input may
/// be a small bomb; sealtar's own limits are the host's business).
pub const OUTPUT_BUDGET: u64 = 64 << 20;

/// Reads the decoded stream to its end, a refusal, or the budget. Returns
/// how many bytes were decoded and whether it ended cleanly.
pub fn drain(input: &[u8]) -> (u64, bool) {
    let Ok(mut source) = Source::detect(input) else { return (0, false) };
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    while total < OUTPUT_BUDGET {
        match source.read(&mut buf) {
            Ok(0) => {
                assert!(source.input_offset() <= input.len() as u64, "the input offset is past the input");
                return (total, true);
            }
            Ok(n) => {
                assert!(n <= buf.len());
                total += n as u64;
            }
            Err(e) => {
                let refusal = source.error(&e);
                assert!(refusal.offset <= input.len() as u64, "a refusal's offset is past the input");
                return (total, false);
            }
        }
    }
    (total, false)
}

/// Runs the tar parser over the input (decoded by the same layer) in
/// batches of 64 KiB: see [`parse_in_batches`].
pub fn parse(input: &[u8]) {
    parse_in_batches(input, 1 << 16);
}

/// Runs the tar parser over the input, asking for `budget` bytes a batch:
/// it returns events or an error, never hands out more data than a member
/// declared, and reports checked units' starts and ends in turn, closed by
/// a clean end.
pub fn parse_in_batches(input: &[u8], budget: u32) {
    let limits = Limits { max_entries: 64, max_path_bytes: 4096, max_extension_bytes: 1 << 16 };
    let mut parser = Parser::new(input, limits, true);
    let mut left = 0u64;
    let mut open = false;
    let mut total = 0u64;
    for _ in 0..10_000 {
        match parser.next_batch(budget as usize) {
            Ok(batch) if batch.is_empty() => {
                assert_eq!(left, 0, "clean end inside a member's data");
                assert!(!open, "a checked unit left open at a clean end");
                return;
            }
            Ok(batch) => {
                for event in batch {
                    match event {
                        Event::Entry(e) => {
                            assert_eq!(left, 0, "an entry inside a member's data");
                            left = if e.kind == Kind::File { e.size } else { 0 };
                        }
                        Event::CheckStart(_) => {
                            assert!(!open, "a checked unit started inside another");
                            open = true;
                        }
                        Event::CheckEnd(_) => {
                            assert!(open, "a checked unit ended that did not start");
                            open = false;
                        }
                        Event::Data(d) => {
                            assert!(!d.is_empty() && d.len() as u64 <= left, "data beyond the declared size");
                            left -= d.len() as u64;
                            total += d.len() as u64;
                        }
                    }
                }
                if total > OUTPUT_BUDGET {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// The stream header's CRC-32 (over its flags) and the first block
/// header's CRC-32 made right, where the input is long enough to have them.
pub fn xz_fix_crcs(mut x: Vec<u8>) -> Vec<u8> {
    if x.len() >= 12 {
        let crc = crc32(&x[6..8]);
        x[8..12].copy_from_slice(&crc.to_le_bytes());
    }
    if let Some(&size) = x.get(12)
        && size != 0
    {
        let len = (usize::from(size) + 1) * 4;
        if x.len() >= 12 + len {
            let crc = crc32(&x[12..12 + len - 4]);
            x[12 + len - 4..12 + len].copy_from_slice(&crc.to_le_bytes());
        }
    }
    x
}

/// CRC-32 (ISO-HDLC, as xz uses it), bit by bit: small and slow is fine here.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { crc >> 1 ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The content size the first zstd frame of `input` declares, and the
/// frame's length if it is made of whole blocks in `input`; `None` when it
/// declares none or does not parse that far.
pub fn zstd_declared_size(input: &[u8]) -> Option<(u64, usize)> {
    if input.get(..4)? != [0x28, 0xb5, 0x2f, 0xfd] {
        return None;
    }
    let d = *input.get(4)?;
    let single = d & 0x20 != 0;
    let size_len = match d >> 6 {
        0 => usize::from(single),
        f => 1 << f,
    };
    if size_len == 0 {
        return None;
    }
    let at = 5 + usize::from(!single) + [0, 1, 2, 4][usize::from(d & 3)];
    let field = input.get(at..at + size_len)?;
    let mut size = field.iter().rev().fold(0u64, |v, &b| v << 8 | u64::from(b));
    if size_len == 2 {
        size += 256;
    }
    let mut pos = at + size_len;
    loop {
        let h = input.get(pos..pos + 3)?;
        let v = u32::from_le_bytes([h[0], h[1], h[2], 0]);
        let body = if (v >> 1) & 3 == 1 { 1 } else { (v >> 3) as usize };
        pos += 3 + body;
        if v & 1 != 0 {
            break;
        }
    }
    if d & 4 != 0 {
        pos += 4;
    }
    Some((size, pos))
}

/// `data` as raw deflate behind a plain gzip header, then the trailer made
/// right for as much as it decodes to (within [`OUTPUT_BUDGET`]), then
/// whatever of `data` the deflate stream did not use.
pub fn gzip_wrap_deflate(data: &[u8]) -> Vec<u8> {
    let mut inflate = flate2::Decompress::new(false);
    let mut decoded = Vec::with_capacity(1 << 16);
    while (decoded.len() as u64) < OUTPUT_BUDGET {
        if decoded.len() == decoded.capacity() {
            decoded.reserve(decoded.capacity());
        }
        let (used, made) = (inflate.total_in(), decoded.len());
        let rest = &data[used as usize..];
        match inflate.decompress_vec(rest, &mut decoded, flate2::FlushDecompress::None) {
            Ok(flate2::Status::StreamEnd) | Err(_) => break,
            Ok(_) if inflate.total_in() == used && decoded.len() == made => break,
            Ok(_) => {}
        }
    }
    let used = inflate.total_in() as usize;
    let mut crc = flate2::Crc::new();
    crc.update(&decoded);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    out.extend_from_slice(&data[..used]);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(decoded.len() as u32).to_le_bytes());
    out.extend_from_slice(&data[used..]);
    out
}
