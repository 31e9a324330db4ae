//! A directory against the `.crate` it came from: entry by entry, byte by
//! byte, as the `.crate` streams out of the sandbox.

use std::collections::BTreeSet;
use std::io::{self, Read};

use cap_std::fs::Dir;

use super::disk::{FileStats, Opener, Tree, io_error, parents, read_capped};
use super::{CARGO_CHECKSUM, CARGO_OK, CARGO_OK_FORMS, DiskKind, Finding, Problem};
use crate::entries::{Entry, EntryVisitor};
use crate::{Error, Extractor, Kind, escape};

/// Who made the directory from the `.crate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    /// Cargo, into `registry/src/`: every entry but `.cargo-ok` files, exec
    /// bits as tar-rs sets them, and Cargo's own `.cargo-ok` at the root.
    Unpacked,
    /// `cargo vendor`: every entry but what it leaves out (`.cargo-ok`,
    /// anything under a `.git` directory, `.gitattributes` and `.gitignore`
    /// files), plus its `.cargo-checksum.json`. Exec bits are not compared:
    /// a vendor directory usually goes through version control, which keeps
    /// one exec bit per file (and none on Windows).
    Vendored,
}

impl Flavor {
    /// Whether the `.crate`'s entry at `path` (inside the crate directory)
    /// is on disk after unpacking or vendoring.
    fn keeps(self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        match self {
            Flavor::Unpacked => name != CARGO_OK,
            Flavor::Vendored => {
                !matches!(name, CARGO_OK | ".gitattributes" | ".gitignore") && !path.split('/').any(|c| c == ".git")
            }
        }
    }
}

/// Compares `crate_dir` with the `.crate` read from `crate_file`, whose
/// entries are under `prefix/`: what [`super::audit_unpacked`] does once it
/// has both, the permission checks included.
///
/// # Security
///
/// As [`super::audit_unpacked`].
///
/// # Errors
///
/// As [`super::audit_unpacked`].
pub fn compare_unpacked<R: Read + Send>(
    extractor: &Extractor,
    crate_file: R,
    crate_dir: &Dir,
    prefix: &str,
) -> Result<Vec<Finding>, Error> {
    let tree = Tree::walk(crate_dir)?;
    let mut stats = FileStats::default();
    let mut findings = compare_tree(extractor, crate_file, crate_dir, &tree, prefix, Flavor::Unpacked, &mut stats)?;
    findings.extend(tree.permissions(crate_dir, &stats)?);
    Ok(findings)
}

/// Compares the directory `root`, already walked as `tree`, with the
/// `.crate` read from `crate_file`: contents, kinds, what is missing and
/// what is extra, and (as `flavor` says) exec bits and `.cargo-ok`. Every
/// file it opens goes into `stats`.
pub(super) fn compare_tree<R: Read + Send>(
    extractor: &Extractor,
    crate_file: R,
    root: &Dir,
    tree: &Tree,
    prefix: &str,
    flavor: Flavor,
    stats: &mut FileStats,
) -> Result<Vec<Finding>, Error> {
    let mut compare = Compare {
        root,
        tree,
        prefix,
        flavor,
        stats,
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
    if flavor == Flavor::Unpacked {
        match tree.nodes.get(CARGO_OK) {
            None => findings.push(Finding::new(CARGO_OK, Problem::NoCargoOk)),
            Some(DiskKind::File) => {
                let contents = read_capped(root, CARGO_OK, 16).map_err(|e| io_error(CARGO_OK, e))?;
                if !contents.as_deref().is_some_and(|c| CARGO_OK_FORMS.contains(&c)) {
                    findings.push(Finding::new(CARGO_OK, Problem::BadCargoOk));
                }
            }
            Some(DiskKind::Symlink) => findings.push(Finding::new(CARGO_OK, Problem::Extra(DiskKind::Symlink))),
            Some(_) => findings.push(Finding::new(CARGO_OK, Problem::BadCargoOk)),
        }
    }
    let own = if flavor == Flavor::Unpacked { CARGO_OK } else { CARGO_CHECKSUM };
    findings.extend(tree.extras(|path| path == own || expected.contains(path)));
    Ok(findings)
}

/// The visitor of [`compare_tree`].
struct Compare<'a> {
    root: &'a Dir,
    tree: &'a Tree,
    prefix: &'a str,
    flavor: Flavor,
    stats: &'a mut FileStats,
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
    /// Only Unix has exec bits to compare, and only Cargo's unpacking sets
    /// them predictably: the archive's mode and the handle's.
    #[cfg(unix)]
    modes: Option<(u32, u32)>,
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
        if !self.flavor.keeps(path) {
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
        let (file, meta) =
            file.map_err(|e| io::Error::new(e.kind(), format!("opening \"{}\": {e}", escape(path.as_bytes()))))?;
        self.stats.record(path, &meta);
        self.current = Some(Current {
            file,
            path: path.to_string(),
            #[cfg(unix)]
            modes: (self.flavor == Flavor::Unpacked).then(|| {
                use std::os::unix::fs::MetadataExt;
                (entry.mode, meta.mode())
            }),
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
        if let Some((archive_mode, disk_mode)) = current.modes
            && super::exec_bits_differ(archive_mode, disk_mode)
        {
            let problem = Problem::ExecBit { archive_mode, disk_mode };
            self.findings.push(Finding::new(&current.path, problem));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_vendor_leaves_out_git_files_and_cargo_ok() {
        for kept in ["src/lib.rs", "Cargo.toml", ".github/workflows/ci.yml", "a.gitignore", "git/x"] {
            assert!(Flavor::Vendored.keeps(kept), "{kept}");
            assert!(Flavor::Unpacked.keeps(kept), "{kept}");
        }
        for left in [".cargo-ok", "src/.cargo-ok", ".gitignore", "tests/.gitattributes", ".git/config", "a/.git"] {
            assert!(!Flavor::Vendored.keeps(left), "{left}");
        }
        assert!(Flavor::Unpacked.keeps(".gitignore"));
        assert!(!Flavor::Unpacked.keeps("src/.cargo-ok"));
    }
}
