//! The guest parser on arbitrary bytes: it must return events or an error,
//! never panic, and never hand out more data than an entry declared. Small
//! batches (4 KiB), so that batch boundaries fall everywhere.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sealtar_fuzz::parse_in_batches(data, 4096));
