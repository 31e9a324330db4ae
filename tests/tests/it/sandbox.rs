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
