//! Auditing what Cargo unpacked: does `registry/src/<index>/<name>-<version>/`
//! still hold exactly what its `.crate` holds, and does a `cargo vendor`
//! directory still match its `.cargo-checksum.json`?
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

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read};

use cap_std::fs::Dir;

use crate::entries::{Entry, EntryVisitor};

mod disk;

use crate::{Error, Extractor, Kind, escape};
use disk::{
    Opener, Tree, io_error, is_plain_relative, open_crate_dir, open_nofollow, parents, read_capped, sha256_hex,
};

/// The file Cargo writes at the root of each crate it has unpacked.
pub const CARGO_OK: &str = ".cargo-ok";

/// The file `cargo vendor` writes at the root of each vendored crate.
pub const CARGO_CHECKSUM: &str = ".cargo-checksum.json";

/// The contents of `.cargo-ok` that Cargo has written over the years:
/// `{"v":1}` since 1.71, `ok` before, and nothing before that.
pub const CARGO_OK_FORMS: [&[u8]; 3] = [br#"{"v":1}"#, b"ok", b""];

/// Largest `.cargo-checksum.json` read: 64 MiB. One line per file, about a
/// hundred bytes each; the largest crates have tens of thousands of files.
const MAX_CHECKSUM_FILE: u64 = 64 << 20;

/// Largest vendored `Cargo.toml` read to learn the package's name: 4 MiB.
const MAX_MANIFEST: u64 = 4 << 20;

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
    /// Informational: there is no `.crate` to compare with (the cache was
    /// pruned). Not a sign of tampering by itself.
    NoCrateFile,
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
        }
    }

    /// Whether this is only informational (does not make an audit fail).
    pub fn is_informational(&self) -> bool {
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
            Problem::NoCrateFile => f.write_str("no .crate to compare with (cache pruned; informational)"),
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

/// Compares the crate directory `name` (`<name>-<version>`) in
/// `src_index` (`registry/src/<index>/`, opened once by the caller) with
/// `<name>.crate` in `cache_index` (`registry/cache/<index>/`, same index).
/// Returns the findings: empty when the directory is exactly what Cargo made
/// of the `.crate`, one [`Problem::NoCrateFile`] (informational) when there
/// is no `.crate` to compare with.
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
    let crate_name = format!("{name}.crate");
    let crate_file = match cache_index.map(|cache| open_nofollow(cache, &crate_name, false)) {
        None => return Ok(vec![Finding::new("", Problem::NoCrateFile)]),
        Some(Err(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![Finding::new("", Problem::NoCrateFile)]),
        Some(Err(e)) => return Err(Error::io(format!("opening {}", escape(crate_name.as_bytes())), e)),
        Some(Ok(file)) => file.into_std(),
    };
    compare_unpacked(extractor, crate_file, &crate_dir, name)
}

/// Compares `crate_dir` with the `.crate` read from `crate_file`, whose
/// entries are under `prefix/`. The heart of [`audit_unpacked`].
///
/// # Security
///
/// As [`audit_unpacked`].
///
/// # Errors
///
/// As [`audit_unpacked`].
pub fn compare_unpacked<R: Read + Send>(
    extractor: &Extractor,
    crate_file: R,
    crate_dir: &Dir,
    prefix: &str,
) -> Result<Vec<Finding>, Error> {
    let tree = Tree::walk(crate_dir)?;
    let mut compare = Compare {
        root: crate_dir,
        tree: &tree,
        prefix,
        expected: BTreeSet::new(),
        findings: Vec::new(),
        current: None,
        parent_cache: None,
        buffer: Vec::new(),
    };
    match extractor.read_entries(crate_file, &mut compare) {
        Ok(()) => {}
        Err(e) if e.is_refusal() => return Ok(vec![Finding::new("", Problem::CrateRefused(e.to_string()))]),
        Err(e) => return Err(e),
    }
    let Compare { expected, mut findings, .. } = compare;
    match tree.nodes.get(CARGO_OK) {
        None => findings.push(Finding::new(CARGO_OK, Problem::NoCargoOk)),
        Some(DiskKind::File) => {
            let contents = read_capped(crate_dir, CARGO_OK, 16).map_err(|e| io_error(CARGO_OK, e))?;
            if !contents.as_deref().is_some_and(|c| CARGO_OK_FORMS.contains(&c)) {
                findings.push(Finding::new(CARGO_OK, Problem::BadCargoOk));
            }
        }
        Some(DiskKind::Symlink) => findings.push(Finding::new(CARGO_OK, Problem::Extra(DiskKind::Symlink))),
        Some(_) => findings.push(Finding::new(CARGO_OK, Problem::BadCargoOk)),
    }
    findings.extend(tree.extras(|path| path == CARGO_OK || expected.contains(path)));
    Ok(findings)
}

/// Checks the crate directory `name` in `vendor` (a `cargo vendor` output
/// directory, opened by the caller) against its `.cargo-checksum.json`, as
/// Cargo does before building from it: the SHA-256 of every listed file,
/// and the `package` checksum against the `.crate` when one of
/// `cache_indexes` (`registry/cache/<index>/` directories) holds it (found
/// by the name and version in the vendored `Cargo.toml`). Also reports what
/// Cargo does not check: files, directories and symlinks that the checksum
/// file does not list.
///
/// # Security
///
/// Never writes and never follows a symbolic link (see [`audit_unpacked`]).
/// A listed path that is not a plain relative path is a
/// [`Problem::BadChecksumFile`] finding and is not opened.
///
/// # Errors
///
/// [`Error::Io`] when the directory or the `.crate` cannot be read.
pub fn audit_vendored(vendor: &Dir, name: &str, cache_indexes: &[Dir]) -> Result<Vec<Finding>, Error> {
    let crate_dir = match open_crate_dir(vendor, name)? {
        Ok(dir) => dir,
        Err(finding) => return Ok(vec![finding]),
    };
    let mut crate_file = None;
    if let Some(id) = vendored_package_id(&crate_dir) {
        let crate_name = format!("{id}.crate");
        for cache in cache_indexes {
            match open_nofollow(cache, &crate_name, false) {
                Ok(file) => {
                    crate_file = Some(file.into_std());
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("opening {}", escape(crate_name.as_bytes())), e)),
            }
        }
    }
    check_vendored(&crate_dir, crate_file.as_mut().map(|f| f as &mut dyn Read))
}

/// Checks `crate_dir` against its `.cargo-checksum.json`, and the
/// `package` checksum against `crate_file` when given. The heart of
/// [`audit_vendored`].
///
/// # Security
///
/// As [`audit_vendored`].
///
/// # Errors
///
/// As [`audit_vendored`].
pub fn check_vendored(crate_dir: &Dir, crate_file: Option<&mut dyn Read>) -> Result<Vec<Finding>, Error> {
    let tree = Tree::walk(crate_dir)?;
    let mut findings = Vec::new();
    let bad = |why: &str| Finding::new(CARGO_CHECKSUM, Problem::BadChecksumFile(why.to_string()));
    if tree.nodes.get(CARGO_CHECKSUM) != Some(&DiskKind::File) {
        findings.push(bad("missing or not a regular file"));
        findings.extend(tree.extras(|path| path == CARGO_CHECKSUM));
        return Ok(findings);
    }
    let text = read_capped(crate_dir, CARGO_CHECKSUM, MAX_CHECKSUM_FILE).map_err(|e| io_error(CARGO_CHECKSUM, e))?;
    let Some(parsed) = text.as_deref().and_then(|t| serde_json::from_slice::<serde_json::Value>(t).ok()) else {
        findings.push(bad("not JSON, or larger than 64 MiB"));
        return Ok(findings);
    };
    let Some(files) = parsed.get("files").and_then(serde_json::Value::as_object) else {
        findings.push(bad("no \"files\" object"));
        return Ok(findings);
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
                let mut file = opener.open_file(path).map_err(|e| io_error(path, e))?;
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
    if let (Some(package), Some(crate_file)) = (parsed.get("package").and_then(serde_json::Value::as_str), crate_file) {
        let actual = sha256_hex(crate_file).map_err(|e| Error::io("reading the .crate", e))?;
        if !actual.eq_ignore_ascii_case(package) {
            findings.push(Finding::new("", Problem::PackageChecksum));
        }
    }
    findings.extend(tree.extras(|path| path == CARGO_CHECKSUM || expected.contains(path)));
    Ok(findings)
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

/// The visitor of [`audit_unpacked`].
struct Compare<'a> {
    root: &'a Dir,
    tree: &'a Tree,
    prefix: &'a str,
    /// Paths (inside the crate directory) the `.crate` accounts for.
    expected: BTreeSet<String>,
    findings: Vec<Finding>,
    current: Option<Current>,
    parent_cache: Option<(String, Dir)>,
    buffer: Vec<u8>,
}

/// The file being compared with the `.crate`'s data.
struct Current {
    file: std::fs::File,
    path: String,
    /// Only Unix has exec bits to compare.
    #[cfg(unix)]
    archive_mode: u32,
    differs: bool,
}

impl Compare<'_> {
    fn expect(&mut self, path: &str, kind: Kind) -> Option<DiskKind> {
        if !self.expected.insert(path.to_string()) {
            return None;
        }
        let found = self.tree.nodes.get(path).copied();
        let problem = match (kind, found) {
            (_, None) => Some(Problem::Missing(kind)),
            (_, Some(DiskKind::Symlink)) => Some(Problem::SymlinkInPlace(kind)),
            (Kind::Directory, Some(DiskKind::Directory)) | (Kind::File, Some(DiskKind::File)) => None,
            (expected, Some(found)) => Some(Problem::KindDiffers { expected, found }),
        };
        match problem {
            Some(problem) => {
                self.findings.push(Finding::new(path, problem));
                None
            }
            None => found,
        }
    }
}

impl EntryVisitor for Compare<'_> {
    fn entry(&mut self, entry: &Entry) -> io::Result<()> {
        self.current = None;
        if entry.path == self.prefix {
            return Ok(());
        }
        let Some(path) = entry.path.strip_prefix(self.prefix).and_then(|p| p.strip_prefix('/')) else {
            let why = format!(
                "entry {} \"{}\" is outside {}/, which Cargo refuses",
                entry.index,
                escape(entry.path.as_bytes()),
                escape(self.prefix.as_bytes())
            );
            self.findings.push(Finding::new("", Problem::CrateRefused(why)));
            return Ok(());
        };
        // Cargo skips a `.cargo-ok` anywhere in the `.crate`.
        if path.rsplit('/').next() == Some(CARGO_OK) {
            return Ok(());
        }
        for parent in parents(path) {
            self.expect(parent, Kind::Directory);
        }
        if self.expect(path, entry.kind) != Some(DiskKind::File) {
            return Ok(());
        }
        let mut opener = Opener { root: self.root, parent_cache: self.parent_cache.take() };
        let file = opener.open_file(path);
        self.parent_cache = opener.parent_cache;
        let file =
            file.map_err(|e| io::Error::new(e.kind(), format!("opening \"{}\": {e}", escape(path.as_bytes()))))?;
        self.current = Some(Current {
            file,
            path: path.to_string(),
            #[cfg(unix)]
            archive_mode: entry.mode,
            differs: false,
        });
        Ok(())
    }

    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        let Some(current) = self.current.as_mut().filter(|c| !c.differs) else { return Ok(()) };
        self.buffer.resize(chunk.len(), 0);
        match current.file.read_exact(&mut self.buffer) {
            Ok(()) => current.differs = self.buffer != chunk,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => current.differs = true,
            Err(e) => {
                return Err(io::Error::new(e.kind(), format!("reading \"{}\": {e}", escape(current.path.as_bytes()))));
            }
        }
        Ok(())
    }

    fn end(&mut self) -> io::Result<()> {
        let Some(mut current) = self.current.take() else { return Ok(()) };
        let shown = escape(current.path.as_bytes());
        if !current.differs {
            let mut one = [0u8; 1];
            let longer = loop {
                match current.file.read(&mut one) {
                    Ok(n) => break n > 0,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io::Error::new(e.kind(), format!("reading \"{shown}\": {e}"))),
                }
            };
            current.differs = longer;
        }
        if current.differs {
            self.findings.push(Finding::new(&current.path, Problem::ContentDiffers));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let disk_mode = current.file.metadata()?.mode();
            if exec_bits_differ(current.archive_mode, disk_mode) {
                let problem = Problem::ExecBit { archive_mode: current.archive_mode, disk_mode };
                self.findings.push(Finding::new(&current.path, problem));
            }
        }
        Ok(())
    }
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
        ];
        let ids: BTreeSet<_> = all.iter().map(Problem::id).collect();
        assert_eq!(ids.len(), all.len());
        assert_eq!(all.iter().filter(|p| p.is_informational()).count(), 1);
    }
}
