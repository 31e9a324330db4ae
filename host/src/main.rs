//! The `sealtar` command: a thin layer over the library.
//!
//! Exit codes: 0 extracted (or acceptable), 1 the archive was refused, 2
//! usage or I/O error.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use clap::{Args, Parser, Subcommand};
use sealtar::{Error, Extractor, Manifest, Options, escape};

/// Extract untrusted tar and tar.gz archives: parsed inside a WebAssembly
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
    /// Only regular files and directories are written. Links, devices, path
    /// traversal, duplicate paths, malformed headers and anything that would
    /// replace existing content refuse the whole archive; the message names
    /// the entry and the rule.
    Extract {
        /// The archive (tar or tar.gz, detected from its contents); `-` reads standard input.
        archive: PathBuf,
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
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: Limits,
    },
}

#[derive(Args)]
struct Limits {
    /// Most bytes of file data in total (suffixes K, M, G, T: powers of 1024).
    /// Default: the larger of 1 GiB and 100 times the compressed size read so far.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    max_size: Option<u64>,
    /// Most entries in the archive.
    #[arg(long, value_name = "N", default_value_t = sealtar::DEFAULT_MAX_ENTRIES)]
    max_entries: u64,
}

impl Limits {
    fn options(&self) -> Options {
        let mut options = Options::default();
        options.max_size = self.max_size;
        options.max_entries = self.max_entries;
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
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let refused = e.downcast_ref::<Error>().is_some_and(Error::is_refusal);
            let label = if refused { "refused" } else { "error" };
            let _ = writeln!(io::stderr(), "sealtar: {label}: {e:#}");
            ExitCode::from(if refused { 1 } else { 2 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Extract { archive, dir, limits, verbose } => {
            let extractor = Extractor::new(limits.options())?;
            let input = open_input(&archive)?;
            let (dest, created) = open_destination(&dir)?;
            let result = extractor.extract(input, &dest);
            if result.is_err() && created {
                // It did not exist before: leave it not existing.
                drop(dest);
                let _ = std::fs::remove_dir(&dir);
            }
            let report = result?;
            if verbose {
                eprintln!(
                    "sealtar: extracted {} files, {} directories, {} bytes into {}",
                    report.files,
                    report.directories,
                    report.bytes,
                    escape(dir.as_os_str().as_encoded_bytes())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List { archive, json, limits } => {
            let extractor = Extractor::new(limits.options())?;
            let manifest = extractor.list(open_input(&archive)?)?;
            let mut out = io::stdout().lock();
            if json {
                print_json(&mut out, &manifest)?;
            } else {
                print_text(&mut out, &manifest)?;
            }
            out.flush()?;
            Ok(if manifest.is_acceptable() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

fn open_input(path: &Path) -> anyhow::Result<Box<dyn Read + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin()));
    }
    let file = File::open(path).with_context(|| format!("opening {}", escape(path.as_os_str().as_encoded_bytes())))?;
    Ok(Box::new(file))
}

/// The one place the CLI turns a path into a capability (ambient authority).
fn open_destination(dir: &Path) -> anyhow::Result<(Dir, bool)> {
    let shown = escape(dir.as_os_str().as_encoded_bytes());
    let created = match std::fs::create_dir(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e).with_context(|| format!("creating {shown}")),
    };
    let dest = Dir::open_ambient_dir(dir, ambient_authority()).with_context(|| format!("opening {shown}"))?;
    Ok((dest, created))
}

fn print_text(out: &mut impl Write, manifest: &Manifest) -> io::Result<()> {
    for e in &manifest.entries {
        let verdict = match &e.refusal {
            None => "ok".to_string(),
            Some(rule) => format!("REFUSED: {rule}"),
        };
        let link = e.link_target.as_ref().map(|t| format!(" -> {t}")).unwrap_or_default();
        writeln!(out, "{:<8} {:04o} {:>12}  {}{link}  [{verdict}]", e.kind, e.mode & 0o7777, e.size, e.path)?;
    }
    if let Some(error) = &manifest.error {
        writeln!(out, "REFUSED: {error}")?;
    }
    Ok(())
}

fn print_json(out: &mut impl Write, manifest: &Manifest) -> io::Result<()> {
    let entries: Vec<_> = manifest
        .entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "index": e.index,
                "path": e.path,
                "kind": e.kind.as_str(),
                "type_flag": (e.type_flag as char).to_string(),
                "header_offset": e.header_offset,
                "size": e.size,
                "mode": e.mode,
                "mtime": e.mtime,
                "link_target": e.link_target,
                "verdict": if e.refusal.is_some() { "refused" } else { "ok" },
                "reason": e.refusal.as_ref().map(ToString::to_string),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "acceptable": manifest.is_acceptable(),
        "entries": entries,
        "error": manifest.error.as_ref().map(ToString::to_string),
    });
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)
}
