//! `sealtar check`: every violation of one archive, and the Cargo registry
//! rules with `--crate`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use sealtar::{CheckReport, CrateRules, Extractor, Options, Rule, escape, escape_path};

use crate::input::open_input;
use crate::output::{action_text, copy_of, skip_rule, stdout, verdict_id, violations_json, write_json};

/// `sealtar check ARCHIVE [--json] [--crate] [--prefix NAME-VERSION]`.
pub(super) fn run(
    archive: Option<PathBuf>,
    options: Options,
    json: bool,
    krate: bool,
    prefix: Option<String>,
) -> anyhow::Result<ExitCode> {
    let archive = archive.context("no archive given")?;
    let extractor = Extractor::new(options.clone())?;
    let (input, size) = open_input(&archive, &options).with_context(|| format!("opening {}", escape_path(&archive)))?;
    let rules = crate_rules(&archive, krate, prefix, size).map_err(|why| anyhow::anyhow!(why))?;
    let report = extractor.check(input, rules.as_ref())?;
    let mut out = stdout();
    if json {
        let _ = print_check_json(&mut out, &report);
    } else {
        let _ = print_check_text(&mut out, &report);
    }
    let _ = out.flush();
    Ok(if report.is_acceptable() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The crate rules for `archive` (of `size` bytes, if known): with
/// `--prefix`, that directory; with `--crate`, the one its file name gives.
pub(super) fn crate_rules(
    archive: &Path,
    krate: bool,
    prefix: Option<String>,
    size: Option<u64>,
) -> Result<Option<CrateRules>, String> {
    match (prefix, krate) {
        (Some(prefix), _) => Ok(Some(CrateRules::new(prefix, size))),
        (None, true) => {
            let name = archive.file_name().and_then(|n| n.to_str()).unwrap_or("");
            CrateRules::from_file_name(name, size).map(Some).ok_or_else(|| {
                format!(
                    "--crate needs a file named <name>-<version>.crate, or --prefix (got {})",
                    escape(name.as_bytes())
                )
            })
        }
        (None, false) => Ok(None),
    }
}

fn print_check_text(out: &mut impl Write, report: &CheckReport) -> io::Result<()> {
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
    writeln!(out, "{} entries, {count} violations: {verdict}", report.entries)
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
