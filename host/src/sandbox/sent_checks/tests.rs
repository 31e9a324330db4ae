//! The host's half of the checks, against CRCs computed whole.

use super::*;

fn crc32(bytes: &[u8]) -> u64 {
    u64::from(crc32fast::hash(bytes))
}

fn crc64(bytes: &[u8]) -> u64 {
    CRC64.checksum(bytes)
}

/// Pseudo-random bytes, reproducibly.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn shifting_over_zeros_is_reading_them() {
    let data = noise(1000, 7);
    for zeros in [0usize, 1, 3, 8, 511, 512, 4096, 65_537, 1 << 20] {
        let mut whole = data.clone();
        whole.resize(data.len() + zeros, 0);
        // Both CRCs start from all ones and invert at the end.
        let register = !crc32(&data) & 0xffff_ffff;
        assert_eq!(!crc_shift::CRC32.shift(register, zeros as u64) & 0xffff_ffff, crc32(&whole), "{zeros} zeros");
        assert_eq!(!crc_shift::CRC64.shift(!crc64(&data), zeros as u64), crc64(&whole), "{zeros} zeros");
    }
}

fn start(kind: wit::CheckKind, tar_start: u64) -> wit::CheckStart {
    let container = match kind {
        wit::CheckKind::Crc32 => wit::Container::GzipMember,
        wit::CheckKind::Crc64 => wit::Container::XzBlock,
    };
    wit::CheckStart { container, kind, tar_start }
}

/// The end the guest reports for `unit` (starting at `at` in the tar
/// stream) when it sent the byte ranges `sent` (from, to) as data.
fn end(kind: wit::CheckKind, unit: &[u8], at: u64, sent: &[(usize, usize)], stored: u64) -> wit::CheckEnd {
    let mut kept = unit.to_vec();
    for &(from, to) in sent {
        kept[from..to].fill(0);
    }
    let unsent = if kind == wit::CheckKind::Crc32 { crc32(&kept) } else { crc64(&kept) };
    wit::CheckEnd { tar_end: at + unit.len() as u64, input_offset: 99, stored, unsent }
}

#[test]
fn sent_chunks_and_the_reports_make_each_units_crc() {
    use wit::CheckKind::{Crc32, Crc64};
    let stream = noise(10_000, 3);
    for (kind, crc) in [(Crc32, crc32 as fn(&[u8]) -> u64), (Crc64, crc64)] {
        // Two units, the second from 6000; chunks of two entries with a
        // header-sized gap, one chunk at a unit's start, and data between
        // units that no unit covers.
        let (first, second) = stream.split_at(6000);
        let mut checks = SentChecks::default();
        checks.entry(512);
        checks.start(&start(kind, 0)).unwrap();
        checks.data(&stream[512..1000]).unwrap();
        checks.data(&stream[1000..3000]).unwrap();
        checks.entry(3512);
        checks.data(&stream[3512..6000]).unwrap();
        checks.end(&end(kind, first, 0, &[(512, 3000), (3512, 6000)], crc(first))).unwrap();
        checks.start(&start(kind, 6000)).unwrap();
        checks.data(&stream[6000..6100]).unwrap();
        checks.end(&end(kind, second, 6000, &[(0, 100)], crc(second))).unwrap();
        checks.entry(20_000);
        checks.data(b"in a block without a CRC").unwrap();
        checks.finish().unwrap();
    }
}

#[test]
fn a_wrong_crc_is_refused_in_the_decoders_words() {
    let unit = noise(3000, 5);
    for (kind, words) in [
        (wit::CheckKind::Crc32, "corrupt gzip data: the member's CRC-32 is"),
        (wit::CheckKind::Crc64, "corrupt xz data: xz block check mismatch"),
    ] {
        let right = if kind == wit::CheckKind::Crc32 { crc32(&unit) } else { crc64(&unit) };
        let mut checks = SentChecks::default();
        checks.entry(512);
        checks.start(&start(kind, 0)).unwrap();
        checks.data(&unit[512..]).unwrap();
        let e = checks.end(&end(kind, &unit, 0, &[(512, 3000)], right ^ 1)).unwrap_err();
        assert!(e.to_string().contains(words), "{e}");
        assert!(matches!(e, Error::Malformed { offset: 99, layer: Layer::Input, .. }), "{e:?}");
        // Changed sent data is caught as well.
        let mut checks = SentChecks::default();
        checks.entry(512);
        checks.start(&start(kind, 0)).unwrap();
        let mut changed = unit[512..].to_vec();
        changed[100] ^= 0x20;
        checks.data(&changed).unwrap();
        assert!(checks.end(&end(kind, &unit, 0, &[(512, 3000)], right)).is_err());
    }
}

#[test]
fn reports_that_contradict_the_stream_are_a_broken_protocol() {
    use wit::CheckKind::Crc32;
    let protocol = |e: Error| matches!(e, Error::Sandbox(crate::error::SandboxFault::Protocol(_)));
    let end_at = |tar_end| wit::CheckEnd { tar_end, input_offset: 0, stored: 0, unsent: 0 };
    // Data placed before the unit it is sent in.
    let mut checks = SentChecks::default();
    checks.start(&start(Crc32, 1024)).unwrap();
    checks.entry(512);
    assert!(protocol(checks.data(b"x").unwrap_err()));
    // Data placed inside a unit already ended.
    let mut checks = SentChecks::default();
    checks.start(&start(Crc32, 0)).unwrap();
    checks.end(&end_at(1024)).unwrap();
    checks.entry(512);
    assert!(protocol(checks.data(b"x").unwrap_err()));
    // An end before data already seen, an end without a start, a start
    // inside a unit or before the last one's end, a unit left open.
    let mut checks = SentChecks::default();
    checks.start(&start(Crc32, 0)).unwrap();
    checks.entry(512);
    checks.data(&[1; 100]).unwrap();
    assert!(protocol(checks.end(&end_at(600)).unwrap_err()));
    assert!(protocol(SentChecks::default().end(&end_at(600)).unwrap_err()));
    let mut checks = SentChecks::default();
    checks.start(&start(Crc32, 0)).unwrap();
    assert!(protocol(checks.start(&start(Crc32, 10)).unwrap_err()));
    assert!(protocol(checks.finish().unwrap_err()));
    let mut checks = SentChecks::default();
    checks.start(&start(Crc32, 0)).unwrap();
    checks.end(&end_at(100)).unwrap();
    assert!(protocol(checks.start(&start(Crc32, 50)).unwrap_err()));
    // Offsets at the end of the u64 range do not overflow.
    let mut checks = SentChecks::default();
    checks.entry(u64::MAX);
    assert!(protocol(checks.data(b"xy").unwrap_err()));
}
