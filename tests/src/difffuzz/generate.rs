//! Archive generators for the differential fuzzer.
//!
//! Both modes start from a well-formed archive in one of the formats real
//! writers produce (ustar, PAX, GNU, v7, `git archive`). The hostile mode then
//! applies one to four mutations to real headers: the fields that decide a
//! member's name, size and kind, the extension headers that override them, the
//! padding and framing around them. Every choice comes from [`Rng`], so a
//! (seed, case) pair reproduces the same bytes on every machine.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::{BLOCK, Format, Header, gzip, pax_record};

/// A small, fixed pseudo-random generator (SplitMix64). Its output is part of
/// the reproducibility promise: changing it changes every seeded case.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for one seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    /// `len` bytes drawn from `alphabet`.
    pub fn text(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of one case of a run: independent of every other case, so a
/// single case can be regenerated from `(seed, case)` alone.
pub fn case_seed(seed: u64, case: u64) -> u64 {
    mix(seed ^ mix(case.wrapping_add(0x5851_f42d_4c95_7f2d)))
}

/// What a generated archive is meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Mutated headers: sealtar may refuse; if it accepts, it must agree.
    Hostile,
    /// Archives as real writers make them: sealtar must accept and agree.
    WellFormed,
}

impl Mode {
    /// The mode of case number `case`: one case in four is well-formed.
    pub fn of_case(case: u64) -> Mode {
        if case % 4 == 3 { Mode::WellFormed } else { Mode::Hostile }
    }
}

/// One generated archive.
#[derive(Debug, Clone)]
pub struct Case {
    /// The archive as written to disk.
    pub bytes: Vec<u8>,
    /// Whether it is gzip-compressed.
    pub gzip: bool,
    /// The generator mode.
    pub mode: Mode,
    /// What was generated and mutated, for the report.
    pub notes: Vec<String>,
}

/// Generates case `case` of the run with seed `seed`.
pub fn generate(seed: u64, case: u64) -> Case {
    let mode = Mode::of_case(case);
    let mut rng = Rng::new(case_seed(seed, case));
    let mut g = Gen { rng: &mut rng, notes: Vec::new() };
    let mut archive = g.well_formed();
    if mode == Mode::Hostile {
        let n = 1 + g.rng.below(4);
        for _ in 0..n {
            g.mutate(&mut archive);
        }
    }
    let tar = archive.serialize();
    let (bytes, gz) = g.compress(tar, mode);
    Case { bytes, gzip: gz, mode, notes: g.notes }
}

/// One header block with the data and padding that follow it.
#[derive(Clone)]
struct Part {
    header: Header,
    data: Vec<u8>,
    /// Bytes written right after `data`, before the zero padding.
    junk: Vec<u8>,
}

impl Part {
    fn new(header: Header, data: Vec<u8>) -> Part {
        Part { header, data, junk: Vec::new() }
    }
}

/// A member: its extension headers, then its own header.
#[derive(Clone)]
struct Member {
    ext: Vec<Part>,
    main: Part,
    /// The name the member was generated with.
    path: String,
}

/// How the archive ends.
#[derive(Clone, Copy)]
enum End {
    TwoZeroBlocks,
    OneZeroBlock,
    Nothing,
    ZerosThenGarbage,
    ZerosThenArchive,
    PartialBlock,
}

struct Archive {
    format: Format,
    members: Vec<Member>,
    end: End,
}

impl Archive {
    fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let pad = |out: &mut Vec<u8>| {
            let rem = out.len() % BLOCK;
            if rem != 0 {
                out.resize(out.len() + BLOCK - rem, 0);
            }
        };
        for m in &self.members {
            for p in m.ext.iter().chain(std::iter::once(&m.main)) {
                out.extend_from_slice(&p.header.build());
                out.extend_from_slice(&p.data);
                out.extend_from_slice(&p.junk);
                pad(&mut out);
            }
        }
        match self.end {
            End::TwoZeroBlocks => out.resize(out.len() + 2 * BLOCK, 0),
            End::OneZeroBlock => out.resize(out.len() + BLOCK, 0),
            End::Nothing => {}
            End::ZerosThenGarbage => {
                out.resize(out.len() + 2 * BLOCK, 0);
                out.extend_from_slice(b"garbage after the end\n");
            }
            End::ZerosThenArchive => {
                out.resize(out.len() + 2 * BLOCK, 0);
                out.extend_from_slice(&Header::new(b"hidden.txt", b'0', 2).build());
                out.extend_from_slice(b"hi");
                pad(&mut out);
                out.resize(out.len() + 2 * BLOCK, 0);
            }
            End::PartialBlock => {
                out.resize(out.len() + 2 * BLOCK, 0);
                out.truncate(out.len() - 100);
            }
        }
        out
    }
}

/// Name components of well-formed archives: ordinary, Unicode (NFC and NFD,
/// several scripts), spaces, dots that are not `.` or `..`.
const COMPONENTS: &[&str] = &[
    "a",
    "b",
    "src",
    "lib.rs",
    "README.md",
    "Makefile",
    "data.bin",
    "x y",
    "...",
    ".hidden",
    "caf\u{e9}",
    "cafe\u{301}",
    "\u{65e5}\u{672c}",
    "\u{1f980}",
    "\u{416}\u{436}",
    "-dash",
    "#hash",
    "tilde~1",
];

/// Extra components for hostile names.
const HOSTILE_COMPONENTS: &[&str] = &[
    ".",
    "..",
    "",
    "a",
    "b",
    "dir",
    "\u{202e}txt",
    "zero\u{200b}width",
    "x\\y",
    " ",
    "...",
    "CON",
    "caf\u{e9}",
    "cafe\u{301}",
    "\u{1f980}",
    "a:b",
    "@LongLink",
];

/// Link targets: always inside the destination, so that no oracle is ever
/// asked to write through a link that leaves it.
const LINK_TARGETS: &[&str] = &["a", "target", "dir/b", "x"];

struct Gen<'r> {
    rng: &'r mut Rng,
    notes: Vec<String>,
}

impl Gen<'_> {
    fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    fn component(&mut self) -> String {
        let c = self.rng.pick(COMPONENTS);
        if self.rng.chance(1, 3) { format!("{c}{}", self.rng.below(100)) } else { c.to_string() }
    }

    fn contents(&mut self) -> Vec<u8> {
        let len = match self.rng.below(6) {
            0 => 0,
            1 => 1 + self.rng.below(16),
            2 => 511 + self.rng.below(3),
            3 => 1024,
            _ => self.rng.below(3000),
        };
        self.rng.text(b"abcdefghij\n\0\xff 0123456789", len)
    }

    fn well_formed(&mut self) -> Archive {
        let formats = ["ustar", "pax", "gnu", "v7", "git-archive"];
        let style = formats[self.rng.below(formats.len())];
        let format = match style {
            "gnu" => Format::Gnu,
            "v7" => Format::V7,
            _ => Format::Ustar,
        };
        let top = *self.rng.pick(&[&"", &"./", &"pkg-1.0/"]);
        self.note(format!("{style} top={top:?}"));
        let mut members = Vec::new();
        if style == "git-archive" {
            let comment: String = (0..40).map(|_| char::from(b"0123456789abcdef"[self.rng.below(16)])).collect();
            let payload = pax_record("comment", comment.as_bytes());
            let h = Header::new(b"pax_global_header", b'g', payload.len() as u64);
            members.push(Member { ext: Vec::new(), main: Part::new(h, payload), path: String::new() });
        }
        if !top.is_empty() && self.rng.chance(2, 3) {
            let mut h = Header::new(top.as_bytes(), b'5', 0);
            h.mode(0o755).format(format);
            members.push(Member { ext: Vec::new(), main: Part::new(h, Vec::new()), path: top.to_string() });
        }
        let mut files = BTreeSet::new();
        let mut dirs = BTreeSet::new();
        let count = 1 + self.rng.below(6);
        let mut tries = 0;
        while members.len() < count + 2 && tries < count * 4 {
            tries += 1;
            let depth = 1 + self.rng.below(3);
            let mut comps: Vec<String> = (0..depth).map(|_| self.component()).collect();
            if self.rng.chance(1, 8) && style != "v7" {
                // A long name: over 100 bytes, within the ustar prefix too.
                let long = "long-".repeat(8 + self.rng.below(10));
                comps.insert(0, long);
            }
            let is_dir = self.rng.chance(1, 4);
            let rel = comps.join("/");
            let parents: Vec<String> = (1..comps.len()).map(|i| comps[..i].join("/")).collect();
            if parents.iter().any(|p| files.contains(p)) || files.contains(&rel) || dirs.contains(&rel) {
                continue;
            }
            for p in &parents {
                dirs.insert(p.clone());
            }
            let name = format!("{top}{rel}{}", if is_dir { "/" } else { "" });
            let member = if is_dir {
                dirs.insert(rel.clone());
                self.member(style, format, &name, b'5', Vec::new(), 0o755)
            } else {
                files.insert(rel.clone());
                let data = self.contents();
                let mode = *self.rng.pick(&[&0o644u32, &0o755, &0o600, &0o700, &0o664, &0o775]);
                let flag = if style == "v7" && self.rng.chance(1, 2) { b'\0' } else { b'0' };
                self.member(style, format, &name, flag, data, mode)
            };
            match member {
                Some(m) => members.push(m),
                None => {
                    files.remove(&rel);
                }
            }
        }
        Archive { format, members, end: End::TwoZeroBlocks }
    }

    /// A member as a writer of `style` would store it; `None` if the name
    /// does not fit the format.
    fn member(
        &mut self,
        style: &str,
        format: Format,
        name: &str,
        flag: u8,
        data: Vec<u8>,
        mode: u32,
    ) -> Option<Member> {
        let bytes = name.as_bytes();
        let mut ext = Vec::new();
        let mut h = Header::new(b"", flag, data.len() as u64);
        h.format(format).mode(mode);
        if self.rng.chance(1, 3) {
            h.mtime(1_000_000_000 + self.rng.below(1_000_000_000) as u64);
        }
        let pax_name = style == "pax" && (bytes.len() > 100 || !name.is_ascii() || self.rng.chance(1, 4));
        if pax_name {
            let mut records = vec![pax_record("path", bytes)];
            if self.rng.chance(1, 2) {
                records
                    .push(pax_record("mtime", format!("1700000000.{:09}", self.rng.below(1_000_000_000)).as_bytes()));
            }
            if self.rng.chance(1, 3) {
                records.push(pax_record("atime", b"1700000001.5"));
                records.push(pax_record("ctime", b"1700000002.25"));
            }
            if self.rng.chance(1, 4) {
                records.push(pax_record("uid", b"1000"));
                records.push(pax_record("uname", b"builder"));
            }
            let payload: Vec<u8> = records.concat();
            let ext_name = if self.rng.chance(1, 2) { "././@PaxHeader".to_string() } else { "PaxHeaders/x".into() };
            let mut xh = Header::new(ext_name.as_bytes(), b'x', payload.len() as u64);
            xh.format(format);
            ext.push(Part::new(xh, payload));
            // The header keeps a plain-ASCII stand-in of the same shape
            // (a directory's ends in '/', a file's does not).
            let mut short: Vec<u8> =
                bytes.iter().map(|&b| if b.is_ascii() && b != 0 { b } else { b'_' }).take(99).collect();
            if flag == b'5' && short.last() != Some(&b'/') {
                short.pop();
                short.push(b'/');
            } else if flag != b'5' && short.last() == Some(&b'/') {
                short.pop();
                short.push(b'_');
            }
            h.set(0, 100, &short);
        } else if bytes.len() <= 100 {
            h.set(0, 100, bytes);
        } else if style == "gnu" {
            let mut payload = bytes.to_vec();
            payload.push(0);
            let mut lh = Header::new(b"././@LongLink", b'L', payload.len() as u64);
            lh.format(Format::Gnu);
            ext.push(Part::new(lh, payload));
            h.set(0, 100, &bytes[..100]);
        } else if format == Format::Ustar {
            // Split at a '/' so that the prefix takes at most 155 bytes and
            // the name at most 100.
            let split =
                (0..bytes.len() - 1).rev().find(|&i| bytes[i] == b'/' && i <= 155 && bytes.len() - i - 1 <= 100)?;
            if split == 0 {
                return None;
            }
            h.set(0, 100, &bytes[split + 1..]).prefix(&bytes[..split]);
        } else {
            return None;
        }
        Some(Member { ext, main: Part::new(h, data), path: name.to_string() })
    }

    fn compress(&mut self, tar: Vec<u8>, mode: Mode) -> (Vec<u8>, bool) {
        match self.rng.below(8) {
            0 | 1 => {
                self.note("gzip");
                let mut gz = gzip(&tar);
                if mode == Mode::Hostile && self.rng.chance(1, 4) {
                    match self.rng.below(3) {
                        0 => {
                            self.note("gzip: trailing garbage");
                            gz.extend_from_slice(b"\0\0junk");
                        }
                        1 => {
                            self.note("gzip: truncated");
                            gz.truncate(gz.len().saturating_sub(1 + self.rng.below(12)));
                        }
                        _ => {
                            self.note("gzip: empty member after");
                            gz.extend(gzip(b""));
                        }
                    }
                }
                (gz, true)
            }
            2 => {
                let members = 2 + self.rng.below(3);
                self.note(format!("gzip: {members} members"));
                let mut cuts: Vec<usize> = (1..members).map(|_| self.rng.below(tar.len() + 1)).collect();
                cuts.sort_unstable();
                let mut out = Vec::new();
                let mut start = 0;
                for cut in cuts.into_iter().chain(std::iter::once(tar.len())) {
                    out.extend(gzip(&tar[start..cut]));
                    start = cut;
                }
                (out, true)
            }
            _ => (tar, false),
        }
    }

    /// A hostile name: dots, empty components, Unicode tricks, absolute and
    /// trailing-slash forms.
    fn hostile_name(&mut self) -> Vec<u8> {
        let mut comps: Vec<String> = Vec::new();
        for _ in 0..1 + self.rng.below(4) {
            if self.rng.chance(1, 2) {
                comps.push(self.rng.pick(HOSTILE_COMPONENTS).to_string());
            } else {
                comps.push(self.component());
            }
        }
        let mut name = comps.join("/").into_bytes();
        match self.rng.below(10) {
            0 => name.insert(0, b'/'),
            1 => {
                name.splice(0..0, *b"./");
            }
            2 => name.push(b'/'),
            3 => name.extend_from_slice(b"/."),
            4 => name.push(0xff),
            5 => name.extend_from_slice(b"\0tail"),
            _ => {}
        }
        name
    }

    fn number_text(&mut self, valid: u64) -> Vec<u8> {
        let forms: &[&str] = &[
            "",
            "-1",
            "0x10",
            "+5",
            " 5",
            "5 ",
            "1.5",
            "-1.5",
            "-0.5",
            "1e3",
            "abc",
            "99999999999999999999999",
            "007",
            "0",
            "\u{661}",
        ];
        if self.rng.chance(1, 3) { valid.to_string().into_bytes() } else { self.rng.pick(forms).as_bytes().to_vec() }
    }

    /// A PAX payload for member `m`: a mixture of records that override,
    /// repeat, or break the record grammar.
    fn pax_payload(&mut self, m: &Member) -> Vec<u8> {
        let mut out = Vec::new();
        let size = m.main.data.len() as u64;
        for _ in 0..1 + self.rng.below(3) {
            let record = match self.rng.below(14) {
                0 | 1 => {
                    let name = self.hostile_name();
                    pax_record("path", &name)
                }
                2 => pax_record("path", m.path.as_bytes()),
                3 => pax_record("linkpath", self.rng.pick(LINK_TARGETS).as_bytes()),
                4 => {
                    let v = self.number_text(size);
                    pax_record("size", &v)
                }
                5 => {
                    let v = self.number_text(1_700_000_000);
                    pax_record("mtime", &v)
                }
                6 => {
                    let v = self.number_text(1000);
                    pax_record(self.rng.pick(&["uid", "gid"]), &v)
                }
                7 => {
                    // The same key twice.
                    let key = *self.rng.pick(&[&"path", &"size", &"mtime", &"linkpath"]);
                    let mut r = pax_record(key, m.path.as_bytes());
                    r.extend(pax_record(key, b"second"));
                    r
                }
                8 => pax_record(self.rng.pick(&["comment", "SCHILY.xattr.user.a", "foo.bar", "atime"]), b"1"),
                9 => pax_record("hdrcharset", b"BINARY"),
                10 => pax_record(self.rng.pick(&["GNU.sparse.size", "GNU.sparse.major", "GNU.sparse.name"]), b"1"),
                11 => {
                    // A wrong length: too long, too short, zero, not a number.
                    let body = format!("path={}\n", m.path);
                    let len = match self.rng.below(4) {
                        0 => format!("{}", body.len() + 10),
                        1 => format!("{}", body.len()),
                        2 => "0".into(),
                        _ => "x".into(),
                    };
                    format!("{len} {body}").into_bytes()
                }
                12 => {
                    let mut r = pax_record("path", m.path.as_bytes());
                    r.pop(); // no newline
                    r.push(b' ');
                    r
                }
                _ => {
                    let mut r = pax_record("path", m.path.as_bytes());
                    if self.rng.chance(1, 2) {
                        r = r.replacen_bytes(b"=", b" ");
                    } else {
                        r.splice(0..0, *b"0");
                    }
                    r
                }
            };
            out.extend(record);
        }
        out
    }

    fn mutate(&mut self, a: &mut Archive) {
        if a.members.is_empty() {
            return;
        }
        let i = self.rng.below(a.members.len());
        let format = a.format;
        match self.rng.below(20) {
            0 => {
                let magic: &[u8] = self.rng.pick(&[
                    &b"ustar\x0000"[..],
                    b"ustar\0\0\0",
                    b"ustar\0  ",
                    b"ustar  \0",
                    b"ustar \0 ",
                    b"\0\0\0\0\0\0\0\0",
                    b"USTAR\x0000",
                    b"ustar\x0001",
                    b"ustar\x000\0",
                ]);
                self.note(format!("member {i}: magic+version {}", show(magic)));
                a.members[i].main.header.set(257, 8, magic);
            }
            1 => {
                let prefix: &[u8] = self.rng.pick(&[
                    &b"pre"[..],
                    b"x/y",
                    b"..",
                    b"./",
                    b"a/",
                    b"/abs",
                    b"caf\xc3\xa9",
                    b"pre\0junk",
                    &[b'p'; 155],
                ]);
                self.note(format!("member {i}: prefix {}", show(prefix)));
                let h = &mut a.members[i].main.header;
                h.prefix(prefix);
                if self.rng.chance(1, 2) {
                    let magic: &[u8] = self.rng.pick(&[&b"ustar\0\0\0"[..], b"ustar  \0", &[0; 8], b"ustar\x0000"]);
                    self.note(format!("member {i}: magic+version {}", show(magic)));
                    h.set(257, 8, magic);
                }
            }
            2 => {
                // Non-zero padding after an extension payload (adding one if
                // the member has none).
                if a.members[i].ext.is_empty() {
                    self.add_extension(a, i);
                }
                let junk = match self.rng.below(3) {
                    0 => pax_record("path", b"padded.txt"),
                    1 => b"x".to_vec(),
                    _ => b"\0\0\0evil.txt\0".to_vec(),
                };
                let e = self.rng.below(a.members[i].ext.len());
                self.note(format!("member {i}: extension {e} padding {}", show(&junk)));
                a.members[i].ext[e].junk = junk;
            }
            3 | 4 => self.add_extension(a, i),
            5 => {
                // A GNU long name or link (sometimes both, sometimes twice).
                let flag = *self.rng.pick(&[&b'L', &b'K']);
                let mut payload =
                    if flag == b'K' { self.rng.pick(LINK_TARGETS).as_bytes().to_vec() } else { self.hostile_name() };
                match self.rng.below(4) {
                    0 => {}
                    1 => payload.push(0),
                    2 => payload.extend_from_slice(b"\0after-nul"),
                    _ => payload.extend_from_slice(&[0; 3]),
                }
                let mut h = Header::new(b"././@LongLink", flag, payload.len() as u64);
                h.format(if self.rng.chance(3, 4) { Format::Gnu } else { format });
                self.note(format!("member {i}: GNU {} {}", flag as char, show(&payload)));
                let part = Part::new(h, payload);
                let m = &mut a.members[i];
                m.ext.push(part.clone());
                if self.rng.chance(1, 6) {
                    self.note(format!("member {i}: the same long header twice"));
                    m.ext.push(part);
                }
            }
            6 | 7 => {
                let flag = *self.rng.pick(&[
                    &b'\0', &b'0', &b'7', &b'5', &b'1', &b'2', &b'6', &b'x', &b'g', &b'L', &b'K', &b'S', &b'V', &b'M',
                    &b'D', &b'Z', &b'A', &b' ', &b'9',
                ]);
                self.note(format!("member {i}: typeflag {}", show(&[flag])));
                let m = &mut a.members[i];
                m.main.header.set(156, 1, &[flag]);
                if matches!(flag, b'1' | b'2') {
                    let target = self.rng.pick(LINK_TARGETS);
                    m.main.header.link(target.as_bytes());
                }
                if flag == b'\0' && self.rng.chance(1, 2) {
                    let name = m.main.header.field(0, 100).to_vec();
                    let end = name.iter().position(|&b| b == 0).unwrap_or(100);
                    if end < 100 && end > 0 && name[end - 1] != b'/' {
                        self.note(format!("member {i}: trailing slash on the raw name"));
                        m.main.header.set(end, 1, b"/");
                    }
                }
            }
            8 | 9 => {
                let size = a.members[i].main.data.len() as u64;
                let field: Vec<u8> = match self.rng.below(12) {
                    0 => format!("{size:011o} ").into_bytes(),
                    1 => format!("{size:012o}").into_bytes(),
                    2 => format!("{size:>11o}\0").into_bytes(),
                    3 => format!("{size:<11o}\0").into_bytes(),
                    4 => format!("{size:o}").into_bytes(),
                    5 => {
                        let mut f = vec![0u8; 12];
                        f[0] = 0x80;
                        f[4..].copy_from_slice(&size.to_be_bytes());
                        f
                    }
                    6 => vec![0xff; 12],
                    7 => format!("\0{size:010o}\0").into_bytes(),
                    8 => format!("+{size:o}").into_bytes(),
                    9 => format!("{size:o}x").into_bytes(),
                    10 => format!("{:011o}\0", size + 512 * (1 + self.rng.below(3) as u64)).into_bytes(),
                    _ => format!("{:011o}\0", size.saturating_sub(1 + self.rng.below(40) as u64)).into_bytes(),
                };
                self.note(format!("member {i}: size field {}", show(&field)));
                a.members[i].main.header.set(124, 12, &field);
            }
            10 | 11 => {
                let name = self.hostile_name();
                let m = &mut a.members[i];
                if name.len() <= 100 {
                    self.note(format!("member {i}: name {}", show(&name)));
                    m.main.header.set(0, 100, &name);
                }
            }
            12 => {
                let sum = self.rng.below(3);
                let h = &mut a.members[i].main.header;
                let field: Vec<u8> = match sum {
                    0 => b"0000000\0".to_vec(),
                    1 => b"        ".to_vec(),
                    _ => {
                        // The sum of the bytes as signed chars: some readers
                        // accept it, and it differs only when a byte is >= 0x80.
                        let mut b = h.build();
                        b[148..156].fill(b' ');
                        let s: i64 = b.iter().map(|&x| i64::from(x as i8)).sum();
                        format!("{:06o}\0 ", s.rem_euclid(1 << 18)).into_bytes()
                    }
                };
                self.note(format!("member {i}: checksum {}", show(&field)));
                h.bad_checksum(&field);
            }
            13 => {
                let mode: &[u8] = self.rng.pick(&[
                    &b"0000755\0"[..],
                    b"0000100\0",
                    b"0000000\0",
                    b"0777777\0",
                    b"9999999\0",
                    b"       \0",
                    b"755 \0",
                    b"\x80\0\0\0\0\0\x01\xed",
                ]);
                self.note(format!("member {i}: mode {}", show(mode)));
                a.members[i].main.header.set(100, 8, mode);
            }
            14 => {
                let (end, what) = [
                    (End::OneZeroBlock, "one zero block"),
                    (End::Nothing, "no end marker"),
                    (End::ZerosThenGarbage, "garbage after the end marker"),
                    (End::ZerosThenArchive, "a second archive after the end marker"),
                    (End::PartialBlock, "a partial end block"),
                ][self.rng.below(5)];
                a.end = end;
                self.note(format!("end: {what}"));
            }
            15 => {
                // The same path twice, or a file under a file.
                let mut copy = a.members[i].clone();
                if self.rng.chance(1, 2) {
                    let name = format!("{}/inner", copy.path.trim_end_matches('/'));
                    if name.len() < 100 {
                        copy.main.header.set(0, 100, name.as_bytes());
                        copy.ext.clear();
                    }
                    self.note(format!("member {i}: add {name:?} below it"));
                } else {
                    self.note(format!("member {i}: repeated"));
                    if self.rng.chance(1, 2) {
                        copy.main.header.set(156, 1, b"5");
                        copy.main.data.clear();
                        copy.main.header.size(0);
                        self.note("as a directory");
                    }
                }
                let at = self.rng.below(a.members.len() + 1);
                a.members.insert(at, copy);
            }
            16 => {
                let field: &[u8] = self.rng.pick(&[
                    &b"-0000000001"[..],
                    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                    b"77777777777\0",
                    b"zzzz",
                    b"           \0",
                    b"\x80\0\0\0\0\0\0\0\0\0\0\x05",
                ]);
                self.note(format!("member {i}: mtime field {}", show(field)));
                a.members[i].main.header.set(136, 12, field);
            }
            18 | 19 => {
                // A numeric field that decides nothing about the member
                // (ownership, device numbers) or sits in an extension
                // header, made unreadable or unusual.
                let fields: &[(&str, usize, usize)] = &[
                    ("mode", 100, 8),
                    ("uid", 108, 8),
                    ("gid", 116, 8),
                    ("mtime", 136, 12),
                    ("devmajor", 329, 8),
                    ("devminor", 337, 8),
                ];
                let (field_name, offset, len) = fields[self.rng.below(fields.len())];
                let value: &[u8] = self.rng.pick(&[
                    &b"9999999"[..],
                    b"zz",
                    b"0_644",
                    b"-1",
                    b"+7",
                    b" 7 ",
                    b"\x80\0\0\0\0\0\0\x07",
                    b"\xff\xff\xff\xff\xff\xff\xff\xff",
                ]);
                let value = &value[..value.len().min(len)];
                let m = &mut a.members[i];
                let e = self.rng.below(m.ext.len() + 1);
                let (part, which) = match m.ext.get_mut(e) {
                    Some(p) => (p, format!("extension {e}")),
                    None => (&mut m.main, "header".to_string()),
                };
                part.header.set(offset, len, value);
                self.note(format!("member {i}: {which} {field_name} field {}", show(value)));
            }
            _ => {
                // Move a member's extension headers to the end, orphaned, or
                // to another member.
                let ext = std::mem::take(&mut a.members[i].ext);
                if ext.is_empty() {
                    self.add_extension(a, i);
                    return;
                }
                let j = self.rng.below(a.members.len());
                self.note(format!("member {i}: extension headers moved to member {j}"));
                a.members[j].ext.extend(ext);
            }
        }
    }

    /// Adds a PAX header (`x`, sometimes `g`) to member `i`.
    fn add_extension(&mut self, a: &mut Archive, i: usize) {
        let payload = self.pax_payload(&a.members[i]);
        let flag = if self.rng.chance(1, 5) { b'g' } else { b'x' };
        let mut h = Header::new(b"././@PaxHeader", flag, payload.len() as u64);
        h.format(a.format);
        self.note(format!("member {i}: PAX {} {}", flag as char, show(&payload)));
        a.members[i].ext.push(Part::new(h, payload));
    }
}

/// Bytes as an escaped, bounded string for notes.
pub fn show(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes.iter().take(120) {
        match b {
            b'"' | b'\\' => {
                let _ = write!(out, "\\{}", b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > 120 {
        out.push('…');
    }
    out.push('"');
    out
}

trait ReplaceBytes {
    fn replacen_bytes(self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl ReplaceBytes for Vec<u8> {
    fn replacen_bytes(self, from: &[u8], to: &[u8]) -> Vec<u8> {
        match self.windows(from.len()).position(|w| w == from) {
            Some(at) => {
                let mut out = self[..at].to_vec();
                out.extend_from_slice(to);
                out.extend_from_slice(&self[at + from.len()..]);
                out
            }
            None => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_reproducible_from_its_seed() {
        for case in 0..40 {
            let a = generate(7, case);
            let b = generate(7, case);
            assert_eq!(a.bytes, b.bytes);
            assert_eq!(a.notes, b.notes);
        }
        assert_ne!(generate(7, 0).bytes, generate(8, 0).bytes);
    }

    #[test]
    fn both_modes_are_generated() {
        let modes: BTreeSet<bool> = (0..8).map(|c| generate(1, c).mode == Mode::Hostile).collect();
        assert_eq!(modes.len(), 2);
    }
}
