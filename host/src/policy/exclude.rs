//! `--exclude` patterns with GNU tar's meaning (1.34, its defaults).
//!
//! GNU tar matches a pattern against the member's name as the archive spells
//! it (`./docs/a.txt`), trailing slashes removed, with `fnmatch` and
//! `FNM_LEADING_DIR`: `*`, `?` and `[...]` as in the shell, except that
//! `*`, `?` and brackets match `/` too; a backslash quotes the next
//! character; there are no braces. The pattern may match the whole name, or
//! a leading part of it that ends before a `/` (a directory and everything
//! under it). Unanchored: it may also start right after any `/` that is not
//! followed by another `/`. So `docs` leaves out `./pkg/docs/a.txt`,
//! `./docs` leaves out `./docs/a.txt`, `docs/` leaves out nothing (no name
//! ends in a slash once trailing slashes are removed), and `x{a,b}` only a
//! member literally named `x{a,b}`. A pattern that is not a well-formed
//! glob (an unclosed `[`) matches its characters literally, as `fnmatch`
//! does; every pattern is valid.

/// One compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(Vec<char>);

impl Pattern {
    pub(crate) fn new(pattern: &str) -> Pattern {
        Pattern(pattern.chars().collect())
    }

    /// Whether the pattern leaves out the member named `raw` (the name as
    /// the archive spells it).
    pub(crate) fn excludes(&self, raw: &str) -> bool {
        let name: Vec<char> = raw.trim_end_matches('/').chars().collect();
        if matches(&self.0, &name) {
            return true;
        }
        (0..name.len()).any(|i| name[i] == '/' && name.get(i + 1) != Some(&'/') && matches(&self.0, &name[i + 1..]))
    }
}

/// `fnmatch(pattern, name, FNM_LEADING_DIR)`: the pattern matches all of
/// `name` or a part of it that is followed by `/`.
fn matches(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut s) = (0, 0);
    // After the last `*`: where the pattern resumes, and where in `name`
    // the star's match ends so far. Only the last star needs retrying:
    // whatever an earlier one matched, the last can take up the rest.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let step = if p == pattern.len() {
            if s == name.len() || name[s] == '/' {
                return true;
            }
            None
        } else {
            match pattern[p] {
                '*' => {
                    star = Some((p + 1, s));
                    p += 1;
                    continue;
                }
                '?' => (s < name.len()).then_some(p + 1),
                '[' => match bracket(pattern, p) {
                    Some(set) => name.get(s).is_some_and(|&c| set.contains(pattern, c)).then_some(set.end),
                    None => (name.get(s) == Some(&'[')).then_some(p + 1),
                },
                // A trailing backslash matches nothing, as in `fnmatch`.
                '\\' => match pattern.get(p + 1) {
                    Some(&c) => (name.get(s) == Some(&c)).then_some(p + 2),
                    None => return false,
                },
                c => (name.get(s) == Some(&c)).then_some(p + 1),
            }
        };
        match step {
            Some(next) => {
                p = next;
                s += 1;
            }
            None => match star {
                Some((after, end)) if end < name.len() => {
                    star = Some((after, end + 1));
                    p = after;
                    s = end + 1;
                }
                _ => return false,
            },
        }
    }
}

/// A bracket expression: `pattern[start]` is its `[`.
struct Bracket {
    /// Its items: `pattern[first..close]`.
    first: usize,
    close: usize,
    negated: bool,
    /// The pattern index after its `]`.
    end: usize,
}

/// Parses the bracket expression at `start`, or `None` if it has no
/// closing `]` (then the `[` is an ordinary character).
fn bracket(pattern: &[char], start: usize) -> Option<Bracket> {
    let mut i = start + 1;
    let negated = matches!(pattern.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let first = i;
    // A `]` right after the opening (and negation) is a member.
    if pattern.get(i) == Some(&']') {
        i += 1;
    }
    loop {
        match pattern.get(i)? {
            ']' => return Some(Bracket { first, close: i, negated, end: i + 1 }),
            '[' if pattern.get(i + 1) == Some(&':') => {
                let names_end =
                    (i + 2..pattern.len().saturating_sub(1)).find(|&j| pattern[j] == ':' && pattern[j + 1] == ']');
                i = match names_end {
                    Some(j) => j + 2,
                    None => i + 1,
                };
            }
            '\\' => i += 2,
            _ => i += 1,
        }
    }
}

impl Bracket {
    fn contains(&self, pattern: &[char], c: char) -> bool {
        let mut i = self.first;
        let mut found = false;
        while i < self.close {
            let (low, next) = match pattern[i] {
                '[' if pattern.get(i + 1) == Some(&':') => {
                    if let Some(j) =
                        (i + 2..self.close).find(|&j| pattern[j] == ':' && pattern.get(j + 1) == Some(&']'))
                    {
                        let class: String = pattern[i + 2..j].iter().collect();
                        found |= in_class(&class, c);
                        i = j + 2;
                        continue;
                    }
                    ('[', i + 1)
                }
                '\\' if i + 1 < self.close => (pattern[i + 1], i + 2),
                other => (other, i + 1),
            };
            // A range `low-high`, unless the `-` is the last item.
            if pattern.get(next) == Some(&'-') && next + 1 < self.close {
                let (high, after) = match pattern[next + 1] {
                    '\\' if next + 2 < self.close => (pattern[next + 2], next + 3),
                    high => (high, next + 2),
                };
                found |= low <= c && c <= high;
                i = after;
            } else {
                found |= low == c;
                i = next;
            }
        }
        found != self.negated
    }
}

/// The POSIX character classes, for ASCII (what GNU tar matches in the C
/// locale); an unknown class matches nothing.
fn in_class(class: &str, c: char) -> bool {
    match class {
        "alnum" => c.is_ascii_alphanumeric(),
        "alpha" => c.is_ascii_alphabetic(),
        "blank" => c == ' ' || c == '\t',
        "cntrl" => c.is_ascii_control(),
        "digit" => c.is_ascii_digit(),
        "graph" => c.is_ascii_graphic(),
        "lower" => c.is_ascii_lowercase(),
        "print" => c.is_ascii_graphic() || c == ' ',
        "punct" => c.is_ascii_punctuation(),
        "space" => c.is_ascii_whitespace() || c == '\x0b',
        "upper" => c.is_ascii_uppercase(),
        "xdigit" => c.is_ascii_hexdigit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excludes(pattern: &str, name: &str) -> bool {
        Pattern::new(pattern).excludes(name)
    }

    /// The cases of the issue, each seen in GNU tar 1.34 (the differential
    /// test `tests/tests/it/exclude.rs` runs GNU tar itself on a table).
    #[test]
    fn gnu_tar_meanings() {
        assert!(excludes("./docs", "./docs/a.txt"));
        assert!(excludes("./docs", "./docs/"));
        assert!(excludes("./*.rs", "./main.rs"));
        assert!(!excludes("docs/", "./docs/a.txt") && !excludes("docs/", "./docs/"));
        assert!(!excludes("x{a,b}", "./xa") && excludes("x{a,b}", "./x{a,b}"));
        assert!(excludes("docs", "./pkg/docs/sub/b.txt"));
        assert!(!excludes("ocs", "./docs/a.txt"));
        assert!(excludes(".", "./anything") && excludes("*", "./x"));
        assert!(!excludes("./", "./x"));
    }

    #[test]
    fn repeated_slashes_are_not_normalized() {
        assert!(!excludes("a/b", "a//b"));
        assert!(excludes("a//b", "a//b") && excludes("b", "a//b") && excludes("a?/b", "a//b"));
        assert!(excludes("d", "./c//d/e") && excludes("x/y", "x/y/"));
    }

    #[test]
    fn wildcards_brackets_and_escapes() {
        assert!(excludes("doc?", "docs/x") && excludes("[d]ocs", "docs") && excludes("[!a]ocs", "docs"));
        assert!(!excludes("[!d]ocs", "docs") && excludes("[^e]ocs", "docs"));
        assert!(excludes("[a-e]x", "cx") && !excludes("[a-e]x", "fx") && excludes("[]]", "]"));
        assert!(excludes("[[:digit:]]x", "7x") && !excludes("[[:digit:]]x", "ax"));
        assert!(excludes("a[", "a[") && !excludes("a[", "ab"), "an unclosed bracket is literal");
        assert!(excludes("\\*", "*") && !excludes("\\*", "x") && !excludes("x\\", "x\\"));
        assert!(excludes("*.txt", "a/b/c.txt") && excludes("a*", "a/b") && !excludes("a*c", "ab"));
        assert!(excludes("[a-]", "-") && excludes("a[/]x", "a/x") && !excludes("[/]x", "a/x"));
    }

    #[test]
    fn a_star_takes_slashes_and_leading_directories_match() {
        assert!(excludes("a*b", "axb/yb") && excludes("a*b", "a/q/b/z"));
        assert!(!excludes("a*b", "a") && excludes("a**b", "ab") && excludes("*/b", "a//b"));
    }
}
