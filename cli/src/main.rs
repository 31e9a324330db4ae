//! The `sealtar` command: a thin layer over the library.
//!
//! Exit codes: 0 extracted (or acceptable), 1 the archive was refused, 2
//! usage or I/O error.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod cargo;

use anyhow::Context;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sealtar::{
    Action, CheckReport, CrateRules, Error, Extractor, Kind, LinkPolicy, Options, Report, Rule, SpecialPolicy, escape,
    escape_path,
};

/// Extract untrusted tar archives (optionally gzip, xz, bzip2 or zstd): parsed inside a WebAssembly
/// sandbox, re-checked on the host, written only as regular files and
/// directories inside the destination, all or nothing.
#[derive(Parser)]
#[command(name = "sealtar", version, max_term_width = 100)]
#[command(after_help = "Exit status: 0 success, 1 the archive was refused (policy, limit, malformed input, \
sandbox), 2 usage or I/O error.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// its .crate. Writes nothing, follows no symlink.
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
    /// .crate the policy refuses. A crate directory without a .crate (cache
    /// pruned) is noted as informational. Clean crates are not named;
    /// progress and a summary go to standard error. Exits 0 if clean, 1 on
    /// any finding, 2 if something could not be audited.
    AuditCargo {
        /// The Cargo home (default: $CARGO_HOME, else ~/.cargo).
        cargo_home: Option<PathBuf>,
        /// Audit a `cargo vendor` directory instead: each crate in DIR against
        /// its .cargo-checksum.json (every file's SHA-256, and the package's
        /// against the .crate when the Cargo home's cache has it), plus files,
        /// directories and symlinks the checksum file does not list.
        #[arg(long, value_name = "DIR")]
        vendor: Option<PathBuf>,
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
struct Limits {
    /// Most bytes of the tar stream: file data, and headers and extension headers
    /// (suffixes K, M, G, T: powers of 1024). Copies made by --links copy (or
    /// copy-or-refuse) count too.
    /// Default: the larger of 1 GiB and 100 times the compressed size read so far.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    max_size: Option<u64>,
    /// Most entries in the archive.
    #[arg(long, value_name = "N", default_value_t = sealtar::DEFAULT_MAX_ENTRIES)]
    max_entries: u64,
    /// Most directories, counting the parents that paths imply as well as
    /// directory entries. Real archives have a few thousand (the Linux
    /// kernel's source about 5,000); without a cap, a few kilobytes of
    /// deep paths imply a million directories, minutes of work to create and
    /// remove.
    #[arg(long, value_name = "N", default_value_t = sealtar::DEFAULT_MAX_DIRS)]
    max_dirs: u64,
    /// Give up after this many seconds in all (reading the input included).
    #[arg(long, value_name = "SECONDS", default_value_t = sealtar::DEFAULT_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Give up when the input delivers nothing for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = sealtar::DEFAULT_STALL_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    stall_timeout: u64,
    /// Also refuse names that are unsafe or ambiguous on Linux, macOS or
    /// Windows: reserved device names (CON, aux.txt, COM1...), < > : " \ | ? *,
    /// control characters, trailing dots or spaces, and names that are equal
    /// under case folding or Unicode normalization. Always on under Windows
    /// and macOS.
    #[arg(long)]
    portable: bool,
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
    links: LinksArg,
    /// FIFOs and character and block devices: refuse the archive (the
    /// default) or skip them.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = SpecialArg::Refuse)]
    special: SpecialArg,
    /// Remove N leading components from names before writing (every entry
    /// is still vetted on its full name). A file left with no name, or two
    /// entries left with the same name, refuse the archive.
    #[arg(long, value_name = "N", default_value_t = 0)]
    strip_components: usize,
    /// Do not write entries matching GLOB (tar's meaning: it may match any
    /// run of whole components, `*` matches `/`, a matched directory excludes
    /// its contents). Matched before --strip-components. Excluded entries are
    /// still vetted. Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LinksArg {
    Refuse,
    Skip,
    Copy,
    CopyOrRefuse,
}

#[derive(Clone, Copy, ValueEnum)]
enum SpecialArg {
    Refuse,
    Skip,
}

impl Limits {
    fn options(&self, members: Vec<String>) -> Options {
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

fn main() -> ExitCode {
    default_sigpipe();
    tune_malloc();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // Standard output went away (a closed pipe where SIGPIPE is
        // ignored): nothing more to say, and nobody to say it to.
        Err(e) if is_broken_pipe(&e) => ExitCode::from(2),
        Err(e) => {
            let refused = e.downcast_ref::<Error>().is_some_and(Error::is_refusal);
            let label = if refused { "refused" } else { "error" };
            let _ = writeln!(io::stderr(), "sealtar: {label}: {e:#}");
            ExitCode::from(if refused { 1 } else { 2 })
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = |e: &io::Error| e.kind() == io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        // sealtar's Io error carries its io::Error as a field, not as a source.
        c.downcast_ref::<io::Error>().is_some_and(broken)
            || matches!(c.downcast_ref::<Error>(), Some(Error::Io { source, .. }) if broken(source))
    })
}

/// Rust ignores SIGPIPE, so writing into a closed pipe is an error on every
/// write. A command-line filter should rather end quietly the way `cat` and
/// `tar` do: restore the default action. (Closed standard descriptors are
/// reopened on `/dev/null` by the Rust runtime before `main`.) Every message
/// is written with `writeln!` and its result ignored, never with
/// `eprintln!`, which panics when standard error fails.
#[cfg(unix)]
fn default_sigpipe() {
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    #[allow(unsafe_code)]
    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    // SAFETY: restores the default disposition of one signal before any
    // other thread exists; no handler code is installed.
    #[allow(unsafe_code)]
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

#[cfg(not(unix))]
fn default_sigpipe() {}

/// glibc's malloc trims the per-thread arenas of the parser and input threads
/// after nearly every large free and grows them again on the next allocation:
/// about a hundred `mprotect` calls per small archive, each a TLB shootdown
/// across the process's threads. A high trim threshold keeps freed memory for
/// reuse; the extractor's queues bound how much that is (a few MiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    const M_TOP_PAD: i32 = -2;
    const M_ARENA_MAX: i32 = -8;
    #[allow(unsafe_code)]
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only changes allocator tunables; it is called before
    // any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        mallopt(M_ARENA_MAX, 1);
        mallopt(M_TOP_PAD, 16 << 20);
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
        mallopt(M_MMAP_THRESHOLD, 16 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Extract { archive, members, dir, limits, verbose } => {
            let options = limits.options(members);
            let extractor = Extractor::new(options.clone())?;
            let (input, size) = open_input_sized(&archive, &options)?;
            let (dest, created) = open_destination(&dir)?;
            let progress = progress_bar(size);
            let result = extractor.extract_observed(input, &dest, &mut Bar(&progress));
            progress.finish_and_clear();
            if result.is_err() && created {
                // It did not exist before: leave it not existing.
                drop(dest);
                let _ = std::fs::remove_dir(&dir);
            }
            let report = result?;
            print_skipped_and_copied(&report, verbose)?;
            if verbose {
                let _ = writeln!(
                    io::stderr(),
                    "sealtar: extracted {} bytes in {} file(s) and {} directory(ies) into {}",
                    report.bytes,
                    report.files,
                    report.directories,
                    escape_path(&dir)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List { archive, members, json, limits } => {
            let options = limits.options(members);
            let extractor = Extractor::new(options.clone())?;
            let input = open_input(&archive, &options)?;
            let mut out = io::BufWriter::new(io::stdout().lock());
            let acceptable =
                if json { list_json(&extractor, input, &mut out)? } else { list_text(&extractor, input, &mut out)? };
            out.flush()?;
            Ok(if acceptable { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::AuditCargo { cargo_home, vendor, json, jobs, limits } => {
            let extractor = Extractor::new(limits.options(Vec::new()))?;
            cargo::audit_cargo(&extractor, cargo_home, vendor, json, cargo::job_count(jobs))
        }
        Command::Check { batch: Some(list), krate, jobs, limits, .. } => {
            let extractor = Extractor::new(limits.options(Vec::new()))?;
            cargo::check_batch(&extractor, &list, krate, cargo::job_count(jobs))
        }
        Command::Check { archive, json, krate, prefix, limits, .. } => {
            let archive = archive.context("no archive given")?;
            let options = limits.options(Vec::new());
            let extractor = Extractor::new(options.clone())?;
            let size = std::fs::metadata(&archive).ok().filter(|m| m.is_file()).map(|m| m.len());
            let rules = match (prefix, krate) {
                (Some(prefix), _) => Some(CrateRules::new(prefix, size)),
                (None, true) => {
                    let name = archive.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    let rules = CrateRules::from_file_name(name, size);
                    Some(rules.with_context(|| {
                        format!(
                            "--crate needs a file named <name>-<version>.crate, or --prefix (got {})",
                            escape(name.as_bytes())
                        )
                    })?)
                }
                (None, false) => None,
            };
            let report = extractor.check(open_input(&archive, &options)?, rules.as_ref())?;
            let mut out = io::stdout().lock();
            if json {
                print_check_json(&mut out, &report)?;
            } else {
                for (index, path, action) in &report.actions {
                    writeln!(out, "entry {index} \"{path}\": {}", action_text(action))?;
                }
                for v in &report.violations {
                    writeln!(out, "{}", v.message)?;
                }
                if report.omitted > 0 {
                    writeln!(
                        out,
                        "… and {} more violations (only the first {} are kept)",
                        report.omitted,
                        sealtar::MAX_VIOLATIONS
                    )?;
                }
                let verdict = if report.is_acceptable() { "acceptable" } else { "NOT acceptable" };
                let count = report.violations.len() as u64 + report.omitted;
                writeln!(out, "{} entries, {count} violations: {verdict}", report.entries)?;
            }
            out.flush()?;
            Ok(if report.is_acceptable() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// The violations of a report as `check --json` prints them.
fn violations_json(report: &CheckReport) -> Vec<serde_json::Value> {
    report
        .violations
        .iter()
        .map(|v| {
            serde_json::json!({
                "index": v.index,
                "path": v.path,
                "rule": v.id(),
                "message": v.message,
            })
        })
        .collect()
}

fn print_check_json(out: &mut impl Write, report: &CheckReport) -> io::Result<()> {
    let actions: Vec<_> = report
        .actions
        .iter()
        .map(|(index, path, action)| {
            serde_json::json!({
                "index": index,
                "path": path,
                "verdict": verdict_id(None, action),
                "copy_of": copy_of(action),
                "rule": skip_rule(action).map(Rule::id),
                "reason": skip_rule(action).map(ToString::to_string),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "acceptable": report.is_acceptable(),
        "entries": report.entries,
        "violations": violations_json(report),
        "omitted_violations": report.omitted,
        "actions": actions,
        "omitted_actions": report.actions_omitted,
    });
    write_json(out, &doc)?;
    writeln!(out)
}

/// Writes `value` as JSON with every character outside ASCII's printable
/// range that a terminal could act on escaped: serde_json escapes only
/// U+0000..U+001F, but the C1 controls U+0080..U+009F (CSI among them) and
/// the line and paragraph separators U+2028 and U+2029 are as unsafe on a
/// terminal and in JavaScript. Outside strings JSON is plain ASCII, so
/// replacing them anywhere in the text is exact.
fn write_json(out: &mut impl Write, value: &serde_json::Value) -> io::Result<()> {
    let text = serde_json::to_string(value)?;
    out.write_all(escape_json_text(&text).as_bytes())
}

fn escape_json_text(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| matches!(c, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}');
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            escaped.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            escaped.push(c);
        }
    }
    std::borrow::Cow::Owned(escaped)
}

fn open_input(path: &Path, options: &Options) -> anyhow::Result<Box<dyn Read + Send>> {
    Ok(open_input_sized(path, options)?.0)
}

/// The archive, and its size when it is a regular file. Reads from a pipe,
/// a FIFO or a terminal wait at most until the deadline and the stall
/// timeout, so that an input nobody writes to ends the run.
fn open_input_sized(path: &Path, options: &Options) -> anyhow::Result<(Box<dyn Read + Send>, Option<u64>)> {
    let file = if path.as_os_str() == "-" {
        stdin_file().context("reading standard input")?
    } else {
        File::open(path).with_context(|| format!("opening {}", escape_path(path)))?
    };
    let size = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    let deadline = Instant::now().checked_add(options.timeout);
    Ok((Box::new(TimedReader { file, deadline, stall: options.stall_timeout }), size))
}

/// Standard input as a file of its own, read without std's buffer (so that
/// polling its descriptor tells the truth).
#[cfg(unix)]
fn stdin_file() -> io::Result<File> {
    use std::os::fd::AsFd;
    Ok(File::from(io::stdin().as_fd().try_clone_to_owned()?))
}

#[cfg(windows)]
fn stdin_file() -> io::Result<File> {
    use std::os::windows::io::AsHandle;
    Ok(File::from(io::stdin().as_handle().try_clone_to_owned()?))
}

/// A reader that waits for data at most until a deadline, and at most
/// `stall` at a time.
struct TimedReader {
    file: File,
    deadline: Option<Instant>,
    stall: Duration,
}

impl Read for TimedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.wait()?;
        self.file.read(buf)
    }
}

impl TimedReader {
    /// How long the next wait may last, or the error if the deadline or
    /// the stall timeout (counted from `started`) has passed.
    fn time_left(&self, started: Instant) -> io::Result<Duration> {
        let now = Instant::now();
        let stall_left = self.stall.saturating_sub(now - started);
        let left = self.deadline.map_or(stall_left, |d| d.saturating_duration_since(now).min(stall_left));
        if !left.is_zero() {
            return Ok(left);
        }
        let what = if self.deadline.is_some_and(|d| now >= d) {
            "the input was not read before the deadline (--timeout)"
        } else {
            "the input stalled: no bytes arrived in time (--stall-timeout)"
        };
        Err(io::Error::new(io::ErrorKind::TimedOut, what))
    }

    #[cfg(unix)]
    fn wait(&self) -> io::Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let started = Instant::now();
        loop {
            let left = self.time_left(started)?;
            let mut fds = [PollFd::new(&self.file, PollFlags::IN)];
            let timeout = Timespec::try_from(left.min(Duration::from_secs(1))).ok();
            match poll(&mut fds, timeout.as_ref()) {
                Ok(0) => continue,
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Windows cannot wait on a pipe with a timeout (short of overlapped
    /// I/O, which an inherited standard input does not offer): a pipe is
    /// peeked at every few milliseconds until it holds bytes or its writer
    /// is gone (then `read` reports the end). Other handles (files,
    /// consoles) are read directly.
    #[cfg(windows)]
    fn wait(&self) -> io::Result<()> {
        use std::os::windows::io::AsRawHandle;
        type Handle = *mut core::ffi::c_void;
        #[link(name = "kernel32")]
        #[allow(unsafe_code)]
        unsafe extern "system" {
            fn GetFileType(file: Handle) -> u32;
            fn PeekNamedPipe(
                pipe: Handle,
                buffer: *mut core::ffi::c_void,
                size: u32,
                read: *mut u32,
                available: *mut u32,
                left_in_message: *mut u32,
            ) -> i32;
        }
        const FILE_TYPE_PIPE: u32 = 3;
        let handle = self.file.as_raw_handle();
        // SAFETY: `handle` is open for as long as `self.file` is.
        #[allow(unsafe_code)]
        let file_type = unsafe { GetFileType(handle) };
        if file_type != FILE_TYPE_PIPE {
            return Ok(());
        }
        let started = Instant::now();
        loop {
            let mut available = 0u32;
            // SAFETY: as above; the only out-pointer is a live local, the
            // others are null, which the call allows.
            #[allow(unsafe_code)]
            let ok = unsafe {
                PeekNamedPipe(
                    handle,
                    std::ptr::null_mut(),
                    0,
                    std::ptr::null_mut(),
                    &mut available,
                    std::ptr::null_mut(),
                )
            };
            if ok == 0 || available > 0 {
                return Ok(());
            }
            let left = self.time_left(started)?;
            std::thread::sleep(left.min(Duration::from_millis(10)));
        }
    }

    #[cfg(not(any(unix, windows)))]
    fn wait(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Archives smaller than this finish before a progress bar would be read.
const PROGRESS_MIN_BYTES: u64 = 16 << 20;

/// A progress bar on standard error for long extractions, measured in input
/// bytes read: drawn only when standard error is a terminal (indicatif hides
/// it otherwise) and the archive is large or of unknown size.
fn progress_bar(size: Option<u64>) -> ProgressBar {
    if size.is_some_and(|s| s < PROGRESS_MIN_BYTES) || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr_with_hz(8));
    let template = match size {
        Some(_) => "{spinner} extracting [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        None => "{spinner} extracting {bytes} read ({bytes_per_sec})",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Moves the progress bar as the library reads the archive.
struct Bar<'a>(&'a ProgressBar);

impl sealtar::Observer for Bar<'_> {
    fn progress(&mut self, progress: &sealtar::Progress) {
        self.0.set_position(progress.input_bytes);
    }
}

/// The one place the CLI turns a path into a capability (ambient authority).
fn open_destination(dir: &Path) -> anyhow::Result<(Dir, bool)> {
    let shown = escape_path(dir);
    let created = match std::fs::create_dir(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e).with_context(|| format!("creating {shown}")),
    };
    let dest = Dir::open_ambient_dir(dir, ambient_authority()).with_context(|| format!("opening {shown}"))?;
    Ok((dest, created))
}

/// Skipped links and special files on standard error: one summary line, or
/// one line each with `-v` (copies too).
fn print_skipped_and_copied(report: &Report, verbose: bool) -> io::Result<()> {
    let mut err = io::stderr().lock();
    if verbose {
        for s in &report.skipped {
            let target = s.link_target.as_ref().map(|t| format!(" -> \"{t}\"")).unwrap_or_default();
            let reason = s.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
            writeln!(err, "sealtar: skipped {} \"{}\"{target}{reason}", s.kind, s.path)?;
        }
        for c in &report.copied {
            writeln!(err, "sealtar: wrote \"{}\" as a copy of \"{}\" (link entry {})", c.written, c.copy_of, c.index)?;
        }
        let (skipped, copied) = (report.omitted.skipped, report.omitted.copied);
        if skipped + copied > 0 {
            writeln!(err, "sealtar: {skipped} more skipped and {copied} more copied not listed (the report is full)")?;
        }
    } else if !report.skipped.is_empty() {
        let links = report.skipped.iter().filter(|s| matches!(s.kind, Kind::Symlink | Kind::Hardlink)).count();
        let special = report.skipped.len() - links;
        let more = match report.omitted.skipped {
            0 => String::new(),
            n => format!(" (and {n} more not counted by kind)"),
        };
        writeln!(err, "sealtar: skipped {links} link(s) and {special} special file(s){more}; -v lists them")?;
    }
    Ok(())
}

/// The verdict of an entry in `list` and `check`: its action, or `refused`.
fn verdict_id(refusal: Option<&Rule>, action: &Action) -> &'static str {
    match (refusal, action) {
        (Some(_), _) => "refused",
        (None, Action::Skip | Action::SkipLink { .. }) => "skip",
        (None, Action::Copy { .. }) => "copy",
        (None, Action::Excluded) => "excluded",
        (None, _) => "ok",
    }
}

fn copy_of(action: &Action) -> Option<&str> {
    match action {
        Action::Copy { of } => Some(of),
        _ => None,
    }
}

/// Why a link is skipped, for `--links copy`.
fn skip_rule(action: &Action) -> Option<&Rule> {
    match action {
        Action::SkipLink { rule } => Some(rule),
        _ => None,
    }
}

fn action_text(action: &Action) -> String {
    match action {
        Action::Copy { of } => format!("copy of \"{of}\""),
        Action::SkipLink { rule } => format!("skip: {rule}"),
        other => verdict_id(None, other).to_string(),
    }
}

/// Prints each entry as it is vetted; whether the archive is acceptable.
fn list_text(extractor: &Extractor, input: impl Read + Send, out: &mut impl Write) -> anyhow::Result<bool> {
    let mut acceptable = true;
    let mut written = Ok(());
    let error = extractor.list_each(input, |e| {
        acceptable &= e.refusal.is_none();
        if written.is_err() {
            return;
        }
        let verdict = match &e.refusal {
            None => action_text(&e.action),
            Some(rule) => format!("REFUSED: {rule} [rule {}]", rule.id()),
        };
        let link = e.link_target.as_ref().map(|t| format!(" -> {t}")).unwrap_or_default();
        written = writeln!(out, "{:<8} {:04o} {:>12}  {}{link}  [{verdict}]", e.kind, e.mode & 0o7777, e.size, e.path);
    })?;
    written?;
    if let Some(error) = &error {
        writeln!(out, "REFUSED: {error}")?;
    }
    Ok(acceptable && error.is_none())
}

/// Prints one JSON document, written entry by entry as they are vetted;
/// whether the archive is acceptable.
fn list_json(extractor: &Extractor, input: impl Read + Send, out: &mut impl Write) -> anyhow::Result<bool> {
    let mut acceptable = true;
    let mut written = out.write_all(b"{\"entries\":[");
    let mut first = true;
    let error = extractor.list_each(input, |e| {
        acceptable &= e.refusal.is_none();
        if written.is_err() {
            return;
        }
        let entry = serde_json::json!({
            "index": e.index,
            "path": e.path,
            "kind": e.kind.as_str(),
            "type_flag": char::from(e.type_flag).to_string(),
            "header_offset": e.header_offset,
            "size": e.size,
            "mode": e.mode,
            "mtime": e.mtime,
            "link_target": e.link_target,
            "verdict": verdict_id(e.refusal.as_ref(), &e.action),
            "copy_of": if e.refusal.is_none() { copy_of(&e.action) } else { None },
            "rule": e.refusal.as_ref().or(skip_rule(&e.action)).map(Rule::id),
            "reason": e.refusal.as_ref().or(skip_rule(&e.action)).map(ToString::to_string),
        });
        written = (if first { Ok(()) } else { out.write_all(b",") }).and_then(|()| write_json(out, &entry));
        first = false;
    })?;
    written?;
    let acceptable = acceptable && error.is_none();
    out.write_all(b"],\"error\":")?;
    write_json(out, &serde_json::json!(error.as_ref().map(ToString::to_string)))?;
    write!(out, ",\"acceptable\":{acceptable}}}")?;
    writeln!(out)?;
    Ok(acceptable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_controls_and_separators_are_escaped_in_json() {
        let doc = serde_json::json!({ "k\u{85}": "a\u{9b}b\u{2028}c\u{80}\u{9f}\u{a0}é" });
        let mut out = Vec::new();
        write_json(&mut out, &doc).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "{\"k\\u0085\":\"a\\u009bb\\u2028c\\u0080\\u009f\u{a0}é\"}");
        assert!(!text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, doc);
    }
}
