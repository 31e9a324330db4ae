//! The guest's gzip reader (`guest/src/input/gzip.rs`) on arbitrary bytes,
//! through the input layer and through the tar parser: no panic, the decoded
//! stream ends cleanly or is refused, and no member's data goes beyond its
//! declared size.
//!
//! The first byte chooses how the rest is taken: as it is; with the gzip
//! magic put in front; or as raw deflate data wrapped in a member whose
//! trailer (CRC-32 and length) is made right for what the data decodes to,
//! so that mutations of the deflate data reach the end of the member and
//! what follows it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealtar_fuzz::{drain, gzip_wrap_deflate, parse};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let input = match mode % 3 {
        0 => rest.to_vec(),
        1 => [&[0x1f, 0x8b][..], rest].concat(),
        _ => gzip_wrap_deflate(rest),
    };
    drain(&input);
    parse(&input);
});
