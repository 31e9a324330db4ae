//! `in-process [--rounds N] WORKDIR CRATE...`: sealtar as a library against
//! tar-rs in one process, on many small archives.
//!
//! This is the embedding case (a registry, a build tool): one
//! [`sealtar::Extractor`] built once, then every `.crate` extracted one after
//! another, each into a fresh directory under `WORKDIR`. The reference is
//! what Cargo does in process: `tar::Archive::new(GzDecoder::new(file))`
//! and `unpack(dir)` (tar-rs, flate2 with zlib-rs). Archives are read from
//! files each time, as both would in real use; the page cache holds them.
//!
//! Rounds are interleaved (sealtar, tar-rs, sealtar, ...) and alternate
//! which goes first; each round's total wall time is measured around the
//! loop over all archives, and the destination directories are removed
//! afterwards, untimed. The medians and their ratio are printed, and one
//! line of JSON for `bench/run.py`. Building the extractor (compiling the
//! guest, no cache) is timed separately and not part of the ratio.
//!
//! `--only sealtar` (or `--only tar-rs`) runs one side alone for the same
//! rounds and prints its median, for a profiler (`perf record`,
//! `valgrind --tool=callgrind`) to see nothing but that side.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use flate2::read::GzDecoder;
use sealtar::{Extractor, Options};

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut rounds = 5usize;
    let mut only = None;
    while args.len() > 1 {
        if args[0] == "--rounds" {
            match args[1].to_str().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => rounds = n,
                _ => return usage(),
            }
        } else if args[0] == "--only" {
            match args[1].to_str() {
                Some("sealtar") => only = Some(Side::Sealtar),
                Some("tar-rs") => only = Some(Side::TarRs),
                _ => return usage(),
            }
        } else {
            break;
        }
        args.drain(..2);
    }
    let Some((work, crates)) = args.split_first() else { return usage() };
    if crates.is_empty() {
        return usage();
    }
    let crates: Vec<PathBuf> = crates.iter().map(PathBuf::from).collect();
    let result = match only {
        None => run(Path::new(work), &crates, rounds),
        Some(side) => run_one(side, Path::new(work), &crates, rounds),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("in-process: {e}");
            ExitCode::from(1)
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: in-process [--rounds N] [--only sealtar|tar-rs] WORKDIR CRATE...");
    ExitCode::from(2)
}

#[derive(Clone, Copy)]
enum Side {
    Sealtar,
    TarRs,
}

/// One side alone, for a profiler: no check, no interleaving.
fn run_one(side: Side, work: &Path, crates: &[PathBuf], rounds: usize) -> io::Result<()> {
    std::fs::create_dir_all(work)?;
    let extractor = match side {
        Side::Sealtar => Some(Extractor::new(Options::new()).map_err(io::Error::other)?),
        Side::TarRs => None,
    };
    let mut times = Vec::new();
    for _ in 0..rounds {
        times.push(match &extractor {
            Some(extractor) => time_sealtar(extractor, work, crates)?,
            None => time_tar_rs(work, crates)?,
        });
    }
    let name = if extractor.is_some() { "sealtar" } else { "tar-rs" };
    println!("in-process: {name} alone, median of {rounds} rounds: {:.1} ms", ms(median(&mut times)));
    Ok(())
}

fn run(work: &Path, crates: &[PathBuf], rounds: usize) -> io::Result<()> {
    std::fs::create_dir_all(work)?;
    let setup = Instant::now();
    let extractor = Extractor::new(Options::new()).map_err(io::Error::other)?;
    let setup = setup.elapsed();

    // Untimed: both extract every archive, and write the same number of
    // files and bytes (tar-rs counted from the tree it wrote).
    let (files, bytes) = check(&extractor, work, crates)?;

    let mut sealtar = Vec::new();
    let mut tar_rs = Vec::new();
    for round in 0..rounds {
        if round % 2 == 0 {
            sealtar.push(time_sealtar(&extractor, work, crates)?);
            tar_rs.push(time_tar_rs(work, crates)?);
        } else {
            tar_rs.push(time_tar_rs(work, crates)?);
            sealtar.push(time_sealtar(&extractor, work, crates)?);
        }
        eprintln!(
            "in-process: round {}/{rounds}: sealtar {:.1} ms, tar-rs {:.1} ms",
            round + 1,
            ms(sealtar[round]),
            ms(tar_rs[round])
        );
    }
    let (s, t) = (median(&mut sealtar), median(&mut tar_rs));
    let ratio = s.as_secs_f64() / t.as_secs_f64();
    println!(
        "in-process: {} crates, {files} files, {bytes} bytes; one Extractor (built in {:.0} ms, untimed)",
        crates.len(),
        ms(setup)
    );
    println!(
        "in-process: median of {rounds} rounds: sealtar {:.1} ms, tar-rs unpack {:.1} ms, ratio {ratio:.2}",
        ms(s),
        ms(t)
    );
    println!(
        "{{\"in_process\": {{\"crates\": {}, \"files\": {files}, \"bytes\": {bytes}, \"rounds\": {rounds}, \
         \"sealtar_ms\": {:.2}, \"tar_rs_ms\": {:.2}, \"ratio\": {ratio:.3}, \"setup_ms\": {:.1}}}}}",
        crates.len(),
        ms(s),
        ms(t),
        ms(setup)
    );
    Ok(())
}

fn check(extractor: &Extractor, work: &Path, crates: &[PathBuf]) -> io::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    for (i, krate) in crates.iter().enumerate() {
        let dest = work.join(format!("check-sealtar-{i}"));
        let report = extractor.extract_to_path(File::open(krate)?, &dest).map_err(|e| named(krate, e))?;
        let native = work.join(format!("check-tar-rs-{i}"));
        unpack_tar_rs(krate, &native)?;
        let (f, b) = count(&native)?;
        if (f, b) != (report.files, report.bytes) {
            return Err(io::Error::other(format!(
                "{}: sealtar wrote {} files / {} bytes, tar-rs {f} / {b}",
                krate.display(),
                report.files,
                report.bytes
            )));
        }
        files += f;
        bytes += b;
        std::fs::remove_dir_all(&dest)?;
        std::fs::remove_dir_all(&native)?;
    }
    Ok((files, bytes))
}

fn time_sealtar(extractor: &Extractor, work: &Path, crates: &[PathBuf]) -> io::Result<Duration> {
    let dests: Vec<PathBuf> = (0..crates.len()).map(|i| work.join(format!("sealtar-{i}"))).collect();
    let start = Instant::now();
    for (krate, dest) in crates.iter().zip(&dests) {
        extractor.extract_to_path(File::open(krate)?, dest).map_err(|e| named(krate, e))?;
    }
    let elapsed = start.elapsed();
    remove_all(&dests)?;
    Ok(elapsed)
}

fn time_tar_rs(work: &Path, crates: &[PathBuf]) -> io::Result<Duration> {
    let dests: Vec<PathBuf> = (0..crates.len()).map(|i| work.join(format!("tar-rs-{i}"))).collect();
    let start = Instant::now();
    for (krate, dest) in crates.iter().zip(&dests) {
        unpack_tar_rs(krate, dest)?;
    }
    let elapsed = start.elapsed();
    remove_all(&dests)?;
    Ok(elapsed)
}

/// Cargo's way: a gzip decoder over the file, `Archive::unpack`.
fn unpack_tar_rs(krate: &Path, dest: &Path) -> io::Result<()> {
    std::fs::create_dir(dest)?;
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(File::open(krate)?)));
    archive.unpack(dest).map_err(|e| io::Error::other(format!("{}: tar-rs: {e}", krate.display())))
}

fn named(krate: &Path, e: sealtar::Error) -> io::Error {
    io::Error::other(format!("{}: sealtar: {e}", krate.display()))
}

/// Regular files and their bytes below `dir`.
fn count(dir: &Path) -> io::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let (f, b) = count(&entry.path())?;
            files += f;
            bytes += b;
        } else if kind.is_file() {
            files += 1;
            bytes += entry.metadata()?.len();
        }
    }
    Ok((files, bytes))
}

fn remove_all(dirs: &[PathBuf]) -> io::Result<()> {
    dirs.iter().try_for_each(std::fs::remove_dir_all)
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
