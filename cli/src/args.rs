//! The command line: every subcommand and flag, and how the flags map onto
//! [`Options`] (one to one, as the library's fields).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sealtar::{LinkPolicy, Options, SpecialPolicy};

/// Extract untrusted tar archives (optionally gzip, xz, bzip2 or zstd): parsed inside a WebAssembly
/// sandbox, re-checked on the host, written only as regular files and
/// directories inside the destination, all or nothing.
#[derive(Parser)]
#[command(name = "sealtar", version, max_term_width = 100)]
#[command(after_help = "Exit status: 0 success, 1 the archive was refused (policy, limit, malformed input, \
sandbox) or audit-cargo found something, 2 usage or I/O error (or audit-cargo could not audit).")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
#[command(defer = true)]
pub(crate) enum Command {
    /// Extract ARCHIVE into DIR, or refuse it and change nothing.
    ///
    /// Only regular files and directories are written. Links and devices
    /// (unless --links or --special says otherwise), path traversal,
    /// duplicate paths, malformed headers and anything that would replace
    /// existing content refuse the whole archive; the message names the entry
    /// and the rule. Directory times are set after everything is written. A
    /// progress bar is shown on standard error for large archives when it is
    /// a terminal.
    Extract {
        /// The archive (tar, or tar compressed with gzip, xz, bzip2 or zstd, detected from its contents); `-` reads standard input.
        archive: PathBuf,
        /// Extract only these members (and, for a directory, everything
        /// under it), named as in the archive before --strip-components. A
        /// member that matches nothing is an error and nothing is written.
        #[arg(value_name = "MEMBER")]
        members: Vec<String>,
        /// Destination directory; created if missing.
        #[arg(short = 'C', long = "directory", value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        limits: Limits,
        /// Print a summary on standard error.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Print the vetted manifest: every entry with its verdict. Writes nothing.
    ///
    /// Exits 1 if extracting the archive would be refused.
    List {
        /// The archive; `-` reads standard input.
        archive: PathBuf,
        /// Mark entries outside these members as excluded (as extract would).
        #[arg(value_name = "MEMBER")]
        members: Vec<String>,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: Limits,
    },
    /// Vet an archive before accepting it (for registries and mirrors): list
    /// every violation, not just the first. Writes nothing.
    ///
    /// Exits 0 if the archive is acceptable and 1 if not. With --crate, also
    /// applies what a Cargo registry needs: every entry under
    /// <name>-<version>/ (from the file name, or --prefix), exactly one
    /// Cargo.toml at its root in any letter case, no .cargo-ok, and Cargo's
    /// size rule (at most max(512 MiB, 20 x compressed size) unpacked).
    Check {
        /// The archive; `-` reads standard input (then --crate needs --prefix).
        #[arg(required_unless_present = "batch")]
        archive: Option<PathBuf>,
        /// Check many archives: read their paths, one a line, from FILE (`-`
        /// or nothing: standard input), check them in parallel with one
        /// sandbox, and print one JSON line per archive as soon as it is done:
        /// {"path", "acceptable", "entries", "violations": [...]} (violations
        /// as in --json), or {"path", "acceptable": false, "violations": [],
        /// "error"} when it cannot be read. A summary goes to standard error.
        /// Exits 0 if every archive is acceptable, 1 if not.
        #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-",
              conflicts_with_all = ["archive", "prefix", "json"])]
        batch: Option<PathBuf>,
        /// Worker threads for --batch (default: one per core).
        #[arg(short, long, value_name = "N", requires = "batch")]
        jobs: Option<usize>,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// Apply the Cargo registry rules.
        #[arg(long = "crate")]
        krate: bool,
        /// The directory every entry must be under, instead of the one taken
        /// from the file name (implies --crate).
        #[arg(long, value_name = "NAME-VERSION")]
        prefix: Option<String>,
        #[command(flatten)]
        limits: Limits,
    },
    /// Find a poisoned Cargo cache: compare each crate Cargo unpacked with
    /// its .crate, and each .crate with what the registry published. Writes
    /// nothing, follows no symlink.
    ///
    /// Every crate directory CARGO_HOME/registry/src/<index>/<name>-<version>/
    /// is compared with its registry/cache/<index>/<name>-<version>.crate.
    /// Each .crate is read once, in the sandbox, never extracted; each crate
    /// directory is read through a handle without following links. Findings,
    /// one a line on standard output, name the crate (<name>-<version>), the
    /// path inside it and what is wrong: content differs, a file, directory
    /// or symlink that the .crate does not have, a missing file, a symlink
    /// in place of a file or directory (or as the crate directory), exec
    /// bits Cargo would not have set, a missing or foreign .cargo-ok, a
    /// .crate the policy refuses, a hard link, a world-writable file or
    /// directory, a set-user-ID or set-group-ID file.
    ///
    /// The .crate sits in the tree an attacker of the cache writes, so its
    /// SHA-256 (every .crate's, unpacked or not) is checked against the cksum
    /// that Cargo's registry index cache (registry/index/<index>/.cache/)
    /// records for that version, when it has one, and against the checksums
    /// of --lockfile. These catch a .crate rewritten together with its
    /// directory; nothing catches an attacker who also rewrites the index
    /// cache and the lock file.
    ///
    /// A crate directory whose .crate is gone cannot be verified at all: it
    /// is counted, noted as informational, and a failure under --strict.
    /// Clean crates are not named; progress and a summary go to standard
    /// error. Exits 0 if clean, 1 on any finding, 2 if something could not
    /// be audited.
    AuditCargo {
        /// The Cargo home (default: $CARGO_HOME, else ~/.cargo).
        cargo_home: Option<PathBuf>,
        /// Audit a `cargo vendor` directory instead: each crate in DIR against
        /// its .cargo-checksum.json (every file's SHA-256), plus files,
        /// directories and symlinks the checksum file does not list; and,
        /// when the Cargo home's cache has the .crate, every vendored file
        /// against the .crate (a file changed and re-hashed in the checksum
        /// file differs from it), the package checksum against the .crate, and
        /// the .crate against the index cache and --lockfile.
        #[arg(long, value_name = "DIR")]
        vendor: Option<PathBuf>,
        /// A Cargo.lock to check against (repeatable): each .crate (and, with
        /// --vendor, each package checksum) must have the checksum it records
        /// for that name and version; a locked package is looked for in every
        /// registry of the Cargo home. The lock file is the root of trust
        /// under version control. Locked packages found nowhere are noted.
        #[arg(long, value_name = "FILE")]
        lockfile: Vec<PathBuf>,
        /// Fail (exit 1) on a crate directory that cannot be verified because
        /// its .crate is gone, instead of noting it.
        #[arg(long)]
        strict: bool,
        /// One JSON object per finding ({"crate", "index", "path", "finding",
        /// "informational", "message"}), then {"summary": {...}}.
        #[arg(long)]
        json: bool,
        /// Worker threads (default: one per core).
        #[arg(short, long, value_name = "N")]
        jobs: Option<usize>,
        #[command(flatten)]
        limits: Limits,
    },
}

#[derive(Args)]
pub(crate) struct Limits {
    /// Most bytes of the tar stream: file data, and headers and extension headers
    /// (suffixes K, M, G, T: powers of 1024). Copies made by --links copy (or
    /// copy-or-refuse) count too.
    /// Default: the larger of 1 GiB and 100 times the compressed size read so far.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub(crate) max_size: Option<u64>,
    /// Most entries in the archive.
    #[arg(long, value_name = "N", default_value_t = sealtar::DEFAULT_MAX_ENTRIES)]
    pub(crate) max_entries: u64,
    /// Most directories, counting the parents that paths imply as well as
    /// directory entries. Real archives have a few thousand (the Linux
    /// kernel's source about 5,000); without a cap, a few kilobytes of
    /// deep paths imply a million directories, minutes of work to create and
    /// remove.
    #[arg(long, value_name = "N", default_value_t = sealtar::DEFAULT_MAX_DIRS)]
    pub(crate) max_dirs: u64,
    /// Give up after this many seconds in all (reading the input included).
    #[arg(long, value_name = "SECONDS", default_value_t = sealtar::DEFAULT_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,
    /// Give up when the input delivers nothing for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = sealtar::DEFAULT_STALL_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) stall_timeout: u64,
    /// Also refuse names that are unsafe or ambiguous on Linux, macOS or
    /// Windows: reserved device names (CON, aux.txt, COM1...), < > : " \ | ? *,
    /// control characters, trailing dots or spaces, and names that are equal
    /// under case folding or Unicode normalization. Always on under Windows
    /// and macOS.
    #[arg(long)]
    pub(crate) portable: bool,
    /// Symbolic and hard links: refuse the archive (the default), skip them
    /// (listed on standard error), or write a copy of the file or directory
    /// they name inside the archive. `copy` copies each link whose target
    /// resolves inside the archive to an extracted file or directory; every
    /// other link (absolute, outside, dangling, cyclic targets, drive letters
    /// or backslashes, a hard link to a later member) is skipped, never
    /// written, and listed with the reason (one summary line on standard
    /// error unless -v). `copy-or-refuse` copies the same links and refuses
    /// the archive if any link cannot be copied: a complete tree or nothing.
    /// A link bomb is refused under both.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = LinksArg::Refuse)]
    pub(crate) links: LinksArg,
    /// FIFOs and character and block devices: refuse the archive (the
    /// default) or skip them.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = SpecialArg::Refuse)]
    pub(crate) special: SpecialArg,
    /// Remove N leading components from names before writing (every entry
    /// is still vetted on its full name). A file left with no name, or two
    /// entries left with the same name, refuse the archive.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) strip_components: usize,
    /// Do not write entries matching PATTERN, as GNU tar's --exclude: matched
    /// against the name as the archive spells it (./docs/a.txt), trailing
    /// slashes removed; *, ? and [...] match / too, \ quotes, no braces; the
    /// whole name or a leading part ending before a / (a directory and its
    /// contents), from the start or after any /. So `docs` excludes
    /// ./pkg/docs/, `./docs` excludes ./docs/a.txt, and `docs/` nothing.
    /// Matched before --strip-components. Excluded entries are still vetted.
    /// Repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub(crate) exclude: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LinksArg {
    Refuse,
    Skip,
    Copy,
    CopyOrRefuse,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SpecialArg {
    Refuse,
    Skip,
}

impl Limits {
    pub(crate) fn options(&self, members: Vec<String>) -> Options {
        // The library writes nothing it is not asked to; the command caches
        // the compiled guest in the user's cache directory.
        let mut options = Options::default().with_default_cache();
        options.max_size = self.max_size;
        options.max_entries = self.max_entries;
        options.max_dirs = self.max_dirs;
        options.timeout = Duration::from_secs(self.timeout);
        options.stall_timeout = Duration::from_secs(self.stall_timeout);
        options.portable |= self.portable;
        options.links = match self.links {
            LinksArg::Refuse => LinkPolicy::Refuse,
            LinksArg::Skip => LinkPolicy::Skip,
            LinksArg::Copy => LinkPolicy::Copy,
            LinksArg::CopyOrRefuse => LinkPolicy::CopyOrRefuse,
        };
        options.special = match self.special {
            SpecialArg::Refuse => SpecialPolicy::Refuse,
            SpecialArg::Skip => SpecialPolicy::Skip,
        };
        options.strip_components = self.strip_components;
        options.exclude = self.exclude.clone();
        options.members = members;
        options
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let number: u64 = digits.parse().map_err(|_| format!("not a size: {text:?}"))?;
    let shift = match suffix.to_ascii_uppercase().trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("unknown size suffix {suffix:?} (use K, M, G or T)")),
    };
    number.checked_mul(1 << shift).ok_or_else(|| format!("size too large: {text:?}"))
}
