//! The sandbox's own limits: a parser that runs out of memory or time is
//! stopped, and the archive is refused with a clear error, the destination
//! unchanged.

use std::time::Duration;

use sealtar::{Error, Extractor, SandboxFault};
use sealtar_tests::{Tar, gzip_zeros};

use crate::support::{Scene, options};

#[test]
fn memory_exhaustion_refuses_the_archive() {
    let mut o = options();
    o.guest_memory = 512 << 10; // less than the parser needs for a gzip stream
    let extractor = Extractor::new(o).unwrap();
    let scene = Scene::new();
    let before = scene.dest_tree();
    let bytes = gzip_zeros("zeros.bin", 1 << 20);
    let err = scene.extract_with(&extractor, &bytes[..]).unwrap_err();
    assert!(matches!(err, Error::Sandbox(SandboxFault::MemoryLimit)), "{err}");
    assert!(err.is_refusal());
    assert!(err.to_string().contains("memory"), "{err}");
    assert_eq!(scene.dest_tree(), before);
    scene.assert_no_staging();
    scene.assert_outside_untouched();
}

#[test]
fn running_past_the_deadline_refuses_the_archive() {
    let mut o = options();
    o.timeout = Duration::from_millis(1);
    o.max_size = Some(u64::MAX);
    let extractor = Extractor::new(o).unwrap();
    let scene = Scene::new();
    let before = scene.dest_tree();
    // Listing 1 GiB of zeros takes the parser far longer than one tick.
    let bytes = gzip_zeros("zeros.bin", 1 << 30);
    let started = std::time::Instant::now();
    let err = extractor.list(&bytes[..]).map(|m| m.error).unwrap();
    assert!(matches!(err, Some(Error::Sandbox(SandboxFault::Timeout))), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = scene.extract_with(&extractor, &Tar::new().file("a", b"a").finish()[..]);
    // A tiny archive finishes within the first tick, or is stopped; either
    // way nothing is half-written.
    if err.is_err() {
        assert_eq!(scene.dest_tree(), before);
    }
    scene.assert_no_staging();
}

#[test]
fn a_good_archive_still_extracts_after_a_fault() {
    // A fault is per archive: the next store starts clean.
    let mut o = options();
    o.guest_memory = 512 << 10;
    let small = Extractor::new(o).unwrap();
    assert!(small.list(&gzip_zeros("z", 1 << 20)[..]).unwrap().error.is_some());
    let scene = Scene::new();
    let report = scene.extract_with(crate::support::extractor(), &Tar::new().file("ok.txt", b"ok").finish()[..]);
    assert_eq!(report.unwrap().files, 1);
}

/// A small archive (under one input chunk) is parsed on a kept parser
/// thread, where only the waiting consumer's ticks let the deadline
/// interrupt a guest in the middle of one call: a 240 KB zstd frame of
/// 7.5 GiB of zeros in one member, listed (its data skipped inside the
/// guest: a second or more of work), ends at a deadline of 100 ms, not when
/// the guest is done.
#[test]
fn a_small_bomb_on_a_kept_parser_thread_meets_the_deadline() {
    use sealtar_tests::{ZstdBlock, ZstdFrame};
    let blocks_of_zeros = 60_000u32;
    let size = u64::from(blocks_of_zeros) * (128 << 10);
    let mut blocks = vec![ZstdBlock::Raw(sealtar_tests::Header::new(b"zeros", b'0', size).build().to_vec())];
    blocks.extend(std::iter::repeat_n(ZstdBlock::Rle(0, 128 << 10), blocks_of_zeros as usize));
    let mut frame = ZstdFrame::new(blocks);
    frame.window_descriptor = Some(7 << 3);
    let bytes = frame.build();
    assert!(bytes.len() < 256 << 10, "{} bytes: one input chunk", bytes.len());
    let mut o = options();
    o.max_size = Some(u64::MAX);
    let started = std::time::Instant::now();
    let whole = Extractor::new(o.clone()).unwrap().list(&bytes[..]).unwrap();
    let untimed = started.elapsed();
    assert!(whole.error.is_none(), "{:?}", whole.error);
    o.timeout = Duration::from_millis(100);
    let started = std::time::Instant::now();
    let err = Extractor::new(o).unwrap().list(&bytes[..]).map(|m| m.error).unwrap();
    let took = started.elapsed();
    assert!(matches!(err, Some(Error::Sandbox(SandboxFault::Timeout))), "{err:?} after {took:?} ({untimed:?} untimed)");
    assert!(took < untimed.min(Duration::from_secs(1)), "took {took:?}; the whole run takes {untimed:?}");
}

/// Parser threads are kept between archives, not started per archive, and
/// a run its consumer stopped early (a listing that ends at the first entry,
/// over the archive's size limit, while the guest still has its 7.5 GiB of
/// data to skip inside one call) leaves its thread to stop at the next tick
/// and serve again.
#[cfg(target_os = "linux")]
#[test]
fn parser_threads_are_kept_and_a_stopped_run_frees_its_thread() {
    use std::collections::BTreeSet;

    use sealtar_tests::{ZstdBlock, ZstdFrame};
    // This process's parser threads: their ids, and whether any is running.
    let parsers = || {
        let (mut ids, mut running) = (BTreeSet::new(), 0);
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
            // "tid (comm) state ...": comm may hold spaces, not ')'.
            let Some((head, rest)) = stat.rsplit_once(") ") else { continue };
            if head.ends_with("(sealtar-parser") {
                ids.insert(task.file_name());
                running += usize::from(rest.starts_with('R'));
            }
        }
        (ids, running)
    };
    let extractor = crate::support::extractor();
    let ok = Tar::new().file("a.txt", b"a").dir("d").file("d/b.txt", b"b").finish();
    let mut blocks = vec![ZstdBlock::Raw(sealtar_tests::Header::new(b"zeros", b'0', 60_000 << 17).build().to_vec())];
    blocks.extend(std::iter::repeat_n(ZstdBlock::Rle(0, 128 << 10), 60_000));
    let mut frame = ZstdFrame::new(blocks);
    frame.window_descriptor = Some(7 << 3);
    let refused = frame.build();
    let mut seen = BTreeSet::new();
    for round in 0..40 {
        let scene = Scene::new();
        if round % 2 == 0 {
            assert_eq!(scene.extract_with(extractor, &ok[..]).unwrap().files, 2);
        } else {
            let listed = extractor.list(&refused[..]).unwrap();
            assert!(matches!(listed.error, Some(Error::Refused { .. })), "{:?}", listed.error);
        }
        seen.extend(parsers().0);
    }
    // Other tests in this process run archives too, but a thread per archive
    // would show 40 ids here.
    assert!(!seen.is_empty() && seen.len() <= 8, "{} parser threads seen over 40 archives", seen.len());
    // Unstopped, each refused run's guest would go on decoding 7.5 GiB
    // (seconds); stopped, it ends at the next tick (50 ms).
    let settle = std::time::Instant::now();
    while parsers().1 > 0 && settle.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(parsers().1, 0, "a parser thread still runs {:?} after the last archive", settle.elapsed());
}
