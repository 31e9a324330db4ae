//! The differential fuzzer: generated archives, extracted by sealtar, GNU tar
//! and Python's tarfile, and the rule that binds them.
//!
//! For every case:
//! - if sealtar **accepts**, its tree equals both GNU tar's and Python's
//!   (names, kinds, bytes, owner-exec bit), and neither of them failed;
//! - so if GNU tar exits non-zero or tarfile raises, sealtar has refused;
//! - refusing is otherwise always allowed, except for the well-formed mode
//!   ([`generate::Mode::WellFormed`]), whose archives sealtar must accept;
//! - sealtar never panics, never fails with anything but a refusal, leaves
//!   its destination empty when it refuses, and writes nothing outside it (a
//!   sentinel directory beside it is compared before and after).
//!
//! Some cases also go through the `sealtar` binary, which must exit 0 or 1
//! as the library decided and write the same tree.
//!
//! Modification times are not compared: they decide nothing about what is
//! written where, and the oracles treat out-of-range times each their own way.

pub mod generate;
pub mod oracles;

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::Extractor;

use generate::{Case, Mode, generate};
use oracles::{Python, Tree, tree, tree_differences};

/// The seed of the run `make test` does.
pub const FIXED_SEED: u64 = 20_261_203;

/// How many cases `make test` runs (both modes; one in four well-formed).
pub const FIXED_CASES: u64 = 320;

/// What a run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// The run's seed.
    pub seed: u64,
    /// The first case number.
    pub first: u64,
    /// How many cases.
    pub cases: u64,
    /// The `sealtar` binary, to run every `cli_every`-th case through it too.
    pub cli: Option<PathBuf>,
    /// See `cli`.
    pub cli_every: u64,
    /// The cache directory the binary is given (`SEALTAR_CACHE_DIR`).
    pub cli_cache: Option<PathBuf>,
    /// Where archives of failing cases are saved.
    pub save_dir: Option<PathBuf>,
    /// Case numbers whose failures are known and pending a fix elsewhere:
    /// reported, but kept apart from the failures.
    pub pending: Vec<u64>,
    /// Print every failure as it is found.
    pub print: bool,
}

impl Config {
    /// `cases` cases from case 0 with `seed`, nothing else.
    pub fn new(seed: u64, cases: u64) -> Config {
        Config {
            seed,
            first: 0,
            cases,
            cli: None,
            cli_every: 1,
            cli_cache: None,
            save_dir: None,
            pending: Vec::new(),
            print: false,
        }
    }
}

/// What sealtar did with a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Extracted.
    Accepted,
    /// Refused (policy, limit, malformed input, sandbox).
    Refused(String),
    /// Failed with an error that is not a refusal.
    Error(String),
    /// Panicked.
    Panicked(String),
}

/// Classes of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// sealtar accepted and an oracle failed or wrote another tree.
    Disagreement,
    /// sealtar refused a well-formed archive.
    WellFormedRefused,
    /// sealtar panicked, or failed with an error that is not a refusal, or
    /// the CLI exited with anything but 0 or 1.
    Crash,
    /// Something changed outside the destination, or a refusal left files.
    Outside,
    /// The CLI and the library decided differently.
    CliMismatch,
    /// The generator made a "well-formed" archive that the oracles do not
    /// read alike (a bug in the generator, not in sealtar).
    Generator,
}

/// One failing case.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Case number.
    pub case: u64,
    /// What kind of failure.
    pub class: Class,
    /// What went wrong.
    pub detail: String,
    /// The three outcomes and the generator's notes.
    pub outcomes: String,
    /// Where the archive was saved, if it was.
    pub saved: Option<PathBuf>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "case {} {:?}: {}\n{}", self.case, self.class, self.detail, self.outcomes)?;
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
    /// Of which well-formed.
    pub well_formed: u64,
    /// Gzip-compressed.
    pub gzip: u64,
    /// sealtar accepted.
    pub accepted: u64,
    /// sealtar refused.
    pub refused: u64,
    /// Cases the oracles ran on (every accepted or well-formed case, and one
    /// refused hostile case in eight).
    pub oracle_runs: u64,
    /// sealtar refused although both oracles succeeded with the same tree
    /// (allowed; a measure of how strict sealtar is on hostile input),
    /// among the cases the oracles ran on.
    pub refused_while_oracles_agree: u64,
    /// GNU tar and Python succeeded with different trees, or one failed,
    /// among the cases the oracles ran on.
    pub oracles_disagree: u64,
    /// Cases also run through the CLI.
    pub cli_runs: u64,
    /// Failures.
    pub failures: Vec<Failure>,
    /// Failures of cases listed as pending.
    pub pending: Vec<Failure>,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// The whole fuzzer: one extractor, one Python process, GNU tar.
pub struct Fuzzer<'e> {
    extractor: &'e Extractor,
    tar: &'static str,
    python: Python,
}

impl<'e> Fuzzer<'e> {
    /// `None` when GNU tar or a suitable `python3` is missing.
    pub fn new(extractor: &'e Extractor) -> Option<Fuzzer<'e>> {
        let tar = crate::oracle::gnu_tar()?;
        let python = Python::start()?;
        Some(Fuzzer { extractor, tar, python })
    }

    /// Runs `config`, calling `progress` after every case.
    pub fn run(&mut self, config: &Config, mut progress: impl FnMut(&Summary)) -> Summary {
        let start = Instant::now();
        let mut summary = Summary::default();
        for case in config.first..config.first.saturating_add(config.cases) {
            let c = generate(config.seed, case);
            summary.cases += 1;
            summary.well_formed += u64::from(c.mode == Mode::WellFormed);
            summary.gzip += u64::from(c.gzip);
            let with_cli = config.cli.is_some() && case.is_multiple_of(config.cli_every.max(1));
            let failures = self.one(config, case, &c, with_cli, &mut summary);
            for mut f in failures {
                if let Some(dir) = &config.save_dir {
                    let _ = std::fs::create_dir_all(dir);
                    let path =
                        dir.join(format!("seed-{}-case-{}.tar{}", config.seed, case, if c.gzip { ".gz" } else { "" }));
                    if std::fs::write(&path, &c.bytes).is_ok() {
                        f.saved = Some(path);
                    }
                }
                if config.print {
                    eprintln!("FAILURE seed {} {f}", config.seed);
                }
                if config.pending.contains(&case) {
                    summary.pending.push(f);
                } else {
                    summary.failures.push(f);
                }
            }
            summary.elapsed = start.elapsed();
            progress(&summary);
        }
        summary
    }

    fn one(&mut self, config: &Config, case: u64, c: &Case, with_cli: bool, summary: &mut Summary) -> Vec<Failure> {
        let mut failures = Vec::new();
        let work = tempfile::Builder::new().prefix("sealtar-difffuzz-").tempdir().expect("a temporary directory");
        let root = work.path();
        let archive = root.join(if c.gzip { "case.tar.gz" } else { "case.tar" });
        std::fs::write(&archive, &c.bytes).expect("writing the case");
        for d in ["sealtar/dest", "gnu", "py", "cli/dest", "sentinel"] {
            std::fs::create_dir_all(root.join(d)).expect("case directories");
        }
        std::fs::write(root.join("sentinel/secret.txt"), b"sentinel\n").expect("sentinel");
        let before = tree(root);

        // sealtar, in-process.
        let dest = root.join("sealtar/dest");
        let verdict = extract(self.extractor, &c.bytes, &dest);
        let ours = tree(&dest);
        let mut fail = |class, detail: String| failures.push((class, detail));
        if let Some(what) = changed_outside(root, &before, "sealtar/dest") {
            fail(Class::Outside, format!("sealtar changed something outside its destination: {what}"));
        }
        match &verdict {
            Verdict::Accepted => summary.accepted += 1,
            Verdict::Refused(_) => {
                summary.refused += 1;
                if !ours.is_empty() {
                    fail(Class::Outside, "sealtar refused but left files in the destination".into());
                }
                if c.mode == Mode::WellFormed {
                    fail(Class::WellFormedRefused, "sealtar refused a well-formed archive".into());
                }
            }
            Verdict::Error(e) => fail(Class::Crash, format!("sealtar failed with an error that is not a refusal: {e}")),
            Verdict::Panicked(p) => fail(Class::Crash, format!("sealtar panicked: {p}")),
        }

        // The oracles. A hostile case that sealtar refused needs them for
        // the statistics only, so only one such case in eight runs them:
        // spawning GNU tar (and gzip) is most of a case's cost.
        let needed = verdict == Verdict::Accepted || c.mode == Mode::WellFormed || case.is_multiple_of(8);
        let (gnu, py) = if needed {
            summary.oracle_runs += 1;
            let gnu_dest = root.join("gnu");
            let py_dest = root.join("py");
            let gnu = crate::difffuzz::oracles::gnu_tar(self.tar, &archive, &gnu_dest).map(|()| tree(&gnu_dest));
            let py = self.python.extract(&archive, &py_dest).map(|()| tree(&py_dest));
            (gnu, py)
        } else {
            (Err("not run".to_string()), Err("not run".to_string()))
        };
        let oracles_agree = match (&gnu, &py) {
            (Ok(g), Ok(p)) => g == p,
            _ => false,
        };
        if needed && !oracles_agree {
            summary.oracles_disagree += 1;
        }
        if needed && matches!(verdict, Verdict::Refused(_)) && oracles_agree {
            summary.refused_while_oracles_agree += 1;
        }
        if verdict == Verdict::Accepted {
            match &gnu {
                Err(e) => fail(Class::Disagreement, format!("sealtar accepted but GNU tar failed: {e}")),
                Ok(g) => {
                    let d = tree_differences("sealtar", &ours, "GNU tar", g, 6);
                    if !d.is_empty() {
                        fail(Class::Disagreement, format!("trees differ: {}", d.join("; ")));
                    }
                }
            }
            match &py {
                Err(e) => fail(Class::Disagreement, format!("sealtar accepted but tarfile raised: {e}")),
                Ok(p) => {
                    let d = tree_differences("sealtar", &ours, "Python", p, 6);
                    if !d.is_empty() {
                        fail(Class::Disagreement, format!("trees differ: {}", d.join("; ")));
                    }
                }
            }
        }
        if c.mode == Mode::WellFormed && !oracles_agree {
            fail(Class::Generator, "GNU tar and Python read a well-formed case differently".into());
        }

        // The command-line tool.
        if with_cli && let Some(bin) = &config.cli {
            summary.cli_runs += 1;
            let before_cli = tree(root);
            let cli_dest = root.join("cli/dest");
            let mut cmd = Command::new(bin);
            cmd.arg("extract").arg(&archive).arg("-C").arg(&cli_dest);
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
            if let Some(cache) = &config.cli_cache {
                cmd.env("SEALTAR_CACHE_DIR", cache);
            }
            match cmd.output() {
                Err(e) => fail(Class::Crash, format!("the CLI did not run: {e}")),
                Ok(out) => {
                    let code = out.status.code();
                    let theirs = tree(&cli_dest);
                    match (code, &verdict) {
                        (Some(0), Verdict::Accepted) => {
                            let d = tree_differences("library", &ours, "CLI", &theirs, 6);
                            if !d.is_empty() {
                                fail(Class::CliMismatch, format!("CLI and library trees differ: {}", d.join("; ")));
                            }
                        }
                        (Some(1), Verdict::Refused(_)) if theirs.is_empty() => {}
                        (Some(1), Verdict::Refused(_)) => {
                            fail(Class::Outside, "the CLI refused but left files".into());
                        }
                        (Some(0 | 1), _) => fail(
                            Class::CliMismatch,
                            format!("the CLI exited {} where the library said {verdict:?}", code.unwrap_or(-1)),
                        ),
                        _ => fail(
                            Class::Crash,
                            format!(
                                "the CLI exited {:?}: {}",
                                out.status,
                                String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
                            ),
                        ),
                    }
                }
            }
            let mut expected = before_cli;
            expected.retain(|k, _| !k.starts_with(b"cli/dest/"));
            if let Some(what) = changed_outside(root, &expected, "cli/dest") {
                fail(Class::Outside, format!("the CLI changed something outside its destination: {what}"));
            }
        }

        if failures.is_empty() {
            return Vec::new();
        }
        let outcomes = describe(c, &verdict, &gnu, &py);
        failures
            .into_iter()
            .map(|(class, detail)| Failure { case, class, detail, outcomes: outcomes.clone(), saved: None })
            .collect()
    }
}

/// Extracts with the library, catching panics.
pub fn extract(extractor: &Extractor, bytes: &[u8], dest: &Path) -> Verdict {
    let dir = match Dir::open_ambient_dir(dest, ambient_authority()) {
        Ok(d) => d,
        Err(e) => return Verdict::Error(format!("opening the destination: {e}")),
    };
    match catch_unwind(AssertUnwindSafe(|| extractor.extract(bytes, &dir))) {
        Ok(Ok(_)) => Verdict::Accepted,
        Ok(Err(e)) if e.is_refusal() => Verdict::Refused(e.to_string()),
        Ok(Err(e)) => Verdict::Error(e.to_string()),
        Err(p) => Verdict::Panicked(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

/// What changed in `root` outside `inside` compared with `before`.
fn changed_outside(root: &Path, before: &Tree, inside: &str) -> Option<String> {
    let mut prefix = inside.as_bytes().to_vec();
    prefix.push(b'/');
    let mut after = tree(root);
    after.retain(|k, _| !k.starts_with(&prefix));
    let mut before = before.clone();
    before.retain(|k, _| !k.starts_with(&prefix));
    if after == before {
        return None;
    }
    let d = tree_differences("before", &before, "after", &after, 4);
    Some(d.join("; "))
}

fn describe(c: &Case, verdict: &Verdict, gnu: &Result<Tree, String>, py: &Result<Tree, String>) -> String {
    let brief = |r: &Result<Tree, String>| match r {
        Ok(t) => format!("ok, {} paths", t.len()),
        Err(e) => format!("failed: {e}"),
    };
    let mut out = String::new();
    let _ = writeln!(out, "  sealtar: {verdict:?}");
    let _ = writeln!(out, "  GNU tar: {}", brief(gnu));
    let _ = writeln!(out, "  Python:  {}", brief(py));
    let _ = write!(out, "  case:    {:?}, {}", c.mode, c.notes.join("; "));
    out
}
