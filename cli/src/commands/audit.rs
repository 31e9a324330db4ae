//! `sealtar audit-cargo`: has this Cargo cache (or vendor directory) been
//! poisoned? One shared [`Extractor`] on a pool of worker threads; each
//! finding is printed as soon as its crate is done.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::audit::{self, Finding};
use sealtar::{Extractor, Options, escape, escape_path};

use super::parallel;
use crate::output::{Lenient, note, write_json};

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
    out: Lenient<io::Stdout>,
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
            out: Lenient::new(io::stdout()),
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
                note!("sealtar: could not audit {crate_name} (index {}): {e}", escape(index.as_bytes()));
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
            let end = if self.seen == self.total { "\n" } else { "" };
            let _ = write!(io::stderr(), "\rsealtar: audited {}/{} crates{end}", self.seen, self.total);
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
            write_json(&mut self.out, &doc)?;
            writeln!(self.out)?;
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
            write_json(&mut self.out, &doc)?;
            writeln!(self.out)?;
        }
        self.out.flush()?;
        note!(
            "sealtar: audited {} {what} in {seconds:.2} s: {} clean, {} with {} finding(s), {} informational note(s), \
             {} could not be audited; {} .crate file(s) never extracted (fine)",
            t.crates,
            t.clean,
            t.with_findings,
            t.findings,
            t.informational,
            t.errors,
            not_extracted
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
                note!("sealtar: skipping {} in {what}: not UTF-8", escape(name.as_encoded_bytes()));
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
pub(super) fn run(
    options: Options,
    cargo_home: Option<PathBuf>,
    vendor: Option<PathBuf>,
    json: bool,
    jobs: usize,
) -> anyhow::Result<ExitCode> {
    let extractor = &Extractor::new(options)?;
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
            note!("sealtar: registry/src/{} is not a directory; skipped", escape(index.as_bytes()));
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
