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
pub fn component_problem(component: &str) -> Option<&'static str> {
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
    None
}

/// Why the operating system sealtar runs on would not store `component` as
/// written, whatever the options: on Windows, `\\` and `:` (separators and
/// stream markers) and a trailing dot or space (trimmed). `None` elsewhere.
pub fn native_problem(component: &str) -> Option<&'static str> {
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
pub fn fold(path: &str) -> String {
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
