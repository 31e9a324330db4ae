//! `sealtar list`: the vetted manifest, each entry printed as soon as it is
//! judged (under `--links copy`, the links last).

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sealtar::{Extractor, Options, Rule, escape_path};

use crate::input::open_input;
use crate::output::{action_text, copy_of, skip_rule, stdout, verdict_id, write_json};

/// `sealtar list ARCHIVE [MEMBER...] [--json]`.
pub(super) fn run(archive: &Path, options: Options, json: bool) -> anyhow::Result<ExitCode> {
    let extractor = Extractor::new(options.clone())?;
    let (input, _) = open_input(archive, &options).with_context(|| format!("opening {}", escape_path(archive)))?;
    let mut out = stdout();
    let acceptable =
        if json { list_json(&extractor, input, &mut out)? } else { list_text(&extractor, input, &mut out)? };
    let _ = out.flush();
    Ok(if acceptable { ExitCode::SUCCESS } else { ExitCode::from(1) })
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
            "message": e.message,
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
