//! The roots of trust a `.crate` is checked against: what the registry
//! published, as recorded outside the tree an attacker of the cache rewrites.
//!
//! A `.crate` in `registry/cache/` is Cargo's only copy of what it
//! downloaded, and Cargo never checks it again: a `.crate` rewritten
//! together with its unpacked directory agrees with it. Two records do not
//! live in that tree:
//!
//! - the registry index cache (`registry/index/<index>/.cache/`, read in
//!   [`super::registry`]): the `cksum` of every published version, written
//!   by Cargo from the registry's index. It is still in the Cargo home, so
//!   an attacker who can write the whole home can rewrite it too;
//! - a project's `Cargo.lock` (read here): the `checksum` of every registry
//!   package it uses, under version control, so a change to it shows in
//!   review. Cargo itself refuses to build when a download does not match it.
//!
//! Neither can vouch for a directory whose `.crate` is gone: a directory
//! cannot be turned back into the exact bytes of its `.crate`.

use std::collections::HashMap;
use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::registry::is_sha256_hex;
use super::{Finding, Problem};

/// Largest lock file read: 64 MiB. A lock file has about 150 bytes per
/// package; the largest workspaces lock a few thousand packages.
pub const MAX_LOCKFILE: u64 = 64 << 20;

/// One registry package of a lock file, with its checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockedPackage {
    /// The package name, as in `Cargo.lock`.
    pub name: String,
    /// The version, as in `Cargo.lock`.
    pub version: String,
    /// The `source` (`registry+…` or `sparse+…`).
    pub source: String,
    /// The SHA-256 of the `.crate`, lowercase hex.
    pub checksum: String,
}

impl LockedPackage {
    /// `<name>-<version>`: the `.crate`'s stem and the unpacked directory's
    /// name in every registry.
    pub fn id(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

/// The registry packages of a `Cargo.lock` that carry a checksum: the
/// `checksum` key of each `[[package]]` (lock file versions 2 to 4) and the
/// `[metadata]` table's `"checksum NAME VERSION (SOURCE)"` keys (version 1).
/// Path and git packages have no checksum and are left out, as is a
/// version 1 checksum of `<none>`.
///
/// # Errors
///
/// Why the text is not a lock file this reader understands: not UTF-8 or
/// not TOML, no `[[package]]` array, a package without a string `name` or
/// `version`, or a checksum that is not 64 hexadecimal digits. A lock file
/// is the audit's root of trust: one read in part would check less than
/// the user asked for, so it is an error, not a partial answer.
pub fn parse_lockfile(text: &[u8]) -> Result<Vec<LockedPackage>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8".to_string())?;
    let table: toml::Table = toml::from_str(text).map_err(|e| format!("not TOML: {}", first_line(&e.to_string())))?;
    let packages = table.get("package").and_then(toml::Value::as_array).ok_or("no [[package]] array")?;
    let mut out = Vec::new();
    let checksum = |value: &str, what: &str| {
        if is_sha256_hex(value) {
            Ok(value.to_ascii_lowercase())
        } else {
            Err(format!("{what}: the checksum is not a SHA-256"))
        }
    };
    for (i, package) in packages.iter().enumerate() {
        let field = |key: &str| package.get(key).and_then(toml::Value::as_str);
        let (Some(name), Some(version)) = (field("name"), field("version")) else {
            return Err(format!("package {}: no name or version", i + 1));
        };
        let source = field("source").unwrap_or_default();
        if let Some(sum) = package.get("checksum") {
            let what = format!("package {name} {version}");
            let sum = sum.as_str().ok_or_else(|| format!("{what}: the checksum is not a string"))?;
            if is_registry(source) {
                out.push(LockedPackage {
                    name: name.to_string(),
                    version: version.to_string(),
                    source: source.to_string(),
                    checksum: checksum(sum, &what)?,
                });
            }
        }
    }
    if let Some(metadata) = table.get("metadata").and_then(toml::Value::as_table) {
        for (key, value) in metadata {
            let Some(rest) = key.strip_prefix("checksum ") else { continue };
            let mut words = rest.split(' ');
            let (Some(name), Some(version), Some(source)) = (words.next(), words.next(), words.next()) else {
                return Err(format!("[metadata] \"{}\": not \"checksum NAME VERSION (SOURCE)\"", escape_str(key)));
            };
            let source = source.trim_start_matches('(').trim_end_matches(')');
            let sum = value.as_str().ok_or_else(|| format!("[metadata] {name} {version}: not a string"))?;
            if sum == "<none>" || !is_registry(source) {
                continue;
            }
            out.push(LockedPackage {
                name: name.to_string(),
                version: version.to_string(),
                source: source.to_string(),
                checksum: checksum(sum, &format!("[metadata] {name} {version}"))?,
            });
        }
    }
    Ok(out)
}

fn is_registry(source: &str) -> bool {
    source.starts_with("registry+") || source.starts_with("sparse+")
}

fn first_line(text: &str) -> &str {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text).trim()
}

fn escape_str(text: &str) -> String {
    crate::escape(text.as_bytes())
}

/// The checksums of one or more lock files, by `<name>-<version>`: a
/// locked package is looked for by that name in every registry of a Cargo
/// home (a lock file's `source` URL does not name Cargo's index directory).
#[derive(Debug, Default)]
pub struct Locks {
    by_id: HashMap<String, Locked>,
    files: Vec<String>,
}

/// What the lock files say about one `<name>-<version>`.
#[derive(Debug)]
struct Locked {
    /// Every checksum recorded for it (two registries may publish one name
    /// and version with different contents; a `.crate` matching any is
    /// that package).
    checksums: Vec<String>,
    /// The first lock file that records it (an index into `files`).
    file: usize,
}

impl Locks {
    /// No lock file.
    pub fn new() -> Locks {
        Locks::default()
    }

    /// Adds the packages of the lock file `label` (how to name it in a
    /// finding; raw, to be escaped where it is printed).
    pub fn add(&mut self, label: &str, packages: Vec<LockedPackage>) {
        let file = self.files.len();
        self.files.push(label.to_string());
        for package in packages {
            let locked = self.by_id.entry(package.id()).or_insert_with(|| Locked { checksums: Vec::new(), file });
            if !locked.checksums.contains(&package.checksum) {
                locked.checksums.push(package.checksum);
            }
        }
    }

    /// Whether no package is locked.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// How many distinct `<name>-<version>` are locked.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// The checksums locked for `id` (`<name>-<version>`); empty if none.
    pub fn checksums(&self, id: &str) -> &[String] {
        self.by_id.get(id).map_or(&[], |l| &l.checksums)
    }

    /// Every locked `<name>-<version>` with the label of the first lock file
    /// that records it, sorted.
    pub fn ids(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<_> = self.by_id.iter().map(|(id, l)| (id.as_str(), self.files[l.file].as_str())).collect();
        out.sort_unstable();
        out
    }
}

/// What a `.crate`'s SHA-256 should be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Expected {
    /// The `cksum` of the registry's index cache records (every one must match).
    pub(super) index: Vec<String>,
    /// The lock files' checksums (one must match).
    pub(super) lock: Vec<String>,
}

/// What was hashed: the `.crate`, or a vendored crate's `package` checksum
/// (which `cargo vendor` copied from the `.crate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hashed {
    /// The `.crate` file in the Cargo cache.
    CrateFile,
    /// The `package` checksum of a vendored crate's `.cargo-checksum.json`.
    VendoredPackage,
}

/// The findings of comparing `actual` (lowercase hex) with `expected`.
pub(super) fn digest_findings(actual: &str, expected: &Expected, hashed: Hashed) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(recorded) = expected.index.iter().find(|r| *r != actual) {
        let problem = Problem::IndexChecksum { actual: actual.to_string(), recorded: recorded.clone() };
        out.push(Finding::new("", problem));
    }
    if !expected.lock.is_empty() && !expected.lock.iter().any(|r| r == actual) {
        let problem = Problem::LockChecksum { hashed, actual: actual.to_string(), recorded: expected.lock[0].clone() };
        let path = if hashed == Hashed::VendoredPackage { super::CARGO_CHECKSUM } else { "" };
        out.push(Finding::new(path, problem));
    }
    out
}

/// A reader that hashes what it reads: the `.crate` is hashed as the
/// sandbox reads it, so the bytes checked against the roots of trust are
/// the bytes compared with the directory, read once through one handle.
pub(super) struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Hashing<R> {
    pub(super) fn new(inner: R) -> Hashing<R> {
        Hashing { inner, hasher: Sha256::new() }
    }

    /// Reads what is left (the reader of an archive may stop at its end
    /// marker) and returns the SHA-256 of everything, lowercase hex.
    pub(super) fn finish(mut self) -> io::Result<String> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(hex(&self.hasher.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Lowercase hexadecimal.
pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn reads_registry_packages_of_every_lock_version() {
        let v4 = format!(
            "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n\n\
             [[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"foo\",\n \"bar-baz\",\n]\n\n\
             [[package]]\nname = \"bar-baz\"\nversion = \"1.0.0-rc.1\"\nsource = \"sparse+https://example.invalid/index/\"\nchecksum = \"{}\"\n\n\
             [[package]]\nname = \"foo\"\nversion = \"2.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{A}\"\n\n\
             [[package]]\nname = \"gitdep\"\nversion = \"0.3.0\"\nsource = \"git+https://example.invalid/x#0123\"\n",
            B.to_ascii_uppercase()
        );
        let packages = parse_lockfile(v4.as_bytes()).unwrap();
        let ids: Vec<(String, &str)> = packages.iter().map(|p| (p.id(), p.checksum.as_str())).collect();
        assert_eq!(ids, [("bar-baz-1.0.0-rc.1".to_string(), B), ("foo-2.0.0".to_string(), A)]);

        let v1 = format!(
            "[[package]]\nname = \"foo\"\nversion = \"2.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
             [metadata]\n\"checksum foo 2.0.0 (registry+https://github.com/rust-lang/crates.io-index)\" = \"{A}\"\n\
             \"checksum local 0.1.0 (registry+https://example.invalid/index)\" = \"<none>\"\n"
        );
        let packages = parse_lockfile(v1.as_bytes()).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!((packages[0].id(), packages[0].checksum.as_str()), ("foo-2.0.0".to_string(), A));
    }

    #[test]
    fn a_lock_file_read_in_part_is_an_error() {
        let package = |extra: &str| format!("[[package]]\nname = \"foo\"\nversion = \"1.0.0\"\n{extra}");
        for (what, text) in [
            ("not TOML", "[[package]\nname = ".to_string()),
            ("no packages", "version = 4\n".to_string()),
            ("no version", "[[package]]\nname = \"foo\"\n".to_string()),
            ("a short checksum", package("source = \"registry+x\"\nchecksum = \"abc\"\n")),
            ("a checksum that is not a string", package("source = \"registry+x\"\nchecksum = 5\n")),
            (
                "a metadata key without a source",
                format!("{}[metadata]\n\"checksum foo 1.0.0\" = \"{A}\"\n", package("")),
            ),
        ] {
            assert!(parse_lockfile(text.as_bytes()).is_err(), "{what}");
        }
        assert!(parse_lockfile(b"\xff\xfe").is_err());
    }

    #[test]
    fn a_crate_is_checked_against_every_index_record_and_any_lock() {
        let expected = Expected { index: vec![A.to_string()], lock: vec![B.to_string(), A.to_string()] };
        assert!(digest_findings(A, &expected, Hashed::CrateFile).is_empty());
        let ids: Vec<&str> = digest_findings(B, &expected, Hashed::CrateFile).iter().map(|f| f.problem.id()).collect();
        assert_eq!(ids, ["index-checksum"]);
        let locked_only = Expected { index: Vec::new(), lock: vec![A.to_string()] };
        let found = digest_findings(B, &locked_only, Hashed::VendoredPackage);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].path.as_str(), found[0].problem.id()), (".cargo-checksum.json", "lock-checksum"));
        assert!(digest_findings(B, &Expected::default(), Hashed::CrateFile).is_empty());
    }

    #[test]
    fn hashing_covers_what_the_reader_left() {
        let data = b"some bytes of a crate";
        let mut reader = Hashing::new(&data[..]);
        let mut first = [0u8; 4];
        reader.read_exact(&mut first).unwrap();
        assert_eq!(reader.finish().unwrap(), hex(&Sha256::digest(data)));
    }
}
