//! The rule table: every rule id with when it applies and one sentence
//! saying what is refused and why. `docs/RULES.md` is generated from it
//! (`make rules-doc`), and `tests/tests/it/rules.rs` checks the two agree.

#[cfg(doc)]
use super::Rule;

/// One row of the rule table: a rule id, when it applies, and one sentence
/// saying what is refused and why. Example: [`RuleInfo::find`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleInfo {
    /// The stable id: [`Rule::id`] for the host's rules, the `[rule <id>]`
    /// of a message for the guest's grammar rules.
    pub id: &'static str,
    /// When the rule applies: `always`, or the option or command that adds it.
    pub applies: &'static str,
    /// What is refused, and why, in one sentence.
    pub summary: &'static str,
}

impl RuleInfo {
    /// The row for a rule id, looked up in [`RULES`] and then
    /// [`GRAMMAR_RULES`].
    ///
    /// ```
    /// let row = sealtar::RuleInfo::find("parent-component").expect("a rule id");
    /// assert_eq!(row.applies, "always");
    /// assert!(sealtar::RuleInfo::find("numeric-field").is_some());
    /// assert!(sealtar::RuleInfo::find("no-such-rule").is_none());
    /// ```
    pub fn find(id: &str) -> Option<&'static RuleInfo> {
        RULES.iter().chain(GRAMMAR_RULES).find(|row| row.id == id)
    }
}

const fn row(id: &'static str, applies: &'static str, summary: &'static str) -> RuleInfo {
    RuleInfo { id, applies, summary }
}

const ALWAYS: &str = "always";
const LINKS_COPY: &str = "`--links copy` or `copy-or-refuse`";
/// The `link-*` rules refuse only under `copy-or-refuse`; `copy` skips the
/// link and lists it with the rule.
const LINK_PROBLEM: &str = "`--links copy-or-refuse` (`copy` skips the link, listed with this id)";
const PORTABLE: &str = "`--portable` (always on Windows and macOS)";
const CHECK_CRATE: &str = "`check --crate`";
const EXTRACT: &str = "`extract` only";

/// The host's rules, one row per id [`Rule::id`] returns, in the order of
/// [`Rule`]'s variants. `docs/RULES.md` is generated from this table and
/// [`GRAMMAR_RULES`].
///
/// ```
/// let rule = sealtar::Rule::ParentComponent;
/// let row = sealtar::RULES.iter().find(|row| row.id == rule.id()).expect("every rule has a row");
/// assert!(row.summary.contains("`..`"));
/// ```
pub const RULES: &[RuleInfo] = &[
    row(
        "forbidden-kind",
        "always (`--links` and `--special` can skip or copy instead)",
        "Symlinks, hard links, devices, FIFOs and unknown types are never written: a link makes a later write land \
         elsewhere (CVE-2026-5223 in Cargo, CVE-2021-32803/32804 in node-tar), and devices grant access.",
    ),
    row(
        "absolute-path",
        ALWAYS,
        "A path starting with `/` is path traversal (CVE-2007-4131 in GNU tar, CVE-2025-4517 in tarfile).",
    ),
    row(
        "parent-component",
        ALWAYS,
        "A path with a `..` component is path traversal (CVE-2007-4131 in GNU tar, CVE-2025-4517 in tarfile).",
    ),
    row("empty-name", ALWAYS, "A file whose path names nothing (empty, or only `.` and `/`) has no place to go."),
    row("nul-byte", ALWAYS, "A path containing a NUL byte is not the name a C reader would write."),
    row("not-utf8", ALWAYS, "A path that is not valid UTF-8 is refused rather than guessed in some legacy encoding."),
    row(
        "trailing-slash",
        ALWAYS,
        "A regular file whose name ends in `/` is a directory to GNU tar and a file to Python.",
    ),
    row(
        "dot-component",
        ALWAYS,
        "A `.` component after the start (`a/./b`, `dir/.`) is read differently by different readers; a leading \
         `./` and an entry named exactly `.` are fine.",
    ),
    row(
        "path-too-long",
        ALWAYS,
        "A path longer than the limit (4095 bytes, the most `PATH_MAX` allows with its NUL) cannot be created.",
    ),
    row(
        "component-too-long",
        ALWAYS,
        "A path component longer than the limit (255 bytes, the most file systems allow) cannot be created.",
    ),
    row("too-deep", ALWAYS, "A path with more than 1024 components (by default) is resource exhaustion."),
    row(
        "duplicate",
        ALWAYS,
        "The same path twice (`a`, `./a`, `a//`) has two meanings, so a scanner and an extractor could see \
         different files (CVE-2026-5223).",
    ),
    row(
        "file-directory-conflict",
        ALWAYS,
        "A file where an earlier entry needs a directory, or the reverse, gives one path two meanings.",
    ),
    row("reserved-name", ALWAYS, "A top-level name starting with `.sealtar-staging-` is reserved for staging."),
    row(
        "exists-in-destination",
        EXTRACT,
        "Anything already in the destination except a directory (which may be entered) is never replaced, \
         followed or chmod'ed (CVE-2026-33056 in tar-rs).",
    ),
    row(
        "file-system-collision",
        EXTRACT,
        "A name the file system merges with one already extracted (case or normalization folding) would overwrite \
         it.",
    ),
    row("too-many-entries", ALWAYS, "More members than `--max-entries` (1,000,000 by default) is resource exhaustion."),
    row(
        "too-many-directories",
        ALWAYS,
        "More directories than `--max-dirs` (100,000 by default), counting the ones paths imply, since a few \
         kilobytes of deep paths would otherwise imply millions.",
    ),
    row(
        "too-large",
        ALWAYS,
        "An unpacked size, headers included, over `--max-size` (max(1 GiB, 100 × compressed bytes) by default) is \
         a bomb.",
    ),
    row(
        "too-many-names",
        LINKS_COPY,
        "Copying links means keeping every name of the archive and planning each copy in memory; past 192 MiB of \
         names and planned paths the archive is refused rather than held.",
    ),
    row(
        "guest-verdict",
        ALWAYS,
        "An entry the sandboxed parser refused, where the host found nothing of its own, stays refused: the guest \
         can add a refusal, never remove one.",
    ),
    row(
        "not-portable",
        PORTABLE,
        "A name unsafe or ambiguous on some supported system (device names like `CON`, characters Windows reserves \
         such as `:` and `?`, control or invisible characters, trailing dots or spaces, 8.3 short names) could become another file there; on Windows, where `--portable` is on by default, a name with `\\`, `:` or a trailing dot or space is refused under this id whatever the options.",
    ),
    row(
        "folding-collision",
        PORTABLE,
        "A name equal to an earlier one under case or Unicode folding is the same file on a folding file system.",
    ),
    row(
        "link-bad-target",
        LINK_PROBLEM,
        "A link whose target is empty, not UTF-8 or contains a NUL byte names nothing that can be copied.",
    ),
    row("link-absolute", LINK_PROBLEM, "A link with an absolute target would copy from outside the archive."),
    row(
        "link-windows-form",
        LINK_PROBLEM,
        "A link target with a drive letter or a backslash (`C:x`, `..\\x`) resolves differently on Windows \
         (CVE-2026-31802, CVE-2026-29786 in node-tar), so it is not copied on any system.",
    ),
    row("link-outside", LINK_PROBLEM, "A link target that climbs above the archive's root would copy from outside it."),
    row(
        "link-dangling",
        LINK_PROBLEM,
        "A link target the archive does not have (even if the destination has it) would copy from outside the \
         archive.",
    ),
    row("link-not-file-or-directory", LINK_PROBLEM, "A link to a device or FIFO has nothing that may be copied."),
    row("link-hardlink-to-directory", LINK_PROBLEM, "A hard link to a directory is one tar cannot make either."),
    row(
        "link-later-entry",
        LINK_PROBLEM,
        "A hard link to a later member is read differently by different readers (a tar hard link names a member \
         already extracted).",
    ),
    row("link-chain-too-long", LINK_PROBLEM, "Resolving a target through more than 16 links is resource exhaustion."),
    row(
        "link-cycle",
        LINK_PROBLEM,
        "A target that leads back to itself, or a directory that holds the link, would be copied forever.",
    ),
    row(
        "link-target-not-extracted",
        LINK_PROBLEM,
        "A link to a member that is not extracted itself (not selected, excluded, stripped away) would copy what \
         the options left out.",
    ),
    row(
        "link-target-too-long",
        LINK_PROBLEM,
        "A link target longer than a path may be (4095 bytes) is never resolved: it could only cost time.",
    ),
    row(
        "link-ambiguous-target",
        LINK_PROBLEM,
        "A hard link's target with `..` inside that GNU tar and Python's tarfile read as two different members \
         (GNU tar drops it up to the last `..`, tarfile resolves it) has no one meaning.",
    ),
    row(
        "stripped-to-nothing",
        "`--strip-components`",
        "An entry left with no name by stripping is refused, where tar skips it silently.",
    ),
    row(
        "outside-crate-directory",
        CHECK_CRATE,
        "An entry outside the crate's `<name>-<version>/` directory would land in another crate's place.",
    ),
    row(
        "cargo-toml-not-file",
        CHECK_CRATE,
        "A `Cargo.toml` at the crate root that is a directory (or implied as one) is a crate Cargo cannot build.",
    ),
    row(
        "second-cargo-toml",
        CHECK_CRATE,
        "A second `Cargo.toml` in any letter case is two manifests where tools expect one.",
    ),
    row("missing-cargo-toml", CHECK_CRATE, "A crate with no `Cargo.toml` at its root is not a crate."),
    row(
        "cargo-ok-file",
        CHECK_CRATE,
        "A crate shipping `.cargo-ok`, the marker Cargo writes after unpacking, could fake that marker.",
    ),
    row(
        "crate-too-large",
        CHECK_CRATE,
        "A crate that unpacks to more than Cargo allows (max(512 MiB, 20 × compressed size)) is one Cargo refuses.",
    ),
];

/// The guest grammar's rules: header shapes that GNU tar 1.34 and Python's
/// tarfile read differently, refused as malformed ([`Error::Malformed`](crate::Error::Malformed))
/// with `[rule <id>]` at the end of the message. The guest's own table is
/// `guest/src/rules.rs`; a test checks that both have the same ids.
///
/// ```
/// assert!(sealtar::GRAMMAR_RULES.iter().any(|row| row.id == "pax-number"));
/// ```
pub const GRAMMAR_RULES: &[RuleInfo] = &[
    row(
        "prefix-outside-posix",
        ALWAYS,
        "Non-zero bytes in the prefix area (bytes 345..500) of a header that is not exactly POSIX ustar `00` are \
         joined to the name by some readers and ignored by others.",
    ),
    row(
        "extension-padding",
        ALWAYS,
        "Non-zero padding after an `L`, `K`, `x` or `g` payload is read as more name or PAX records by GNU tar and \
         Python, and ignored by readers that honour the size.",
    ),
    row(
        "old-style-slash",
        ALWAYS,
        "An old-style member whose raw name field and final name disagree about a trailing slash is a directory \
         to Python and a file to GNU tar.",
    ),
    row(
        "pax-number",
        ALWAYS,
        "A PAX `size`, `uid`, `gid`, `mtime`, `atime` or `ctime` that is not a plain number in range is an error \
         to GNU tar and ignored by Python.",
    ),
    row(
        "pax-time-rounding",
        ALWAYS,
        "A fractional PAX `mtime` whose whole second GNU tar (from the exact decimal) and Python (from a binary \
         float) compute differently is two different times.",
    ),
    row(
        "numeric-field",
        ALWAYS,
        "A numeric header field, in any header block, that is not strict octal or base-256 in range (or that GNU \
         tar reads as blank) ends the archive for Python and is read as something else by GNU tar.",
    ),
];
