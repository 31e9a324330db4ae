//! The standing decoder differential (issue 20, item 2): real compressed
//! tarballs, mutated, judged against each format's own tool and GNU tar.
//!
//! A tar made by GNU tar from files of this repository is compressed by the
//! real tools at several levels and options (and as concatenations: gzip
//! members, bzip2 and xz streams, zstd frames). Each case takes one of those
//! and applies one to three seeded mutations of its container: header
//! fields, lengths, flags, padding, what follows the end, and its data, with
//! the format's checksums **recomputed** where the mutation would otherwise
//! only be caught by them (gzip's CRC-32, ISIZE and header CRC-16; bzip2's
//! block and stream CRCs; xz's header, block, index and footer CRC-32s and
//! each block's check; zstd's content checksum), so that what is compared is
//! what each reader makes of the fields themselves.
//!
//! The rule: **sealtar accepts only what the tool accepts** (`gzip -dc`,
//! `bzip2 -dc`, `xz -dc`, `zstd -dc` exit 0, with no warning), **and then the
//! tree it extracts equals GNU tar's extraction of the tool's output**
//! (paths, kinds, bytes, owner-exec bits). Refusing is always allowed.
//! sealtar never panics, never fails with anything but a refusal, and
//! leaves its destination empty when it refuses.
//!
//! Every choice comes from a SplitMix64 generator seeded with (seed, case);
//! `make fuzz-decoders FORMAT=F SEED=S FIRST=K CASES=1` regenerates one case.

mod bzip2;
mod gzip;
mod xz;
mod zstd;

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sealtar::Extractor;

use crate::difffuzz::generate::Rng;
use crate::difffuzz::oracles::{Tree, tree, tree_differences};
use crate::difffuzz::{Verdict, extract};

/// The seed of the run `make test` does.
pub const FIXED_SEED: u64 = 20_261_207;

/// How many cases of each format `make test` runs.
pub const FIXED_CASES: u64 = 100;

/// The formats and their tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// gzip(1).
    Gzip,
    /// bzip2(1).
    Bzip2,
    /// xz(1).
    Xz,
    /// zstd(1).
    Zstd,
}

impl Format {
    /// All four.
    pub const ALL: [Format; 4] = [Format::Gzip, Format::Bzip2, Format::Xz, Format::Zstd];

    /// The tool's name, which is also the format's.
    pub fn tool(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
        }
    }

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.tool() == name)
    }

    fn suffix(self) -> &'static str {
        match self {
            Format::Gzip => "gz",
            Format::Bzip2 => "bz2",
            Format::Xz => "xz",
            Format::Zstd => "zst",
        }
    }
}

/// Runs `tool args` on `input`: its standard output if it exits 0 and
/// writes nothing to standard error (gzip's "trailing garbage ignored" is a
/// warning with exit status 2; xz and bzip2 also warn), else the reason.
pub fn run_tool(tool: &str, args: &[&str], input: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {tool}: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().map_err(|e| format!("waiting for {tool}: {e}"))?;
    let _ = writer.join();
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if out.status.success() && err.is_empty() {
        Ok(out.stdout)
    } else {
        Err(format!("exit {}: {}", out.status.code().unwrap_or(-1), err.lines().next().unwrap_or("")))
    }
}

/// Whether `tool` runs here.
pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// The base tarball: files of this repository, archived by GNU tar in a
/// fixed order with fixed owners and times.
pub fn base_tar(tar: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository");
    let out = Command::new(tar)
        .current_dir(root)
        .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@1700000000"])
        .args(["--mode=u+rw,go+r,go-w", "--format=gnu", "-cf", "-"])
        .args(["LICENSE-MIT", "LICENSE-APACHE", "wit", "docs", "guest/src"])
        .output()
        .expect("GNU tar runs");
    assert!(out.status.success(), "GNU tar could not archive the base files: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// One compressed form of the base tar, as the tool wrote it.
#[derive(Debug, Clone)]
pub struct Variant {
    /// How it was made.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The tool compressing `data` with `args` (from standard input).
fn compress(tool: &str, args: &[&str], data: &[u8]) -> Vec<u8> {
    let mut all = vec!["-c"];
    all.extend_from_slice(args);
    run_tool(tool, &all, data).unwrap_or_else(|e| panic!("{tool} {args:?} could not compress: {e}"))
}

/// The tool compressing `data` from a file named `name` (gzip stores the
/// name, zstd the content size).
fn compress_file(tool: &str, args: &[&str], data: &[u8], name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("writing the input");
    let out = Command::new(tool).arg("-c").args(args).arg(&path).output().expect("the tool runs");
    assert!(out.status.success(), "{tool} {args:?} {name}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The compressed forms of `tar` for `format`, made by the real tool.
pub fn variants(format: Format, tar: &[u8]) -> Vec<Variant> {
    let t = format.tool();
    let v = |name: &str, bytes: Vec<u8>| Variant { name: name.to_string(), bytes };
    let thirds = [&tar[..tar.len() / 3], &tar[tar.len() / 3..tar.len() * 2 / 3], &tar[tar.len() * 2 / 3..]];
    let concat = |args: &[&str]| thirds.iter().flat_map(|part| compress(t, args, part)).collect::<Vec<u8>>();
    match format {
        Format::Gzip => vec![
            v("gzip -1", compress(t, &["-1"], tar)),
            v("gzip -9", compress(t, &["-9"], tar)),
            v("gzip -6 FILE (name and time stored)", compress_file(t, &["-6"], tar, "base.tar")),
            v("three gzip -6 members", concat(&["-6"])),
        ],
        Format::Bzip2 => vec![
            v("bzip2 -1 (100k blocks)", compress(t, &["-1"], tar)),
            v("bzip2 -9", compress(t, &["-9"], tar)),
            v("three bzip2 -1 streams", concat(&["-1"])),
        ],
        Format::Xz => vec![
            v("xz -0 --check=none", compress(t, &["-0", "--check=none"], tar)),
            v("xz -1 --check=crc32", compress(t, &["-1", "--check=crc32"], tar)),
            v("xz -6 (crc64)", compress(t, &["-6"], tar)),
            v("xz -1 --check=sha256", compress(t, &["-1", "--check=sha256"], tar)),
            v("xz -1 -T2 --block-size=64KiB", compress(t, &["-1", "-T2", "--block-size=64KiB"], tar)),
            v("three xz -1 streams", concat(&["-1"])),
        ],
        Format::Zstd => vec![
            v("zstd -3 (checksum, no content size)", compress(t, &["-3", "-q"], tar)),
            v("zstd -19 --no-check", compress(t, &["-19", "-q", "--no-check"], tar)),
            v("zstd -1 FILE (content size)", compress_file(t, &["-1", "-q"], tar, "base.tar")),
            v("zstd --fast=3 --no-content-size", compress(t, &["--fast=3", "-q", "--no-content-size"], tar)),
            v("zstd -6 --long=20", compress(t, &["-6", "-q", "--long=20"], tar)),
            v("three zstd -3 frames", concat(&["-3", "-q"])),
        ],
    }
}

/// A generated case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The compressed bytes.
    pub bytes: Vec<u8>,
    /// What was done to the tool's output.
    pub notes: Vec<String>,
}

/// Generates case `case` of `seed` for `format` from its `variants`.
pub fn generate(format: Format, variants: &[Variant], seed: u64, case: u64) -> Case {
    let mut rng = Rng::new(seed ^ (case.wrapping_add(1)).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ format as u64);
    let variant = &variants[rng.below(variants.len())];
    let mut bytes = variant.bytes.clone();
    let mut notes = vec![variant.name.clone()];
    // One case in eight is the tool's output as it is (each variant must be
    // accepted and read alike); the others get one to three mutations.
    let mutations = if rng.chance(1, 8) { 0 } else { 1 + rng.below(3) };
    for _ in 0..mutations {
        let note = match format {
            Format::Gzip => gzip::mutate(&mut rng, &mut bytes),
            Format::Bzip2 => bzip2::mutate(&mut rng, &mut bytes),
            Format::Xz => xz::mutate(&mut rng, &mut bytes),
            Format::Zstd => zstd::mutate(&mut rng, &mut bytes),
        };
        notes.push(note);
    }
    Case { bytes, notes }
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// The format.
    pub format: Format,
    /// The run's seed.
    pub seed: u64,
    /// The first case number.
    pub first: u64,
    /// How many cases.
    pub cases: u64,
    /// Where archives of failing cases are saved.
    pub save_dir: Option<PathBuf>,
    /// Print every failure as it is found.
    pub print: bool,
}

/// One failing case.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Case number.
    pub case: u64,
    /// What went wrong.
    pub detail: String,
    /// What the case was.
    pub notes: Vec<String>,
    /// Where the archive was saved, if it was.
    pub saved: Option<PathBuf>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "case {}: {}\n  case: {}", self.case, self.detail, self.notes.join("; "))?;
        if let Some(p) = &self.saved {
            write!(f, "\n  saved: {}", p.display())?;
        }
        Ok(())
    }
}

/// Counts and failures of a run.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Cases run.
    pub cases: u64,
    /// The tool's output unchanged.
    pub unchanged: u64,
    /// The tool accepted the case.
    pub tool_accepted: u64,
    /// sealtar accepted (and so did the tool, with the same tree, unless
    /// the case is among the failures).
    pub accepted: u64,
    /// sealtar refused.
    pub refused: u64,
    /// sealtar refused although the tool accepted and GNU tar extracted
    /// its output (allowed: sealtar is stricter there).
    pub stricter: u64,
    /// The first 20 of those: case number, what was done, sealtar's refusal.
    pub stricter_cases: Vec<(u64, String, String)>,
    /// Failures.
    pub failures: Vec<Failure>,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// The differential for one format: the base tar, the tool's variants,
/// GNU tar and an extractor.
pub struct Differential<'e> {
    extractor: &'e Extractor,
    tar: &'static str,
    format: Format,
    variants: Vec<Variant>,
}

impl<'e> Differential<'e> {
    /// `Err` naming what is missing when GNU tar or the format's tool is.
    pub fn new(extractor: &'e Extractor, format: Format) -> Result<Differential<'e>, String> {
        let tar = crate::oracle::gnu_tar().ok_or("GNU tar is not installed")?;
        if !have(format.tool()) {
            return Err(format!("{} is not installed", format.tool()));
        }
        let base = base_tar(tar);
        Ok(Differential { extractor, tar, format, variants: variants(format, &base) })
    }

    /// Runs `config`, calling `progress` after every case.
    pub fn run(&self, config: &Config, mut progress: impl FnMut(&Summary)) -> Summary {
        let start = Instant::now();
        let mut summary = Summary::default();
        for case in config.first..config.first.saturating_add(config.cases) {
            let c = generate(self.format, &self.variants, config.seed, case);
            summary.cases += 1;
            summary.unchanged += u64::from(c.notes.len() == 1);
            let (outcome, stricter) = self.one(&c, &mut summary);
            if let Some(refusal) = stricter
                && summary.stricter_cases.len() < 20
            {
                summary.stricter_cases.push((case, c.notes.join("; "), refusal));
            }
            if let Some(detail) = outcome {
                let mut failure = Failure { case, detail, notes: c.notes.clone(), saved: None };
                if let Some(dir) = &config.save_dir {
                    let _ = std::fs::create_dir_all(dir);
                    let name = format!(
                        "{}-seed-{}-case-{}.tar.{}",
                        self.format.tool(),
                        config.seed,
                        case,
                        self.format.suffix()
                    );
                    let path = dir.join(name);
                    if std::fs::write(&path, &c.bytes).is_ok() {
                        failure.saved = Some(path);
                    }
                }
                if config.print {
                    eprintln!("FAILURE {} seed {} {failure}", self.format.tool(), config.seed);
                }
                summary.failures.push(failure);
            }
            summary.elapsed = start.elapsed();
            progress(&summary);
        }
        summary
    }

    /// Judges one case: a failure's description, if it is one, and
    /// sealtar's refusal if it refused what the tool and GNU tar read.
    fn one(&self, c: &Case, summary: &mut Summary) -> (Option<String>, Option<String>) {
        let work = tempfile::Builder::new().prefix("sealtar-decoders-").tempdir().expect("a temporary directory");
        let ours_dest = work.path().join("sealtar");
        let gnu_dest = work.path().join("gnu");
        std::fs::create_dir_all(&ours_dest).expect("destination");
        std::fs::create_dir_all(&gnu_dest).expect("destination");
        let verdict = extract_catching(self.extractor, &c.bytes, &ours_dest);
        let ours = tree(&ours_dest);
        let tool = run_tool(self.format.tool(), &["-dc"], &c.bytes);
        summary.tool_accepted += u64::from(tool.is_ok());
        let gnu: Result<Tree, String> = tool.as_ref().map_err(Clone::clone).and_then(|plain| {
            let archive = work.path().join("tool-output.tar");
            std::fs::write(&archive, plain).expect("writing the tool's output");
            crate::difffuzz::oracles::gnu_tar(self.tar, &archive, &gnu_dest).map(|()| tree(&gnu_dest))
        });
        let failure = match &verdict {
            Verdict::Accepted => {
                summary.accepted += 1;
                match (&tool, &gnu) {
                    (Err(e), _) => Some(format!("sealtar accepted what {} refuses: {e}", self.format.tool())),
                    (Ok(_), Err(e)) => Some(format!("sealtar accepted; GNU tar failed on the tool's output: {e}")),
                    (Ok(_), Ok(g)) => {
                        let d = tree_differences("sealtar", &ours, "GNU tar", g, 6);
                        (!d.is_empty()).then(|| format!("trees differ: {}", d.join("; ")))
                    }
                }
            }
            Verdict::Refused(_) => {
                summary.refused += 1;
                summary.stricter += u64::from(gnu.is_ok());
                (!ours.is_empty()).then(|| "sealtar refused but left files in its destination".to_string())
            }
            Verdict::Error(e) => Some(format!("sealtar failed with an error that is not a refusal: {e}")),
            Verdict::Panicked(p) => Some(format!("sealtar panicked: {p}")),
        };
        let stricter = match verdict {
            Verdict::Refused(why) if gnu.is_ok() => Some(why),
            _ => None,
        };
        (failure, stricter)
    }
}

fn extract_catching(extractor: &Extractor, bytes: &[u8], dest: &Path) -> Verdict {
    match catch_unwind(AssertUnwindSafe(|| extract(extractor, bytes, dest))) {
        Ok(v) => v,
        Err(_) => Verdict::Panicked("outside the extractor".into()),
    }
}

/// Flips one random bit of `bytes[range]`; says which.
fn flip_bit(rng: &mut Rng, bytes: &mut [u8], range: std::ops::Range<usize>) -> String {
    if range.is_empty() {
        return "no byte to flip".into();
    }
    let at = range.start + rng.below(range.len());
    let bit = rng.below(8);
    bytes[at] ^= 1 << bit;
    format!("bit {bit} of byte {at} flipped")
}

/// What may follow the end of a compressed file: garbage, zeros, a cut.
fn tail_mutation(rng: &mut Rng, bytes: &mut Vec<u8>, magic: &[u8]) -> String {
    match rng.below(6) {
        0 => {
            let n = 1 + rng.below(3);
            bytes.extend(std::iter::repeat_n(b'x', n));
            format!("{n} bytes of garbage appended")
        }
        1 => {
            let n = [1, 3, 4, 8, 512][rng.below(5)];
            bytes.extend(std::iter::repeat_n(0, n));
            format!("{n} zero bytes appended")
        }
        2 => {
            bytes.extend_from_slice(magic);
            "the magic number alone appended".into()
        }
        3 => {
            let junk: Vec<u8> = (0..20).map(|_| rng.below(256) as u8).collect();
            bytes.extend(junk);
            "20 random bytes appended".into()
        }
        _ => {
            let cut = rng.below(bytes.len());
            bytes.truncate(cut);
            format!("cut at byte {cut}")
        }
    }
}
