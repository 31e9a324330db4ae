//! `sealtar extract`: the archive into a directory, all or nothing.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sealtar::{Extractor, Kind, Options, Report, escape_path};

use crate::input::open_input;
use crate::output::note;

/// `sealtar extract ARCHIVE [MEMBER...] -C DIR`.
pub(super) fn run(archive: &Path, dir: &Path, options: Options, verbose: bool) -> anyhow::Result<ExitCode> {
    let extractor = Extractor::new(options.clone())?;
    let (input, size) = open_input(archive, &options).with_context(|| format!("opening {}", escape_path(archive)))?;
    let (dest, created) = open_destination(dir)?;
    let progress = progress_bar(size);
    let result = extractor.extract_observed(input, &dest, &mut Bar(&progress));
    progress.finish_and_clear();
    if result.is_err() && created {
        // It did not exist before: leave it not existing.
        drop(dest);
        let _ = std::fs::remove_dir(dir);
    }
    let report = result?;
    // Published: whatever happens to the summary, the run succeeded.
    print_skipped_and_copied(&report, verbose);
    if verbose {
        note!(
            "sealtar: extracted {} bytes in {} file(s) and {} directory(ies) into {}",
            report.bytes,
            report.files,
            report.directories,
            escape_path(dir)
        );
    }
    Ok(ExitCode::SUCCESS)
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
fn print_skipped_and_copied(report: &Report, verbose: bool) {
    if verbose {
        for s in &report.skipped {
            let target = s.link_target.as_ref().map(|t| format!(" -> \"{t}\"")).unwrap_or_default();
            let reason = s.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
            note!("sealtar: skipped {} \"{}\"{target}{reason}", s.kind, s.path);
        }
        for c in &report.copied {
            note!("sealtar: wrote \"{}\" as a copy of \"{}\" (link entry {})", c.written, c.copy_of, c.index);
        }
        let (skipped, copied) = (report.omitted.skipped, report.omitted.copied);
        if skipped + copied > 0 {
            note!("sealtar: {skipped} more skipped and {copied} more copied not listed (the report is full)");
        }
    } else if !report.skipped.is_empty() {
        let links = report.skipped.iter().filter(|s| matches!(s.kind, Kind::Symlink | Kind::Hardlink)).count();
        let special = report.skipped.len() - links;
        let more = match report.omitted.skipped {
            0 => String::new(),
            n => format!(" (and {n} more not counted by kind)"),
        };
        note!("sealtar: skipped {links} link(s) and {special} special file(s){more}; -v lists them");
    }
}
