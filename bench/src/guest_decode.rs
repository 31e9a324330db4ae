//! `guest-decode ARCHIVE [ROUNDS]`: the guest's decoding path (`sealtar_guest::
//! input::Source`: format detection, the decompressor, its checks), built
//! natively, over a file read into memory first; the output is discarded.
//! Prints the wall time of each round. For profiling the decoders outside the
//! sandbox (`perf record`, `valgrind --tool=callgrind`), not for the
//! benchmark tables, which time the sandboxed guest (`bench/zstd.py`).

use std::io::Read;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: guest-decode ARCHIVE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(1);
    let data = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("guest-decode: {path}: {e}");
        std::process::exit(2);
    });
    let mut buf = vec![0u8; 1 << 16];
    for _ in 0..rounds {
        let start = Instant::now();
        let mut source = sealtar_guest::input::Source::detect(&data[..]).unwrap_or_else(|e| {
            eprintln!("guest-decode: {e}");
            std::process::exit(1);
        });
        let mut total = 0u64;
        loop {
            match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n as u64,
                Err(e) => {
                    eprintln!("guest-decode: {}", source.error(&e));
                    std::process::exit(1);
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!("{:?}: {total} bytes in {secs:.3} s ({:.0} MB/s)", source.format(), total as f64 / secs / 1e6);
    }
}
