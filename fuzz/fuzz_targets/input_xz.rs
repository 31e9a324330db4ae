//! The guest's xz container reader (`guest/src/input/xz.rs`) on arbitrary
//! bytes, through the input layer and through the tar parser: no panic, the
//! decoded stream ends cleanly or is refused, and no member's data goes
//! beyond its declared size.
//!
//! The first byte chooses how the rest is taken: as it is; with the xz magic
//! put in front; or with the stream header's and the first block header's
//! CRC-32s made right, so that mutations of the fields they cover (flags,
//! block header sizes, filters) reach the code behind the checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealtar_fuzz::{drain, parse, xz_fix_crcs};

const MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let input = match mode % 3 {
        0 => rest.to_vec(),
        1 => [&MAGIC[..], rest].concat(),
        _ => xz_fix_crcs([&MAGIC[..], rest].concat()),
    };
    drain(&input);
    parse(&input);
});
