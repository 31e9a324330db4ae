//! The grammar's own rules: header shapes that two mature readers (GNU tar
//! 1.34, Python's tarfile) read differently. sealtar's rule is that such a
//! header is **refused, never interpreted**; each shape has one id and one
//! sentence here, and every refusal message names both.
//!
//! docs/THREAT-MODEL.md lists each rule with the test that pins it.

/// One grammar rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrammarRule {
    /// Non-zero bytes in the `prefix` area (bytes 345..500) of a header whose
    /// magic and version are not exactly `ustar\0` + `00`.
    PrefixOutsidePosix,
    /// Non-zero bytes in the block padding after an `L`, `K`, `x` or `g`
    /// payload.
    ExtensionPadding,
    /// An old-style (`\0` type flag) member whose raw `name` field and final
    /// name disagree about a trailing slash.
    OldStyleSlash,
    /// A PAX numeric record (`size`, `uid`, `gid`, `mtime`, `atime`, `ctime`)
    /// that is not a plain number in range.
    PaxNumber,
    /// A fractional PAX `mtime` whose whole second GNU tar and Python compute
    /// differently.
    PaxTimeRounding,
    /// A numeric header field (`mode`, `uid`, `gid`, `size`, `mtime`,
    /// `devmajor`, `devminor`) of any header block, extension headers
    /// included, that is not strict octal or base-256 in range, or that GNU
    /// tar calls blank where it decodes the field.
    NumericField,
}

impl GrammarRule {
    /// Stable identifier.
    pub fn id(self) -> &'static str {
        match self {
            GrammarRule::PrefixOutsidePosix => "prefix-outside-posix",
            GrammarRule::ExtensionPadding => "extension-padding",
            GrammarRule::OldStyleSlash => "old-style-slash",
            GrammarRule::PaxNumber => "pax-number",
            GrammarRule::PaxTimeRounding => "pax-time-rounding",
            GrammarRule::NumericField => "numeric-field",
        }
    }

    /// Why the readers disagree.
    pub fn why(self) -> &'static str {
        match self {
            GrammarRule::PrefixOutsidePosix => {
                "GNU tar joins the prefix field under a POSIX magic of any version, Python under any \
                 magic, a strict POSIX reader only under version 00"
            }
            GrammarRule::ExtensionPadding => {
                "GNU tar and Python read long names and PAX records past the declared size into the padding"
            }
            GrammarRule::OldStyleSlash => {
                "Python decides `directory` from the raw name field, GNU tar from the final name"
            }
            GrammarRule::PaxNumber => "GNU tar refuses a malformed number, Python ignores it",
            GrammarRule::PaxTimeRounding => {
                "GNU tar rounds the exact decimal, Python a binary float, to different seconds"
            }
            GrammarRule::NumericField => {
                "Python decodes every numeric field of every header and ends the archive at one it cannot \
                 read; GNU tar reads `1 2` as 1 and a field of spaces as -1, and does not decode the fields \
                 of extension headers"
            }
        }
    }

    /// A refusal message: what was seen, why readers disagree, the rule id.
    pub fn message(self, what: impl std::fmt::Display) -> String {
        format!("{what}: two readers read this differently ({}) [rule {}]", self.why(), self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_messages_name_them() {
        let all = [
            GrammarRule::PrefixOutsidePosix,
            GrammarRule::ExtensionPadding,
            GrammarRule::OldStyleSlash,
            GrammarRule::PaxNumber,
            GrammarRule::PaxTimeRounding,
            GrammarRule::NumericField,
        ];
        let ids: std::collections::BTreeSet<_> = all.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), all.len());
        for r in all {
            assert!(r.message("x").ends_with(&format!("[rule {}]", r.id())));
        }
    }
}
