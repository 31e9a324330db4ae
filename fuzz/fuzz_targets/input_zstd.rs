//! The guest's zstd reader (`guest/src/input/zstd.rs` and the vendored
//! ruzstd behind it) on arbitrary bytes, through the input layer and
//! through the tar parser: no panic, the decoded stream ends cleanly or is
//! refused, no member's data goes beyond its declared size, and a frame
//! that declares its content size never decodes to more.
//!
//! The first byte chooses how the rest is taken: as it is, or with a zstd
//! frame's magic number in front (the frame header has no checksum, so
//! every field after it is reached directly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealtar_fuzz::{drain, parse, zstd_declared_size};

const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let input = if mode % 2 == 0 { rest.to_vec() } else { [&MAGIC[..], rest].concat() };
    let (decoded, clean) = drain(&input);
    // One frame declaring its size and nothing after it: a clean end means
    // exactly that many bytes, and no read ever hands out more.
    if let Some((size, frame_len)) = zstd_declared_size(&input)
        && frame_len == input.len()
    {
        assert!(decoded <= size, "{decoded} bytes decoded from a frame that declares {size}");
        if clean {
            assert_eq!(decoded, size, "a frame ended cleanly short of its declared size");
        }
    }
    parse(&input);
});
