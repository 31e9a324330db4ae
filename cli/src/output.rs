//! What the commands print, and how: results on standard output, notes on
//! standard error, JSON with every terminal-active character escaped.
//!
//! The exit status follows the result, never the health of a stream: a
//! write that fails (a full disk, a closed descriptor) is dropped, and the
//! command goes on to its verdict. Output into a closed pipe still ends the
//! process as it ends `cat` (SIGPIPE, restored in `main`).

use std::io::{self, Write};

use sealtar::{Action, CheckReport, Rule};

/// A stream whose failures never change the outcome: after its first
/// failed write, every later write is dropped.
pub(crate) struct Lenient<W: Write> {
    inner: W,
    failed: bool,
}

impl<W: Write> Lenient<W> {
    pub(crate) fn new(inner: W) -> Lenient<W> {
        Lenient { inner, failed: false }
    }
}

impl<W: Write> Write for Lenient<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.failed {
            match self.inner.write(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
                Err(_) => self.failed = true,
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.failed && self.inner.flush().is_err() {
            self.failed = true;
        }
        Ok(())
    }
}

/// Standard output, buffered, never failing.
pub(crate) fn stdout() -> Lenient<io::BufWriter<io::StdoutLock<'static>>> {
    Lenient::new(io::BufWriter::new(io::stdout().lock()))
}

/// Writes one line to standard error; a failure is ignored (`eprintln!`
/// would panic).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
pub(crate) use note;

/// Writes `value` as JSON with every character outside ASCII's printable
/// range that a terminal could act on escaped: serde_json escapes only
/// U+0000..U+001F, but the C1 controls U+0080..U+009F (CSI among them) and
/// the line and paragraph separators U+2028 and U+2029 are as unsafe on a
/// terminal and in JavaScript. Outside strings JSON is plain ASCII, so
/// replacing them anywhere in the text is exact.
pub(crate) fn write_json(out: &mut impl Write, value: &serde_json::Value) -> io::Result<()> {
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

/// The verdict of an entry in `list` and `check`: its action, or `refused`.
pub(crate) fn verdict_id(refusal: Option<&Rule>, action: &Action) -> &'static str {
    match (refusal, action) {
        (Some(_), _) => "refused",
        (None, Action::Skip | Action::SkipLink { .. }) => "skip",
        (None, Action::Copy { .. }) => "copy",
        (None, Action::Excluded) => "excluded",
        (None, _) => "ok",
    }
}

/// What a link is a copy of, for `--links copy`.
pub(crate) fn copy_of(action: &Action) -> Option<&str> {
    match action {
        Action::Copy { of } => Some(of),
        _ => None,
    }
}

/// Why a link is skipped, for `--links copy`.
pub(crate) fn skip_rule(action: &Action) -> Option<&Rule> {
    match action {
        Action::SkipLink { rule } => Some(rule),
        _ => None,
    }
}

/// An action in words, as `list` and `check` print it.
pub(crate) fn action_text(action: &Action) -> String {
    match action {
        Action::Copy { of } => format!("copy of \"{of}\""),
        Action::SkipLink { rule } => format!("skip: {rule}"),
        other => verdict_id(None, other).to_string(),
    }
}

/// The violations of a report as `check --json` prints them.
pub(crate) fn violations_json(report: &CheckReport) -> Vec<serde_json::Value> {
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

    /// A writer that fails every time.
    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("no space left"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::other("no space left"))
        }
    }

    #[test]
    fn a_failing_stream_is_dropped_not_reported() {
        let mut out = Lenient::new(Full);
        assert!(writeln!(out, "lost").is_ok());
        assert!(out.flush().is_ok());
        assert!(out.failed);
        let mut kept = Lenient::new(Vec::new());
        writeln!(kept, "kept").unwrap();
        assert_eq!(kept.inner, b"kept\n");
    }
}
