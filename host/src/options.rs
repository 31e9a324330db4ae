//! Every limit and switch, with its default, in one place. The CLI's flags
//! map onto these fields one to one.
//!
//! [`Options`] is `#[non_exhaustive]`, so code outside this crate builds it
//! with [`Options::new`] (or [`Default`]) and the chained setters below, one
//! per field. Adding a field means adding it to the struct, to `Default`,
//! and one line to the `setters!` block (or a hand-written setter when the
//! argument is not the field's type, as for [`Options::max_size`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::report::HashAlgorithm;

/// Unpacked size allowed whatever the compression ratio: 1 GiB. Larger
/// archives are fine as long as they stay under [`DEFAULT_RATIO`] times the
/// compressed bytes read so far.
///
/// Changed with [`Options::max_size`] (examples on [`Options`]).
pub const DEFAULT_SIZE_FLOOR: u64 = 1 << 30;

/// How far the unpacked size may outgrow the compressed input (100×). Source
/// tarballs compress 3–10×; a gzip bomb of zeros reaches about 1000×.
///
/// Changed with [`Options::max_size`] (examples on [`Options`]).
pub const DEFAULT_RATIO: u64 = 100;

/// Members per archive: 1,000,000. Each costs a header, a policy check and an
/// inode; Linux source trees hold under 100,000.
///
/// Changed with [`Options::max_entries`] (examples on [`Options`]).
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;

/// Directories per archive, explicit and implied: 100,000. Real archives
/// stay far below (the Linux kernel's source has about 5,000, a large
/// `node_modules` tree tens of thousands); the cap stops a few kilobytes of
/// deep paths from implying a million directories, which would take minutes
/// to create and remove.
pub const DEFAULT_MAX_DIRS: u64 = 100_000;

/// Bytes in a path: 4095. Linux's `PATH_MAX` is 4096 bytes including the
/// terminating NUL, so no longer path can be opened in one call. A larger
/// [`Options::max_path_bytes`] is still held to 4095, so that `check` never
/// accepts a path that `extract` cannot create.
///
/// Changed with [`Options::max_path_bytes`] (examples on [`Options`]).
pub const DEFAULT_MAX_PATH_BYTES: usize = 4095;

/// Bytes in one path component: 255, the `NAME_MAX` of every common file system.
///
/// Changed with [`Options::max_component_bytes`] (examples on [`Options`]).
pub const DEFAULT_MAX_COMPONENT_BYTES: usize = 255;

/// Components in a path: 1024. Deep nesting costs a directory per level and
/// breaks recursive tools long before 1024.
///
/// Changed with [`Options::max_depth`] (examples on [`Options`]).
pub const DEFAULT_MAX_DEPTH: usize = 1024;

/// Bytes in one PAX extended header or GNU long-name payload: 1 MiB. Real
/// archives use a few hundred bytes; the cap stops a header from asking the
/// parser to buffer gigabytes.
///
/// Changed with [`Options::max_extension_bytes`] (examples on [`Options`]).
pub const DEFAULT_MAX_EXTENSION_BYTES: u32 = 1 << 20;

/// Linear memory the sandboxed parser may use: 256 MiB. It needs about 2 MiB
/// (decompression window, buffers, one PAX header).
///
/// Changed with [`Options::guest_memory`] (examples on [`Options`]).
pub const DEFAULT_GUEST_MEMORY: usize = 256 << 20;

/// Wall-clock time one archive may take, reading, parsing and writing: 10
/// minutes, far beyond what any archive under the default size limits needs
/// on a working disk, so that only a runaway parser or a stuck input hits it.
///
/// Changed with [`Options::timeout`] (examples on [`Options`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Wall-clock time the input may go without delivering a byte: 60 seconds.
/// A network stream that pauses longer is better retried; a pipe that
/// nobody writes to must not hold a run (and its staging directory) for the
/// whole [`DEFAULT_TIMEOUT`].
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Links followed through other links, at most, when a link is resolved for
/// a copy ([`LinkPolicy::copies`]): 16. Real trees chain two or three
/// (`libfoo.so -> libfoo.so.1 -> libfoo.so.1.2`); Linux itself gives up
/// after 40.
pub const MAX_LINK_HOPS: usize = 16;
/// Bytes of names, at most, that the copying policies
/// ([`LinkPolicy::copies`]) keep to resolve links by name and to plan their
/// copies: 192 MiB, far more than an archive of 100,000 entries needs. An
/// archive past it is refused
/// ([`Rule::TooManyNames`](crate::Rule::TooManyNames)) rather than held in
/// memory.
pub const MAX_LINK_STATE_BYTES: u64 = 192 << 20;

/// What to do with symbolic and hard links.
///
/// Links are refused by default: a link in an archive can make a later write
/// land outside the destination or on an existing file (CVE-2026-5223,
/// CVE-2021-32803). sealtar never creates a link on disk under any policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LinkPolicy {
    /// Refuse the archive if it holds any link (the default).
    #[default]
    Refuse,
    /// Extract everything else; list each link skipped in the
    /// [`Report`](crate::Report).
    Skip,
    /// Write a copy of the link's target in its place, when the target
    /// resolves inside the archive (in the archive's own namespace, never on
    /// disk) to a regular file or directory that is itself extracted. Every
    /// other link ([`LinkProblem`](crate::LinkProblem): absolute, outside,
    /// dangling, cyclic, over-long, Windows-form targets, a target not
    /// extracted) is skipped (never written) and listed in the
    /// [`Report`](crate::Report) with the reason. A directory copy leaves
    /// out the links inside it that cannot be resolved (they are skipped
    /// where they are too). Copies count toward every limit, and
    /// archive-wide limits refuse the archive: a link bomb is refused, never
    /// trimmed.
    Copy,
    /// Copy each link exactly as [`Copy`](Self::Copy) does, and refuse the
    /// archive if any link cannot be copied (each link `Copy` would skip,
    /// and a link that is not extracted itself but whose target could not
    /// be copied either): a complete tree or nothing.
    CopyOrRefuse,
}

impl LinkPolicy {
    /// Whether links are replaced by copies ([`Copy`](Self::Copy) or
    /// [`CopyOrRefuse`](Self::CopyOrRefuse)).
    pub fn copies(self) -> bool {
        matches!(self, LinkPolicy::Copy | LinkPolicy::CopyOrRefuse)
    }
}

/// What to do with FIFOs and character and block devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SpecialPolicy {
    /// Refuse the archive if it holds any (the default).
    #[default]
    Refuse,
    /// Extract everything else; list each one skipped in the
    /// [`Report`](crate::Report).
    Skip,
}

/// How an [`Extractor`](crate::Extractor) treats archives.
///
/// The defaults are the strict policy; every field only loosens or tightens a
/// limit, never turns a rule off. Build it with [`Options::new`] and the
/// chained setters; each group of setters below has an example.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Most bytes of the tar stream: member data, and the headers and
    /// extension headers (`x`, `g`, `L`, `K`) before each member. `None`
    /// (the default) allows `max(1 GiB, 100 × compressed bytes read so
    /// far)`; `Some(n)` allows exactly `n`. Declared sizes count as soon as a
    /// header is read, so a bomb is refused before it is decompressed. The
    /// stream is measured up to each member's first header and data, so a
    /// member's own extension headers count when the next member arrives
    /// (the guest caps them at four times
    /// [`max_extension_bytes`](Self::max_extension_bytes) per member).
    pub max_size: Option<u64>,
    /// Most members (any kind, refused ones included).
    pub max_entries: u64,
    /// Most directories, counting the parents that paths imply as well as
    /// directory entries.
    pub max_dirs: u64,
    /// Longest path in bytes (at most 4095, whatever this says).
    pub max_path_bytes: usize,
    /// Longest path component in bytes (at most 255, `NAME_MAX`, whatever
    /// this says).
    pub max_component_bytes: usize,
    /// Most components in a path.
    pub max_depth: usize,
    /// Largest PAX extended header or GNU long-name payload in bytes.
    pub max_extension_bytes: u32,
    /// Most linear memory for the sandboxed parser, in bytes.
    pub guest_memory: usize,
    /// Most wall-clock time for one archive: reading the input, parsing and
    /// writing all count. The sandboxed parser is interrupted wherever it
    /// is; a `reader` that blocks inside one `read` call cannot be
    /// interrupted by a library, so give it a timeout of its own (the CLI
    /// polls its input with this deadline).
    pub timeout: Duration,
    /// Most wall-clock time the parser waits for the next input bytes (the
    /// same caveat about blocking readers applies).
    pub stall_timeout: Duration,
    /// Refuse names that are unsafe or ambiguous on any of Linux, macOS and
    /// Windows: reserved device names, `< > : " \\ | ? *`, control characters,
    /// trailing dots and spaces, and names equal under case folding or Unicode
    /// normalization. On by default on Windows and macOS, whose file systems
    /// fold names; off by default elsewhere.
    pub portable: bool,
    /// Where compiled guest code is cached between processes. `None` (the
    /// default) compiles in memory on first use in each process and writes
    /// nothing. Opt in with [`Options::cache_dir`] or
    /// [`Options::with_default_cache`]; the `sealtar` command does.
    pub cache_dir: Option<PathBuf>,
    /// Hash every file's content as it is written and record the digest in
    /// [`Written::hash`](crate::Written::hash). `None` (the default) hashes
    /// nothing.
    pub content_hash: Option<HashAlgorithm>,
    /// What to do with symbolic and hard links (default: refuse).
    pub links: LinkPolicy,
    /// What to do with FIFOs and devices (default: refuse).
    pub special: SpecialPolicy,
    /// Leading path components removed from every name before writing, as
    /// `tar --strip-components`. Entries are vetted on their full names
    /// first. A directory left with no name is the destination itself and is
    /// skipped; any other entry left with no name, or two entries left with
    /// the same name, refuse the archive.
    pub strip_components: usize,
    /// Members to extract (tar's `FILE...` arguments): an entry is written if
    /// its name, or one of its leading directories, is one of these (before
    /// stripping; `./`, repeated and trailing `/` do not matter). Empty (the
    /// default) selects everything. A member that matches nothing is an
    /// error ([`Error::MembersNotFound`](crate::Error::MembersNotFound)).
    pub members: Vec<String>,
    /// Glob patterns of entries not to write, with `tar --exclude`'s
    /// meaning: a pattern matches a name, or any run of whole components of
    /// it (`docs` excludes `pkg/docs/` and everything under it), and `*`
    /// matches `/` too. Matched before stripping.
    pub exclude: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_size: None,
            max_entries: DEFAULT_MAX_ENTRIES,
            max_dirs: DEFAULT_MAX_DIRS,
            max_path_bytes: DEFAULT_MAX_PATH_BYTES,
            max_component_bytes: DEFAULT_MAX_COMPONENT_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_extension_bytes: DEFAULT_MAX_EXTENSION_BYTES,
            guest_memory: DEFAULT_GUEST_MEMORY,
            timeout: DEFAULT_TIMEOUT,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            portable: cfg!(any(windows, target_os = "macos")),
            cache_dir: None,
            content_hash: None,
            links: LinkPolicy::Refuse,
            special: SpecialPolicy::Refuse,
            strip_components: 0,
            members: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

/// One chained setter per field: `name: Type`, with its doc comment. The
/// setter takes the value and returns the options, so calls chain.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $name(mut self, value: $ty) -> Self {
                self.$name = value;
                self
            }
        )*
    };
}

/// Limits on what an archive may contain.
///
/// ```
/// use sealtar::Options;
///
/// let options = Options::new()
///     .max_size(64 << 20)
///     .max_entries(10_000)
///     .max_dirs(5_000)
///     .max_path_bytes(1024)
///     .max_component_bytes(200)
///     .max_depth(64)
///     .max_extension_bytes(64 << 10);
/// assert_eq!(options.max_size, Some(64 << 20));
/// assert_eq!(options.size_limit(1 << 40), 64 << 20);
/// assert_eq!(options.max_entries, 10_000);
/// assert_eq!(options.max_depth, 64);
/// ```
impl Options {
    /// The default options: the strict policy, no cache, no side effects.
    /// The same as [`Options::default`].
    pub fn new() -> Options {
        Options::default()
    }

    /// Allows exactly `bytes` of member data in total, whatever the
    /// compression ratio (see [`Options::max_size`](#structfield.max_size)).
    #[must_use]
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    setters! {
        /// Most members (any kind, refused ones included). Default
        /// [`DEFAULT_MAX_ENTRIES`].
        max_entries: u64;
        /// Most directories, explicit and implied by paths. Default
        /// [`DEFAULT_MAX_DIRS`].
        max_dirs: u64;
        /// Longest path in bytes. Default [`DEFAULT_MAX_PATH_BYTES`].
        max_path_bytes: usize;
        /// Longest path component in bytes. Default
        /// [`DEFAULT_MAX_COMPONENT_BYTES`].
        max_component_bytes: usize;
        /// Most components in a path. Default [`DEFAULT_MAX_DEPTH`].
        max_depth: usize;
        /// Largest PAX extended header or GNU long-name payload in bytes.
        /// Default [`DEFAULT_MAX_EXTENSION_BYTES`].
        max_extension_bytes: u32;
    }
}

/// The sandbox's allowances.
///
/// ```
/// use std::time::Duration;
/// use sealtar::Options;
///
/// let options = Options::new()
///     .guest_memory(64 << 20)
///     .timeout(Duration::from_secs(30))
///     .stall_timeout(Duration::from_secs(5));
/// assert_eq!(options.guest_memory, 64 << 20);
/// assert_eq!(options.timeout, Duration::from_secs(30));
/// ```
impl Options {
    setters! {
        /// Most linear memory for the sandboxed parser, in bytes. Default
        /// [`DEFAULT_GUEST_MEMORY`].
        guest_memory: usize;
        /// Most wall-clock time for one archive, reading the input
        /// included. Default [`DEFAULT_TIMEOUT`].
        timeout: Duration;
        /// Most wall-clock time to wait for the next input bytes. Default
        /// [`DEFAULT_STALL_TIMEOUT`].
        stall_timeout: Duration;
    }
}

/// Names.
///
/// ```
/// use sealtar::Options;
///
/// let options = Options::new().portable(true);
/// assert!(options.portable);
/// ```
impl Options {
    setters! {
        /// Refuses names that are unsafe or ambiguous on any of Linux, macOS
        /// and Windows (see [`Options::portable`](#structfield.portable)).
        portable: bool;
    }
}

/// Links, special files, and which members are written where.
///
/// ```
/// use sealtar::{LinkPolicy, Options, SpecialPolicy};
///
/// let options = Options::new()
///     .links(LinkPolicy::Copy)
///     .special(SpecialPolicy::Skip)
///     .strip_components(1)
///     .members(["pkg-1.0/src"])
///     .exclude(["*.orig", "tests"]);
/// assert_eq!(options.links, LinkPolicy::Copy);
/// assert_eq!(options.special, SpecialPolicy::Skip);
/// assert_eq!(options.strip_components, 1);
/// assert_eq!(options.members, ["pkg-1.0/src"]);
/// assert_eq!(options.exclude, ["*.orig", "tests"]);
/// assert_eq!(Options::new().links, LinkPolicy::Refuse);
/// ```
impl Options {
    setters! {
        /// What to do with symbolic and hard links. Default
        /// [`LinkPolicy::Refuse`].
        links: LinkPolicy;
        /// What to do with FIFOs and devices. Default
        /// [`SpecialPolicy::Refuse`].
        special: SpecialPolicy;
        /// Leading components removed from every name before writing (see
        /// [`Options::strip_components`](#structfield.strip_components)).
        /// Default 0.
        strip_components: usize;
    }

    /// Writes only these members and what is under them (see
    /// [`Options::members`](#structfield.members)).
    #[must_use]
    pub fn members<S: Into<String>>(mut self, members: impl IntoIterator<Item = S>) -> Self {
        self.members = members.into_iter().map(Into::into).collect();
        self
    }

    /// Leaves out entries matching these globs, as `tar --exclude` (see
    /// [`Options::exclude`](#structfield.exclude)).
    #[must_use]
    pub fn exclude<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.exclude = patterns.into_iter().map(Into::into).collect();
        self
    }
}

/// The compiled-guest cache: off unless asked for.
///
/// ```
/// use sealtar::Options;
///
/// assert_eq!(Options::new().cache_dir, None);
/// let options = Options::new().cache_dir("/var/cache/my-tool/sealtar");
/// assert_eq!(options.cache_dir.as_deref(), Some(std::path::Path::new("/var/cache/my-tool/sealtar")));
/// // The platform's cache directory for the current user, as the `sealtar`
/// // command uses (reads the environment; `None` if it names none).
/// let options = Options::new().with_default_cache();
/// assert_eq!(options.cache_dir, sealtar::default_cache_dir());
/// ```
impl Options {
    /// Caches compiled guest code in `dir` (created if missing; used only if
    /// it belongs to the current user and no one else can write it). Saves
    /// about a second of compilation in every later process.
    #[must_use]
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Caches compiled guest code in [`default_cache_dir`](crate::default_cache_dir),
    /// the per-user cache directory the `sealtar` command uses. Reads the
    /// environment (once, here); without a usable directory, no cache.
    #[must_use]
    pub fn with_default_cache(mut self) -> Self {
        self.cache_dir = crate::sandbox::default_cache_dir();
        self
    }

    /// Compiles in memory in every process and writes nothing (the default).
    #[must_use]
    pub fn without_cache(mut self) -> Self {
        self.cache_dir = None;
        self
    }
}

/// What the [`Report`](crate::Report) records.
///
/// ```
/// use sealtar::{HashAlgorithm, Options};
///
/// let options = Options::new().content_hash(Some(HashAlgorithm::Blake3));
/// assert_eq!(options.content_hash, Some(HashAlgorithm::Blake3));
/// ```
impl Options {
    setters! {
        /// Hashes every file written with this algorithm (`None`: no hash,
        /// the default); see [`Written::hash`](crate::Written::hash).
        content_hash: Option<HashAlgorithm>;
    }
}

impl Options {
    /// The unpacked-size limit once `compressed` input bytes have been read.
    pub fn size_limit(&self, compressed: u64) -> u64 {
        self.max_size.unwrap_or_else(|| DEFAULT_SIZE_FLOOR.max(compressed.saturating_mul(DEFAULT_RATIO)))
    }
}
