//! The guest parser on arbitrary bytes: it must return events or an error,
//! never panic, and never hand out more data than an entry declared.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealtar_guest::parser::{Event, Limits, Parser};

fuzz_target!(|data: &[u8]| run(data));

fn run(data: &[u8]) {
    let limits = Limits { max_entries: 64, max_path_bytes: 4096, max_extension_bytes: 1 << 16 };
    let mut parser = Parser::new(data, limits, true);
    let mut left = 0u64;
    let mut open = false;
    for _ in 0..10_000 {
        match parser.next_batch(4096) {
            Ok(batch) if batch.is_empty() => {
                assert_eq!(left, 0, "clean end inside a file's data");
                assert!(!open, "a checked unit left open at a clean end");
                return;
            }
            Ok(batch) => {
                for event in batch {
                    match event {
                        Event::Entry(e) => {
                            assert_eq!(left, 0, "entry inside a file's data");
                            left = if e.kind == sealtar_guest::parser::Kind::File { e.size } else { 0 };
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
                        }
                    }
                }
            }
            Err(_) => return,
        }
    }
}
