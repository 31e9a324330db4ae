//! Printing names from an archive without letting them talk to the terminal.
//!
//! A member name is attacker-chosen bytes. Printed raw, an escape sequence in
//! it can rewrite the screen, and a bidirectional override can make one name
//! look like another. Every name sealtar prints goes through [`escape`].

use std::fmt::Write;

/// Escapes `bytes` for display: printable text is kept, a backslash becomes
/// `\\`, control and invisible formatting characters become `\u{..}` (or `\n`,
/// `\t`, `\r`), and bytes that are not UTF-8 become `\xNN`. The result is
/// unambiguous: different inputs give different outputs.
///
/// ```
/// assert_eq!(sealtar::escape(b"plain/name.txt"), "plain/name.txt");
/// assert_eq!(sealtar::escape(b"a\x1b[2Jb"), "a\\u{1b}[2Jb");
/// assert_eq!(sealtar::escape(b"back\\slash"), "back\\\\slash");
/// assert_eq!(sealtar::escape(b"bad\xff"), "bad\\xff");
/// ```
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                push_shown(&mut out, c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// How much of a name errors and violations quote: 1024 bytes. A name can
/// be a megabyte long; quoting it whole in every message of a report would
/// let one archive fill memory with copies of it.
pub(crate) const SHOWN_NAME_BYTES: usize = 1024;

/// [`escape`]s at most the first `max` bytes of `bytes` and marks a cut
/// with `…`. A multi-byte character split by the cut is left out whole.
pub(crate) fn escape_truncated(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return escape(bytes);
    }
    let mut head = &bytes[..max];
    if let Err(e) = std::str::from_utf8(head)
        && e.error_len().is_none()
    {
        head = &head[..e.valid_up_to()];
    }
    let mut out = escape(head);
    out.push('…');
    out
}

/// Makes a message from the sandboxed parser safe to print without escaping
/// it a second time: control and invisible characters become `\u{..}` (or
/// `\n`, `\t`, `\r`) as in [`escape`], but backslashes are kept, because
/// the parser already escaped the names it quotes (`a\\b` for `a\b`).
/// Doubling them again would print `a\\\\b`. A compromised parser could make
/// its text ambiguous this way, never reach the terminal raw.
pub(crate) fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_shown(&mut out, c);
    }
    out
}

/// Pushes `c` as [`escape`] and [`escape_text`] show it: `\n`, `\t`, `\r`,
/// `\u{..}` for other control and invisible characters, else `c` itself.
/// (Backslashes are the callers' business.)
fn push_shown(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Escapes a path on this machine's disk for display, like [`escape`], except
/// that on Windows its `\\` separators are shown as they are (there they
/// cannot be part of a name), so `C:\\out` is not printed as `C:\\\\out`.
pub fn escape_path(path: &std::path::Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    if cfg!(windows) { bytes.split(|&b| b == b'\\').map(escape).collect::<Vec<_>>().join("\\") } else { escape(bytes) }
}

/// Control characters, and the invisible ones that reorder or hide text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}'                  // soft hyphen
            | '\u{061c}'                // Arabic letter mark
            | '\u{180e}'                // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}'   // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}'   // line/paragraph separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{206f}'   // word joiner, invisible operators, bidi isolates
            | '\u{feff}'                // zero-width no-break space
            | '\u{fff9}'..='\u{fffb}'   // interlinear annotation
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_unchanged() {
        assert_eq!(escape(b"src/main.rs"), "src/main.rs");
        assert_eq!(escape("café/naïve.txt".as_bytes()), "café/naïve.txt");
        assert_eq!(escape(b"with space"), "with space");
    }

    #[test]
    fn control_bytes_never_survive() {
        let e = escape(b"evil\x1b[2J\x07name\n");
        assert_eq!(e, "evil\\u{1b}[2J\\u{7}name\\n");
        assert!(!e.chars().any(char::is_control));
    }

    #[test]
    fn bidi_overrides_are_escaped() {
        assert_eq!(escape("a\u{202e}txt.exe".as_bytes()), "a\\u{202e}txt.exe");
        assert_eq!(escape("x\u{2066}y".as_bytes()), "x\\u{2066}y");
    }

    #[test]
    fn long_names_are_cut_and_marked() {
        assert_eq!(escape_truncated(b"abcdef", 6), "abcdef");
        assert_eq!(escape_truncated(b"abcdef", 3), "abc…");
        // The cut falls inside "é" (two bytes): the whole character goes.
        assert_eq!(escape_truncated("abé".as_bytes(), 3), "ab…");
        assert_eq!(escape_truncated(b"a\xff\x1bzz", 3), "a\\xff\\u{1b}…");
        let huge = vec![b'n'; 1 << 20];
        assert_eq!(escape_truncated(&huge, SHOWN_NAME_BYTES).len(), SHOWN_NAME_BYTES + '…'.len_utf8());
    }

    #[test]
    fn invalid_utf8_is_hex() {
        assert_eq!(escape(b"caf\xe9"), "caf\\xe9");
    }

    #[test]
    fn parser_text_keeps_its_escapes_and_loses_its_controls() {
        assert_eq!(escape_text(r#"entry 0 "a\\b": mode field "9\x00""#), r#"entry 0 "a\\b": mode field "9\x00""#);
        assert_eq!(escape_text("x\u{1b}[2J\u{202e}y\n"), "x\\u{1b}[2J\\u{202e}y\\n");
        assert!(!escape_text("\u{7}\u{2066}").chars().any(|c| c.is_control() || needs_escape(c)));
    }

    #[test]
    fn backslash_is_doubled_so_escapes_are_unambiguous() {
        assert_ne!(escape(b"\\x41"), escape(b"\x41"));
        assert_eq!(escape(b"a\\b"), "a\\\\b");
    }

    #[test]
    fn paths_on_disk_keep_their_separator() {
        #[cfg(windows)]
        assert_eq!(escape_path(std::path::Path::new("C:\\out\\a\nb")), "C:\\out\\a\\nb");
        #[cfg(unix)]
        assert_eq!(escape_path(std::path::Path::new("/out/a\\b\n")), "/out/a\\\\b\\n");
    }
}
