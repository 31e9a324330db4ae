//! The guest parser on gzip-compressed arbitrary bytes, so the fuzzer reaches
//! the tar grammar through the decompressor as well.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use sealtar_guest::parser::{Limits, Parser};

fuzz_target!(|data: &[u8]| {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    let compressed = e.finish().unwrap();
    let mut parser = Parser::new(&compressed[..], Limits::default(), false);
    for _ in 0..10_000 {
        match parser.next_batch(1 << 16) {
            Ok(batch) if batch.is_empty() => return,
            Ok(_) => {}
            Err(_) => return,
        }
    }
});
