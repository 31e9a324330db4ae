//! What an extraction says back: the [`Report`] of every entry written, the
//! optional content hashes, and the [`Observer`] hook that receives progress
//! and each entry as it is written.

use crate::kind::Kind;

/// What an extraction wrote.
///
/// ```no_run
/// use sealtar::{Extractor, Options};
///
/// let extractor = Extractor::new(Options::new())?;
/// let report = extractor.extract_to_path(std::fs::File::open("pkg.tar.gz")?, "out")?;
/// for entry in &report.entries {
///     println!("{} {:o} {} bytes  {}", entry.kind, entry.mode, entry.size, entry.path);
/// }
/// println!("{} files, {} directories, {} bytes", report.files, report.directories, report.bytes);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Regular files written.
    pub files: u64,
    /// Directories in the extracted tree (explicit entries and implied
    /// parents), counting those merged into existing directories.
    pub directories: u64,
    /// Bytes of file data written.
    pub bytes: u64,
    /// Every file and directory entry of the archive that was written, in
    /// archive order. Directories that no entry names (implied parents) and
    /// the archive's root entry (`./`) are counted in
    /// [`directories`](Report::directories) but not listed.
    pub entries: Vec<Written>,
    /// Links and special files not written, as the options ask
    /// ([`LinkPolicy::Skip`](crate::LinkPolicy::Skip),
    /// [`SpecialPolicy::Skip`](crate::SpecialPolicy::Skip), and the links
    /// [`LinkPolicy::Copy`](crate::LinkPolicy::Copy) cannot copy), in
    /// archive order.
    pub skipped: Vec<Skipped>,
    /// Links replaced by a copy of their target
    /// ([`LinkPolicy::copies`](crate::LinkPolicy::copies)), in archive order.
    /// Their files and directories count in `files`, `directories` and
    /// `bytes`, not in `entries`.
    pub copied: Vec<Copied>,
    /// What the three lists above leave out: together they hold at most
    /// [`REPORT_BYTES`] of names and records, so that an archive of a million
    /// long names cannot make the host keep them all. Zero unless an archive
    /// is that large; [`Observer::entry`] sees every written entry either way.
    pub omitted: Omitted,
}

/// The most bytes the lists of a [`Report`] hold (names plus a fixed size
/// per record): 64 MiB, a few hundred thousand entries. The rest are counted
/// in [`Report::omitted`].
pub const REPORT_BYTES: usize = 64 << 20;

/// Records left out of a [`Report`]'s lists once they hold [`REPORT_BYTES`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Omitted {
    /// Written entries not in [`Report::entries`].
    pub entries: u64,
    /// Skipped links and special files not in [`Report::skipped`].
    pub skipped: u64,
    /// Copied links not in [`Report::copied`].
    pub copied: u64,
}

/// A link or special file that was not written (see [`Report::skipped`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skipped {
    /// The entry's position in the archive.
    pub index: u64,
    /// Its name, escaped.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// Its target, escaped, for a link.
    pub link_target: Option<String>,
    /// Why it was skipped, for a link that
    /// [`LinkPolicy::Copy`](crate::LinkPolicy::Copy) could not copy (a
    /// [`Rule::Link`](crate::Rule::Link)); `None` when the options skip every
    /// link or special file of its kind.
    pub reason: Option<crate::Rule>,
}

/// A link written as a copy of its target (see [`Report::copied`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Copied {
    /// The link's position in the archive.
    pub index: u64,
    /// The link's name in the archive, escaped.
    pub path: String,
    /// The path written, escaped (differs from `path` with
    /// `strip_components`).
    pub written: String,
    /// The file or directory it is a copy of (as written), escaped.
    pub copy_of: String,
}

/// One entry written by an extraction (see [`Report`], which has an example).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Written {
    /// Position in the archive (0-based).
    pub index: u64,
    /// The path as the archive spells it (always UTF-8: other names are
    /// refused). May hold `./` prefixes, repeated or trailing slashes.
    pub path: String,
    /// Where it was written, relative to the destination: the normalized
    /// path, components joined by `/`.
    pub dest_path: String,
    /// [`Kind::File`] or [`Kind::Directory`].
    pub kind: Kind,
    /// Bytes of data (0 for directories).
    pub size: u64,
    /// Permission bits as created (after the umask), read back from the
    /// file system on Unix. Elsewhere the bits sealtar asked for. A
    /// directory entry that merged into an existing directory of the
    /// destination keeps that directory's mode; this is the staged one's.
    pub mode: u32,
    /// The file's content hash, when [`Options::content_hash`](crate::Options::content_hash)
    /// asks for one (never for directories).
    pub hash: Option<Digest>,
}

/// A content hash algorithm for [`Options::content_hash`](crate::Options::content_hash).
///
/// ```
/// use sealtar::{HashAlgorithm, Options};
///
/// let options = Options::new().content_hash(Some(HashAlgorithm::Sha256));
/// assert_eq!(options.content_hash, Some(HashAlgorithm::Sha256));
/// assert_eq!(HashAlgorithm::Blake3.name(), "blake3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// BLAKE3 (32 bytes): the fastest; what sealtar's own cache uses.
    Blake3,
    /// SHA-256 (32 bytes): what registries and lock files usually record.
    Sha256,
}

impl HashAlgorithm {
    /// Its lowercase name: `blake3` or `sha256`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Blake3 => "blake3",
            HashAlgorithm::Sha256 => "sha256",
        }
    }
}

/// A content hash of a written file (see [`Written::hash`]).
///
/// ```
/// use sealtar::{Digest, HashAlgorithm};
///
/// let digest = Digest::of(HashAlgorithm::Sha256, b"abc");
/// assert_eq!(digest.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// assert_eq!(digest.to_string(), format!("sha256:{}", digest.to_hex()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Digest {
    /// Which hash.
    pub algorithm: HashAlgorithm,
    /// The 32 bytes of the digest.
    pub bytes: [u8; 32],
}

impl Digest {
    /// The digest of `data` in one call (the extractor hashes as it writes).
    pub fn of(algorithm: HashAlgorithm, data: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(data);
        hasher.finish()
    }

    /// Lowercase hexadecimal, 64 characters.
    pub fn to_hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Display for Digest {
    /// `<algorithm>:<hex>`, e.g. `sha256:ba7816bf…`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.to_hex())
    }
}

/// A running hash of one file's data.
pub(crate) enum Hasher {
    Blake3(Box<blake3::Hasher>),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub(crate) fn new(algorithm: HashAlgorithm) -> Hasher {
        match algorithm {
            HashAlgorithm::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
            HashAlgorithm::Sha256 => Hasher::Sha256(<sha2::Sha256 as sha2::Digest>::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Blake3(h) => {
                h.update(data);
            }
            Hasher::Sha256(h) => sha2::Digest::update(h, data),
        }
    }

    pub(crate) fn finish(self) -> Digest {
        match self {
            Hasher::Blake3(h) => Digest { algorithm: HashAlgorithm::Blake3, bytes: *h.finalize().as_bytes() },
            Hasher::Sha256(h) => Digest { algorithm: HashAlgorithm::Sha256, bytes: sha2::Digest::finalize(h).into() },
        }
    }
}

/// How far an extraction has come (see [`Observer::progress`]; example on
/// [`Observer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes of the archive read so far, as given (compressed, for a compressed
    /// archive).
    pub input_bytes: u64,
    /// Entries read so far.
    pub entries: u64,
    /// Bytes of file data written so far.
    pub bytes_written: u64,
}

/// Receives what an extraction does while it runs, to drive a caller's own
/// progress display or log. Every method has an empty default; implement the
/// ones you need. Called on the thread that called
/// [`Extractor::extract_observed`](crate::Extractor::extract_observed),
/// between writes, so keep them quick.
///
/// Entries are reported when they are written into the staging directory:
/// if the archive is refused later, none of them reaches the destination
/// (the call returns the error).
///
/// ```
/// use sealtar::{Extractor, Observer, Options, Progress, Written};
///
/// #[derive(Default)]
/// struct Log {
///     lines: Vec<String>,
///     last: Progress,
/// }
///
/// impl Observer for Log {
///     fn progress(&mut self, progress: &Progress) {
///         self.last = *progress;
///     }
///     fn entry(&mut self, entry: &Written) {
///         self.lines.push(format!("{} {}", entry.kind, entry.dest_path));
///     }
/// }
///
/// // A one-file tar archive: a 512-byte header, the data padded to 512, two zero blocks.
/// let mut tar = vec![0u8; 512];
/// tar[..5].copy_from_slice(b"hello");
/// tar[100..107].copy_from_slice(b"0000644");
/// tar[124..135].copy_from_slice(b"00000000003");
/// tar[136..147].copy_from_slice(b"00000000000");
/// tar[156] = b'0';
/// tar[257..263].copy_from_slice(b"ustar\0");
/// tar[263..265].copy_from_slice(b"00");
/// tar[148..156].copy_from_slice(b"        ");
/// let sum: u32 = tar.iter().map(|&b| u32::from(b)).sum();
/// tar[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
/// tar.extend_from_slice(b"hi\n");
/// tar.resize(512 * 4, 0);
///
/// let dest = std::env::temp_dir().join(format!("sealtar-observer-doc-{}", std::process::id()));
/// std::fs::create_dir(&dest)?;
/// let dir = cap_std::fs::Dir::open_ambient_dir(&dest, cap_std::ambient_authority())?;
/// let mut log = Log::default();
/// let report = Extractor::new(Options::new())?.extract_observed(&tar[..], &dir, &mut log)?;
/// assert_eq!(log.lines, ["file hello"]);
/// assert_eq!(log.last.bytes_written, 3);
/// assert_eq!(report.entries.len(), 1);
/// drop(dir); // Windows removes no directory that is still open.
/// std::fs::remove_dir_all(&dest)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Observer {
    /// The extraction moved on: called after each entry header and each
    /// piece of file data.
    fn progress(&mut self, progress: &Progress) {
        let _ = progress;
    }

    /// An entry was written in full (a file's data, time and hash are final).
    fn entry(&mut self, entry: &Written) {
        let _ = entry;
    }
}

/// The observer that observes nothing ([`Extractor::extract`](crate::Extractor::extract)).
impl Observer for () {}
