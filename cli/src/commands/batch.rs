//! `sealtar check --batch`: many archives, one JSON line each, checked in
//! parallel by one shared sandbox.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use sealtar::{CheckReport, Extractor, Options, escape_path};

use super::{check, parallel};
use crate::input::open_input;
use crate::output::{Lenient, note, violations_json, write_json};

/// The JSON line of one batch result.
fn batch_line(path: &OsString, result: &Result<CheckReport, String>) -> serde_json::Value {
    let path = escape_path(std::path::Path::new(path));
    match result {
        Ok(report) => serde_json::json!({
            "path": path,
            "acceptable": report.is_acceptable(),
            "entries": report.entries,
            "violations": violations_json(report),
        }),
        Err(error) => serde_json::json!({
            "path": path,
            "acceptable": false,
            "violations": [],
            "error": error,
        }),
    }
}

/// Checks one archive of a batch; every failure is a result. The archive
/// is opened without blocking and read under its own deadline and stall
/// timeout, as `check` reads one: a FIFO, a stalled or a broken path is one
/// result with an error, and the batch goes on.
fn check_one(extractor: &Extractor, options: &Options, path: &OsString, krate: bool) -> Result<CheckReport, String> {
    let path = Path::new(path);
    let (input, size) = open_input(path, options).map_err(|e| format!("opening: {e}"))?;
    let rules = check::crate_rules(path, krate, None, size)?;
    extractor.check(io::BufReader::with_capacity(256 << 10, input), rules.as_ref()).map_err(|e| e.to_string())
}

/// `sealtar check [--crate] --batch [FILE|-]`.
pub(super) fn run(list: &Path, options: Options, krate: bool, jobs: usize) -> anyhow::Result<ExitCode> {
    let extractor = Extractor::new(options.clone())?;
    let started = Instant::now();
    let reader: Box<dyn BufRead> = if list.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(io::BufReader::new(File::open(list).with_context(|| format!("opening {}", escape_path(list)))?))
    };
    let mut paths = Vec::new();
    for line in reader.split(b'\n') {
        let mut line = line.context("reading the list of archives")?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if !line.is_empty() {
            paths.push(bytes_to_os(line)?);
        }
    }
    let (mut acceptable, mut refused, mut unreadable) = (0u64, 0u64, 0u64);
    // Each line is flushed as soon as it is made; a failing standard
    // output loses lines, never the verdict.
    let mut out = Lenient::new(io::stdout());
    parallel(
        &paths,
        jobs,
        |path| check_one(&extractor, &options, path, krate),
        |path, result| {
            match &result {
                Ok(report) if report.is_acceptable() => acceptable += 1,
                Ok(_) => refused += 1,
                Err(_) => unreadable += 1,
            }
            let line = batch_line(path, &result);
            let _ = write_json(&mut out, &line).and_then(|()| writeln!(out)).and_then(|()| out.flush());
        },
    );
    let seconds = started.elapsed().as_secs_f64();
    let total = paths.len() as f64;
    note!(
        "sealtar: checked {} archive(s) in {seconds:.2} s ({:.0}/s on {jobs} thread(s)): {acceptable} acceptable, \
         {refused} not acceptable, {unreadable} could not be read",
        paths.len(),
        if seconds > 0.0 { total / seconds } else { 0.0 }
    );
    Ok(if refused > 0 || unreadable > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

#[cfg(unix)]
fn bytes_to_os(bytes: Vec<u8>) -> anyhow::Result<OsString> {
    use std::os::unix::ffi::OsStringExt;
    Ok(OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn bytes_to_os(bytes: Vec<u8>) -> anyhow::Result<OsString> {
    String::from_utf8(bytes).map(OsString::from).context("a path in the list is not UTF-8")
}
