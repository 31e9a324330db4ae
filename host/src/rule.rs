//! The policy's rules: what an entry may break, each with a stable id and
//! a sentence saying why.
//!
//! [`RULES`] and [`GRAMMAR_RULES`] (in `rule/table.rs`) are the one table of rules: `docs/RULES.md`
//! is generated from them, and a test fails when the two differ, when a
//! [`Rule`] has no row, or when the guest's grammar ids and
//! [`GRAMMAR_RULES`] disagree.

use std::fmt;

use crate::kind::Kind;

mod table;

pub use table::{GRAMMAR_RULES, RULES, RuleInfo};

/// The policy rule an entry breaks. Examples: [`Error`](crate::Error) and
/// [`Extractor::list`](crate::Extractor::list).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// Links, devices, FIFOs and unknown types are never extracted.
    ForbiddenKind(Kind),
    /// The path starts with `/`.
    AbsolutePath,
    /// The path has a `..` component.
    ParentComponent,
    /// The path names nothing (empty, or only `.` and `/`) for a file.
    EmptyName,
    /// The path contains a NUL byte.
    NulByte,
    /// The path is not valid UTF-8.
    NotUtf8,
    /// A regular file's name ends in `/` (GNU tar makes a directory of it,
    /// Python a file).
    TrailingSlash,
    /// A `.` component anywhere but at the start (`a/./b`, `dir/.`). Readers
    /// disagree on such names: GNU tar refuses a file named `dir/.`, a
    /// normalizing reader writes it as `dir`. A leading `./` and an entry
    /// named exactly `.` or `./` are fine.
    DotComponent,
    /// The path is longer than the limit.
    PathTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// One component is longer than the limit.
    ComponentTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The path has more components than the limit.
    TooDeep {
        /// Its depth.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// The path was already used by an earlier entry.
    Duplicate {
        /// The earlier entry.
        first: u64,
    },
    /// An earlier entry made a file where this entry needs a directory, or
    /// the other way round.
    FileDirectoryConflict {
        /// The earlier entry.
        other: u64,
    },
    /// The name is reserved for sealtar's staging directories.
    ReservedName,
    /// Something already exists at this path in the destination (only
    /// existing directories may be entered).
    ExistsInDestination,
    /// The file system refused to create this entry next to an earlier one
    /// (for example two names that differ only in case on a case-insensitive
    /// file system).
    FileSystemCollision,
    /// The archive has more members than the limit.
    TooManyEntries {
        /// The limit.
        max: u64,
    },
    /// The archive has more directories (explicit and implied by paths)
    /// than the limit.
    TooManyDirectories {
        /// The limit.
        max: u64,
    },
    /// The members' data adds up to more than the size limit.
    TooLarge {
        /// The limit in force when it was crossed.
        max: u64,
    },
    /// When links are copied ([`LinkPolicy::copies`](crate::LinkPolicy::copies)):
    /// the names the host keeps to resolve links by name, and the paths of
    /// the copies it plans, take more than the limit
    /// ([`MAX_LINK_STATE_BYTES`](crate::MAX_LINK_STATE_BYTES)). Archive-wide:
    /// it refuses the archive under both copying policies.
    TooManyNames {
        /// The limit in bytes.
        max: u64,
    },
    /// The sandboxed parser refused the entry for this reason and the host
    /// found nothing of its own.
    GuestVerdict(String),
    /// Portable mode: the name is unsafe or ambiguous on some supported
    /// operating system. On Windows also, whatever the options, a name
    /// Windows cannot store as written (`\\`, `:`, a trailing dot or space):
    /// the same id and message as portable mode gives on every OS.
    NotPortable(&'static str),
    /// Portable mode: the path names the same file as an earlier entry's on a
    /// case-insensitive or normalization-insensitive file system.
    FoldingCollision {
        /// The earlier entry.
        other: u64,
    },
    /// `--links copy` or `copy-or-refuse`: the link cannot be replaced by a
    /// copy of its target. `copy` skips such a link (and lists it with this
    /// rule); `copy-or-refuse` refuses the archive.
    Link(LinkProblem),
    /// `--strip-components` leaves a file, link or special file with no
    /// name (tar skips it silently; sealtar refuses).
    StrippedToNothing,
    /// `check --crate`: what a Cargo registry needs of a `.crate`, judged
    /// on the tree extraction writes under the options given.
    Crate(CrateProblem),
}

impl Rule {
    /// A stable identifier for machine-readable output (`--json`).
    pub fn id(&self) -> &'static str {
        match self {
            Rule::ForbiddenKind(_) => "forbidden-kind",
            Rule::AbsolutePath => "absolute-path",
            Rule::ParentComponent => "parent-component",
            Rule::EmptyName => "empty-name",
            Rule::NulByte => "nul-byte",
            Rule::NotUtf8 => "not-utf8",
            Rule::TrailingSlash => "trailing-slash",
            Rule::DotComponent => "dot-component",
            Rule::PathTooLong { .. } => "path-too-long",
            Rule::ComponentTooLong { .. } => "component-too-long",
            Rule::TooDeep { .. } => "too-deep",
            Rule::Duplicate { .. } => "duplicate",
            Rule::FileDirectoryConflict { .. } => "file-directory-conflict",
            Rule::ReservedName => "reserved-name",
            Rule::ExistsInDestination => "exists-in-destination",
            Rule::FileSystemCollision => "file-system-collision",
            Rule::TooManyEntries { .. } => "too-many-entries",
            Rule::TooManyDirectories { .. } => "too-many-directories",
            Rule::TooLarge { .. } => "too-large",
            Rule::TooManyNames { .. } => "too-many-names",
            Rule::GuestVerdict(_) => "guest-verdict",
            Rule::NotPortable(_) => "not-portable",
            Rule::FoldingCollision { .. } => "folding-collision",
            Rule::Link(problem) => problem.id(),
            Rule::StrippedToNothing => "stripped-to-nothing",
            Rule::Crate(problem) => problem.id(),
        }
    }

    /// Whether the rule concerns the archive as a whole (listing stops there)
    /// rather than one entry.
    pub fn is_archive_wide(&self) -> bool {
        matches!(
            self,
            Rule::TooManyEntries { .. }
                | Rule::TooManyDirectories { .. }
                | Rule::TooLarge { .. }
                | Rule::TooManyNames { .. }
        )
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::ForbiddenKind(k @ (Kind::Symlink | Kind::Hardlink)) => {
                write!(f, "{k} entries are never extracted: links can redirect later writes (CVE-2026-5223)")
            }
            Rule::ForbiddenKind(k) => write!(f, "{k} entries are never extracted: only files and directories are"),
            Rule::AbsolutePath => f.write_str("the path is absolute (path traversal)"),
            Rule::ParentComponent => f.write_str("the path has a '..' component (path traversal)"),
            Rule::EmptyName => f.write_str("the file has an empty name"),
            Rule::NulByte => f.write_str("the path contains a NUL byte"),
            Rule::NotUtf8 => f.write_str("the path is not valid UTF-8"),
            Rule::TrailingSlash => f.write_str("the name of a regular file ends in '/' (readers disagree on its kind)"),
            Rule::DotComponent => {
                f.write_str("the path has a '.' component after its start (readers disagree on what `dir/.` names)")
            }
            Rule::PathTooLong { len, max } => write!(f, "the path of {len} bytes exceeds the {max}-byte limit"),
            Rule::ComponentTooLong { len, max } => {
                write!(f, "a path component of {len} bytes exceeds the {max}-byte limit")
            }
            Rule::TooDeep { depth, max } => write!(f, "the path's depth of {depth} exceeds the limit of {max}"),
            Rule::Duplicate { first } => write!(f, "the path duplicates entry {first} (one path, one meaning)"),
            Rule::FileDirectoryConflict { other } => {
                write!(
                    f,
                    "the path conflicts with entry {other}: one needs it as a file, the other as a directory (one path, one meaning)"
                )
            }
            Rule::ReservedName => f.write_str("the name is reserved for sealtar's staging directories"),
            Rule::ExistsInDestination => {
                f.write_str("the path already exists in the destination (only existing directories may be entered)")
            }
            Rule::FileSystemCollision => {
                f.write_str("the file system treats this name as one already extracted (case or normalization folding)")
            }
            Rule::TooManyEntries { max } => write!(f, "the archive has more than {max} entries (--max-entries)"),
            Rule::TooManyDirectories { max } => {
                write!(f, "the archive has more than {max} directories, counting the ones paths imply (--max-dirs)")
            }
            Rule::TooLarge { max } => {
                write!(f, "the unpacked size (headers included) exceeds the {max}-byte limit (--max-size)")
            }
            Rule::TooManyNames { max } => write!(
                f,
                "the names kept to copy links (and the copies' paths) exceed {} MiB: the archive is too large to \
                 resolve its links in memory",
                max >> 20
            ),
            Rule::GuestVerdict(why) => write!(f, "the parser refused it: {}", crate::escape::escape_text(why)),
            Rule::NotPortable(why) => write!(f, "the name is not portable: {why}"),
            Rule::FoldingCollision { other } => {
                write!(
                    f,
                    "the path names the same file as entry {other} on case- or normalization-insensitive file systems"
                )
            }
            Rule::Link(problem) => write!(f, "the link cannot be copied: {problem}"),
            Rule::StrippedToNothing => f.write_str("--strip-components leaves this entry with no name"),
            Rule::Crate(problem) => problem.fmt(f),
        }
    }
}

/// Why `--links copy` (or `copy-or-refuse`) cannot replace a link by a copy
/// of its target: the link is skipped under `copy`, and refuses the archive
/// under `copy-or-refuse`. Targets are resolved in the archive's namespace,
/// never on the file system: symbolic link targets relative to the link's
/// directory, hard link targets relative to the archive's root, as tar does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkProblem {
    /// The target is missing, empty, not UTF-8 or contains a NUL byte.
    BadTarget,
    /// The target is an absolute path.
    Absolute,
    /// The target has a Windows drive (`C:x`, `C:\x`) or a backslash
    /// (`..\x`), which Windows resolves differently from the archive's `/`
    /// (node-tar CVE-2026-31802, CVE-2026-29786). Never copied, on any
    /// system.
    WindowsForm,
    /// The target resolves outside the archive (`..` above its root).
    Outside,
    /// The target names nothing in the archive (or goes through a file).
    Dangling,
    /// The target resolves to something that is neither a regular file nor a
    /// directory (a device, a FIFO).
    NotFileOrDirectory,
    /// A hard link names a directory, which tar cannot link either.
    HardlinkToDirectory,
    /// A hard link names a member that comes later in the archive; in tar a
    /// hard link refers to a member already extracted.
    LaterEntry {
        /// The member it resolves to.
        target: u64,
    },
    /// Resolving the target follows more links than the cap.
    ChainTooLong {
        /// The cap ([`MAX_LINK_HOPS`](crate::MAX_LINK_HOPS)).
        max: usize,
    },
    /// The target leads back to a link already followed, or is a directory
    /// that contains the link (a copy would never end).
    Cycle,
    /// The target is in the archive but is not extracted itself (not
    /// selected, excluded, or stripped away).
    NotExtracted,
    /// The target is longer than a path may be.
    TargetTooLong {
        /// Its length in bytes.
        len: usize,
        /// The path limit.
        max: usize,
    },
    /// A hard link's target that GNU tar and Python's tarfile read as two
    /// different members (`a/sub/../g`: GNU tar drops everything up to the
    /// last `..`, tarfile resolves it).
    ReadersDisagree,
}

impl LinkProblem {
    /// A stable identifier, used as the rule id.
    pub fn id(&self) -> &'static str {
        match self {
            LinkProblem::BadTarget => "link-bad-target",
            LinkProblem::Absolute => "link-absolute",
            LinkProblem::WindowsForm => "link-windows-form",
            LinkProblem::Outside => "link-outside",
            LinkProblem::Dangling => "link-dangling",
            LinkProblem::NotFileOrDirectory => "link-not-file-or-directory",
            LinkProblem::HardlinkToDirectory => "link-hardlink-to-directory",
            LinkProblem::LaterEntry { .. } => "link-later-entry",
            LinkProblem::ChainTooLong { .. } => "link-chain-too-long",
            LinkProblem::Cycle => "link-cycle",
            LinkProblem::NotExtracted => "link-target-not-extracted",
            LinkProblem::TargetTooLong { .. } => "link-target-too-long",
            LinkProblem::ReadersDisagree => "link-ambiguous-target",
        }
    }
}

impl fmt::Display for LinkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkProblem::BadTarget => f.write_str("the target is empty, not UTF-8 or contains a NUL byte"),
            LinkProblem::Absolute => f.write_str("the target is an absolute path"),
            LinkProblem::WindowsForm => {
                f.write_str("the target has a drive letter or a backslash (CVE-2026-31802, CVE-2026-29786)")
            }
            LinkProblem::Outside => f.write_str("the target resolves outside the archive"),
            LinkProblem::Dangling => f.write_str("the target names nothing in the archive"),
            LinkProblem::NotFileOrDirectory => f.write_str("the target is neither a regular file nor a directory"),
            LinkProblem::HardlinkToDirectory => f.write_str("a hard link cannot name a directory"),
            LinkProblem::LaterEntry { target } => {
                write!(f, "a hard link must name an earlier member, and its target is entry {target}")
            }
            LinkProblem::ChainTooLong { max } => write!(f, "resolving the target follows more than {max} links"),
            LinkProblem::Cycle => f.write_str("the target leads back to itself (a cycle)"),
            LinkProblem::NotExtracted => f.write_str("the target is not extracted itself (selection or --exclude)"),
            LinkProblem::TargetTooLong { len, max } => {
                write!(f, "the target of {len} bytes is longer than a path may be ({max} bytes)")
            }
            LinkProblem::ReadersDisagree => f.write_str(
                "GNU tar and Python's tarfile read this hard link's target (with `..` inside) as two different members",
            ),
        }
    }
}

/// What a Cargo registry needs of a `.crate` ([`Rule::Crate`], `check
/// --crate`), judged on the tree that extraction writes under the options
/// given: a `Cargo.toml` that is a skipped link is missing, one that
/// becomes a directory copy is not a file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrateProblem {
    /// The entry is not under the crate's `<name>-<version>/` directory.
    OutsideDirectory {
        /// The directory every entry must be under.
        prefix: String,
    },
    /// `Cargo.toml` at the crate root is a directory (explicit, implied by a
    /// path under it, or a link's directory copy), not a file.
    CargoTomlNotFile,
    /// A second `Cargo.toml` (in any letter case).
    SecondCargoToml {
        /// The first one.
        first: u64,
    },
    /// The crate has no `Cargo.toml` file at its root.
    MissingCargoToml,
    /// `.cargo-ok` is the marker Cargo writes after unpacking; a crate that
    /// ships one could fake it.
    CargoOkFile,
    /// Larger than Cargo unpacks (max(512 MiB, 20 × compressed size)).
    TooLarge {
        /// The limit.
        max: u64,
    },
}

impl CrateProblem {
    /// A stable identifier, used as the rule id.
    pub fn id(&self) -> &'static str {
        match self {
            CrateProblem::OutsideDirectory { .. } => "outside-crate-directory",
            CrateProblem::CargoTomlNotFile => "cargo-toml-not-file",
            CrateProblem::SecondCargoToml { .. } => "second-cargo-toml",
            CrateProblem::MissingCargoToml => "missing-cargo-toml",
            CrateProblem::CargoOkFile => "cargo-ok-file",
            CrateProblem::TooLarge { .. } => "crate-too-large",
        }
    }
}

impl fmt::Display for CrateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrateProblem::OutsideDirectory { prefix } => {
                write!(f, "the entry is not under the crate directory \"{}/\"", crate::escape(prefix.as_bytes()))
            }
            CrateProblem::SecondCargoToml { first } => {
                write!(f, "this is a second Cargo.toml (in any letter case) after entry {first}")
            }
            CrateProblem::MissingCargoToml => f.write_str("the crate has no Cargo.toml at its root"),
            CrateProblem::CargoTomlNotFile => f.write_str("Cargo.toml at the crate root is a directory, not a file"),
            CrateProblem::CargoOkFile => f.write_str(".cargo-ok is Cargo's unpack marker and may not be shipped"),
            CrateProblem::TooLarge { max } => write!(f, "the crate unpacks to more than Cargo allows ({max} bytes)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One value of every [`Rule`] and [`LinkProblem`] variant. The match in
    /// [`every_rule_has_one_row`] has no wildcard, so a new variant does not
    /// compile until it is added here too.
    fn one_of_each() -> Vec<Rule> {
        let mut rules = vec![
            Rule::ForbiddenKind(Kind::Symlink),
            Rule::AbsolutePath,
            Rule::ParentComponent,
            Rule::EmptyName,
            Rule::NulByte,
            Rule::NotUtf8,
            Rule::TrailingSlash,
            Rule::DotComponent,
            Rule::PathTooLong { len: 2, max: 1 },
            Rule::ComponentTooLong { len: 2, max: 1 },
            Rule::TooDeep { depth: 2, max: 1 },
            Rule::Duplicate { first: 0 },
            Rule::FileDirectoryConflict { other: 0 },
            Rule::ReservedName,
            Rule::ExistsInDestination,
            Rule::FileSystemCollision,
            Rule::TooManyEntries { max: 1 },
            Rule::TooManyDirectories { max: 1 },
            Rule::TooLarge { max: 1 },
            Rule::TooManyNames { max: 1 },
            Rule::GuestVerdict("x".into()),
            Rule::NotPortable("x"),
            Rule::FoldingCollision { other: 0 },
        ];
        rules.extend(
            [
                LinkProblem::BadTarget,
                LinkProblem::Absolute,
                LinkProblem::WindowsForm,
                LinkProblem::Outside,
                LinkProblem::Dangling,
                LinkProblem::NotFileOrDirectory,
                LinkProblem::HardlinkToDirectory,
                LinkProblem::LaterEntry { target: 0 },
                LinkProblem::ChainTooLong { max: 1 },
                LinkProblem::Cycle,
                LinkProblem::NotExtracted,
                LinkProblem::TargetTooLong { len: 2, max: 1 },
                LinkProblem::ReadersDisagree,
            ]
            .map(Rule::Link),
        );
        rules.extend([
            Rule::StrippedToNothing,
            Rule::Crate(CrateProblem::OutsideDirectory { prefix: "x".into() }),
            Rule::Crate(CrateProblem::CargoTomlNotFile),
            Rule::Crate(CrateProblem::SecondCargoToml { first: 0 }),
            Rule::Crate(CrateProblem::MissingCargoToml),
            Rule::Crate(CrateProblem::CargoOkFile),
            Rule::Crate(CrateProblem::TooLarge { max: 1 }),
        ]);
        rules
    }

    /// Names the variant without a wildcard: adding a variant to [`Rule`] or
    /// [`LinkProblem`] breaks this until [`one_of_each`] knows it.
    fn variant(rule: &Rule) -> &'static str {
        match rule {
            Rule::ForbiddenKind(_) => "ForbiddenKind",
            Rule::AbsolutePath => "AbsolutePath",
            Rule::ParentComponent => "ParentComponent",
            Rule::EmptyName => "EmptyName",
            Rule::NulByte => "NulByte",
            Rule::NotUtf8 => "NotUtf8",
            Rule::TrailingSlash => "TrailingSlash",
            Rule::DotComponent => "DotComponent",
            Rule::PathTooLong { .. } => "PathTooLong",
            Rule::ComponentTooLong { .. } => "ComponentTooLong",
            Rule::TooDeep { .. } => "TooDeep",
            Rule::Duplicate { .. } => "Duplicate",
            Rule::FileDirectoryConflict { .. } => "FileDirectoryConflict",
            Rule::ReservedName => "ReservedName",
            Rule::ExistsInDestination => "ExistsInDestination",
            Rule::FileSystemCollision => "FileSystemCollision",
            Rule::TooManyEntries { .. } => "TooManyEntries",
            Rule::TooManyDirectories { .. } => "TooManyDirectories",
            Rule::TooLarge { .. } => "TooLarge",
            Rule::TooManyNames { .. } => "TooManyNames",
            Rule::GuestVerdict(_) => "GuestVerdict",
            Rule::NotPortable(_) => "NotPortable",
            Rule::FoldingCollision { .. } => "FoldingCollision",
            Rule::Link(problem) => match problem {
                LinkProblem::BadTarget => "Link(BadTarget)",
                LinkProblem::Absolute => "Link(Absolute)",
                LinkProblem::WindowsForm => "Link(WindowsForm)",
                LinkProblem::Outside => "Link(Outside)",
                LinkProblem::Dangling => "Link(Dangling)",
                LinkProblem::NotFileOrDirectory => "Link(NotFileOrDirectory)",
                LinkProblem::HardlinkToDirectory => "Link(HardlinkToDirectory)",
                LinkProblem::LaterEntry { .. } => "Link(LaterEntry)",
                LinkProblem::ChainTooLong { .. } => "Link(ChainTooLong)",
                LinkProblem::Cycle => "Link(Cycle)",
                LinkProblem::NotExtracted => "Link(NotExtracted)",
                LinkProblem::TargetTooLong { .. } => "Link(TargetTooLong)",
                LinkProblem::ReadersDisagree => "Link(ReadersDisagree)",
            },
            Rule::StrippedToNothing => "StrippedToNothing",
            Rule::Crate(problem) => match problem {
                CrateProblem::OutsideDirectory { .. } => "Crate(OutsideDirectory)",
                CrateProblem::CargoTomlNotFile => "Crate(CargoTomlNotFile)",
                CrateProblem::SecondCargoToml { .. } => "Crate(SecondCargoToml)",
                CrateProblem::MissingCargoToml => "Crate(MissingCargoToml)",
                CrateProblem::CargoOkFile => "Crate(CargoOkFile)",
                CrateProblem::TooLarge { .. } => "Crate(TooLarge)",
            },
        }
    }

    #[test]
    fn every_rule_has_one_row() {
        let rules = one_of_each();
        let variants: std::collections::BTreeSet<_> = rules.iter().map(variant).collect();
        assert_eq!(variants.len(), rules.len(), "one_of_each lists a variant twice");
        let ids: Vec<&str> = rules.iter().map(Rule::id).collect();
        let table: Vec<&str> = RULES.iter().map(|row| row.id).collect();
        // The table lists exactly the ids the variants have, in their order.
        assert_eq!(table, ids);
    }

    #[test]
    fn ids_are_unique_and_rows_are_sentences() {
        let all: Vec<&RuleInfo> = RULES.iter().chain(GRAMMAR_RULES).collect();
        let ids: std::collections::BTreeSet<&str> = all.iter().map(|row| row.id).collect();
        assert_eq!(ids.len(), all.len(), "a rule id is used twice");
        // `check --json` uses these two for violations that are not rules.
        assert!(!ids.contains("malformed") && !ids.contains("sandbox"));
        for row in all {
            assert!(
                !row.id.is_empty() && row.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                row.id
            );
            let first = row.summary.chars().next().unwrap_or(' ');
            assert!(first.is_uppercase() && row.summary.ends_with('.'), "not a sentence: {}", row.summary);
            assert_eq!(row.summary.matches(". ").count(), 0, "more than one sentence: {}", row.summary);
            assert!(!row.summary.contains('|') && !row.applies.contains('|'), "breaks the table: {}", row.id);
            assert_eq!(RuleInfo::find(row.id), Some(row));
        }
    }
}
