//! Grammar tests, each built from raw header bytes.

use super::*;
use sealtar_testkit::{Format, Header, Tar, gzip};

/// A reader that hands out at most 7 bytes per call, to catch code that
/// assumes `read` fills its buffer.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(7);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Every event, with each checked unit's CRC (gzip member, xz block)
/// verified as the host verifies it: from the unit's end report and the
/// data chunks sent before it.
fn parse_all(bytes: &[u8]) -> Result<Vec<Event>, ParseError> {
    let mut p = Parser::new(Trickle(bytes), Limits::default(), true);
    let mut out = Vec::new();
    let mut member = SentBytes::default();
    loop {
        let batch = p.next_batch(4096)?;
        if batch.is_empty() {
            assert!(member.unit.is_none(), "a unit left open at the end");
            return Ok(out);
        }
        for event in &batch {
            member.see(event)?;
        }
        out.extend(batch);
    }
}

/// The data sent inside the unit a check start announced, where it lies.
#[derive(Default)]
struct SentBytes {
    /// Whether a unit was announced (gzip or xz, with data sent).
    checked: bool,
    /// The open unit: its start and CRC.
    unit: Option<(u64, crate::input::checked::Kind, crate::input::checked::Container)>,
    next: u64,
    chunks: Vec<(u64, Vec<u8>)>,
}

impl SentBytes {
    fn see(&mut self, event: &Event) -> Result<(), ParseError> {
        use crate::input::checked::{Container, Kind, mismatch};
        match event {
            Event::Entry(e) => self.next = e.data_offset,
            Event::Data(d) => {
                if self.unit.is_some() {
                    self.chunks.push((self.next, d.clone()));
                }
                self.next += d.len() as u64;
            }
            Event::CheckStart(start) => {
                assert!(self.unit.is_none(), "a unit started inside another");
                self.unit = Some((start.tar_start, start.kind, start.container));
                self.checked = true;
            }
            Event::CheckEnd(end) => {
                let (start, kind, container) = self.unit.take().expect("an end after a start");
                // The unit with every byte not sent as zero, without the
                // shift arithmetic the guest and host use.
                let length = usize::try_from(end.tar_end - start).unwrap();
                let mut image = vec![0u8; length];
                for (at, bytes) in self.chunks.drain(..) {
                    let at = usize::try_from(at - start).unwrap();
                    image[at..at + bytes.len()].copy_from_slice(&bytes);
                }
                let crc = |b: &[u8]| match kind {
                    Kind::Crc32 => u64::from(crate::input::CRC32.checksum(b)),
                    Kind::Crc64 => crate::input::CRC64.checksum(b),
                };
                let computed = end.unsent ^ crc(&image) ^ crc(&vec![0u8; length]);
                if computed != end.stored {
                    let name = if container == Container::GzipMember { "gzip" } else { "xz" };
                    let message = format!("corrupt {name} data: {}", mismatch(container, end.stored, computed));
                    return Err(ParseError { offset: end.input_offset, layer: Layer::Input, message });
                }
            }
        }
        Ok(())
    }
}

/// Entries with their data concatenated.
fn entries(bytes: &[u8]) -> Result<Vec<(Entry, Vec<u8>)>, ParseError> {
    let mut out: Vec<(Entry, Vec<u8>)> = Vec::new();
    for ev in parse_all(bytes)? {
        match ev {
            Event::Entry(e) => out.push((e, Vec::new())),
            Event::Data(d) => out.last_mut().expect("data after an entry").1.extend(d),
            Event::CheckStart(_) | Event::CheckEnd(_) => {}
        }
    }
    Ok(out)
}

fn only_entry(bytes: &[u8]) -> (Entry, Vec<u8>) {
    let mut all = entries(bytes).expect("parses");
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

fn error(bytes: &[u8]) -> ParseError {
    entries(bytes).expect_err("must be refused")
}

#[test]
fn plain_files_and_dirs() {
    let bytes = Tar::new().dir("d/").file("d/a.txt", b"hello").exec_file("d/run", b"#!/bin/sh\n").finish();
    let all = entries(&bytes).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].0.kind, Kind::Directory);
    assert_eq!(all[1].0.path, b"d/a.txt");
    assert_eq!(all[1].1, b"hello");
    assert_eq!(all[1].0.mode, 0o644);
    assert_eq!(all[2].0.mode, 0o755);
    assert_eq!(all[2].0.index, 2);
    assert_eq!(all[2].0.header_offset, 3 * 512);
    assert!(all.iter().all(|(e, _)| e.refusal.is_none()));
}

#[test]
fn gzip_input_is_detected() {
    let bytes = gzip(&Tar::new().file("a", b"abc").finish());
    let (e, d) = only_entry(&bytes);
    assert_eq!((e.path.as_slice(), d.as_slice()), (&b"a"[..], &b"abc"[..]));
}

#[test]
fn data_is_skipped_without_with_data() {
    let bytes = Tar::new().file("a", &[7u8; 3000]).file("b", b"x").finish();
    let mut p = Parser::new(&bytes[..], Limits::default(), false);
    let events = p.next_batch(1 << 20).unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| matches!(e, Event::Entry(_))));
}

/// Skipped data is charged to the batch: a member's header reaches the host
/// before its data is decoded, so that a host stopping at that header does
/// not wait for the skip. A call that starts mid-member skips the rest.
#[test]
fn skipped_data_ends_a_batch_after_its_header() {
    let bytes = Tar::new().file("a", &[7u8; 100_000]).file("b", b"x").file("c", b"y").finish();
    let mut p = Parser::new(Trickle(&bytes), Limits::default(), false);
    let names = |events: Vec<Event>| -> Vec<Vec<u8>> {
        events
            .into_iter()
            .map(|e| match e {
                Event::Entry(entry) => entry.path,
                Event::Data(_) | Event::CheckStart(_) | Event::CheckEnd(_) => panic!("data without with_data"),
            })
            .collect()
    };
    assert_eq!(names(p.next_batch(4096).unwrap()), [b"a"]);
    // The rest of a's data, skipped, used this call's budget: the batch
    // ends after b's header; c's follows.
    assert_eq!(names(p.next_batch(4096).unwrap()), [b"b"]);
    assert_eq!(names(p.next_batch(4096).unwrap()), [b"c"]);
    assert!(p.next_batch(4096).unwrap().is_empty());
}

#[test]
fn data_arrives_in_budgeted_chunks() {
    let bytes = Tar::new().file("big", &[1u8; 10_000]).finish();
    let mut p = Parser::new(&bytes[..], Limits::default(), true);
    let mut sizes = Vec::new();
    loop {
        let batch = p.next_batch(4096).unwrap();
        if batch.is_empty() {
            break;
        }
        for ev in batch {
            if let Event::Data(d) = ev {
                sizes.push(d.len());
            }
        }
    }
    assert!(sizes.iter().all(|&n| n <= 4096), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 10_000);
}

#[test]
fn ustar_prefix_is_joined() {
    let mut h = Header::new(b"file.txt", b'0', 0);
    h.prefix(b"some/long/prefix");
    let (e, _) = only_entry(&Tar::new().entry(&h, b"").finish());
    assert_eq!(e.path, b"some/long/prefix/file.txt");
}

fn rule_of(bytes: &[u8]) -> String {
    let e = error(bytes);
    let start = e.message.rfind("[rule ").unwrap_or_else(|| panic!("no rule named in {e}"));
    e.message[start + 6..e.message.len() - 1].to_string()
}

#[test]
fn prefix_area_of_a_gnu_or_v7_header_is_refused() {
    // GNU tar ignores these bytes, Python joins them as a prefix.
    for format in [Format::Gnu, Format::V7] {
        let mut h = Header::new(b"file.txt", b'0', 0);
        h.format(format).prefix(b"not-a-prefix");
        assert_eq!(rule_of(&Tar::new().entry(&h, b"").finish()), "prefix-outside-posix", "{format:?}");
        // Any non-zero byte counts, not only a leading one (GNU keeps its
        // change time and sparse map there).
        let mut h = Header::new(b"file.txt", b'0', 0);
        h.format(format).set(400, 3, b"123");
        assert_eq!(rule_of(&Tar::new().entry(&h, b"").finish()), "prefix-outside-posix", "{format:?}");
    }
}

#[test]
fn ustar_magic_with_another_version_and_a_prefix_is_refused() {
    // GNU tar and Python join the prefix, a reader that checks the version
    // (the `tar` crate) does not: `foo-1.0/tests/build.rs` vs `build.rs`.
    for version in [&b"\0\0"[..], b" \0", b"01"] {
        let mut h = Header::new(b"build.rs", b'0', 0);
        h.prefix(b"foo-1.0/tests").set(263, 2, version);
        assert_eq!(rule_of(&Tar::new().entry(&h, b"").finish()), "prefix-outside-posix", "{version:?}");
    }
    // Without a prefix every reader reads the name alone.
    let mut h = Header::new(b"build.rs", b'0', 0);
    h.set(263, 2, b"\0\0");
    assert_eq!(only_entry(&Tar::new().entry(&h, b"").finish()).0.path, b"build.rs");
}

#[test]
fn gnu_and_v7_headers_without_a_prefix_are_read() {
    for format in [Format::Gnu, Format::V7] {
        let mut h = Header::new(b"dir/file.txt", b'0', 2);
        h.format(format);
        let (e, d) = only_entry(&Tar::new().entry(&h, b"hi").finish());
        assert_eq!((e.path.as_slice(), d.as_slice()), (&b"dir/file.txt"[..], &b"hi"[..]));
    }
}

#[test]
fn non_zero_padding_after_extension_payloads_is_refused() {
    let pad = |t: &mut Tar, flag: u8, payload: &[u8], junk: &[u8]| {
        let mut h = Header::new(b"././@LongLink", flag, payload.len() as u64);
        if matches!(flag, b'L' | b'K') {
            h.format(Format::Gnu);
        }
        t.raw(&h.build()).raw(payload).raw(junk).pad();
    };
    for (flag, payload) in [
        (b'L', &b"long/name.txt\0"[..]),
        (b'L', b"long/name.txt"),
        (b'K', b"target\0"),
        (b'x', &sealtar_testkit::pax_record("path", b"p.txt")[..]),
        (b'g', &sealtar_testkit::pax_record("comment", b"c")[..]),
    ] {
        let mut t = Tar::new();
        pad(&mut t, flag, payload, b"more");
        if flag == b'K' {
            t.symlink("l", "t");
        } else {
            t.file("short", b"x");
        }
        assert_eq!(rule_of(&t.finish()), "extension-padding", "type {}", flag as char);
        // The same with zero padding is read.
        let mut t = Tar::new();
        pad(&mut t, flag, payload, b"");
        t.file("short", b"x");
        if flag != b'K' {
            assert!(entries(&t.finish()).is_ok(), "type {}", flag as char);
        }
    }
}

#[test]
fn old_style_member_whose_names_disagree_about_a_slash_is_refused() {
    let areg = |name: &[u8]| {
        let mut h = Header::new(name, 0, 0);
        h.format(Format::Gnu);
        h
    };
    // Raw name a directory, final name a file, and the reverse; by PAX and by
    // GNU long name.
    let cases = [
        Tar::new().pax(&[("path", b"thing")]).entry(&areg(b"thing/"), b"").finish(),
        Tar::new().pax(&[("path", b"thing/")]).entry(&areg(b"thing"), b"").finish(),
        Tar::new().gnu_long(b'L', b"thing").entry(&areg(b"thing/"), b"").finish(),
        Tar::new().gnu_long(b'L', b"thing/").entry(&areg(b"thing"), b"").finish(),
    ];
    for (i, bytes) in cases.iter().enumerate() {
        assert_eq!(rule_of(bytes), "old-style-slash", "case {i}");
    }
    // POSIX prefix with an empty name field: GNU tar reads `dir//`, a
    // directory; Python a file.
    let mut h = Header::new(b"", 0, 0);
    h.prefix(b"dir/");
    assert_eq!(rule_of(&Tar::new().entry(&h, b"").finish()), "old-style-slash");
    // Agreement either way is read.
    let both = Tar::new().pax(&[("path", b"long/thing/")]).entry(&areg(b"thing/"), b"").finish();
    assert_eq!(only_entry(&both).0.kind, Kind::Directory);
    let neither = Tar::new().pax(&[("path", b"long/thing")]).entry(&areg(b"thing"), b"").finish();
    assert_eq!(only_entry(&neither).0.kind, Kind::File);
    let mut h = Header::new(b"thing/", 0, 0);
    h.prefix(b"p");
    let (e, _) = only_entry(&Tar::new().entry(&h, b"").finish());
    assert_eq!((e.path.as_slice(), e.kind), (&b"p/thing/"[..], Kind::Directory));
}

#[test]
fn old_style_nul_type_with_slash_is_a_directory() {
    let mut h = Header::new(b"olddir/", 0, 0);
    h.format(Format::V7);
    let (e, _) = only_entry(&Tar::new().entry(&h, b"").finish());
    assert_eq!(e.kind, Kind::Directory);
}

#[test]
fn links_and_devices_get_a_guest_refusal() {
    let mut dev = Header::new(b"dev", b'3', 0);
    dev.mode(0o600);
    let bytes = Tar::new()
        .symlink("s", "/etc/passwd")
        .hardlink("h", "s")
        .entry(&dev, b"")
        .entry(&Header::new(b"p", b'6', 0), b"")
        .finish();
    let all = entries(&bytes).unwrap();
    let kinds: Vec<_> = all.iter().map(|(e, _)| e.kind).collect();
    assert_eq!(kinds, [Kind::Symlink, Kind::Hardlink, Kind::CharDevice, Kind::Fifo]);
    assert_eq!(all[0].0.link_target.as_deref(), Some(&b"/etc/passwd"[..]));
    assert!(all.iter().all(|(e, _)| e.refusal.is_some()));
}

#[test]
fn traversal_gets_a_guest_refusal() {
    for name in ["../x", "a/../../x", "/etc/x"] {
        let (e, _) = only_entry(&Tar::new().file(name, b"").finish());
        assert!(e.refusal.is_some(), "{name}");
    }
}

#[test]
fn pax_path_size_and_mtime_apply() {
    let bytes = Tar::new().pax(&[("path", b"long/name.txt"), ("mtime", b"1234.75")]).file("short", b"data").finish();
    let (e, d) = only_entry(&bytes);
    assert_eq!(e.path, b"long/name.txt");
    assert_eq!(e.mtime, 1234);
    assert_eq!(d, b"data");
    assert_eq!(e.header_offset, 0, "offset of the first extension header");
}

#[test]
fn pax_size_overrides_a_larger_header_size() {
    // Header says 1024 bytes, PAX says 3: the member has 3 bytes, and the next
    // header follows right after their padding.
    let mut t = Tar::new();
    t.pax(&[("size", b"3")]);
    let mut h = Header::new(b"a", b'0', 1024);
    h.size(1024);
    t.raw(&h.build()).raw(b"abc").pad();
    t.file("b", b"second");
    let all = entries(&t.finish()).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].1, b"abc");
    assert_eq!(all[1].1, b"second");
}

#[test]
fn pax_size_overrides_a_smaller_header_size() {
    let mut t = Tar::new();
    t.pax(&[("size", b"600")]);
    let h = Header::new(b"a", b'0', 0);
    t.raw(&h.build()).raw(&[b'z'; 600]).pad();
    t.file("b", b"x");
    let all = entries(&t.finish()).unwrap();
    assert_eq!(all[0].1.len(), 600);
    assert_eq!(all[1].0.path, b"b");
}

#[test]
fn pax_records_do_not_leak_to_later_members() {
    let bytes = Tar::new().pax(&[("path", b"renamed")]).file("first", b"1").file("second", b"2").finish();
    let all = entries(&bytes).unwrap();
    assert_eq!(all[0].0.path, b"renamed");
    assert_eq!(all[1].0.path, b"second");
}

#[test]
fn pax_size_does_not_apply_to_a_gnu_long_name_header() {
    // x(size=5) L(name) file: the L header's own size governs its payload.
    let bytes = Tar::new().pax(&[("size", b"5")]).gnu_long(b'L', b"the/long/name").file("short", b"12345").finish();
    let (e, d) = only_entry(&bytes);
    assert_eq!(e.path, b"the/long/name");
    assert_eq!(d, b"12345");
}

#[test]
fn gnu_long_name_is_cut_at_nul() {
    let bytes = Tar::new().gnu_long(b'L', b"name\0garbage").file("short", b"").finish();
    let (e, _) = only_entry(&bytes);
    assert_eq!(e.path, b"name");
}

#[test]
fn gnu_long_link_applies_to_links() {
    let bytes = Tar::new().gnu_long(b'K', b"far/away/target").symlink("l", "short").finish();
    let (e, _) = only_entry(&bytes);
    assert_eq!(e.link_target.as_deref(), Some(&b"far/away/target"[..]));
}

#[test]
fn member_named_twice_is_refused() {
    let bytes = Tar::new().pax(&[("path", b"one")]).gnu_long(b'L', b"two").file("x", b"").finish();
    assert!(error(&bytes).message.contains("both"));
    let bytes = Tar::new().pax(&[("linkpath", b"one")]).gnu_long(b'K', b"two").symlink("x", "y").finish();
    assert!(error(&bytes).message.contains("both"));
}

#[test]
fn repeated_extension_headers_are_refused() {
    let bytes = Tar::new().pax(&[("path", b"a")]).pax(&[("path", b"b")]).file("x", b"").finish();
    assert!(error(&bytes).message.contains("two PAX"));
    let bytes = Tar::new().gnu_long(b'L', b"a").gnu_long(b'L', b"b").file("x", b"").finish();
    assert!(error(&bytes).message.contains("two GNU"));
}

#[test]
fn malformed_pax_is_refused_with_offset() {
    let bytes = Tar::new().file("ok", b"").pax_raw(b'x', b"10 path=abc").file("x", b"").finish();
    let e = error(&bytes);
    assert_eq!(e.offset, 512);
    assert_eq!(e.layer, Layer::Tar);
    assert!(e.message.contains("PAX"), "{e}");
}

#[test]
fn pax_global_comment_is_accepted() {
    let bytes = Tar::new().pax_typed(b'g', &[("comment", b"0123abcd")]).file("a", b"1").finish();
    let (e, _) = only_entry(&bytes);
    assert_eq!(e.index, 0);
}

#[test]
fn pax_global_changing_members_is_refused() {
    let bytes = Tar::new().pax_typed(b'g', &[("path", b"x")]).file("a", b"1").finish();
    assert!(error(&bytes).message.contains("global"));
}

#[test]
fn extension_header_at_end_is_refused() {
    let bytes = Tar::new().file("a", b"").pax(&[("path", b"b")]).finish();
    assert!(error(&bytes).message.contains("extension header"));
    let bytes = Tar::new().gnu_long(b'L', b"b").unterminated();
    assert!(error(&bytes).message.contains("extension header"));
}

#[test]
fn header_only_kinds_with_data_are_refused() {
    for flag in [b'1', b'2', b'3', b'4', b'5', b'6'] {
        let mut h = Header::new(b"x", flag, 512);
        h.link(b"t");
        let bytes = Tar::new().entry(&h, &[0u8; 512]).finish();
        assert!(error(&bytes).message.contains("declares"), "type {}", flag as char);
    }
}

#[test]
fn unknown_types_carry_data() {
    let h = Header::new(b"weird", b'Z', 5);
    let bytes = Tar::new().entry(&h, b"12345").file("after", b"").finish();
    let all = entries(&bytes).unwrap();
    assert_eq!(all[0].0.kind, Kind::Other);
    assert!(all[0].1.is_empty(), "data of non-files is not delivered");
    assert_eq!(all[1].0.path, b"after");
}

#[test]
fn sparse_is_refused() {
    let bytes = Tar::new().entry(&Header::new(b"s", b'S', 0), b"").finish();
    assert!(error(&bytes).message.contains("sparse"));
    let bytes = Tar::new().pax(&[("GNU.sparse.major", b"1")]).file("s", b"").finish();
    assert!(error(&bytes).message.contains("sparse"));
}

#[test]
fn bad_checksum_is_refused_with_offset() {
    let mut h = Header::new(b"a", b'0', 0);
    h.bad_checksum(b"0000001\0");
    let bytes = Tar::new().file("first", b"").entry(&h, b"").finish();
    let e = error(&bytes);
    assert_eq!(e.offset, 512);
    assert!(e.message.contains("checksum"));
}

#[test]
fn signed_checksum_is_accepted() {
    // A name byte >= 0x80 makes the signed and unsigned sums differ.
    let mut h = Header::new(b"caf\xe9", b'0', 0);
    let mut block = h.build();
    block[148..156].fill(b' ');
    let signed: i64 = block.iter().map(|&b| i64::from(b as i8)).sum();
    h.bad_checksum(format!("{signed:06o}\0 ").as_bytes());
    let (e, _) = only_entry(&Tar::new().entry(&h, b"").finish());
    assert_eq!(e.path, b"caf\xe9");
    assert!(e.refusal.is_some(), "not UTF-8");
}

#[test]
fn bad_numbers_are_refused() {
    let mut h = Header::new(b"a", b'0', 0);
    h.set(124, 12, b"12x45");
    assert!(error(&Tar::new().entry(&h, b"").finish()).message.contains("size"));
    let mut h = Header::new(b"a", b'0', 0);
    h.set(124, 12, &[0xff; 12]);
    assert!(error(&Tar::new().entry(&h, b"").finish()).message.contains("size"));
}

#[test]
fn base256_size_is_read() {
    let mut h = Header::new(b"a", b'0', 0);
    let mut field = [0u8; 12];
    field[0] = 0x80;
    field[11] = 3;
    h.set(124, 12, &field);
    let (e, d) = only_entry(&Tar::new().entry(&h, b"abc").finish());
    assert_eq!((e.size, d.as_slice()), (3, &b"abc"[..]));
}

#[test]
fn negative_mtime_is_kept() {
    let mut h = Header::new(b"a", b'0', 0);
    let mut field = [0xffu8; 12];
    field[11] = 0xf6; // -10
    h.set(136, 12, &field);
    let (e, _) = only_entry(&Tar::new().entry(&h, b"").finish());
    assert_eq!(e.mtime, -10);
}

#[test]
fn truncation_is_refused() {
    let full = Tar::new().file("a", &[1u8; 1000]).finish();
    let e = error(&full[..700]);
    assert!(e.message.contains("truncated"), "{e}");
    let e = error(&full[..300]);
    assert!(e.message.contains("truncated header"), "{e}");
}

#[test]
fn missing_end_marker_is_accepted() {
    let bytes = Tar::new().file("a", b"x").unterminated();
    assert_eq!(entries(&bytes).unwrap().len(), 1);
    let mut one_zero_block = bytes.clone();
    one_zero_block.extend([0u8; 512]);
    assert_eq!(entries(&one_zero_block).unwrap().len(), 1);
}

#[test]
fn data_after_end_marker_is_refused() {
    let mut bytes = Tar::new().file("a", b"x").finish();
    bytes.extend(Tar::new().file("hidden", b"y").finish());
    let e = error(&bytes);
    assert!(e.message.contains("after the end-of-archive"), "{e}");
}

#[test]
fn zero_padding_after_end_marker_is_accepted() {
    let mut bytes = Tar::new().file("a", b"x").finish();
    bytes.resize(10240, 0);
    assert_eq!(entries(&bytes).unwrap().len(), 1);
}

#[test]
fn corrupt_gzip_names_an_input_offset() {
    let mut bytes = gzip(&Tar::new().file("a", &[5u8; 5000]).finish());
    let n = bytes.len();
    bytes[n - 6] ^= 0x55; // inside the CRC/length trailer
    let e = error(&bytes);
    assert_eq!(e.layer, Layer::Input);
    assert!(e.message.contains("gzip"), "{e}");
}

#[test]
fn truncated_gzip_is_refused() {
    let bytes = gzip(&Tar::new().file("a", &[5u8; 5000]).finish());
    assert!(entries(&bytes[..bytes.len() / 2]).is_err());
}

/// gzip members cut at awkward places: inside headers, inside file data
/// (so one file's data spans members), on block boundaries, and empty ones.
fn members_cut_everywhere() -> (Vec<u8>, Vec<Vec<u8>>) {
    let tar = Tar::new()
        .file("a", &[1u8; 3000])
        .dir("d/")
        .file("d/b", &(0..20_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>())
        .file("c", b"")
        .file("e", b"end")
        .finish();
    let cuts = [0, 100, 512, 700, 700, 1024, 1025, 3584, 4000, 4608, 9000, 9001, 25_000, tar.len()];
    let members: Vec<Vec<u8>> = cuts.windows(2).map(|w| gzip(&tar[w[0]..w[1]])).collect();
    (tar, members)
}

#[test]
fn gzip_members_cut_anywhere_are_checked_whoever_has_the_bytes() {
    let (tar, members) = members_cut_everywhere();
    let bytes = members.concat();
    let events = parse_all(&bytes).expect("every member's CRC-32 holds");
    let ends: Vec<_> = events.iter().filter_map(|e| if let Event::CheckEnd(m) = e { Some(m) } else { None }).collect();
    let starts = events.iter().filter(|e| matches!(e, Event::CheckStart(_))).count();
    assert_eq!(starts, ends.len());
    // Members some of whose bytes are file data are reported; the others
    // (headers, padding, the end marker only) are checked in the guest.
    assert!(ends.len() >= 4, "{ends:?}");
    assert!(ends.windows(2).all(|w| w[0].tar_end < w[1].tar_end), "{ends:?}");
    assert!(ends.iter().all(|m| m.tar_end <= tar.len() as u64));
    let all = entries(&bytes).unwrap();
    assert_eq!(all[2].1.len(), 20_000);
    // A wrong CRC-32 in any member is refused, by the guest or at the end
    // report, and names the member's trailer.
    for i in 0..members.len() {
        let mut bad = members.clone();
        let n = bad[i].len();
        bad[i][n - 8] ^= 0x01;
        let e = error(&bad.concat());
        assert_eq!(e.layer, Layer::Input, "member {i}: {e}");
        assert!(e.message.contains("CRC-32"), "member {i}: {e}");
        let trailer_end: usize = bad[..=i].iter().map(Vec::len).sum();
        assert_eq!(e.offset, trailer_end as u64, "member {i}: {e}");
    }
}

/// xz in blocks of 256 KiB (no smaller than preset 0's dictionary), so
/// that blocks end inside file data, with each check type xz writes.
#[test]
fn xz_blocks_are_checked_whoever_has_the_bytes() {
    use lzma_rust2::{CheckType, XzOptions};
    let (tar, _) = members_cut_everywhere();
    let tar = [tar.clone(), (0..1_200_000u32).map(|i| (i * 7 % 253) as u8).collect(), tar].concat();
    let tar = Tar::new().file("big", &tar).file("after", b"end").finish();
    for check in [CheckType::Crc32, CheckType::Crc64, CheckType::Sha256, CheckType::None] {
        let mut options = XzOptions::with_preset(0);
        options.set_check_sum_type(check);
        options.set_block_size(std::num::NonZeroU64::new(256 << 10));
        let x = sealtar_testkit::xz_with(&tar, options);
        let events = parse_all(&x).unwrap_or_else(|e| panic!("{check:?}: {e}"));
        let starts = events.iter().filter(|e| matches!(e, Event::CheckStart(_))).count();
        let crc = matches!(check, CheckType::Crc32 | CheckType::Crc64);
        // Every block holds data of "big": each is announced when it has a CRC.
        assert_eq!(starts > 3, crc, "{check:?}: {starts} blocks announced");
        assert_eq!(entries(&x).unwrap(), entries(&tar).unwrap());
        // The last block's check, just before the index, changed.
        let backward = u32::from_le_bytes(x[x.len() - 8..x.len() - 4].try_into().unwrap());
        let mut bad = x.clone();
        bad[x.len() - 12 - (backward as usize + 1) * 4 - 1] ^= 1;
        if check != CheckType::None {
            let e = error(&bad);
            assert!(e.message.contains("check mismatch"), "{check:?}: {e}");
        }
    }
}

#[test]
fn without_data_gzip_members_are_checked_in_the_guest() {
    let (_, mut members) = members_cut_everywhere();
    let n = members[6].len();
    members[6][n - 8] ^= 0x01;
    let bytes = members.concat();
    let mut p = Parser::new(Trickle(&bytes), Limits::default(), false);
    let e = loop {
        match p.next_batch(4096) {
            Ok(batch) => {
                assert!(!batch.is_empty(), "a wrong CRC-32 must be refused");
                assert!(batch.iter().all(|e| matches!(e, Event::Entry(_))), "{batch:?}");
            }
            Err(e) => break e,
        }
    };
    assert!(e.message.contains("CRC-32"), "{e}");
}

#[test]
fn multi_member_gzip_is_one_archive() {
    let tar = Tar::new().file("a", b"first").file("b", b"second").finish();
    let (one, two) = tar.split_at(1024);
    let mut bytes = gzip(one);
    bytes.extend(gzip(two));
    let all = entries(&bytes).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].1, b"second");
}

#[test]
fn unsupported_compression_is_named() {
    let e = error(b"PK\x03\x04\x14\x00");
    assert!(e.message.starts_with("this is a zip archive"), "{e}");
}

#[test]
fn extension_payload_limit() {
    let limits = Limits { max_extension_bytes: 100, ..Limits::default() };
    let bytes = Tar::new().gnu_long(b'L', &[b'a'; 200]).file("x", b"").finish();
    let err = Parser::new(&bytes[..], limits, true).next_batch(1 << 20).unwrap_err();
    assert!(err.message.contains("limit"), "{err}");
}

#[test]
fn entry_limit() {
    let limits = Limits { max_entries: 2, ..Limits::default() };
    let bytes = Tar::new().file("a", b"").file("b", b"").file("c", b"").finish();
    let mut p = Parser::new(&bytes[..], limits, true);
    assert_eq!(p.next_batch(1 << 20).unwrap().len(), 2);
    let err = p.next_batch(1 << 20).unwrap_err();
    assert!(err.message.contains("entry limit"), "{err}");
}

#[test]
fn path_limit() {
    let limits = Limits { max_path_bytes: 10, ..Limits::default() };
    let bytes = Tar::new().file("a-name-longer-than-ten", b"").finish();
    let err = Parser::new(&bytes[..], limits, true).next_batch(1 << 20).unwrap_err();
    assert!(err.message.contains("limit"), "{err}");
}

#[test]
fn errors_are_sticky() {
    let mut p = Parser::new(&b"BZh9"[..], Limits::default(), true);
    let first = p.next_batch(10).unwrap_err();
    assert_eq!(p.next_batch(10).unwrap_err(), first);
}

#[test]
fn entries_before_an_error_are_delivered_first() {
    let mut bad = Header::new(b"bad", b'0', 0);
    bad.bad_checksum(b"0000001\0");
    let bytes = Tar::new().file("first", b"1").file("second", b"2").entry(&bad, b"").finish();
    let mut p = Parser::new(&bytes[..], Limits::default(), true);
    let batch = p.next_batch(1 << 20).unwrap();
    let names: Vec<_> = batch
        .iter()
        .filter_map(|e| match e {
            Event::Entry(e) => Some(e.path.clone()),
            Event::Data(_) | Event::CheckStart(_) | Event::CheckEnd(_) => None,
        })
        .collect();
    assert_eq!(names, [b"first".to_vec(), b"second".to_vec()]);
    let err = p.next_batch(1 << 20).unwrap_err();
    assert_eq!(err.offset, 2048);
    assert_eq!(p.next_batch(1 << 20).unwrap_err(), err);
}

#[test]
fn empty_input_is_refused_as_gnu_tar_and_tarfile_do() {
    let e = error(b"");
    assert!(e.message.starts_with("this is an empty file"), "{e}");
}

#[test]
fn dot_components_after_the_start_get_a_guest_refusal() {
    for name in ["dir/.", "a/./b", "././a", "a/./"] {
        let kind_flag = if name.ends_with('/') { b'5' } else { b'0' };
        let (e, _) = only_entry(&Tar::new().entry(&Header::new(name.as_bytes(), kind_flag, 0), b"").finish());
        assert!(e.refusal.as_deref().is_some_and(|r| r.contains("'.'")), "{name}: {:?}", e.refusal);
    }
    for name in ["./a", ".//a", "a/.b", "a/b."] {
        let (e, _) = only_entry(&Tar::new().file(name, b"").finish());
        assert_eq!(e.refusal, None, "{name}");
    }
    for name in [".", "./"] {
        let (e, _) = only_entry(&Tar::new().dir(name).finish());
        assert_eq!(e.refusal, None, "{name}");
    }
}

/// The numeric fields every header block carries: name, offset, length.
const NUMERIC: [(&str, usize, usize); 7] = [
    ("mode", 100, 8),
    ("uid", 108, 8),
    ("gid", 116, 8),
    ("size", 124, 12),
    ("mtime", 136, 12),
    ("devmajor", 329, 8),
    ("devminor", 337, 8),
];

/// `a`, then a header of type `flag` whose field at `offset` holds `value`
/// (for an extension type, followed by the member it applies to), then `z`.
fn with_field(flag: u8, offset: usize, len: usize, value: &[u8]) -> Vec<u8> {
    let mut t = Tar::new();
    t.file("a", b"A");
    let (name, payload): (&[u8], Vec<u8>) = match flag {
        b'x' => (b"././@PaxHeader", sealtar_testkit::pax_record("path", b"b")),
        b'g' => (b"././@PaxHeader", sealtar_testkit::pax_record("comment", b"c")),
        b'L' | b'K' => (b"././@LongLink", b"b\0".to_vec()),
        // A member whose size field is under test has no data.
        _ if offset == 124 => (b"b", Vec::new()),
        _ => (b"b", b"B".to_vec()),
    };
    let mut h = Header::new(name, flag, payload.len() as u64);
    if matches!(flag, b'L' | b'K') {
        h.format(Format::Gnu);
    }
    h.set(offset, len, value);
    t.entry(&h, &payload);
    match flag {
        b'K' => t.symlink("b", "t"),
        b'x' | b'g' | b'L' => t.file("b", b"B"),
        _ => &mut t,
    };
    t.file("z", b"Z").finish()
}

/// Header types checked: a regular file, a PAX header (`x`, `g`), a GNU long
/// name and link (`L`, `K`).
const FLAGS: [u8; 5] = [b'0', b'x', b'g', b'L', b'K'];

#[test]
fn undecodable_numeric_fields_of_every_header_are_refused() {
    // Python ends the archive at any of these (so it sees only `a`); GNU tar
    // reads `1 2` as 1 and does not decode an extension header's fields.
    for flag in FLAGS {
        for (name, offset, len) in NUMERIC {
            for value in [&b"9999999\0"[..], b"99x\0", b"1 2\0"] {
                let bytes = with_field(flag, offset, len, value);
                let case = format!("type {} field {name} value {}", flag.escape_ascii(), value.escape_ascii());
                let e = error(&bytes);
                assert_eq!(e.offset, 1024, "{case}: {e}");
                assert_eq!(rule_of(&bytes), "numeric-field", "{case}: {e}");
                assert!(e.message.contains(&format!(" {name} field \"{}", value.escape_ascii())), "{case}: {e}");
                let who = if flag == b'0' { "entry 1 \"b\"".to_string() } else { format!("'{}' header", flag as char) };
                assert!(e.message.contains(&who), "{case}: {e}");
            }
        }
    }
}

#[test]
fn numeric_field_message_names_the_header_the_field_and_the_rule() {
    let e = error(&with_field(b'x', 100, 8, b"9999999\0"));
    assert_eq!(
        e.message,
        GrammarRule::NumericField.message(
            "'x' header \"././@PaxHeader\" of entry 1: mode field \"9999999\\x00\" does not decode \
             (byte 0x39 in an octal field)"
        )
    );
    let e = error(&with_field(b'0', 108, 8, b"1 2\0"));
    assert!(e.message.starts_with("entry 1 \"b\": uid field \"1 2\\x00\\x00\\x00\\x00\\x00\" does not decode"), "{e}");
}

#[test]
fn nul_filled_numeric_fields_read_as_zero_everywhere() {
    // Both readers read an all-NUL field as 0 (some writers leave uid, gid
    // and the device numbers so).
    for flag in FLAGS {
        for (name, offset, len) in NUMERIC {
            if name == "size" && flag != b'0' {
                continue; // an extension header needs its size
            }
            let bytes = with_field(flag, offset, len, &[]);
            let all = entries(&bytes).unwrap_or_else(|e| panic!("type {} field {name}: {e}", flag as char));
            let names: Vec<_> = all.iter().map(|(e, _)| e.path.as_slice()).collect();
            assert_eq!(names, [&b"a"[..], b"b", b"z"], "type {} field {name}", flag as char);
            let b = &all[1].0;
            match (flag, name) {
                (b'0', "mode") => assert_eq!(b.mode, 0),
                (b'0', "mtime") => assert_eq!(b.mtime, 0),
                (b'0', "size") => assert_eq!((b.size, all[1].1.as_slice()), (0, &b""[..])),
                _ => assert_eq!((b.mode, b.mtime), (if flag == b'K' { 0o777 } else { 0o644 }, 1_700_000_000)),
            }
        }
    }
}

#[test]
fn space_filled_numeric_fields_are_read_where_gnu_tar_does_not_decode_them() {
    // Python reads a field of spaces as 0; GNU tar does not look at an
    // extension header's mode, uid, gid, mtime or device numbers, nor at a
    // regular file's device numbers.
    for flag in FLAGS {
        for (name, offset, len) in NUMERIC {
            let gnu_decodes = name == "size" || (flag == b'0' && !name.starts_with("dev"));
            for value in [vec![b' '; len], [&[0u8][..], &vec![b' '; len - 1]].concat()] {
                let bytes = with_field(flag, offset, len, &value);
                let case = format!("type {} field {name} value {}", flag as char, value.escape_ascii());
                if gnu_decodes {
                    // GNU tar: "Blanks in header", read as -1 (mode 07777,
                    // mtime 1969; a size of spaces skips the member).
                    assert_eq!(rule_of(&bytes), "numeric-field", "{case}");
                    assert!(error(&bytes).message.contains("holds only spaces"), "{case}");
                } else {
                    assert_eq!(entries(&bytes).map(|a| a.len()), Ok(3), "{case}");
                }
            }
        }
    }
    // Spaces ended by a NUL are 0 to both readers.
    for (name, offset, len) in NUMERIC {
        let mut value = vec![b' '; len - 1];
        value.push(0);
        let all = entries(&with_field(b'0', offset, len, &value)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(all.len(), 3, "{name}");
    }
}

#[test]
fn device_numbers_of_a_device_must_not_be_blank() {
    for (offset, what) in [(329, "devmajor"), (337, "devminor")] {
        for blank in [&b"        "[..], b"\0       "] {
            let bytes = device_with(offset, blank);
            assert_eq!(rule_of(&bytes), "numeric-field", "{what}");
            assert!(error(&bytes).message.contains(&format!("entry 1 \"dev\": {what} field")), "{what}");
        }
        assert_eq!(entries(&device_with(offset, b"\0\0\0\0\0\0\0\0")).map(|a| a.len()), Ok(3), "{what}");
        assert_eq!(entries(&device_with(offset, b"       \0")).map(|a| a.len()), Ok(3), "{what}");
    }
}

#[test]
fn base256_numeric_fields_are_read_in_every_header() {
    for flag in FLAGS {
        for (name, offset, len) in NUMERIC {
            if name == "size" {
                continue; // the data would not match; base256_size_is_read covers it
            }
            let mut value = vec![0u8; len];
            value[0] = 0x80;
            value[len - 2..].copy_from_slice(&[0x01, 0xed]); // 0o755
            let all = entries(&with_field(flag, offset, len, &value))
                .unwrap_or_else(|e| panic!("type {} field {name}: {e}", flag as char));
            assert_eq!(all.len(), 3, "type {} field {name}", flag as char);
            match (flag, name) {
                (b'0', "mode") => assert_eq!(all[1].0.mode, 0o755),
                (b'0', "mtime") => assert_eq!(all[1].0.mtime, 0o755),
                _ => {}
            }
        }
    }
}

#[test]
fn ids_and_device_numbers_above_32_bits_are_refused_where_gnu_tar_decodes_them() {
    // GNU tar: "value 4294967296 is out of uid_t range"; Python reads it.
    // GNU decodes a member's uid and gid and a device's numbers, nothing of
    // an extension header's.
    let ids = ["uid", "gid", "devmajor", "devminor"];
    for flag in [b'0', b'3', b'x', b'g', b'L', b'K'] {
        for (name, offset, len) in NUMERIC.into_iter().filter(|(n, ..)| ids.contains(n)) {
            let gnu_decodes = match flag {
                b'0' => !name.starts_with("dev"),
                b'3' => true,
                _ => false,
            };
            let case = format!("type {} field {name}", flag as char);
            let mut value = vec![0u8; len];
            value[0] = 0x80;
            value[3] = 0x01; // 2^32
            let bytes = if flag == b'3' { device_with(offset, &value) } else { with_field(flag, offset, len, &value) };
            if gnu_decodes {
                assert_eq!(rule_of(&bytes), "numeric-field", "{case}");
                assert!(error(&bytes).message.contains("is 4294967296, above 4294967295"), "{case}");
            } else {
                assert_eq!(entries(&bytes).map(|a| a.len()), Ok(3), "{case}");
            }
            value[3] = 0;
            value[4..].fill(0xff); // 2^32 - 1
            let bytes = if flag == b'3' { device_with(offset, &value) } else { with_field(flag, offset, len, &value) };
            assert!(entries(&bytes).is_ok(), "{case}");
        }
    }
}

/// A character device whose field at `offset` (8 bytes) holds `value`.
fn device_with(offset: usize, value: &[u8]) -> Vec<u8> {
    let mut h = Header::new(b"dev", b'3', 0);
    h.device_numbers(1, 3).set(offset, 8, value);
    Tar::new().file("a", b"A").entry(&h, b"").file("z", b"Z").finish()
}
