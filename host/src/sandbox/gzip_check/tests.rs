//! The host's half of the gzip CRC-32 check, against CRCs computed whole.

use super::*;

fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
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
        // crc32fast keeps the register inverted.
        let register = !crc(&data);
        assert_eq!(!shift(register, zeros as u64), crc(&whole), "{zeros} zeros");
    }
}

/// The report the guest makes for `member` (starting at `start` in the tar
/// stream) when it sent the byte ranges `sent` (from, to) as data.
fn report(member: &[u8], start: u64, sent: &[(usize, usize)], stored: u32) -> wit::MemberEnd {
    let mut kept = member.to_vec();
    for &(from, to) in sent {
        kept[from..to].fill(0);
    }
    let tar_end = start + member.len() as u64;
    wit::MemberEnd { tar_end, input_offset: 99, stored, unsent: crc(&kept) }
}

#[test]
fn sent_chunks_and_the_report_make_the_members_crc() {
    let stream = noise(10_000, 3);
    // Two members, the second starting at 6000; chunks of two entries,
    // with a header-sized gap between them and one chunk at the member start.
    let (first, second) = stream.split_at(6000);
    let mut check = GzipCheck::default();
    check.entry(512);
    check.data(&stream[512..1000]).unwrap();
    check.data(&stream[1000..3000]).unwrap();
    check.entry(3512);
    check.data(&stream[3512..6000]).unwrap();
    check.end(&report(first, 0, &[(512, 3000), (3512, 6000)], crc(first))).unwrap();
    check.data(&stream[6000..6100]).unwrap();
    check.end(&report(second, 6000, &[(0, 100)], crc(second))).unwrap();
    check.finish().unwrap();
}

#[test]
fn a_wrong_crc_is_refused_in_gzips_words() {
    let member = noise(3000, 5);
    let mut check = GzipCheck::default();
    check.entry(512);
    check.data(&member[512..]).unwrap();
    let mut end = report(&member, 0, &[(512, 3000)], crc(&member) ^ 1);
    let e = check.end(&end).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("corrupt gzip data: the member's CRC-32 is"), "{text}");
    assert!(matches!(e, Error::Malformed { offset: 99, layer: Layer::Input, .. }), "{e:?}");
    // Changed sent data is caught as well.
    let mut check = GzipCheck::default();
    check.entry(512);
    let mut changed = member[512..].to_vec();
    changed[100] ^= 0x20;
    check.data(&changed).unwrap();
    end.stored = crc(&member);
    assert!(check.end(&end).is_err());
}

#[test]
fn reports_that_contradict_the_stream_are_a_broken_protocol() {
    let protocol = |e: Error| matches!(e, Error::Sandbox(crate::error::SandboxFault::Protocol(_)));
    // Data placed before an end already reported.
    let mut check = GzipCheck::default();
    check.end(&wit::MemberEnd { tar_end: 1024, input_offset: 0, stored: 0, unsent: 0 }).unwrap();
    check.entry(512);
    assert!(protocol(check.data(b"x").unwrap_err()));
    // An end before data already seen.
    let mut check = GzipCheck::default();
    check.entry(512);
    check.data(&[1; 100]).unwrap();
    assert!(protocol(check.end(&wit::MemberEnd { tar_end: 600, input_offset: 0, stored: 0, unsent: 0 }).unwrap_err()));
    // Data never covered by an end.
    let mut check = GzipCheck::default();
    check.entry(512);
    check.data(&[1; 100]).unwrap();
    assert!(protocol(check.finish().unwrap_err()));
    // Offsets at the end of the u64 range do not overflow.
    let mut check = GzipCheck::default();
    check.entry(u64::MAX);
    assert!(protocol(check.data(b"xy").unwrap_err()));
}
