//! sealtar: extract untrusted tar archives (plain, or compressed with gzip, xz,
//! bzip2 or zstd) safely.
//!
//! Extraction is a file-system write path driven by hostile bytes. sealtar
//! splits it in three layers:
//!
//! 1. **Parse in a sandbox.** A WebAssembly component (built from `guest/`,
//!    embedded in this crate) decompresses and parses the archive. It has no
//!    files, no network and no environment; a parser bug stays inside it.
//! 2. **Decide on the host.** Every record the parser returns is re-checked
//!    here as if the parser were compromised: only regular files and
//!    directories, no links, devices, traversal or duplicates, limits on every
//!    size ([`Options`]).
//! 3. **Write through a capability, all or nothing.** Files are written
//!    through a [`cap_std::fs::Dir`] for the destination, into a staging
//!    directory inside it, and moved into place only once the whole archive
//!    has passed.
//!
//! ```no_run
//! use cap_std::{ambient_authority, fs::Dir};
//! use sealtar::{Extractor, Options};
//!
//! let extractor = Extractor::new(Options::default())?;
//! let dest = Dir::open_ambient_dir("out", ambient_authority())?;
//! let archive = std::fs::File::open("package.tar.gz")?;
//! let report = extractor.extract(archive, &dest)?;
//! println!("{} files, {} bytes", report.files, report.bytes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example
//!
//! Limits through the builder, a content hash for every file, and the
//! [`Report`] of what was written (see [`Options`] for every setter,
//! [`Observer`] for progress callbacks, [`Extractor::list`] and
//! [`Extractor::check`] for vetting without writing):
//!
//! ```no_run
//! use std::time::Duration;
//! use sealtar::{Extractor, HashAlgorithm, Options};
//!
//! let options = Options::new()
//!     .max_size(256 << 20)
//!     .max_entries(50_000)
//!     .portable(true)
//!     .timeout(Duration::from_secs(60))
//!     .content_hash(Some(HashAlgorithm::Sha256));
//! let extractor = Extractor::new(options)?;
//! let report = extractor.extract_to_path(std::fs::File::open("upload.tar.gz")?, "unpacked")?;
//! for entry in &report.entries {
//!     if let Some(hash) = entry.hash {
//!         println!("{hash}  {}", entry.dest_path);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # No side effects it was not asked for
//!
//! [`Options::default`] reads no environment variable and the extractor
//! writes nothing outside the destination it is handed: no cache, no
//! temporary files elsewhere, no global state beyond the compiled guest
//! kept in memory for the process. Caching compiled guest code between
//! processes is opt-in ([`Options::cache_dir`], [`Options::with_default_cache`]).
//!
//! # Dependencies and features
//!
//! The crate depends on what extraction needs (wasmtime, wasmtime-wasi,
//! cap-std, and small hashing and Unicode crates), nothing for argument
//! parsing, terminals or JSON. `cargo tree -e normal` still shows `anyhow`
//! and `serde_json`, below wasmtime: its bindings generator and
//! `wasmtime-environ` use them. The optional `audit` feature adds the
//! `sealtar::audit` module (checking what Cargo unpacked or
//! vendored), which reads `.cargo-checksum.json` with `serde_json`.
//!
//! The [`manual`] module describes the policy and the threat model.

#![deny(missing_docs)]
// What is public is what the crate root exports: nothing else says `pub`.
#![warn(unreachable_pub)]

#[cfg(feature = "audit")]
pub mod audit;
mod check;
mod deadline;
mod entries;
mod error;
mod escape;
mod extract;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod kind;
mod list;
pub mod manual;
mod options;
mod pipeline;
mod policy;
mod report;
mod rule;
mod sandbox;
mod tree;

use std::io::Read;
use std::path::Path;

use cap_std::fs::Dir;

pub use check::{CARGO_MAX_RATIO, CARGO_MAX_UNPACK_SIZE, CheckReport, CrateRules, MAX_VIOLATIONS, Violation};
pub use entries::{Entry, EntryVisitor};
pub use error::{Error, Layer, SandboxFault};
pub use escape::{escape, escape_path};
pub use kind::Kind;
pub use list::{Action, Manifest, ManifestEntry};
pub use options::{
    DEFAULT_GUEST_MEMORY, DEFAULT_MAX_COMPONENT_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_DIRS, DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_EXTENSION_BYTES, DEFAULT_MAX_PATH_BYTES, DEFAULT_RATIO, DEFAULT_SIZE_FLOOR, DEFAULT_STALL_TIMEOUT,
    DEFAULT_TIMEOUT, LinkPolicy, MAX_LINK_HOPS, MAX_LINK_STATE_BYTES, Options, SpecialPolicy,
};
pub use report::{Copied, Digest, HashAlgorithm, Observer, Omitted, Progress, REPORT_BYTES, Report, Skipped, Written};
pub use rule::{CrateProblem, GRAMMAR_RULES, LinkProblem, RULES, Rule, RuleInfo};
pub use sandbox::default_cache_dir;

use pipeline::Pipeline;
use policy::Selection;
use sandbox::Sandbox;

/// Extracts and lists archives. Build one and reuse it: it is `Send + Sync`,
/// and every call gets its own sandbox instance, so calls on several threads
/// run side by side. Examples: the [crate documentation](crate#example),
/// [`extract_to_path`](Extractor::extract_to_path), [`list`](Extractor::list),
/// [`check`](Extractor::check), and [`Observer`].
pub struct Extractor {
    options: Options,
    /// The options' selection (members, `--exclude`, stripping), compiled once.
    selection: Selection,
    sandbox: &'static Sandbox,
}

impl std::fmt::Debug for Extractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extractor").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Extractor {
    /// Prepares the sandbox. The guest is compiled once per process (or,
    /// when the options ask for a cache with [`Options::cache_dir`] or
    /// [`Options::with_default_cache`], loaded from there if a previous
    /// process compiled it); later extractors share it. Two builds of it are
    /// embedded: the one for tar and gzip is prepared here, the one that also
    /// reads xz, bzip2 and zstd when the first such archive arrives (that
    /// archive's [`Options::timeout`] starts after it is ready).
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] if the WebAssembly engine cannot be created or the
    /// embedded guest does not link against the host's restricted interfaces;
    /// [`Error::InvalidOption`] if a member names no entry (an empty name).
    pub fn new(options: Options) -> Result<Extractor, Error> {
        let selection = Selection::new(&options)?;
        let sandbox = Sandbox::get(options.cache_dir.as_deref())?;
        Ok(Extractor { options, selection, sandbox })
    }

    /// The one pipeline every call runs on.
    fn pipeline(&self) -> Pipeline<'_> {
        Pipeline { sandbox: self.sandbox, options: &self.options, selection: &self.selection }
    }

    /// The options in force.
    ///
    /// ```no_run
    /// let extractor = sealtar::Extractor::new(sealtar::Options::new().max_entries(10))?;
    /// assert_eq!(extractor.options().max_entries, 10);
    /// # Ok::<(), sealtar::Error>(())
    /// ```
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Extracts the archive read from `reader` (tar, plain or compressed with
    /// gzip, xz, bzip2 or zstd, detected from its first bytes) into `dest`.
    ///
    /// # Security
    ///
    /// Defends against: links of every kind and special files (never
    /// written; with [`Options::links`] a link may be skipped, or replaced
    /// by a copy of a file or directory that its target names inside the
    /// archive, resolved by name and never on the file system), path traversal (`..`, absolute paths), duplicate and
    /// conflicting paths, names that are not UTF-8 or contain NUL, headers
    /// that mainstream readers interpret differently, decompression bombs and
    /// oversized headers (limits in [`Options`]), and bugs in the
    /// decompressor or parser (they run in a memory- and time-limited
    /// WebAssembly sandbox). Files get mode 0644, or 0755 when the archive
    /// sets the owner-exec bit, minus the umask, at creation; nothing existing
    /// is ever overwritten, followed or chmod'ed, and ownership and extended
    /// attributes are never applied.
    ///
    /// Does not defend against: other processes changing `dest` while the
    /// extraction runs, or the contents of the files themselves.
    ///
    /// # Errors
    ///
    /// A refusal ([`Error::is_refusal`]) when the archive breaks the policy
    /// or a limit ([`Error::Refused`], naming the entry and the [`Rule`]), is
    /// malformed ([`Error::Malformed`]) or stops the sandbox
    /// ([`Error::Sandbox`]); [`Error::Io`] when reading the archive or
    /// writing `dest` fails. In every error case `dest` is left exactly as it
    /// was (a staging directory is created inside it while extracting and
    /// removed afterwards).
    pub fn extract<R: Read + Send>(&self, reader: R, dest: &Dir) -> Result<Report, Error> {
        extract::extract(self.pipeline(), reader, dest, &mut ())
    }

    /// [`extract`](Self::extract), telling `observer` about progress and
    /// each entry as it is written (to drive a progress bar or a log). The
    /// [`Observer`] documentation has an example.
    ///
    /// # Security
    ///
    /// As for [`extract`](Self::extract). The observer sees entries as they
    /// are staged; none of them reaches `dest` unless the call returns `Ok`.
    ///
    /// # Errors
    ///
    /// As for [`extract`](Self::extract).
    pub fn extract_observed<R: Read + Send, O: Observer + ?Sized>(
        &self,
        reader: R,
        dest: &Dir,
        observer: &mut O,
    ) -> Result<Report, Error> {
        extract::extract(self.pipeline(), reader, dest, observer)
    }

    /// [`extract`](Self::extract) into the directory at `dest`, which is
    /// created (as one directory, not its parents) if it does not exist, and
    /// removed again if it was created here and the archive is refused.
    ///
    /// ```no_run
    /// use sealtar::{Extractor, Options};
    ///
    /// let report = Extractor::new(Options::new())?.extract_to_path(std::fs::File::open("x.tar")?, "out")?;
    /// println!("{} entries written", report.entries.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Security
    ///
    /// As for [`extract`](Self::extract). `dest` is resolved once, with the
    /// process's ambient authority (the one place this library turns a path
    /// into a capability); every write then goes through that handle, so a
    /// `dest` replaced by a link while the extraction runs is not followed.
    ///
    /// # Errors
    ///
    /// As for [`extract`](Self::extract), and [`Error::Io`] if `dest` cannot
    /// be created or opened.
    pub fn extract_to_path<R: Read + Send>(&self, reader: R, dest: impl AsRef<Path>) -> Result<Report, Error> {
        let path = dest.as_ref();
        let shown = || escape(path.as_os_str().as_encoded_bytes());
        let created = match std::fs::create_dir(path) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(Error::io(format!("creating \"{}\"", shown()), e)),
        };
        let result = Dir::open_ambient_dir(path, cap_std::ambient_authority())
            .map_err(|e| Error::io(format!("opening \"{}\"", shown()), e))
            .and_then(|dir| self.extract(reader, &dir));
        if result.is_err() && created {
            let _ = std::fs::remove_dir(path);
        }
        result
    }

    /// Reads the archive and returns its vetted manifest: every entry with
    /// the policy's verdict. Writes nothing.
    ///
    /// ```no_run
    /// use sealtar::{Extractor, Options};
    ///
    /// let manifest = Extractor::new(Options::new())?.list(std::fs::File::open("pkg.tar.gz")?)?;
    /// for entry in &manifest.entries {
    ///     match &entry.refusal {
    ///         None => println!("{} {}", entry.kind, entry.path),
    ///         Some(rule) => println!("{} {}: refused ({}): {rule}", entry.kind, entry.path, rule.id()),
    ///     }
    /// }
    /// if let Some(error) = &manifest.error {
    ///     println!("stopped: {error}");
    /// }
    /// println!("acceptable: {}", manifest.is_acceptable());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Security
    ///
    /// Parses in the same sandbox and applies the same rules as
    /// [`extract`](Self::extract), except the check against existing content
    /// of a destination. The data of files is skipped, not returned.
    ///
    /// # Errors
    ///
    /// Refusals of single entries are verdicts in the manifest. A malformed
    /// archive, a sandbox fault or an archive-wide limit ends the listing and
    /// is recorded in [`Manifest::error`] after the entries read so far.
    /// [`Error::Io`] if reading fails, and [`Error::Sandbox`] with a protocol
    /// fault if the parser misbehaves, are returned as errors.
    pub fn list<R: Read + Send>(&self, reader: R) -> Result<Manifest, Error> {
        let mut entries = Vec::new();
        let error = self.list_each(reader, |entry| entries.push(entry))?;
        // Links come last from `list_each` (their verdicts wait for the whole
        // archive); the manifest holds everything anyway, in archive order.
        entries.sort_by_key(|e| e.index);
        Ok(Manifest { entries, error })
    }

    /// Like [`list`](Self::list), but hands each entry to `each` as soon as
    /// it is vetted instead of collecting them: memory stays flat however
    /// many entries the archive has. Returns why reading stopped early, if
    /// it did (what [`Manifest::error`] holds).
    ///
    /// # Errors
    ///
    /// As [`list`](Self::list).
    pub fn list_each<R: Read + Send>(
        &self,
        reader: R,
        each: impl FnMut(ManifestEntry),
    ) -> Result<Option<Error>, Error> {
        list::list_each(self.pipeline(), reader, each)
    }

    /// Vets an upload: reads the archive like [`list`](Self::list) and
    /// returns **every** violation, not just the first, adding the rules a
    /// Cargo registry needs when `crate_rules` is given (every entry under
    /// `<name>-<version>/`, exactly one `Cargo.toml` at its root in any letter
    /// case, no `.cargo-ok`, Cargo's unpacked-size limit). Writes nothing.
    ///
    /// ```no_run
    /// use sealtar::{CrateRules, Extractor, Options};
    ///
    /// let path = "serde-1.0.200.crate";
    /// let size = std::fs::metadata(path)?.len();
    /// let rules = CrateRules::from_file_name(path, Some(size)).expect("a <name>-<version>.crate file name");
    /// let report = Extractor::new(Options::new())?.check(std::fs::File::open(path)?, Some(&rules))?;
    /// for violation in &report.violations {
    ///     println!("{}: {}", violation.id(), violation.message);
    /// }
    /// assert_eq!(report.is_acceptable(), report.violations.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Security
    ///
    /// The same sandbox and rules as [`extract`](Self::extract) (without a
    /// destination to compare with). An acceptable report means `extract`
    /// into an empty directory succeeds with the same options.
    ///
    /// # Errors
    ///
    /// Violations, malformed input and sandbox faults are part of the
    /// report; only [`Error::Io`] (reading failed) and protocol faults of the
    /// parser are errors.
    ///
    /// Entries are vetted as they are read and not kept; the report keeps
    /// the first [`MAX_VIOLATIONS`] violations (names in them cut to 1 KiB)
    /// and counts the rest, so memory stays bounded whatever the archive.
    pub fn check<R: Read + Send>(&self, reader: R, crate_rules: Option<&CrateRules>) -> Result<CheckReport, Error> {
        check::check(self.pipeline(), reader, crate_rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractor_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Extractor>();
    }
}
