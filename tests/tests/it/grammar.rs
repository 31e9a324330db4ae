//! Parser differentials, checked against the two mainstream readers.
//!
//! Each archive here is built from raw header bytes to hit one class of
//! ambiguity. It is extracted three times: by sealtar, by GNU tar and by
//! Python's tarfile. The rule: **sealtar agrees with both, or refuses.** An
//! accepted archive must give all three the same tree; an archive the two
//! oracles read differently must be refused. Each case also pins sealtar's
//! own decision, so a change of behaviour is seen even where the oracles are
//! missing.

use std::path::Path;
use std::process::Command;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::{Extractor, Options};
use sealtar_tests::oracle::{Observed, differences, gnu_extract, gnu_tar, observe};
use sealtar_tests::{Format, Header, Tar, gzip};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Accept,
    Refuse,
}
use Expect::{Accept, Refuse};

fn python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|p| {
        Command::new(p).args(["-c", "import tarfile; tarfile.data_filter"]).output().is_ok_and(|o| o.status.success())
    })
}

/// Python's reading: extract everything with no filter of its own (the point
/// is what it *parses*), and fail on any error.
fn python_extract(python: &str, archive: &Path, dest: &Path) -> Result<(), String> {
    let script = "import sys, tarfile\n\
                  with tarfile.open(sys.argv[1], errorlevel=2) as t:\n    \
                  t.extractall(sys.argv[2], filter='fully_trusted')\n";
    let out = Command::new(python).args(["-c", script]).arg(archive).arg(dest).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!("Python failed: {}", err.lines().last().unwrap_or("")))
    }
}

struct Oracles {
    tar: &'static str,
    python: &'static str,
}

fn oracles() -> Option<Oracles> {
    Some(Oracles { tar: gnu_tar()?, python: python()? })
}

fn extractor() -> Extractor {
    let mut options = Options::default();
    options.cache_dir = None;
    Extractor::new(options).expect("sandbox")
}

/// Runs one case and checks the rule; returns a failure description.
fn check(name: &str, bytes: &[u8], expect: Expect, oracles: Option<&Oracles>) -> Result<(), String> {
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("case.tar");
    std::fs::write(&archive, bytes).unwrap();
    let ours = work.path().join("sealtar");
    std::fs::create_dir(&ours).unwrap();
    let dest = Dir::open_ambient_dir(&ours, ambient_authority()).unwrap();
    let result = extractor().extract(bytes, &dest);
    let accepted = match &result {
        Ok(_) => true,
        Err(e) if e.is_refusal() => false,
        Err(e) => return Err(format!("{name}: not a refusal but an error: {e}")),
    };
    if accepted != (expect == Accept) {
        return Err(format!("{name}: expected {expect:?}, sealtar gave {result:?}"));
    }
    let Some(o) = oracles else { return Ok(()) };
    if !accepted {
        return Ok(()); // A refusal always satisfies the rule.
    }

    let gnu = work.path().join("gnu");
    let py = work.path().join("py");
    std::fs::create_dir(&gnu).unwrap();
    std::fs::create_dir(&py).unwrap();
    let gnu_result = gnu_extract(o.tar, &archive, &gnu).map(|()| observe(&gnu));
    let py_result = python_extract(o.python, &archive, &py).map(|()| observe(&py));
    let oracles_agree = match (&gnu_result, &py_result) {
        (Ok(g), Ok(p)) => differences(p, g).is_empty(),
        (Err(_), Err(_)) => true,
        _ => false,
    };
    if !oracles_agree {
        return Err(format!("{name}: sealtar accepted an archive GNU tar and Python read differently"));
    }
    let mine = observe(&ours);
    let gnu_tree = gnu_result.map_err(|e| format!("{name}: sealtar accepted but {e}"))?;
    let diffs = differences(&mine, &gnu_tree);
    if diffs.is_empty() { Ok(()) } else { Err(format!("{name}: {}", diffs.join("; "))) }
}

/// A header with a hand-set size field (the data that follows is the
/// caller's business).
fn header(name: &str, flag: u8, size: u64) -> Header {
    Header::new(name.as_bytes(), flag, size)
}

fn cases() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let mut cases = Vec::new();
    let mut add = |name, bytes: Vec<u8>, expect| cases.push((name, bytes, expect));

    // PAX size overrides a larger header size: the member holds 3 bytes.
    let mut t = Tar::new();
    t.pax(&[("size", b"3")]).raw(&header("a.txt", b'0', 1024).build()).raw(b"abc").pad().file("b.txt", b"second");
    add("pax size smaller than header size", t.finish(), Accept);

    // PAX size overrides a smaller header size.
    let mut t = Tar::new();
    t.pax(&[("size", b"700")]).raw(&header("a.txt", b'0', 0).build()).raw(&[b'z'; 700]).pad().file("b.txt", b"x");
    add("pax size larger than header size", t.finish(), Accept);

    // PAX records apply to the next member only.
    let t = Tar::new().pax(&[("path", b"renamed.txt")]).file("first", b"1").file("second", b"2").finish();
    add("pax record is not stale for later members", t, Accept);

    // A PAX size before a GNU long-name header applies to the member after
    // it, not to the long-name payload.
    let t = Tar::new().pax(&[("size", b"5")]).gnu_long(b'L', b"long/named.txt").file("short", b"12345").finish();
    add("pax size does not apply to a GNU L header", t, Accept);

    // GNU long name with a NUL inside: every reader cuts it there.
    let t = Tar::new().gnu_long(b'L', b"cut.txt\0ignored").file("short", b"x").finish();
    add("NUL inside a GNU long name", t, Accept);

    // One member named twice.
    let t = Tar::new().pax(&[("path", b"one.txt")]).gnu_long(b'L', b"two.txt").file("x", b"x").finish();
    add("member named by PAX path and GNU L", t, Refuse);

    // One link target given twice.
    let t = Tar::new().pax(&[("linkpath", b"one")]).gnu_long(b'K', b"two").symlink("l", "x").finish();
    add("link target by PAX linkpath and GNU K", t, Refuse);

    // A NUL inside a PAX path: GNU tar cuts the name there, Python keeps it.
    let t = Tar::new().pax(&[("path", b"cut.txt\0rest")]).file("x", b"x").finish();
    add("NUL inside a PAX path", t, Refuse);

    // Two PAX headers for one member (Python applies the first, Go the last).
    let t = Tar::new().pax(&[("path", b"one.txt")]).pax(&[("path", b"two.txt")]).file("x", b"x").finish();
    add("two PAX headers for one member", t, Refuse);

    // Two GNU long names for one member.
    let t = Tar::new().gnu_long(b'L', b"one.txt").gnu_long(b'L', b"two.txt").file("x", b"x").finish();
    add("two GNU long names for one member", t, Refuse);

    // A key repeated in one PAX header.
    let mut payload = sealtar_tests::pax_record("path", b"one.txt");
    payload.extend(sealtar_tests::pax_record("path", b"two.txt"));
    let t = Tar::new().pax_raw(b'x', &payload).file("x", b"x").finish();
    add("PAX key repeated in one header", t, Refuse);

    // Malformed PAX records.
    for (name, payload) in [
        ("PAX record with a wrong length", &b"30 path=short.txt\n"[..]),
        ("PAX record without a newline", &b"17 path=short.txt"[..]),
        ("PAX size that is not decimal", &b"12 size=0x1\n"[..]),
        ("PAX size with a sign", &b"11 size=+1\n"[..]),
        ("PAX path with an empty value", &b"9 path=\n"[..]),
    ] {
        let t = Tar::new().pax_raw(b'x', payload).file("x", b"x").finish();
        add(name, t, Refuse);
    }

    // An extension header with nothing after it.
    let t = Tar::new().file("a.txt", b"a").pax(&[("path", b"b.txt")]).finish();
    add("PAX header followed by the end marker", t, Refuse);

    // PAX global headers.
    let t = Tar::new().pax_typed(b'g', &[("comment", b"0123456789abcdef")]).file("a.txt", b"a").finish();
    add("PAX global header with a comment only", t, Accept);
    let t = Tar::new().pax_typed(b'g', &[("mtime", b"12345")]).file("a.txt", b"a").finish();
    add("PAX global header that changes members", t, Refuse);

    // Header-only types that declare data.
    let t = Tar::new().entry(&header("d/", b'5', 512), &[b'x'; 512]).file("a.txt", b"a").finish();
    add("directory header declaring data", t, Refuse);
    let mut link = header("l", b'2', 512);
    link.link(b"target");
    let t = Tar::new().entry(&link, &[b'x'; 512]).finish();
    add("symlink header declaring data", t, Refuse);

    // GNU sparse members: refused, also when they claim a huge real size
    // (the refusal comes from the header, before any data).
    let t = Tar::new().entry(&header("sparse", b'S', 0), b"").finish();
    add("GNU sparse member", t, Refuse);
    let mut huge = header("huge-sparse", b'S', 0);
    huge.format(sealtar_tests::Format::Gnu).octal(483, 12, 6_000_000_000);
    add("GNU sparse member claiming 6 GB", Tar::new().entry(&huge, b"").finish(), Refuse);
    let t = Tar::new()
        .pax(&[("GNU.sparse.major", b"1"), ("GNU.sparse.minor", b"0"), ("GNU.sparse.realsize", b"60000000000")])
        .file("pax-sparse", b"")
        .finish();
    add("PAX sparse member claiming 60 GB", t, Refuse);

    // Numeric fields.
    let mut big = header("b256.txt", b'0', 0);
    let mut field = [0u8; 12];
    field[0] = 0x80;
    field[11] = 4;
    big.set(124, 12, &field);
    add("base-256 size", Tar::new().entry(&big, b"four").finish(), Accept);
    let mut neg = header("neg.txt", b'0', 0);
    neg.set(124, 12, &[0xff; 12]);
    add("negative base-256 size", Tar::new().entry(&neg, b"").finish(), Refuse);
    let mut spaced = header("spaced.txt", b'0', 0);
    spaced.set(124, 12, b"1 2");
    add("size with a space inside", Tar::new().entry(&spaced, b"x").finish(), Refuse);

    // End of the archive.
    add("missing end-of-archive marker", Tar::new().file("a.txt", b"a").unterminated(), Accept);
    let mut one_block = Tar::new().file("a.txt", b"a").unterminated();
    one_block.extend([0u8; 512]);
    add("single zero block at the end", one_block, Accept);
    let mut hidden = Tar::new().file("a.txt", b"a").finish();
    hidden.extend(Tar::new().file("hidden.txt", b"h").finish());
    add("second archive after the end marker", hidden, Refuse);

    // gzip framing.
    let tar = Tar::new().file("a.txt", b"a").finish();
    let mut garbage = gzip(&tar);
    garbage.extend(b"trailing garbage");
    add("garbage after the gzip stream", garbage, Refuse);
    let (first, second) = tar.split_at(512);
    let mut members = gzip(first);
    members.extend(gzip(second));
    add("multi-member gzip", members, Accept);

    // The prefix field outside a POSIX header (issue 9 §1). GNU tar joins
    // it under any `ustar\0` magic, Python under any magic, the POSIX rule
    // (and the `tar` crate) only under `ustar\0` + `00`.
    for (name, version) in
        [("ustar magic, version NUL NUL, prefix", &b"\0\0"[..]), ("ustar magic, version 01, prefix", b"01")]
    {
        let mut h = header("build.rs", b'0', 1);
        h.prefix(b"foo-1.0/tests/fixtures/foo-1.0").set(263, 2, version);
        add(name, Tar::new().entry(&h, b"x").finish(), Refuse);
    }
    for (name, format) in [("GNU header with a prefix", Format::Gnu), ("v7 header with a prefix", Format::V7)] {
        let mut h = header("build.rs", b'0', 1);
        h.format(format).prefix(b"foo-1.0/tests");
        add(name, Tar::new().entry(&h, b"x").finish(), Refuse);
    }
    let mut h = header("a.txt", b'0', 1);
    h.format(Format::Gnu).octal(345, 12, 0o12574544345).octal(357, 12, 0o12574542274);
    add("GNU incremental atime and ctime", Tar::new().entry(&h, b"x").finish(), Refuse);
    let mut h = header("a.txt", b'0', 1);
    h.format(Format::Gnu).set(450, 1, b"1");
    add("GNU header, one byte late in the prefix area", Tar::new().entry(&h, b"x").finish(), Refuse);
    let mut h = header("build.rs", b'0', 1);
    h.set(263, 2, b"\0\0");
    add("ustar magic, version NUL NUL, no prefix", Tar::new().entry(&h, b"x").finish(), Accept);
    for format in [Format::Gnu, Format::V7] {
        let mut h = header("plain.txt", b'0', 1);
        h.format(format);
        add(
            if format == Format::Gnu { "GNU header" } else { "v7 header" },
            Tar::new().entry(&h, b"x").finish(),
            Accept,
        );
    }

    // Non-zero padding after extension payloads: GNU tar and Python read L/K
    // names up to the first NUL of the block and PAX records into it.
    let padded = |flag: u8, payload: &[u8], junk: &[u8]| {
        let mut h = header(
            if matches!(flag, b'L' | b'K') { "././@LongLink" } else { "././@PaxHeader" },
            flag,
            payload.len() as u64,
        );
        if matches!(flag, b'L' | b'K') {
            h.format(Format::Gnu);
        }
        let mut t = Tar::new();
        t.raw(&h.build()).raw(payload).raw(junk).pad();
        t
    };
    let t = padded(b'L', b"long/name.txt", b"more").file("short", b"x").finish();
    add("GNU long name continued in the padding", t, Refuse);
    let t = padded(b'L', b"long/name.txt\0", b"junk").file("short", b"x").finish();
    add("GNU long name with junk in the padding", t, Refuse);
    let t = padded(b'x', &sealtar_tests::pax_record("path", b"p.txt"), &sealtar_tests::pax_record("mtime", b"12345"))
        .file("short", b"x")
        .finish();
    add("PAX record hidden in the padding", t, Refuse);
    let t =
        padded(b'g', &sealtar_tests::pax_record("comment", b"c"), &sealtar_tests::pax_record("path", b"hidden.txt"))
            .file("short", b"x")
            .finish();
    add("PAX global record hidden in the padding", t, Refuse);
    let t = padded(b'L', b"long/name.txt", b"").file("short", b"x").finish();
    add("GNU long name without a NUL, zero padding", t, Accept);

    // Old-style (NUL type flag) members whose raw name and final name
    // disagree about a trailing slash: Python decides from the raw name,
    // GNU tar from the final one.
    let areg = |name: &str| {
        let mut h = header(name, 0, 0);
        h.format(Format::Gnu);
        h
    };
    let t = Tar::new().pax(&[("path", b"thing")]).entry(&areg("thing/"), b"").finish();
    add("old-style member: raw name a directory, PAX path a file", t, Refuse);
    let t = Tar::new().pax(&[("path", b"thing/")]).entry(&areg("thing"), b"").finish();
    add("old-style member: raw name a file, PAX path a directory", t, Refuse);
    let t = Tar::new().gnu_long(b'L', b"thing").entry(&areg("thing/"), b"").finish();
    add("old-style member: raw name a directory, GNU long name a file", t, Refuse);
    let t = Tar::new().gnu_long(b'L', b"thing/").entry(&areg("thing"), b"").finish();
    add("old-style member: raw name a file, GNU long name a directory", t, Refuse);
    let mut h = header("", 0, 0);
    h.prefix(b"dir/");
    add("old-style member: empty name under a prefix", Tar::new().entry(&h, b"").finish(), Refuse);
    let t = Tar::new().pax(&[("path", b"long/thing/")]).entry(&areg("thing/"), b"").finish();
    add("old-style member: both names a directory", t, Accept);
    let mut v7 = header("olddir/", 0, 0);
    v7.format(Format::V7);
    add("old-style directory", Tar::new().entry(&v7, b"").finish(), Accept);

    // `.` components after the start: GNU tar refuses a file named `dir/.`,
    // a normalizing reader wrote it as `dir`.
    for (name, bytes, _) in dot_and_number_classes() {
        add(name, bytes, Refuse);
    }
    let t = Tar::new().dir("./").file("./a.txt", b"a").dir(".").finish();
    add("leading ./ and an entry named . or ./", t, Accept);

    // Numeric fields left as NULs (some writers do) read as 0 everywhere.
    let mut nul = header("ids.txt", b'0', 1);
    nul.set(108, 8, &[0; 8]).set(116, 8, &[0; 8]).set(329, 8, &[0; 8]).set(337, 8, &[0; 8]);
    add("NUL-filled uid, gid and device numbers", Tar::new().entry(&nul, b"x").finish(), Accept);

    // PAX numbers that parse the same everywhere.
    let t = Tar::new()
        .pax(&[("mtime", b"1700000000.123456789"), ("atime", b"1700000000.5"), ("uid", b"1000"), ("gid", b"0")])
        .file("frac.txt", b"x")
        .finish();
    add("PAX fractional mtime and plain ids", t, Accept);
    let t = Tar::new().pax(&[("mtime", b"-1.5")]).file("old.txt", b"x").finish();
    add("PAX negative fractional mtime", t, Accept);

    cases
}

/// The issue 9 §1 classes the host or the grammar refuses by a named rule:
/// (case, archive, rule id).
fn dot_and_number_classes() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut v = vec![
        ("file named dir/.", Tar::new().file("dir/.", b"x").finish(), "dot-component"),
        ("file named a/./b", Tar::new().file("a/./b", b"x").finish(), "dot-component"),
        ("directory named a/.", Tar::new().dir("a/.").file("a/b", b"x").finish(), "dot-component"),
        ("PAX path dir/.", Tar::new().pax(&[("path", b"dir/.")]).file("x", b"x").finish(), "dot-component"),
    ];
    for (name, key, value) in [
        ("PAX uid that is not a number", "uid", &b"x"[..]),
        ("PAX uid out of range", "uid", b"4294967296"),
        ("PAX gid with a fraction", "gid", b"1.5"),
        ("PAX gid empty", "gid", b""),
        ("PAX size with a fraction", "size", b"1.0"),
        ("PAX size out of range", "size", b"9223372036854775808"),
        ("PAX mtime in exponent form", "mtime", b"1e3"),
        ("PAX mtime with a plus sign", "mtime", b"+5"),
        ("PAX atime that is not a number", "atime", b"garbage"),
        ("PAX ctime with two dots", "ctime", b"1.5.5"),
    ] {
        v.push((name, Tar::new().pax(&[(key, value)]).file("f.txt", b"x").finish(), "pax-number"));
    }
    for (name, value) in [
        ("PAX mtime a float rounds to the next second", &b"1700000000.999999999"[..]),
        ("PAX negative mtime a float rounds to the next second", b"-1.00000000000000000000000000001"),
    ] {
        v.push((name, Tar::new().pax(&[("mtime", value)]).file("f.txt", b"x").finish(), "pax-time-rounding"));
    }
    v
}

/// Every issue 9 §1 class, refused with its rule named: a policy rule id
/// from the host, or a grammar rule id in the parser's message.
#[test]
fn each_differential_class_is_refused_by_its_named_rule() {
    let mut classes = dot_and_number_classes();
    let mut v7 = header("build.rs", b'0', 1);
    v7.format(Format::V7).prefix(b"foo-1.0/tests");
    classes.push(("v7 header with a prefix", Tar::new().entry(&v7, b"x").finish(), "prefix-outside-posix"));
    let mut ustar = header("build.rs", b'0', 1);
    ustar.prefix(b"foo-1.0/tests").set(263, 2, b"\0\0");
    classes.push(("ustar version NUL NUL, prefix", Tar::new().entry(&ustar, b"x").finish(), "prefix-outside-posix"));
    let mut gnu = header("a.txt", b'0', 1);
    gnu.format(Format::Gnu).octal(357, 12, 0o12574542274);
    classes.push(("GNU ctime", Tar::new().entry(&gnu, b"x").finish(), "prefix-outside-posix"));
    let mut long = header("././@LongLink", b'L', 4);
    long.format(Format::Gnu);
    let mut t = Tar::new();
    t.raw(&long.build()).raw(b"name").raw(b"more").pad().file("short", b"x");
    classes.push(("GNU long name continued in the padding", t.finish(), "extension-padding"));
    let mut areg = header("thing/", 0, 0);
    areg.format(Format::Gnu);
    let t = Tar::new().pax(&[("path", b"thing")]).entry(&areg, b"").finish();
    classes.push(("old-style member, names disagree about the slash", t, "old-style-slash"));

    // Numeric fields that Python decodes in every header (and ends the
    // archive at one it cannot read) while GNU tar reads past them.
    let record = sealtar_tests::pax_record("mtime", b"1");
    for (what, flag, payload) in
        [("PAX", b'x', &record[..]), ("PAX global", b'g', &record[..]), ("GNU long name", b'L', b"long1\0")]
    {
        let mut ext = header("././@PaxHeader", flag, payload.len() as u64);
        ext.format(if flag == b'L' { Format::Gnu } else { Format::Ustar }).set(100, 8, b"9999999\0");
        let t = Tar::new().file("a", b"a").entry(&ext, payload).file("b", b"b").finish();
        classes.push((format!("{what} header with an undecodable mode").leak(), t, "numeric-field"));
    }
    let mut uid = header("b", b'0', 1);
    uid.set(108, 8, b"99x\0\0\0\0\0");
    classes.push(("member uid 99x", Tar::new().file("a", b"a").entry(&uid, b"b").finish(), "numeric-field"));
    let mut dev = header("b", b'0', 1);
    dev.set(329, 8, b"1 2\0\0\0\0\0");
    classes.push(("member devmajor 1 2", Tar::new().file("a", b"a").entry(&dev, b"b").finish(), "numeric-field"));

    let extractor = extractor();
    let mut failures = Vec::new();
    for (name, bytes, rule) in &classes {
        let work = tempfile::tempdir().unwrap();
        let dest = Dir::open_ambient_dir(work.path(), ambient_authority()).unwrap();
        match extractor.extract(&bytes[..], &dest) {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(e) if !e.is_refusal() => failures.push(format!("{name}: not a refusal: {e}")),
            Err(e) => {
                let named =
                    e.rule().map(|r| r.id()) == Some(*rule) || e.to_string().contains(&format!("[rule {rule}]"));
                if !named {
                    failures.push(format!("{name}: refused, but not by rule {rule}: {e}"));
                }
                if std::fs::read_dir(work.path()).unwrap().next().is_some() {
                    failures.push(format!("{name}: refused but wrote something"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_differential_class_agrees_with_both_oracles_or_is_refused() {
    let oracles = oracles();
    if oracles.is_none() {
        eprintln!("NOTE: GNU tar or Python 3.12+/3.11.4+ missing: checking sealtar's own decisions only");
    }
    let cases = cases();
    let failures: Vec<String> =
        cases.iter().filter_map(|(name, bytes, expect)| check(name, bytes, *expect, oracles.as_ref()).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accepted_cases_extract_the_expected_files() {
    // Spot checks of what the accepted cases contain, independent of oracles.
    let work = tempfile::tempdir().unwrap();
    let dest = Dir::open_ambient_dir(work.path(), ambient_authority()).unwrap();
    let t = Tar::new().pax(&[("size", b"5")]).gnu_long(b'L', b"long/named.txt").file("short", b"12345").finish();
    extractor().extract(&t[..], &dest).unwrap();
    let tree = observe(work.path());
    match tree.get("long/named.txt") {
        Some(Observed::File { contents, .. }) => assert_eq!(contents, b"12345"),
        other => panic!("{other:?}"),
    }
}
