//! Auditing what Cargo unpacked: does `registry/src/<index>/<name>-<version>/`
//! still hold exactly what its `.crate` holds, is that `.crate` still what
//! the registry published, and does a `cargo vendor` directory still match
//! its `.crate` and its `.cargo-checksum.json`?
//!
//! Cargo unpacks each `.crate` once and never looks at the directory again:
//! whatever changes it later (a poisoned cache, a malicious build script, a
//! crate that once escaped its directory) is what every later build reads.
//! [`audit_unpacked`] reads the `.crate` through the sandbox with
//! [`Extractor::read_entries`] (never putting it on disk) and compares it,
//! entry by entry and byte by byte, with the directory, which it reads
//! through a capability handle without following a single symbolic link.
//!
//! What Cargo itself leaves in an unpacked crate, and so what is not a
//! finding: the `.cargo-ok` file at its root, holding `{"v":1}` (Cargo since
//! 1.71), `ok` (older Cargo) or nothing (older still). Cargo skips any
//! `.cargo-ok` inside the `.crate`. Modes: Cargo unpacks with tar-rs, which
//! sets `archive mode & 0o777 & !umask`, so a file's exec bits on disk can
//! only be a subset of the archive's, and the owner's exec bit (which no
//! umask in use clears) must be the archive's.
//!
//! A `.crate` is only as good as what vouches for it: it sits in the same
//! tree as its directory, and an attacker who rewrites both leaves them in
//! agreement. [`audit_registry_crate`] therefore also hashes each `.crate`
//! as the sandbox reads it and compares the digest with what the registry
//! published, as recorded outside that tree: Cargo's registry index cache
//! ([`IndexCache`]) and the project's `Cargo.lock` ([`Locks`]). The module
//! `trust` says what each proves and what it cannot.
//!
//! Rooms: `compare` (a directory against its `.crate`), `disk` (the
//! directory, read through handles), `registry` (the index cache), `trust`
//! (lock files, digests), `vendor` (`cargo vendor` directories).

use std::fmt;
use std::io;

use cap_std::fs::Dir;

mod compare;
mod disk;
mod registry;
mod trust;
mod vendor;

use crate::{Error, Extractor, Kind, escape};
pub use compare::compare_unpacked;
use disk::{Tree, is_plain_relative, open_crate_dir, open_nofollow};
pub use registry::{
    INDEX_CACHE_DIR, INDEX_CACHE_VERSION, INDEX_SCHEMA_VERSIONS, IndexCache, IndexRecord, Lookup, MAX_INDEX_CACHE_FILE,
    index_cache_path, records as index_cache_records, split_crate_id,
};
use trust::{Expected, Hashing, digest_findings};
pub use trust::{Hashed, LockedPackage, Locks, MAX_LOCKFILE, parse_lockfile};
pub use vendor::{audit_vendored_crate, check_vendored, vendored_package_id};

/// The file Cargo writes at the root of each crate it has unpacked.
pub const CARGO_OK: &str = ".cargo-ok";

/// The file `cargo vendor` writes at the root of each vendored crate.
pub const CARGO_CHECKSUM: &str = ".cargo-checksum.json";

/// The contents of `.cargo-ok` that Cargo has written over the years:
/// `{"v":1}` since 1.71, `ok` before, and nothing before that.
pub const CARGO_OK_FORMS: [&[u8]; 3] = [br#"{"v":1}"#, b"ok", b""];

/// What is at a path on disk, seen without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiskKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// Anything else (a FIFO, a socket, a device).
    Other,
}

impl fmt::Display for DiskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiskKind::File => "file",
            DiskKind::Directory => "directory",
            DiskKind::Symlink => "symlink",
            DiskKind::Other => "special file",
        })
    }
}

/// What is wrong at one path of one crate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The file's bytes differ from the `.crate` (or, vendored, from its
    /// checksum): the poisoning itself.
    ContentDiffers,
    /// Present on disk, absent from the `.crate` (or, vendored, not listed
    /// in `.cargo-checksum.json`).
    Extra(DiskKind),
    /// In the `.crate` (or listed), absent from disk: Cargo would have
    /// failed, so the directory was changed or never finished.
    Missing(Kind),
    /// A symbolic link where the `.crate` has a file or directory.
    SymlinkInPlace(Kind),
    /// Something other than what the `.crate` has (a directory for a file,
    /// a file for a directory, a FIFO...).
    KindDiffers {
        /// What the `.crate` has.
        expected: Kind,
        /// What is on disk.
        found: DiskKind,
    },
    /// The crate directory itself is a symbolic link.
    CrateDirectoryIsSymlink,
    /// The crate's place holds something other than a directory.
    CrateNotDirectory(DiskKind),
    /// The exec bits on disk are not what Cargo would have set.
    ExecBit {
        /// Permission bits in the `.crate`.
        archive_mode: u32,
        /// Permission bits on disk.
        disk_mode: u32,
    },
    /// No `.cargo-ok`: Cargo never finished unpacking this directory.
    NoCargoOk,
    /// A `.cargo-ok` that is not a regular file holding one of
    /// [`CARGO_OK_FORMS`].
    BadCargoOk,
    /// sealtar's policy refuses the `.crate` itself (the reason, escaped):
    /// what Cargo made of it cannot be trusted either.
    CrateRefused(String),
    /// `.cargo-checksum.json` is missing, unreadable or malformed (why).
    BadChecksumFile(String),
    /// The `.crate` does not have the `package` checksum of
    /// `.cargo-checksum.json`.
    PackageChecksum,
    /// There is no `.crate` to compare with: the directory cannot be
    /// verified, whatever the index cache or a lock file records. The cache
    /// may have been pruned, or the `.crate` deleted to hide a change.
    /// Informational unless the caller is strict ([`Problem::is_unverifiable`]).
    NoCrateFile,
    /// The `.crate`'s SHA-256 is not the `cksum` the registry index cache
    /// records for its name and version: it changed after Cargo downloaded
    /// it (or the index cache did).
    IndexChecksum {
        /// The `.crate`'s SHA-256, lowercase hex.
        actual: String,
        /// The index cache's `cksum`.
        recorded: String,
    },
    /// What was hashed is not the checksum a lock file records for its
    /// name and version.
    LockChecksum {
        /// The `.crate`, or a vendored crate's `package` checksum.
        hashed: Hashed,
        /// Its SHA-256 (or the `package` checksum), lowercase hex.
        actual: String,
        /// The lock file's checksum (the first, when several are locked).
        recorded: String,
    },
    /// A regular file with more than one name: a write through another name,
    /// which may be outside the crate directory, changes it. Cargo never
    /// makes one.
    HardLink {
        /// The number of names.
        links: u64,
    },
    /// A file or directory any user may write to (or, for a directory,
    /// add files to).
    WorldWritable {
        /// Its mode.
        mode: u32,
    },
    /// A file with the set-user-ID or set-group-ID bit.
    SetId {
        /// Its mode.
        mode: u32,
    },
    /// Informational: a lock file locks this package, but no registry of the
    /// Cargo home has its `.crate` or its directory (or, vendored, the vendor
    /// directory has no crate of that name and version): nothing to check.
    LockedMissing,
}

impl Problem {
    /// A stable identifier, as printed in brackets and in JSON.
    pub fn id(&self) -> &'static str {
        match self {
            Problem::ContentDiffers => "content-differs",
            Problem::Extra(DiskKind::File) => "extra-file",
            Problem::Extra(DiskKind::Directory) => "extra-directory",
            Problem::Extra(DiskKind::Symlink) => "extra-symlink",
            Problem::Extra(DiskKind::Other) => "extra-special",
            Problem::Missing(_) => "missing",
            Problem::SymlinkInPlace(_) => "symlink",
            Problem::KindDiffers { .. } => "kind-differs",
            Problem::CrateDirectoryIsSymlink => "crate-dir-symlink",
            Problem::CrateNotDirectory(_) => "crate-not-directory",
            Problem::ExecBit { .. } => "exec-bit",
            Problem::NoCargoOk => "no-cargo-ok",
            Problem::BadCargoOk => "bad-cargo-ok",
            Problem::CrateRefused(_) => "crate-refused",
            Problem::BadChecksumFile(_) => "bad-checksum-file",
            Problem::PackageChecksum => "package-checksum",
            Problem::NoCrateFile => "no-crate-file",
            Problem::IndexChecksum { .. } => "index-checksum",
            Problem::LockChecksum { .. } => "lock-checksum",
            Problem::HardLink { .. } => "hard-link",
            Problem::WorldWritable { .. } => "world-writable",
            Problem::SetId { .. } => "set-id",
            Problem::LockedMissing => "locked-missing",
        }
    }

    /// Whether this is only informational (does not make an audit fail).
    /// [`Problem::NoCrateFile`] is, unless the caller is strict.
    pub fn is_informational(&self) -> bool {
        matches!(self, Problem::NoCrateFile | Problem::LockedMissing)
    }

    /// Whether this says that a directory cannot be verified: informational,
    /// but a failure for a strict caller (`audit-cargo --strict`).
    pub fn is_unverifiable(&self) -> bool {
        matches!(self, Problem::NoCrateFile)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::ContentDiffers => f.write_str("content differs from the .crate"),
            Problem::Extra(kind) => write!(f, "{kind} on disk that the .crate does not have"),
            Problem::Missing(kind) => write!(f, "{} of the .crate missing on disk", word(*kind)),
            Problem::SymlinkInPlace(kind) => write!(f, "symlink on disk where the .crate has a {}", word(*kind)),
            Problem::KindDiffers { expected, found } => {
                write!(f, "{found} on disk where the .crate has a {}", word(*expected))
            }
            Problem::CrateDirectoryIsSymlink => f.write_str("the crate directory is a symlink"),
            Problem::CrateNotDirectory(kind) => write!(f, "the crate directory is a {kind}"),
            Problem::ExecBit { archive_mode, disk_mode } => write!(
                f,
                "exec bits differ from what Cargo sets (mode {:03o} in the .crate, {:03o} on disk)",
                archive_mode & 0o777,
                disk_mode & 0o777
            ),
            Problem::NoCargoOk => f.write_str("no .cargo-ok: Cargo never finished unpacking here"),
            Problem::BadCargoOk => f.write_str(r#".cargo-ok is not a file holding {"v":1}, "ok" or nothing"#),
            Problem::CrateRefused(why) => write!(f, "the .crate is refused: {why}"),
            Problem::BadChecksumFile(why) => write!(f, "{CARGO_CHECKSUM}: {why}"),
            Problem::PackageChecksum => write!(f, "the .crate does not match the package checksum of {CARGO_CHECKSUM}"),
            Problem::NoCrateFile => f.write_str(
                "no .crate to compare with: the directory cannot be verified (cache pruned, or .crate deleted)",
            ),
            Problem::IndexChecksum { actual, recorded } => write!(
                f,
                "the .crate's SHA-256 {actual} is not the cksum {recorded} that the registry index cache records"
            ),
            Problem::LockChecksum { hashed, actual, recorded } => {
                let what = match hashed {
                    Hashed::CrateFile => "the .crate's SHA-256",
                    Hashed::VendoredPackage => "the package checksum",
                };
                write!(f, "{what} {actual} is not the checksum {recorded} that the lock file records")
            }
            Problem::HardLink { links } => {
                write!(f, "a hard link ({links} names): a write through another name changes this file")
            }
            Problem::WorldWritable { mode } => write!(f, "writable by any user (mode {:04o})", mode & 0o7777),
            Problem::SetId { mode } => write!(f, "set-user-ID or set-group-ID bit (mode {:04o})", mode & 0o7777),
            Problem::LockedMissing => {
                f.write_str("locked, but neither its .crate nor its directory is here: nothing to check")
            }
        }
    }
}

/// `file` or `directory` (the only kinds a vetted entry has).
fn word(kind: Kind) -> &'static str {
    if kind == Kind::Directory { "directory" } else { "file" }
}

/// One finding of an audit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// The path inside the crate directory, escaped for display; empty for
    /// the crate directory itself.
    pub path: String,
    /// What is wrong there.
    pub problem: Problem,
}

impl Finding {
    /// A finding at `path` (raw; it is escaped here).
    pub fn new(path: &str, problem: Problem) -> Finding {
        Finding { path: escape(path.as_bytes()), problem }
    }
}

/// One registry of a Cargo home, named by its index directory
/// (`index.crates.io-1949cf8c6b5b557f`): its `.crate` cache and its index
/// cache, both opened by the caller (either may be absent).
#[derive(Debug)]
#[non_exhaustive]
pub struct Registry {
    /// The index directory's name, shared by `registry/{cache,index,src}/`.
    pub name: String,
    /// `registry/cache/<name>/`.
    pub cache: Option<Dir>,
    /// `registry/index/<name>/`.
    pub index: Option<IndexCache>,
}

impl Registry {
    /// A registry from its handles.
    pub fn new(name: impl Into<String>, cache: Option<Dir>, index: Option<IndexCache>) -> Registry {
        Registry { name: name.into(), cache, index }
    }
}

/// What an audit of one crate found, and what it could check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrateAudit {
    /// The findings, informational ones included.
    pub findings: Vec<Finding>,
    /// The `.crate` was found and read.
    pub crate_file: bool,
    /// Its SHA-256 was compared with the registry index cache's `cksum`.
    pub index_checked: bool,
    /// Its SHA-256 (or, vendored, the `package` checksum) was compared with
    /// a lock file's checksum.
    pub lock_checked: bool,
    /// The index cache file that could not be used, relative to
    /// `registry/index/<index>/` and escaped, and why: no record, not a
    /// finding (the caller says it once per file).
    pub index_unusable: Option<(String, String)>,
    /// Vendored: the `<name>-<version>` its `Cargo.toml` names, if readable.
    pub package: Option<String>,
}

impl CrateAudit {
    /// Whether any finding is more than informational (for a strict caller,
    /// also whether the directory cannot be verified).
    pub fn fails(&self, strict: bool) -> bool {
        self.findings.iter().any(|f| !f.problem.is_informational() || (strict && f.problem.is_unverifiable()))
    }
}

/// Compares the crate directory `name` (`<name>-<version>`) in
/// `src_index` (`registry/src/<index>/`, opened once by the caller) with
/// `<name>.crate` in `cache_index` (`registry/cache/<index>/`, same index).
/// Returns the findings: empty when the directory is exactly what Cargo made
/// of the `.crate`, one [`Problem::NoCrateFile`] (informational) when there
/// is no `.crate` to compare with. [`audit_registry_crate`] also checks the
/// `.crate` against the index cache and lock files.
///
/// # Security
///
/// Reads the `.crate` once, in the sandbox, under `extractor`'s policy and
/// limits (a `.crate` the policy refuses is one [`Problem::CrateRefused`]
/// finding), and never writes. The directory is read only through
/// `src_index` and handles opened from it one name at a time with
/// `O_NOFOLLOW`: a symbolic link (the crate directory itself included) is
/// reported, never followed, and special files are reported, never read.
/// Another process changing the directory during the audit can make the
/// result wrong, never make the audit read outside `src_index`.
///
/// # Errors
///
/// [`Error::Io`] when the directory or the `.crate` cannot be read
/// (permissions, a file vanishing during the audit), or `name` is not a
/// single path component.
pub fn audit_unpacked(
    extractor: &Extractor,
    src_index: &Dir,
    cache_index: Option<&Dir>,
    name: &str,
) -> Result<Vec<Finding>, Error> {
    let crate_dir = match open_crate_dir(src_index, name)? {
        Ok(dir) => dir,
        Err(finding) => return Ok(vec![finding]),
    };
    match cache_index.map(|cache| open_crate_in(cache, name)).transpose()?.flatten() {
        Some(file) => compare_unpacked(extractor, file, &crate_dir, name),
        None => Ok(unverifiable(&crate_dir)?),
    }
}

/// Audits the crate directory `name` (`<name>-<version>`) of `src_index`
/// (`registry/src/<index>/`, opened by the caller) as [`audit_unpacked`]
/// does, with `registry` its index's `.crate` and index caches, and checks
/// the `.crate` itself: its SHA-256, computed as the sandbox reads it,
/// against the index cache's `cksum` for that name and version when the
/// cache has it ([`Problem::IndexChecksum`]) and against `locks`
/// ([`Problem::LockChecksum`]). Also reports hard links, world-writable
/// files and directories and set-id files under the crate directory
/// (Unix). A directory without its `.crate` is [`Problem::NoCrateFile`]:
/// it cannot be verified, whatever the index or a lock file records.
///
/// # Security
///
/// As [`audit_unpacked`]; the index cache is read as [`IndexCache::lookup`]
/// says. The digest is of the bytes the comparison read, through the one
/// handle, and of the rest of the file after the archive's end.
///
/// # Errors
///
/// As [`audit_unpacked`].
pub fn audit_registry_crate(
    extractor: &Extractor,
    src_index: &Dir,
    registry: &Registry,
    name: &str,
    locks: &Locks,
) -> Result<CrateAudit, Error> {
    let mut audit = CrateAudit::default();
    let crate_dir = open_crate_dir(src_index, name)?;
    let crate_file = open_crate_file(registry, name)?;
    match (crate_dir, crate_file) {
        (Ok(dir), Some(file)) => {
            let expected = expected(registry, name, locks, &mut audit);
            let mut reader = Hashing::new(file);
            audit.findings = compare_unpacked(extractor, &mut reader, &dir, name)?;
            let digest = reader.finish().map_err(|e| crate_read_error(name, e))?;
            audit.findings.extend(digest_findings(&digest, &expected, Hashed::CrateFile));
            audit.crate_file = true;
        }
        (Ok(dir), None) => audit.findings = unverifiable(&dir)?,
        (Err(finding), file) => {
            audit.findings.push(finding);
            if let Some(file) = file {
                let expected = expected(registry, name, locks, &mut audit);
                let digest = Hashing::new(file).finish().map_err(|e| crate_read_error(name, e))?;
                audit.findings.extend(digest_findings(&digest, &expected, Hashed::CrateFile));
                audit.crate_file = true;
            }
        }
    }
    Ok(audit)
}

/// Checks the `.crate` `<name>.crate` of `registry`'s cache that was never
/// unpacked: its SHA-256 against the index cache and `locks`, as
/// [`audit_registry_crate`] does. Such a `.crate` matters: Cargo unpacks a
/// cached `.crate` without checking it again.
///
/// # Errors
///
/// [`Error::Io`] when the `.crate` cannot be opened or read (it is a symlink
/// or not a regular file, or vanished).
pub fn audit_crate_file(registry: &Registry, name: &str, locks: &Locks) -> Result<CrateAudit, Error> {
    let mut audit = CrateAudit::default();
    let Some(file) = open_crate_file(registry, name)? else {
        let e = io::Error::new(io::ErrorKind::NotFound, "no such file");
        return Err(Error::io(format!("opening {}.crate", escape(name.as_bytes())), e));
    };
    let expected = expected(registry, name, locks, &mut audit);
    let digest = Hashing::new(file).finish().map_err(|e| crate_read_error(name, e))?;
    audit.findings = digest_findings(&digest, &expected, Hashed::CrateFile);
    audit.crate_file = true;
    Ok(audit)
}

/// The findings of a crate directory without its `.crate`: that it cannot be
/// verified, and what the permission checks need no `.crate` for.
fn unverifiable(crate_dir: &Dir) -> Result<Vec<Finding>, Error> {
    let tree = Tree::walk(crate_dir)?;
    let mut findings = vec![Finding::new("", Problem::NoCrateFile)];
    findings.extend(tree.permissions(crate_dir, &disk::FileStats::default())?);
    Ok(findings)
}

/// What the `.crate` `<id>.crate` of `registry` should hash to, noting in
/// `audit` what is checked.
fn expected(registry: &Registry, id: &str, locks: &Locks, audit: &mut CrateAudit) -> Expected {
    let mut expected = Expected::default();
    if let (Some(index), Some((name, version))) = (&registry.index, split_crate_id(id)) {
        match index.lookup(name, version) {
            Lookup::Found(records) => expected.index = records.into_iter().map(|r| r.cksum).collect(),
            Lookup::NoRecord => {}
            Lookup::Unusable { file, why } => audit.index_unusable = Some((file, why)),
        }
    }
    expected.lock = locks.checksums(id).to_vec();
    audit.index_checked = !expected.index.is_empty();
    audit.lock_checked = !expected.lock.is_empty();
    expected
}

/// `<id>.crate` in `registry`'s cache, if there.
fn open_crate_file(registry: &Registry, id: &str) -> Result<Option<std::fs::File>, Error> {
    registry.cache.as_ref().map(|cache| open_crate_in(cache, id)).transpose().map(Option::flatten)
}

/// `<id>.crate` in `cache`, opened without following a link: `None` if it
/// does not exist, an error if it is not a regular file.
fn open_crate_in(cache: &Dir, id: &str) -> Result<Option<std::fs::File>, Error> {
    let file_name = format!("{id}.crate");
    let shown = || format!("opening {}", escape(file_name.as_bytes()));
    if !is_plain_relative(id) || id.contains('/') {
        return Err(Error::io(shown(), io::Error::new(io::ErrorKind::InvalidInput, "not a single path component")));
    }
    let file = match open_nofollow(cache, &file_name, false) {
        Ok(file) => file.into_std(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(shown(), e)),
    };
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(Some(file)),
        Ok(_) => Err(Error::io(shown(), io::Error::other("not a regular file"))),
        Err(e) => Err(Error::io(shown(), e)),
    }
}

fn crate_read_error(id: &str, e: io::Error) -> Error {
    Error::io(format!("reading {}.crate", escape(id.as_bytes())), e)
}

/// Whether `disk_mode` has exec bits Cargo would not have set for
/// `archive_mode`: tar-rs applies `mode & 0o777 & !umask`, so the disk's
/// exec bits must be a subset of the archive's, and the owner's must match
/// (a umask that clears the owner's exec bit is not a real-world setting).
pub fn exec_bits_differ(archive_mode: u32, disk_mode: u32) -> bool {
    let widened = disk_mode & 0o111 & !(archive_mode & 0o111) != 0;
    let owner_lost = archive_mode & 0o100 != 0 && disk_mode & 0o100 == 0;
    widened || owner_lost
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::disk::parents;
    use super::*;

    #[test]
    fn exec_bits_follow_tar_rs_with_a_umask() {
        assert!(!exec_bits_differ(0o755, 0o755));
        assert!(!exec_bits_differ(0o755, 0o700), "a 077 umask clears group and other bits");
        assert!(!exec_bits_differ(0o644, 0o644));
        assert!(exec_bits_differ(0o644, 0o744), "an exec bit the archive does not have");
        assert!(exec_bits_differ(0o644, 0o645));
        assert!(exec_bits_differ(0o755, 0o655), "the owner's exec bit was cleared");
    }

    #[test]
    fn parents_are_listed_outermost_first() {
        assert_eq!(parents("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
        assert_eq!(parents("a").count(), 0);
    }

    #[test]
    fn only_plain_relative_paths() {
        assert!(is_plain_relative("src/lib.rs"));
        for bad in ["", "/etc/passwd", "a/../b", "./a", "a//b", "a\\b", "a/"] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
    }

    #[test]
    fn problem_ids_are_distinct() {
        let all = [
            Problem::ContentDiffers,
            Problem::Extra(DiskKind::File),
            Problem::Extra(DiskKind::Directory),
            Problem::Extra(DiskKind::Symlink),
            Problem::Extra(DiskKind::Other),
            Problem::Missing(Kind::File),
            Problem::SymlinkInPlace(Kind::File),
            Problem::KindDiffers { expected: Kind::File, found: DiskKind::Directory },
            Problem::CrateDirectoryIsSymlink,
            Problem::CrateNotDirectory(DiskKind::File),
            Problem::ExecBit { archive_mode: 0, disk_mode: 0 },
            Problem::NoCargoOk,
            Problem::BadCargoOk,
            Problem::CrateRefused(String::new()),
            Problem::BadChecksumFile(String::new()),
            Problem::PackageChecksum,
            Problem::NoCrateFile,
            Problem::IndexChecksum { actual: String::new(), recorded: String::new() },
            Problem::LockChecksum { hashed: Hashed::CrateFile, actual: String::new(), recorded: String::new() },
            Problem::HardLink { links: 2 },
            Problem::WorldWritable { mode: 0o666 },
            Problem::SetId { mode: 0o4755 },
            Problem::LockedMissing,
        ];
        let ids: BTreeSet<_> = all.iter().map(Problem::id).collect();
        assert_eq!(ids.len(), all.len());
        let informational: Vec<_> = all.iter().filter(|p| p.is_informational()).map(Problem::id).collect();
        assert_eq!(informational, ["no-crate-file", "locked-missing"]);
        let unverifiable: Vec<_> = all.iter().filter(|p| p.is_unverifiable()).map(Problem::id).collect();
        assert_eq!(unverifiable, ["no-crate-file"]);
    }
}
