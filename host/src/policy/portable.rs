//! Cross-OS portability rules ([`Options::portable`](crate::Options::portable)).
//!
//! A name that is harmless on Linux can be dangerous or ambiguous where the
//! tree is used next: Windows opens `CON` or `aux.txt` as devices, treats `\`
//! and `:` as separators and stream markers, and trims trailing dots and
//! spaces; Windows and macOS fold case, and macOS folds Unicode normalization,
//! so two distinct archive names can become one file. Portable mode refuses
//! all of these, so that an archive accepted on one system means the same
//! thing on every other.
//!
//! This module is the one home of the Windows naming rules: the portable
//! rules ([`component_problem`]) and the subset that the host refuses
//! whatever the options when it runs on Windows ([`native_problem`]), since
//! Windows itself would not store such a name as written.

use unicode_normalization::UnicodeNormalization;

/// Characters Windows does not allow in names (besides control characters).
const FORBIDDEN: &[char] = &['<', '>', ':', '"', '\\', '|', '?', '*'];

/// Device names Windows reserves in every directory, with any extension.
const RESERVED: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];

const BACKSLASH: &str = "'\\' is a path separator on Windows";
const COLON: &str = "':' marks a drive or an alternate data stream on Windows";
const TRAILING: &str = "ends with a dot or a space, which Windows trims";

/// Why a path component is not portable, if it is not.
pub(crate) fn component_problem(component: &str) -> Option<&'static str> {
    if let Some(c) = component.chars().find(|c| FORBIDDEN.contains(c)) {
        return Some(match c {
            '\\' => BACKSLASH,
            ':' => COLON,
            _ => "contains a character Windows does not allow (< > : \" \\ | ? *)",
        });
    }
    if component.chars().any(|c| c.is_control()) {
        return Some("contains a control character");
    }
    if component.ends_with('.') || component.ends_with(' ') {
        return Some(TRAILING);
    }
    if is_reserved_device(component) {
        return Some("is a reserved device name on Windows (CON, PRN, AUX, NUL, COM0-9, LPT0-9, CONIN$, CONOUT$)");
    }
    if component.chars().any(is_default_ignorable) {
        return Some(
            "contains an invisible character (Unicode Default_Ignorable_Code_Point) that makes it look like another name",
        );
    }
    if is_short_name_form(component) {
        return Some("has the form of a Windows 8.3 short name (BASE~N), which can alias another entry");
    }
    None
}

/// Why the operating system sealtar runs on would not store `component` as
/// written, whatever the options: on Windows, `\\` and `:` (separators and
/// stream markers) and a trailing dot or space (trimmed). `None` elsewhere.
pub(crate) fn native_problem(component: &str) -> Option<&'static str> {
    if !cfg!(windows) {
        return None;
    }
    if component.contains('\\') {
        Some(BACKSLASH)
    } else if component.contains(':') {
        Some(COLON)
    } else if component.ends_with('.') || component.ends_with(' ') {
        Some(TRAILING)
    } else {
        None
    }
}

/// Unicode's `Default_Ignorable_Code_Point` property (DerivedCoreProperties,
/// stable since Unicode 6): characters a renderer shows as nothing, so that
/// `a\u{200b}b` and `ab` look the same. Some file systems (HFS+) even drop
/// some of them.
pub(crate) fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00ad}'                     // soft hyphen
        | '\u{034f}'                   // combining grapheme joiner
        | '\u{061c}'                   // Arabic letter mark
        | '\u{115f}'..='\u{1160}'      // Hangul choseong/jungseong fillers
        | '\u{17b4}'..='\u{17b5}'      // Khmer inherent vowels
        | '\u{180b}'..='\u{180f}'      // Mongolian variation selectors and vowel separator
        | '\u{200b}'..='\u{200f}'      // zero-width space, joiners, LRM, RLM
        | '\u{202a}'..='\u{202e}'      // bidi embeddings and overrides
        | '\u{2060}'..='\u{206f}'      // word joiner, invisible operators, bidi isolates
        | '\u{3164}'                   // Hangul filler
        | '\u{fe00}'..='\u{fe0f}'      // variation selectors
        | '\u{feff}'                   // zero-width no-break space
        | '\u{ffa0}'                   // halfwidth Hangul filler
        | '\u{fff0}'..='\u{fff8}'      // unassigned specials
        | '\u{1bca0}'..='\u{1bca3}'    // shorthand format controls
        | '\u{1d173}'..='\u{1d17a}'    // musical symbol formatting
        | '\u{e0000}'..='\u{e0fff}'    // tags and variation selectors supplement
    )
}

/// `GIT~1`, `PROGRA~1`, `name~1.txt`: the part before the first dot ends
/// in a tilde and digits. Windows gives long names such short aliases
/// (`.git` can be reached as `GIT~1`), so an entry of that form may write
/// into another entry, or into a directory the archive may not touch.
fn is_short_name_form(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or("");
    match stem.rsplit_once('~') {
        Some((_, digits)) => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// `CON`, `con.txt`, `Com1.tar.gz`, `LPT¹`, `conin$`: the part before the
/// first dot, without trailing spaces, compared in any case.
fn is_reserved_device(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or("").trim_end_matches(' ');
    let upper = stem.to_uppercase();
    if RESERVED.contains(&upper.as_str()) {
        return true;
    }
    let mut chars = upper.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let digit = chars.next();
    (prefix == "COM" || prefix == "LPT")
        && chars.next().is_none()
        && digit.is_some_and(|d| d.is_ascii_digit() || matches!(d, '¹' | '²' | '³'))
}

/// The key under which two names are the same file on a case-insensitive,
/// normalization-insensitive file system: decomposed, then case-folded
/// (upper then lower case covers the full foldings such as `ß`/`SS` and
/// the Kelvin sign).
pub(crate) fn fold(path: &str) -> String {
    let decomposed: String = path.nfd().collect();
    decomposed.to_uppercase().to_lowercase().nfd().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_device_names_in_any_case_and_extension() {
        for name in ["CON", "con", "Con.txt", "aux.tar.gz", "NUL", "prn.", "COM1", "com9.log", "LPT0", "lpt¹", "COM³.x"]
        {
            assert!(component_problem(name).is_some(), "{name}");
        }
        for name in ["CONIN$", "conout$.txt", "con .txt"] {
            assert!(component_problem(name).is_some(), "{name}");
        }
        for name in ["console", "com10", "lpt", "auxiliary.txt", "nul1", "mycon", "com"] {
            assert_eq!(component_problem(name), None, "{name}");
        }
    }

    #[test]
    fn forbidden_characters() {
        for name in ["a<b", "a>b", "c:", "a\"b", "a\\b", "a|b", "a?b", "a*b", "tab\tname", "bell\u{7}"] {
            assert!(component_problem(name).is_some(), "{name:?}");
        }
    }

    #[test]
    fn native_rules_are_the_windows_subset_of_the_portable_ones() {
        for name in ["a\\b", "c:", "x.", "x ", "CON", "a<b", "ok"] {
            if let Some(why) = native_problem(name) {
                assert_eq!(component_problem(name), Some(why), "{name}");
            }
            let expected = cfg!(windows) && ["a\\b", "c:", "x.", "x "].contains(&name);
            assert_eq!(native_problem(name).is_some(), expected, "{name}");
        }
    }

    #[test]
    fn trailing_dots_and_spaces() {
        assert!(component_problem("name.").is_some());
        assert!(component_problem("name ").is_some());
        assert_eq!(component_problem(".hidden"), None);
        assert_eq!(component_problem("name.txt"), None);
    }

    #[test]
    fn invisible_characters() {
        for name in [
            "a\u{200b}b",
            "\u{200d}x",
            "x\u{2060}",
            "bom\u{feff}",
            "soft\u{ad}hyphen",
            "vs\u{fe0f}",
            "vs\u{e0100}",
            "tag\u{e0041}",
            "cgj\u{34f}",
            "fill\u{3164}",
            "rlm\u{200f}",
        ] {
            assert!(component_problem(name).is_some(), "{name:?}");
        }
        // Visible combining marks and ordinary non-ASCII letters are fine.
        for name in ["cafe\u{301}", "日本語", "emoji\u{1f600}", "nbsp\u{a0}x"] {
            assert_eq!(component_problem(name), None, "{name:?}");
        }
    }

    #[test]
    fn windows_short_name_forms() {
        for name in ["GIT~1", "git~1", "PROGRA~1", "name~1.txt", "A~12.B", "~1", "x~0"] {
            assert!(component_problem(name).is_some(), "{name}");
        }
        for name in ["~", "a~", "a~b", "a~1b", "backup~", "~user", "a.b~1", "x~1a.txt"] {
            assert_eq!(component_problem(name), None, "{name}");
        }
    }

    #[test]
    fn case_and_normalization_folding() {
        assert_eq!(fold("README.md"), fold("readme.MD"));
        assert_eq!(fold("caf\u{e9}"), fold("cafe\u{301}"));
        assert_eq!(fold("Stra\u{df}e"), fold("STRASSE"));
        assert_eq!(fold("\u{212a}elvin"), fold("kelvin"));
        assert_ne!(fold("a"), fold("b"));
    }

    #[test]
    fn ordinary_source_names_are_portable() {
        for name in
            ["src", "main.rs", "Cargo.toml", ".gitignore", "a-b_c+d=e,f;g'h", "日本語.txt", "%20", "LICENSE-MIT"]
        {
            assert_eq!(component_problem(name), None, "{name}");
        }
    }
}
