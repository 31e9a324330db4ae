//! `cargo vendor` directories: each crate against its `.cargo-checksum.json`,
//! as Cargo checks it before building, and against its `.crate` when a
//! registry of the Cargo home has it.

use std::collections::BTreeSet;
use std::io::Read;

use cap_std::fs::Dir;

use super::compare::{Flavor, compare_tree};
use super::disk::{
    FileStats, Opener, Tree, io_error, is_plain_relative, open_crate_dir, parents, read_capped, sha256_hex,
};
use super::trust::{Expected, Hashed, Hashing, digest_findings};
use super::{CARGO_CHECKSUM, CrateAudit, DiskKind, Finding, Locks, Problem, Registry, expected, open_crate_file};
use crate::{Error, Extractor, Kind, escape};

/// Largest `.cargo-checksum.json` read: 64 MiB. One line per file, about a
/// hundred bytes each; the largest crates have tens of thousands of files.
const MAX_CHECKSUM_FILE: u64 = 64 << 20;

/// Largest vendored `Cargo.toml` read to learn the package's name: 4 MiB.
const MAX_MANIFEST: u64 = 4 << 20;

/// Audits the crate directory `name` in `vendor` (a `cargo vendor` output
/// directory, opened by the caller):
///
/// - against its `.cargo-checksum.json`, as Cargo does before building from
///   it: the SHA-256 of every listed file; plus what Cargo does not check,
///   files, directories and symlinks that the checksum file does not list;
/// - against its `.crate`, found by the name and version of the vendored
///   `Cargo.toml` in the first of `registries` whose cache has it: every
///   vendored file's bytes (a file changed *and* re-hashed in the checksum
///   file differs from the `.crate`), the `package` checksum, and the
///   `.crate`'s SHA-256 against that registry's index cache and `locks`;
/// - the `package` checksum against `locks`;
/// - hard links, world-writable files and directories, set-id files.
///
/// Without a `.crate` the directory cannot be verified (the checksum file
/// is as easy to rewrite as the files): one [`Problem::NoCrateFile`].
///
/// # Security
///
/// Never writes and never follows a symbolic link (see
/// [`super::audit_unpacked`]). A listed path that is not a plain relative
/// path is a [`Problem::BadChecksumFile`] finding and is not opened. The
/// `.crate` is read once, in the sandbox, and hashed as it is read.
///
/// # Errors
///
/// [`Error::Io`] when the directory or the `.crate` cannot be read.
pub fn audit_vendored_crate(
    extractor: &Extractor,
    vendor: &Dir,
    name: &str,
    registries: &[Registry],
    locks: &Locks,
) -> Result<CrateAudit, Error> {
    let mut audit = CrateAudit::default();
    let crate_dir = match open_crate_dir(vendor, name)? {
        Ok(dir) => dir,
        Err(finding) => {
            audit.findings.push(finding);
            return Ok(audit);
        }
    };
    let tree = Tree::walk(&crate_dir)?;
    let mut stats = FileStats::default();
    let (mut findings, package) = checksum_file_findings(&crate_dir, &tree, &mut stats)?;
    let id = vendored_package_id(&crate_dir);
    let mut found = None;
    if let Some(id) = &id {
        for registry in registries {
            if let Some(file) = open_crate_file(registry, id)? {
                found = Some((registry, file));
                break;
            }
        }
    }
    match (found, &id) {
        (Some((registry, file)), Some(id)) => {
            let mut reader = Hashing::new(file);
            let compared = compare_tree(extractor, &mut reader, &crate_dir, &tree, id, Flavor::Vendored, &mut stats)?;
            findings.extend(compared);
            let digest = reader.finish().map_err(|e| Error::io("reading the .crate", e))?;
            if package.as_deref().is_some_and(|p| !p.eq_ignore_ascii_case(&digest)) {
                findings.push(Finding::new("", Problem::PackageChecksum));
            }
            let expected = expected(registry, id, locks, &mut audit);
            findings.extend(digest_findings(&digest, &expected, Hashed::CrateFile));
            audit.crate_file = true;
        }
        _ => findings.push(Finding::new("", Problem::NoCrateFile)),
    }
    let locked = id.as_deref().map_or(&[][..], |id| locks.checksums(id));
    if let Some(package) = &package
        && !locked.is_empty()
    {
        let expected = Expected { index: Vec::new(), lock: locked.to_vec() };
        findings.extend(digest_findings(&package.to_ascii_lowercase(), &expected, Hashed::VendoredPackage));
        audit.lock_checked = true;
    }
    findings.extend(tree.permissions(&crate_dir, &stats)?);
    // The checksum file and the `.crate` may both see a change: once each.
    let mut seen = BTreeSet::new();
    findings.retain(|f| seen.insert((f.path.clone(), f.problem.id())));
    audit.findings = findings;
    audit.package = id;
    Ok(audit)
}

/// Checks `crate_dir` against its `.cargo-checksum.json`, and the
/// `package` checksum against `crate_file` when given; then hard links,
/// world-writable and set-id files. The checks of
/// [`audit_vendored_crate`] that need no `.crate` other than `crate_file`.
///
/// # Security
///
/// As [`audit_vendored_crate`].
///
/// # Errors
///
/// As [`audit_vendored_crate`].
pub fn check_vendored(crate_dir: &Dir, crate_file: Option<&mut dyn Read>) -> Result<Vec<Finding>, Error> {
    let tree = Tree::walk(crate_dir)?;
    let mut stats = FileStats::default();
    let (mut findings, package) = checksum_file_findings(crate_dir, &tree, &mut stats)?;
    if let (Some(package), Some(crate_file)) = (package, crate_file) {
        let actual = sha256_hex(crate_file).map_err(|e| Error::io("reading the .crate", e))?;
        if !actual.eq_ignore_ascii_case(&package) {
            findings.push(Finding::new("", Problem::PackageChecksum));
        }
    }
    findings.extend(tree.permissions(crate_dir, &stats)?);
    Ok(findings)
}

/// The findings of `.cargo-checksum.json` in `crate_dir` (walked as
/// `tree`), and its `package` checksum if it has one. Every file it opens
/// goes into `stats`.
fn checksum_file_findings(
    crate_dir: &Dir,
    tree: &Tree,
    stats: &mut FileStats,
) -> Result<(Vec<Finding>, Option<String>), Error> {
    let mut findings = Vec::new();
    let bad = |why: &str| Finding::new(CARGO_CHECKSUM, Problem::BadChecksumFile(why.to_string()));
    if tree.nodes.get(CARGO_CHECKSUM) != Some(&DiskKind::File) {
        findings.push(bad("missing or not a regular file"));
        findings.extend(tree.extras(|path| path == CARGO_CHECKSUM));
        return Ok((findings, None));
    }
    let text = read_capped(crate_dir, CARGO_CHECKSUM, MAX_CHECKSUM_FILE).map_err(|e| io_error(CARGO_CHECKSUM, e))?;
    let Some(parsed) = text.as_deref().and_then(|t| serde_json::from_slice::<serde_json::Value>(t).ok()) else {
        findings.push(bad("not JSON, or larger than 64 MiB"));
        return Ok((findings, None));
    };
    let package = parsed.get("package").and_then(serde_json::Value::as_str).map(str::to_string);
    let Some(files) = parsed.get("files").and_then(serde_json::Value::as_object) else {
        findings.push(bad("no \"files\" object"));
        return Ok((findings, package));
    };
    let mut expected = BTreeSet::new();
    let mut opener = Opener { root: crate_dir, parent_cache: None };
    for (path, digest) in files {
        let Some(digest) = digest.as_str() else {
            findings.push(bad(&format!("the checksum of \"{}\" is not a string", escape(path.as_bytes()))));
            continue;
        };
        if !is_plain_relative(path) || path == CARGO_CHECKSUM {
            findings.push(bad(&format!("lists \"{}\", which is not a plain relative path", escape(path.as_bytes()))));
            continue;
        }
        for parent in parents(path) {
            expected.insert(parent.to_string());
        }
        expected.insert(path.clone());
        match tree.nodes.get(path.as_str()) {
            None => findings.push(Finding::new(path, Problem::Missing(Kind::File))),
            Some(DiskKind::Symlink) => findings.push(Finding::new(path, Problem::SymlinkInPlace(Kind::File))),
            Some(&found @ (DiskKind::Directory | DiskKind::Other)) => {
                findings.push(Finding::new(path, Problem::KindDiffers { expected: Kind::File, found }))
            }
            Some(DiskKind::File) => {
                let (mut file, meta) = opener.open_file(path).map_err(|e| io_error(path, e))?;
                stats.record(path, &meta);
                let actual = sha256_hex(&mut file).map_err(|e| io_error(path, e))?;
                if !actual.eq_ignore_ascii_case(digest) {
                    findings.push(Finding::new(path, Problem::ContentDiffers));
                }
            }
        }
    }
    // The parents of listed files are expected directories; anything in
    // their place is reported once, at the shallowest level.
    for dir in expected.iter().filter(|p| !files.contains_key(p.as_str())) {
        match tree.nodes.get(dir.as_str()) {
            Some(DiskKind::Directory) | None => {}
            Some(DiskKind::Symlink) => findings.push(Finding::new(dir, Problem::SymlinkInPlace(Kind::Directory))),
            Some(&found) => findings.push(Finding::new(dir, Problem::KindDiffers { expected: Kind::Directory, found })),
        }
    }
    findings.extend(tree.extras(|path| path == CARGO_CHECKSUM || expected.contains(path)));
    Ok((findings, package))
}

/// The `<name>-<version>` of a vendored crate, read from the `[package]`
/// table of its `Cargo.toml` (as `cargo package` normalizes it: `name = "…"`
/// and `version = "…"` on lines of their own). `None` if that cannot be read.
pub fn vendored_package_id(crate_dir: &Dir) -> Option<String> {
    let text = read_capped(crate_dir, "Cargo.toml", MAX_MANIFEST).ok()??;
    let text = String::from_utf8(text).ok()?;
    let (mut in_package, mut name, mut version) = (false, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().strip_prefix('"').and_then(|v| v.strip_suffix('"'));
        match key.trim() {
            "name" => name = value,
            "version" => version = value,
            _ => {}
        }
    }
    let id = format!("{}-{}", name?, version?);
    is_plain_relative(&id).then_some(id).filter(|id| !id.contains('/'))
}
