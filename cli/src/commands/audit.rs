//! `sealtar audit-cargo`: has this Cargo cache (or vendor directory) been
//! poisoned? One shared [`Extractor`] on a pool of worker threads; each
//! finding is printed as soon as its crate is done. Every `.crate` is also
//! checked against what vouches for it from outside the cache: the
//! registry index cache, and the lock files given with `--lockfile`.

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::audit::{self, CrateAudit, Finding, IndexCache, Locks, Problem, Registry};
use sealtar::{Extractor, Options, escape, escape_path};

use super::parallel;
use crate::output::note;

mod report;

use report::{Audited, Reporter};

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

/// What `audit-cargo` was asked to do.
pub(super) struct Request {
    pub(super) cargo_home: Option<PathBuf>,
    pub(super) vendor: Option<PathBuf>,
    pub(super) lockfiles: Vec<PathBuf>,
    pub(super) strict: bool,
    pub(super) json: bool,
    pub(super) jobs: usize,
}

/// One thing to audit in registry mode.
enum Job<'d> {
    /// A crate directory of `registry/src/<index>/`.
    Directory { registry: &'d Registry, src: &'d Dir, name: String },
    /// A `.crate` of `registry/cache/<index>/` never unpacked.
    CrateFile { registry: &'d Registry, name: String },
}

impl Job<'_> {
    fn describe(&self) -> (&str, &str, Audited) {
        match self {
            Job::Directory { registry, name, .. } => (&registry.name, name, Audited::Directory),
            Job::CrateFile { registry, name } => (&registry.name, name, Audited::CrateFile),
        }
    }
}

/// Reads the lock files: the one place `audit-cargo` opens a file by the
/// path it was given. A lock file that cannot be read whole is an error:
/// the audit would check less than it was asked to.
fn read_locks(paths: &[PathBuf]) -> anyhow::Result<Locks> {
    let mut locks = Locks::new();
    for path in paths {
        let label = shown(path);
        let file = std::fs::File::open(path).with_context(|| format!("opening the lock file {label}"))?;
        let meta = file.metadata().with_context(|| format!("reading the lock file {label}"))?;
        anyhow::ensure!(meta.is_file(), "the lock file {label} is not a regular file");
        let mut text = Vec::new();
        file.take(audit::MAX_LOCKFILE + 1)
            .read_to_end(&mut text)
            .with_context(|| format!("reading the lock file {label}"))?;
        anyhow::ensure!(text.len() as u64 <= audit::MAX_LOCKFILE, "the lock file {label} is larger than 64 MiB");
        let packages = audit::parse_lockfile(&text)
            .map_err(|why| anyhow::anyhow!("the lock file {label} cannot be read as a Cargo.lock: {why}"))?;
        // Escaped where it is printed.
        locks.add(&path.to_string_lossy(), packages);
    }
    Ok(locks)
}

/// The registries of a Cargo home, and its unpacked sources.
struct Home {
    /// Every index name under `registry/cache/`, `registry/index/` or
    /// `registry/src/`, with its `.crate` cache and its index cache when there.
    registries: Vec<Registry>,
    /// `registry/src/<index>/` by index name; `None` without `registry/src/`.
    src: Option<Vec<(String, Dir)>>,
}

/// Opens the registries of the Cargo home whose `registry/` is `registry`,
/// each directory once.
fn open_home(registry: &Path, errors: &mut u64) -> anyhow::Result<Home> {
    let mut opened: Vec<Option<Vec<(String, Dir)>>> = Vec::new();
    let mut all: Vec<String> = Vec::new();
    for kind in ["cache", "index", "src"] {
        let Some(root) = open_ambient(&registry.join(kind))? else {
            opened.push(None);
            continue;
        };
        let mut dirs = Vec::new();
        for (index, file_type) in names(&root, &format!("registry/{kind}"), errors)? {
            if !file_type.is_dir() {
                if kind == "src" {
                    *errors += 1;
                    note!("sealtar: registry/src/{} is not a directory; skipped", escape(index.as_bytes()));
                }
                continue;
            }
            let dir = root.open_dir(&index).with_context(|| format!("opening registry/{kind}/{index}"))?;
            all.push(index.clone());
            dirs.push((index, dir));
        }
        opened.push(Some(dirs));
    }
    let src = opened.pop().flatten();
    let (mut caches, mut indexes) = (opened[0].take().unwrap_or_default(), opened[1].take().unwrap_or_default());
    all.sort();
    all.dedup();
    let take = |dirs: &mut Vec<(String, Dir)>, name: &str| {
        let at = dirs.iter().position(|(n, _)| n == name)?;
        Some(dirs.swap_remove(at).1)
    };
    let registries = all
        .iter()
        .map(|name| {
            let cache = take(&mut caches, name);
            Registry::new(name.clone(), cache, take(&mut indexes, name).map(IndexCache::new))
        })
        .collect();
    Ok(Home { registries, src })
}

/// Reports every locked package that was not found as a
/// [`Problem::LockedMissing`] note.
fn report_locked_missing(reporter: &mut Reporter, locks: &Locks, found: &HashSet<String>) -> io::Result<()> {
    reporter.tally.locked = locks.len() as u64;
    for (id, label) in locks.ids() {
        if !found.contains(id) {
            reporter.tally.locked_missing += 1;
            reporter.extra_finding(label, id, &Finding::new("", Problem::LockedMissing))?;
        }
    }
    Ok(())
}

/// `sealtar audit-cargo [CARGO_HOME] [--vendor DIR] [--lockfile FILE]... [--strict] [--json]`.
pub(super) fn run(options: Options, request: Request) -> anyhow::Result<ExitCode> {
    let Request { cargo_home, vendor, lockfiles, strict, json, jobs } = request;
    let extractor = &Extractor::new(options)?;
    let started = Instant::now();
    let locks = &read_locks(&lockfiles)?;
    let explicit_home = cargo_home.is_some();
    let home = resolve_cargo_home(cargo_home)?;
    let registry_root = home.join("registry");
    let mut errors = 0;
    let Home { registries, src } = open_home(&registry_root, &mut errors)?;

    if let Some(vendor) = vendor {
        let vendor_dir = open_ambient(&vendor)?.with_context(|| format!("{} does not exist", shown(&vendor)))?;
        let crates: Vec<String> = names(&vendor_dir, "the vendor directory", &mut errors)?
            .into_iter()
            // Cargo's directory source skips dot entries too (they hold VCS
            // data, not crates), so nothing in them is ever built.
            .filter(|(name, _)| !name.starts_with('.'))
            .map(|(name, _)| name)
            .collect();
        let mut reporter = Reporter::new(json, strict, crates.len());
        reporter.tally.errors = errors;
        let mut failed = None;
        let mut found = HashSet::new();
        parallel(
            &crates,
            jobs,
            |name| audit::audit_vendored_crate(extractor, &vendor_dir, name, &registries, locks),
            |name, result: Result<CrateAudit, sealtar::Error>| {
                if let Ok(Some(package)) = result.as_ref().map(|a| a.package.clone()) {
                    found.insert(package);
                }
                if let Err(e) = reporter.crate_done("vendor", name, Audited::Directory, result) {
                    failed.get_or_insert(e);
                }
            },
        );
        if let Some(e) = failed {
            return Err(e).context("writing the report");
        }
        report_locked_missing(&mut reporter, locks, &found).context("writing the report")?;
        return Ok(reporter.summary("vendored crates", started)?);
    }

    let Some(src) = src else {
        if explicit_home || home.exists() {
            anyhow::bail!("{} has no registry/src directory: nothing to audit", shown(&home));
        }
        anyhow::bail!("no Cargo home at {}", shown(&home));
    };
    // Every crate directory, then every `.crate` never unpacked.
    let mut job_list = Vec::new();
    let mut found: HashSet<String> = HashSet::new();
    let mut extracted: HashSet<(&str, String)> = HashSet::new();
    let src_dirs: Vec<(&Registry, &Dir)> =
        src.iter().filter_map(|(index, dir)| Some((registries.iter().find(|r| r.name == *index)?, dir))).collect();
    for (registry, src) in &src_dirs {
        for (name, _) in names(src, &format!("registry/src/{}", registry.name), &mut errors)? {
            found.insert(name.clone());
            extracted.insert((&registry.name, name.clone()));
            job_list.push(Job::Directory { registry, src, name });
        }
    }
    for registry in &registries {
        let Some(cache) = &registry.cache else { continue };
        for (name, _) in names(cache, &format!("registry/cache/{}", registry.name), &mut errors)? {
            let Some(stem) = name.strip_suffix(".crate") else { continue };
            found.insert(stem.to_string());
            if !extracted.contains(&(registry.name.as_str(), stem.to_string())) {
                job_list.push(Job::CrateFile { registry, name: stem.to_string() });
            }
        }
    }
    let mut reporter = Reporter::new(json, strict, job_list.len());
    reporter.tally.errors = errors;
    let mut failed = None;
    parallel(
        &job_list,
        jobs,
        |job| match job {
            Job::Directory { registry, src, name } => {
                audit::audit_registry_crate(extractor, src, registry, name, locks)
            }
            Job::CrateFile { registry, name } => audit::audit_crate_file(registry, name, locks),
        },
        |job, result| {
            let (index, name, audited) = job.describe();
            if let Err(e) = reporter.crate_done(index, name, audited, result) {
                failed.get_or_insert(e);
            }
        },
    );
    if let Some(e) = failed {
        return Err(e).context("writing the report");
    }
    report_locked_missing(&mut reporter, locks, &found).context("writing the report")?;
    Ok(reporter.summary("crates", started)?)
}
