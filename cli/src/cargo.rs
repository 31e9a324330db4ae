//! `sealtar audit-cargo` and `sealtar check --batch`: the Cargo tools.
//!
//! Both run one shared [`Extractor`] on a pool of worker threads (one per
//! core) that take work from a shared queue, and report each result as soon
//! as it is ready: the order of the output lines is the order of completion.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::audit::{self, Finding};
use sealtar::{CheckReport, CrateRules, Extractor, escape, escape_path};

/// Runs `work` on every item of `items` on `jobs` threads, handing each
/// result to `done` (under a lock, in completion order).
fn parallel<T: Sync, R: Send>(items: &[T], jobs: usize, work: impl Fn(&T) -> R + Sync, done: impl FnMut(&T, R) + Send) {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(done);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(item);
                    let mut done = done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    (*done)(item, result);
                }
            });
        }
    });
}

/// Worker threads: the `--jobs` value, or one per core.
pub fn job_count(jobs: Option<usize>) -> usize {
    jobs.filter(|&j| j > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// `CARGO_HOME` as given, else `$CARGO_HOME`, else `~/.cargo`.
fn resolve_cargo_home(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    if let Some(path) = std::env::var_os("CARGO_HOME").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|p| !p.is_empty())
        .context("no CARGO_HOME given, and neither $CARGO_HOME nor $HOME is set")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

fn shown(path: &Path) -> String {
    escape_path(path)
}

/// One crate directory to audit.
struct CrateJob<'d> {
    index: String,
    name: String,
    src: &'d Dir,
    cache: Option<&'d Dir>,
}

/// Counts and exit status of an audit.
#[derive(Default)]
struct Tally {
    crates: u64,
    clean: u64,
    with_findings: u64,
    findings: u64,
    informational: u64,
    errors: u64,
}

impl Tally {
    fn exit_code(&self) -> ExitCode {
        if self.findings > 0 {
            ExitCode::from(1)
        } else if self.errors > 0 {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// Prints findings and errors as they come, and counts them.
struct Reporter {
    json: bool,
    tally: Tally,
    out: io::Stdout,
    progress: bool,
    total: usize,
    seen: usize,
}

impl Reporter {
    fn new(json: bool, total: usize) -> Reporter {
        use std::io::IsTerminal;
        Reporter {
            json,
            tally: Tally::default(),
            out: io::stdout(),
            progress: io::stderr().is_terminal(),
            total,
            seen: 0,
        }
    }

    /// Reports one crate's audit.
    fn crate_done(&mut self, index: &str, name: &str, result: Result<Vec<Finding>, sealtar::Error>) -> io::Result<()> {
        self.tally.crates += 1;
        self.seen += 1;
        let crate_name = escape(name.as_bytes());
        match result {
            Err(e) => {
                self.tally.errors += 1;
                eprintln!("sealtar: could not audit {crate_name} (index {}): {e}", escape(index.as_bytes()));
            }
            Ok(findings) => {
                let serious = findings.iter().filter(|f| !f.problem.is_informational()).count() as u64;
                self.tally.findings += serious;
                self.tally.informational += findings.len() as u64 - serious;
                if serious > 0 {
                    self.tally.with_findings += 1;
                } else if findings.is_empty() {
                    self.tally.clean += 1;
                }
                for finding in &findings {
                    self.finding(index, &crate_name, finding)?;
                }
            }
        }
        if self.progress && (self.seen.is_multiple_of(64) || self.seen == self.total) {
            eprint!("\rsealtar: audited {}/{} crates", self.seen, self.total);
            if self.seen == self.total {
                eprintln!();
            }
        }
        Ok(())
    }

    fn finding(&mut self, index: &str, crate_name: &str, finding: &Finding) -> io::Result<()> {
        if self.json {
            let doc = serde_json::json!({
                "crate": crate_name,
                "index": escape(index.as_bytes()),
                "path": finding.path,
                "finding": finding.problem.id(),
                "informational": finding.problem.is_informational(),
                "message": finding.problem.to_string(),
            });
            let mut out = self.out.lock();
            crate::write_json(&mut out, &doc)?;
            writeln!(out)?;
        } else if finding.path.is_empty() {
            writeln!(self.out, "{crate_name}: {} [{}]", finding.problem, finding.problem.id())?;
        } else {
            writeln!(self.out, "{crate_name} \"{}\": {} [{}]", finding.path, finding.problem, finding.problem.id())?;
        }
        Ok(())
    }

    fn summary(mut self, what: &str, not_extracted: u64, started: Instant) -> io::Result<ExitCode> {
        let t = &self.tally;
        let seconds = started.elapsed().as_secs_f64();
        if self.json {
            let doc = serde_json::json!({"summary": {
                "crates": t.crates,
                "clean": t.clean,
                "with_findings": t.with_findings,
                "findings": t.findings,
                "informational": t.informational,
                "not_extracted": not_extracted,
                "errors": t.errors,
                "seconds": seconds,
            }});
            let mut out = self.out.lock();
            crate::write_json(&mut out, &doc)?;
            writeln!(out)?;
        }
        self.out.flush()?;
        eprintln!(
            "sealtar: audited {} {what} in {seconds:.2} s: {} clean, {} with {} finding(s), {} informational note(s), \
             {} could not be audited; {} .crate file(s) never extracted (fine)",
            t.crates, t.clean, t.with_findings, t.findings, t.informational, t.errors, not_extracted
        );
        Ok(t.exit_code())
    }
}

/// The names in `dir`, sorted; names that are not UTF-8 are reported on
/// standard error and counted as errors (no crate has one).
fn names(dir: &Dir, what: &str, errors: &mut u64) -> anyhow::Result<Vec<(String, cap_std::fs::FileType)>> {
    let mut out = Vec::new();
    for entry in dir.entries().with_context(|| format!("listing {what}"))? {
        let entry = entry.with_context(|| format!("listing {what}"))?;
        let file_type = entry.file_type().with_context(|| format!("listing {what}"))?;
        match entry.file_name().into_string() {
            Ok(name) => out.push((name, file_type)),
            Err(name) => {
                *errors += 1;
                eprintln!("sealtar: skipping {} in {what}: not UTF-8", escape(name.as_encoded_bytes()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Opens `path` as a directory: the one place `audit-cargo` turns a path
/// into a capability (ambient authority). `None` if it does not exist.
fn open_ambient(path: &Path) -> anyhow::Result<Option<Dir>> {
    match Dir::open_ambient_dir(path, ambient_authority()) {
        Ok(dir) => Ok(Some(dir)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("opening {}", shown(path))),
    }
}

/// `sealtar audit-cargo [CARGO_HOME] [--vendor DIR] [--json]`.
pub fn audit_cargo(
    extractor: &Extractor,
    cargo_home: Option<PathBuf>,
    vendor: Option<PathBuf>,
    json: bool,
    jobs: usize,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let explicit_home = cargo_home.is_some();
    let home = resolve_cargo_home(cargo_home)?;
    let registry = home.join("registry");
    let mut errors = 0;

    // The `.crate` caches: registry/cache/<index>/.
    let cache_root = open_ambient(&registry.join("cache"))?;
    let mut caches: Vec<(String, Dir)> = Vec::new();
    if let Some(root) = &cache_root {
        for (index, file_type) in names(root, "registry/cache", &mut errors)? {
            if file_type.is_dir() {
                let dir = root.open_dir(&index).with_context(|| format!("opening registry/cache/{index}"))?;
                caches.push((index, dir));
            }
        }
    }

    if let Some(vendor) = vendor {
        let vendor_dir = open_ambient(&vendor)?.with_context(|| format!("{} does not exist", shown(&vendor)))?;
        let crates: Vec<String> = names(&vendor_dir, "the vendor directory", &mut errors)?
            .into_iter()
            // Cargo's directory source skips dot entries too (they hold VCS
            // data, not crates), so nothing in them is ever built.
            .filter(|(name, _)| !name.starts_with('.'))
            .map(|(name, _)| name)
            .collect();
        let cache_dirs: Vec<Dir> = caches.into_iter().map(|(_, dir)| dir).collect();
        let mut reporter = Reporter::new(json, crates.len());
        reporter.tally.errors = errors;
        let mut failed = None;
        parallel(
            &crates,
            jobs,
            |name| audit::audit_vendored(&vendor_dir, name, &cache_dirs),
            |name, result| {
                if let Err(e) = reporter.crate_done("vendor", name, result) {
                    failed.get_or_insert(e);
                }
            },
        );
        if let Some(e) = failed {
            return Err(e).context("writing the report");
        }
        return Ok(reporter.summary("vendored crates", 0, started)?);
    }

    let Some(src_root) = open_ambient(&registry.join("src"))? else {
        if explicit_home || home.exists() {
            anyhow::bail!("{} has no registry/src directory: nothing to audit", shown(&home));
        }
        anyhow::bail!("no Cargo home at {}", shown(&home));
    };
    // Opened once per index: every crate directory is read through these.
    let mut indexes: Vec<(String, Dir)> = Vec::new();
    for (index, file_type) in names(&src_root, "registry/src", &mut errors)? {
        if !file_type.is_dir() {
            errors += 1;
            eprintln!("sealtar: registry/src/{} is not a directory; skipped", escape(index.as_bytes()));
            continue;
        }
        let dir = src_root.open_dir(&index).with_context(|| format!("opening registry/src/{index}"))?;
        indexes.push((index, dir));
    }
    let mut jobs_list = Vec::new();
    let mut extracted: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
    for (index, src) in &indexes {
        let cache = caches.iter().find(|(name, _)| name == index).map(|(_, dir)| dir);
        for (name, _) in names(src, &format!("registry/src/{index}"), &mut errors)? {
            extracted.insert((index.clone(), name.clone()));
            jobs_list.push(CrateJob { index: index.clone(), name, src, cache });
        }
    }
    // `.crate` files never extracted are fine; count them for the summary.
    let mut not_extracted = 0;
    for (index, cache) in &caches {
        for (name, _) in names(cache, &format!("registry/cache/{index}"), &mut errors)? {
            if let Some(stem) = name.strip_suffix(".crate")
                && !extracted.contains(&(index.clone(), stem.to_string()))
            {
                not_extracted += 1;
            }
        }
    }
    let mut reporter = Reporter::new(json, jobs_list.len());
    reporter.tally.errors = errors;
    let mut failed = None;
    parallel(
        &jobs_list,
        jobs,
        |job| audit::audit_unpacked(extractor, job.src, job.cache, &job.name),
        |job, result| {
            if let Err(e) = reporter.crate_done(&job.index, &job.name, result) {
                failed.get_or_insert(e);
            }
        },
    );
    if let Some(e) = failed {
        return Err(e).context("writing the report");
    }
    Ok(reporter.summary("crates", not_extracted, started)?)
}

/// The JSON line of one batch result.
fn batch_line(path: &OsString, result: &Result<CheckReport, String>) -> serde_json::Value {
    let path = escape_path(std::path::Path::new(path));
    match result {
        Ok(report) => serde_json::json!({
            "path": path,
            "acceptable": report.is_acceptable(),
            "entries": report.entries,
            "violations": crate::violations_json(report),
        }),
        Err(error) => serde_json::json!({
            "path": path,
            "acceptable": false,
            "violations": [],
            "error": error,
        }),
    }
}

/// Checks one archive of a batch; every failure is a result.
fn check_one(extractor: &Extractor, path: &OsString, krate: bool) -> Result<CheckReport, String> {
    let path = Path::new(path);
    let file = File::open(path).map_err(|e| format!("opening: {e}"))?;
    let size = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    let rules = if krate {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        Some(
            CrateRules::from_file_name(name, size)
                .ok_or_else(|| "--crate needs a file named <name>-<version>.crate".to_string())?,
        )
    } else {
        None
    };
    extractor.check(io::BufReader::with_capacity(256 << 10, file), rules.as_ref()).map_err(|e| e.to_string())
}

/// `sealtar check [--crate] --batch [FILE|-]`.
pub fn check_batch(extractor: &Extractor, list: &Path, krate: bool, jobs: usize) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let reader: Box<dyn BufRead> = if list.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(io::BufReader::new(File::open(list).with_context(|| format!("opening {}", shown(list)))?))
    };
    let mut paths = Vec::new();
    for line in reader.split(b'\n') {
        let mut line = line.context("reading the list of archives")?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if !line.is_empty() {
            paths.push(bytes_to_os(line)?);
        }
    }
    let (mut acceptable, mut refused, mut unreadable) = (0u64, 0u64, 0u64);
    let stdout = io::stdout();
    let mut failed = None;
    parallel(
        &paths,
        jobs,
        |path| check_one(extractor, path, krate),
        |path, result| {
            match &result {
                Ok(report) if report.is_acceptable() => acceptable += 1,
                Ok(_) => refused += 1,
                Err(_) => unreadable += 1,
            }
            let line = batch_line(path, &result);
            let mut out = stdout.lock();
            let written = crate::write_json(&mut out, &line).and_then(|()| writeln!(out)).and_then(|()| out.flush());
            if let Err(e) = written {
                failed.get_or_insert(e);
            }
        },
    );
    if let Some(e) = failed {
        return Err(e).context("writing the results");
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = paths.len() as f64;
    eprintln!(
        "sealtar: checked {} archive(s) in {seconds:.2} s ({:.0}/s on {jobs} thread(s)): {acceptable} acceptable, \
         {refused} not acceptable, {unreadable} could not be read",
        paths.len(),
        if seconds > 0.0 { total / seconds } else { 0.0 }
    );
    Ok(if refused > 0 || unreadable > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

#[cfg(unix)]
fn bytes_to_os(bytes: Vec<u8>) -> anyhow::Result<OsString> {
    use std::os::unix::ffi::OsStringExt;
    Ok(OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn bytes_to_os(bytes: Vec<u8>) -> anyhow::Result<OsString> {
    String::from_utf8(bytes).map(OsString::from).context("a path in the list is not UTF-8")
}
