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
pub mod links;
pub mod oracles;

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::{Extractor, LinkPolicy, Report};

use generate::{Case, Mode, generate};
use links::LinkCase;
use oracles::{Entry, Python, Tree, tree, tree_differences, tree_followed};

/// The seed of the run `make test` does.
pub const FIXED_SEED: u64 = 20_261_203;

/// How many cases `make test` runs (both modes; one in four well-formed).
pub const FIXED_CASES: u64 = 320;

/// How many cases of the links mode `make test` runs.
pub const FIXED_LINK_CASES: u64 = 300;

/// The longest one case's extraction may take in the links mode: the
/// cases are small, so anything near this is unbounded work.
pub const LINK_CASE_BUDGET: Duration = Duration::from_secs(5);

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
    /// A case took longer than [`LINK_CASE_BUDGET`].
    Budget,
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
    /// Links mode: links copied, and skipped (never written).
    pub links_copied: u64,
    /// See `links_copied`.
    pub links_skipped: u64,
    /// Links mode: the longest one case's extraction took.
    pub slowest: Duration,
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

impl Fuzzer<'_> {
    /// Runs `config` in the links mode ([`links`]): sealtar under `--links
    /// copy` against GNU tar and tarfile read through their links.
    ///
    /// The rule: when sealtar accepts, every path it wrote reads the same
    /// (kind, bytes, owner-exec bit) in GNU tar's tree and in tarfile's
    /// (when tarfile finished, and only without stripping or exclusions,
    /// which it does not have), and every path GNU tar's tree has that
    /// sealtar did not write is a link sealtar skipped (or below one), or a
    /// link that reads as nothing. Refusing is always allowed. No case's
    /// extraction may take longer than [`LINK_CASE_BUDGET`].
    pub fn run_links(&mut self, config: &Config, mut progress: impl FnMut(&Summary)) -> Summary {
        let start = Instant::now();
        let mut summary = Summary::default();
        for case in config.first..config.first.saturating_add(config.cases) {
            let c = links::generate(config.seed, case);
            summary.cases += 1;
            for mut f in self.one_link_case(case, &c, &mut summary) {
                if let Some(dir) = &config.save_dir {
                    let _ = std::fs::create_dir_all(dir);
                    let path = dir.join(format!("links-seed-{}-case-{}.tar", config.seed, case));
                    if std::fs::write(&path, &c.bytes).is_ok() {
                        f.saved = Some(path);
                    }
                }
                if config.print {
                    eprintln!("FAILURE seed {} {f}", config.seed);
                }
                summary.failures.push(f);
            }
            summary.elapsed = start.elapsed();
            progress(&summary);
        }
        summary
    }

    fn one_link_case(&mut self, case: u64, c: &LinkCase, summary: &mut Summary) -> Vec<Failure> {
        let mut failures: Vec<(Class, String)> = Vec::new();
        let work = tempfile::Builder::new().prefix("sealtar-difffuzz-").tempdir().expect("a temporary directory");
        let root = work.path();
        let archive = root.join("case.tar");
        std::fs::write(&archive, &c.bytes).expect("writing the case");
        for d in ["sealtar/dest", "gnu", "py", "sentinel"] {
            std::fs::create_dir_all(root.join(d)).expect("case directories");
        }
        std::fs::write(root.join("sentinel/secret.txt"), b"sentinel\n").expect("sentinel");
        let before = tree(root);

        let mut options = self.extractor.options().clone();
        options.links = LinkPolicy::Copy;
        options.strip_components = c.strip;
        options.exclude = c.exclude.clone();
        let extractor = Extractor::new(options).expect("the options are valid");
        let dest = root.join("sealtar/dest");
        let started = Instant::now();
        let (verdict, report) = extract_reporting(&extractor, &c.bytes, &dest);
        let took = started.elapsed();
        summary.slowest = summary.slowest.max(took);
        if took > LINK_CASE_BUDGET {
            failures.push((Class::Budget, format!("the extraction took {:.1} s", took.as_secs_f64())));
        }
        let ours = tree(&dest);
        if let Some(what) = changed_outside(root, &before, "sealtar/dest") {
            failures.push((Class::Outside, format!("sealtar changed something outside its destination: {what}")));
        }
        let mut gnu_said = String::new();
        match (&verdict, report) {
            (Verdict::Accepted, Some(report)) => {
                summary.accepted += 1;
                summary.oracle_runs += 1;
                summary.links_copied += report.copied.len() as u64;
                summary.links_skipped += report.skipped.len() as u64;
                let gnu_dest = root.join("gnu");
                let mut args = vec![format!("--strip-components={}", c.strip)];
                args.extend(c.exclude.iter().map(|p| format!("--exclude={p}")));
                // GNU tar's failures (a hard link it cannot make) are part of
                // what it reads: its tree is what it wrote.
                if let Err(e) = oracles::gnu_tar_with(self.tar, &archive, &gnu_dest, &args) {
                    gnu_said = e;
                }
                let gnu = tree_followed(&gnu_dest);
                let gnu_dest = gnu_dest.clone();
                let python = (c.strip == 0 && c.exclude.is_empty())
                    .then(|| self.python.extract_with_links(&archive, &root.join("py")).ok())
                    .flatten()
                    .map(|()| tree_followed(&root.join("py")));
                if python.as_ref().is_some_and(|p| p != &gnu) {
                    summary.oracles_disagree += 1;
                }
                let skipped: Vec<Vec<u8>> =
                    report.skipped.iter().filter_map(|s| stripped(s.path.as_bytes(), c.strip)).collect();
                for (path, entry) in &ours {
                    if gnu.get(path) != Some(entry) {
                        failures.push((
                            Class::Disagreement,
                            format!(
                                "{} is {} in sealtar's tree, {} in GNU tar's",
                                generate::show(path),
                                brief(Some(entry)),
                                brief(gnu.get(path))
                            ),
                        ));
                    }
                    // tarfile sets the mode of a hard link, which is its
                    // target's too: its exec bits say nothing of the link.
                    if let Some(p) = &python
                        && !same_content(p.get(path), entry)
                    {
                        failures.push((
                            Class::Disagreement,
                            format!(
                                "{} is {} in sealtar's tree, {} in tarfile's",
                                generate::show(path),
                                brief(Some(entry)),
                                brief(p.get(path))
                            ),
                        ));
                    }
                }
                // What GNU tar's tree has and sealtar's does not: the first
                // such name on each path must be a link sealtar skipped (found
                // where GNU tar made it: the directory's physical place), or
                // read as nothing.
                let physical_root = std::fs::canonicalize(&gnu_dest).unwrap_or_else(|_| gnu_dest.clone());
                for (path, entry) in &gnu {
                    let parent = path.rsplitn(2, |&b| b == b'/').nth(1).unwrap_or(b"");
                    let first_missing = !ours.contains_key(path) && (parent.is_empty() || ours.contains_key(parent));
                    if !first_missing || matches!(entry, Entry::Other(_)) {
                        continue;
                    }
                    let explained = match physical(&gnu_dest, path)
                        .map(|p| p.strip_prefix(&physical_root).map(Path::to_path_buf))
                    {
                        Some(Ok(rel)) => skipped.iter().any(|s| rel.as_os_str().as_encoded_bytes() == s.as_slice()),
                        // Outside GNU tar's tree: a link that climbed out.
                        Some(Err(_)) => true,
                        None => false,
                    };
                    if !explained {
                        failures.push((
                            Class::Disagreement,
                            format!(
                                "GNU tar reads {} as {}, sealtar neither wrote nor skipped it",
                                generate::show(path),
                                brief(Some(entry))
                            ),
                        ));
                    }
                }
            }
            (Verdict::Refused(_), _) => {
                summary.refused += 1;
                if !ours.is_empty() {
                    failures.push((Class::Outside, "sealtar refused but left files in the destination".into()));
                }
            }
            (Verdict::Error(e), _) => {
                failures.push((Class::Crash, format!("sealtar failed with an error that is not a refusal: {e}")))
            }
            (Verdict::Panicked(p), _) => failures.push((Class::Crash, format!("sealtar panicked: {p}"))),
            (Verdict::Accepted, None) => unreachable!("an accepted case has its report"),
        }
        failures.truncate(6);
        let outcomes = format!("  sealtar: {verdict:?}\n  GNU tar: {gnu_said}\n  case:    {}", c.notes.join("; "));
        failures
            .into_iter()
            .map(|(class, detail)| Failure { case, class, detail, outcomes: outcomes.clone(), saved: None })
            .collect()
    }
}

/// Where `path` (a path read through links below `root`) is made: its
/// parent directory's physical place, and its own name there.
fn physical(root: &Path, path: &[u8]) -> Option<std::path::PathBuf> {
    let text = std::str::from_utf8(path).ok()?;
    let (parent, name) = text.rsplit_once('/').unwrap_or(("", text));
    let parent = std::fs::canonicalize(root.join(parent)).ok()?;
    Some(parent.join(name))
}

/// Whether a reader's entry has `ours`'s kind and bytes (exec bits aside).
fn same_content(theirs: Option<&Entry>, ours: &Entry) -> bool {
    match (theirs, ours) {
        (Some(Entry::File { contents: a, .. }), Entry::File { contents: b, .. }) => a == b,
        (Some(a), b) => a == b,
        (None, _) => false,
    }
}

/// `path` with its first `strip` components removed, if it has more.
fn stripped(path: &[u8], strip: usize) -> Option<Vec<u8>> {
    let components: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").collect();
    (components.len() > strip).then(|| components[strip..].join(&b'/'))
}

fn brief(entry: Option<&Entry>) -> String {
    match entry {
        None => "nothing".into(),
        Some(Entry::Dir) => "a directory".into(),
        Some(Entry::File { contents, exec }) => {
            format!(
                "a file of {} bytes{}: {}",
                contents.len(),
                if *exec { ", exec" } else { "" },
                generate::show(contents)
            )
        }
        Some(Entry::Symlink(t)) => format!("a symlink to {}", generate::show(t)),
        Some(Entry::Other(o)) => o.clone(),
    }
}

/// [`extract`], keeping the report of an accepted extraction.
fn extract_reporting(extractor: &Extractor, bytes: &[u8], dest: &Path) -> (Verdict, Option<Report>) {
    let dir = match Dir::open_ambient_dir(dest, ambient_authority()) {
        Ok(d) => d,
        Err(e) => return (Verdict::Error(format!("opening the destination: {e}")), None),
    };
    match catch_unwind(AssertUnwindSafe(|| extractor.extract(bytes, &dir))) {
        Ok(Ok(report)) => (Verdict::Accepted, Some(report)),
        Ok(Err(e)) if e.is_refusal() => (Verdict::Refused(e.to_string()), None),
        Ok(Err(e)) => (Verdict::Error(e.to_string()), None),
        Err(p) => (
            Verdict::Panicked(
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
            ),
            None,
        ),
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
