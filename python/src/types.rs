//! What the functions return: read-only Python objects made from the
//! library's [`sealtar::Report`], [`sealtar::ManifestEntry`] and
//! [`sealtar::CheckReport`]. Names are escaped as the CLI prints them; kinds,
//! verdicts and rule ids are the strings of `list --json` and `check --json`
//! (docs/JSON.md).

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use sealtar::Rule;

/// Python's `repr` of a value, for the `__repr__`s below.
fn r<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> String {
    value.into_bound_py_any(py).and_then(|v| v.repr().map(|s| s.to_string())).unwrap_or_else(|_| "?".to_string())
}

/// What `sealtar.extract` wrote.
#[pyclass(frozen, get_all, module = "sealtar")]
pub struct Report {
    /// Regular files written.
    files: u64,
    /// Directories in the extracted tree (explicit entries and implied
    /// parents), counting those merged into existing directories.
    directories: u64,
    /// Bytes of file data written.
    bytes: u64,
    /// Every file and directory entry written, in archive order
    /// (`WrittenEntry`).
    entries: Vec<Py<WrittenEntry>>,
    /// Links and special files not written, as the options ask
    /// (`SkippedEntry`).
    skipped: Vec<Py<SkippedEntry>>,
    /// Links written as a copy of their target (`CopiedEntry`).
    copied: Vec<Py<CopiedEntry>>,
    /// Written entries left out of `entries` once the report holds 64 MiB
    /// of records (0 unless an archive is that large).
    omitted_entries: u64,
    /// Skipped entries left out of `skipped`, likewise.
    omitted_skipped: u64,
    /// Copies left out of `copied`, likewise.
    omitted_copied: u64,
}

#[pymethods]
impl Report {
    fn __repr__(&self) -> String {
        format!(
            "Report(files={}, directories={}, bytes={}, skipped={}, copied={})",
            self.files,
            self.directories,
            self.bytes,
            self.skipped.len(),
            self.copied.len()
        )
    }
}

/// One file or directory that `extract` wrote.
#[pyclass(frozen, get_all, module = "sealtar")]
pub struct WrittenEntry {
    /// Position in the archive (0-based).
    index: u64,
    /// The name as the archive spells it.
    path: String,
    /// Where it was written, relative to the destination (normalized,
    /// `strip_components` applied), components joined by `/`.
    dest_path: String,
    /// `"file"` or `"dir"`.
    kind: String,
    /// Bytes of data (0 for a directory).
    size: u64,
    /// Permission bits as created.
    mode: u32,
    /// The file's content hash in hex when `hash=` asks for one, else None.
    digest: Option<String>,
}

#[pymethods]
impl WrittenEntry {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("WrittenEntry(path={}, kind={}, size={})", r(py, &self.dest_path), r(py, &self.kind), self.size)
    }
}

/// A link or special file that `extract` did not write.
#[pyclass(frozen, get_all, module = "sealtar")]
pub struct SkippedEntry {
    /// Position in the archive.
    index: u64,
    /// Its name, escaped.
    path: String,
    /// `"symlink"`, `"hardlink"`, `"chardev"`, `"blockdev"`, `"fifo"`.
    kind: String,
    /// Its target, escaped, for a link.
    link_target: Option<String>,
    /// Why a link `links="copy"` could not copy was skipped (a rule id),
    /// or None when the options skip every entry of its kind.
    rule: Option<String>,
    /// The rule's sentence, with `rule`.
    reason: Option<String>,
}

#[pymethods]
impl SkippedEntry {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("SkippedEntry(path={}, kind={}, rule={})", r(py, &self.path), r(py, &self.kind), r(py, &self.rule))
    }
}

/// A link written as a copy of what it points to (`links="copy"`).
#[pyclass(frozen, get_all, module = "sealtar")]
pub struct CopiedEntry {
    /// The link's position in the archive.
    index: u64,
    /// The link's name in the archive, escaped.
    path: String,
    /// The path written, escaped.
    written: String,
    /// The file or directory it is a copy of, escaped.
    copy_of: String,
}

#[pymethods]
impl CopiedEntry {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("CopiedEntry(path={}, copy_of={})", r(py, &self.written), r(py, &self.copy_of))
    }
}

/// One entry of `sealtar.list`, with the policy's verdict.
#[pyclass(frozen, get_all, module = "sealtar")]
pub struct Entry {
    /// Position in the archive (0-based).
    index: u64,
    /// The name, escaped for display.
    path: String,
    /// `"file"`, `"dir"`, `"symlink"`, `"hardlink"`, `"chardev"`,
    /// `"blockdev"`, `"fifo"` or `"other"`.
    kind: String,
    /// The raw type flag, one character.
    type_flag: String,
    /// Offset of the entry's first header in the tar stream.
    header_offset: u64,
    /// Bytes of data.
    size: u64,
    /// Permission bits as stored in the archive.
    mode: u32,
    /// Modification time, seconds since the Unix epoch.
    mtime: i64,
    /// The link target, escaped, for a link.
    link_target: Option<String>,
    /// `"ok"`, `"skip"`, `"copy"`, `"excluded"` or `"refused"`.
    verdict: String,
    /// For a link written as a copy: the path it is a copy of.
    copy_of: Option<String>,
    /// The rule id that refuses the entry (or why a link is skipped);
    /// None when it is accepted.
    rule: Option<String>,
    /// The rule's sentence, with `rule`.
    reason: Option<String>,
    /// For a refused entry, the refusal as `extract` and `check` word it:
    /// the entry, its name escaped (cut after 1 KiB) and the rule.
    message: Option<String>,
}

#[pymethods]
impl Entry {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Entry(path={}, kind={}, size={}, verdict={}, rule={})",
            r(py, &self.path),
            r(py, &self.kind),
            self.size,
            r(py, &self.verdict),
            r(py, &self.rule)
        )
    }
}

/// One problem `sealtar.check` found.
#[pyclass(frozen, get_all, module = "sealtar")]
pub struct Violation {
    /// The rule id (docs/RULES.md), or `"malformed"` / `"sandbox"`.
    rule: String,
    /// The entry's index, if the problem belongs to one.
    entry: Option<u64>,
    /// The entry's path, escaped.
    path: Option<String>,
    /// The whole explanation, as the CLI prints it.
    message: String,
}

#[pymethods]
impl Violation {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Violation(rule={}, entry={}, path={})", r(py, &self.rule), r(py, self.entry), r(py, &self.path))
    }

    fn __str__(&self) -> String {
        self.message.clone()
    }
}

/// An entry that extraction would skip or replace by a copy (`check`).
#[pyclass(frozen, get_all, module = "sealtar")]
pub struct Action {
    /// The entry's index.
    entry: u64,
    /// Its path, escaped.
    path: String,
    /// `"skip"` or `"copy"`.
    verdict: String,
    /// For a copy: what it is a copy of.
    copy_of: Option<String>,
    /// Why a link is skipped under `links="copy"` (a rule id), else None.
    rule: Option<String>,
    /// The rule's sentence, with `rule`.
    reason: Option<String>,
}

#[pymethods]
impl Action {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Action(entry={}, path={}, verdict={})", self.entry, r(py, &self.path), r(py, &self.verdict))
    }
}

/// Everything `sealtar.check` found.
#[pyclass(frozen, get_all, module = "sealtar")]
pub struct CheckReport {
    /// Whether `extract` into an empty directory would accept the archive.
    acceptable: bool,
    /// Entries read.
    entries: u64,
    /// Every violation (the first 10,000), in archive order; archive-wide
    /// ones last.
    violations: Vec<Py<Violation>>,
    /// Violations found beyond those kept.
    omitted: u64,
    /// Entries extraction would skip or copy (`links=`, `special=`).
    actions: Vec<Py<Action>>,
    /// Actions beyond those kept.
    omitted_actions: u64,
}

#[pymethods]
impl CheckReport {
    fn __repr__(&self) -> String {
        format!(
            "CheckReport(acceptable={}, entries={}, violations={})",
            if self.acceptable { "True" } else { "False" },
            self.entries,
            self.violations.len() as u64 + self.omitted
        )
    }
}

/// The verdict string of `list --json`.
fn verdict(refusal: Option<&Rule>, action: &sealtar::Action) -> &'static str {
    match (refusal, action) {
        (Some(_), _) => "refused",
        (None, sealtar::Action::Skip | sealtar::Action::SkipLink { .. }) => "skip",
        (None, sealtar::Action::Copy { .. }) => "copy",
        (None, sealtar::Action::Excluded) => "excluded",
        (None, _) => "ok",
    }
}

fn copy_of(action: &sealtar::Action) -> Option<String> {
    match action {
        sealtar::Action::Copy { of } => Some(of.clone()),
        _ => None,
    }
}

fn skip_rule(action: &sealtar::Action) -> Option<&Rule> {
    match action {
        sealtar::Action::SkipLink { rule } => Some(rule),
        _ => None,
    }
}

pub fn report(py: Python<'_>, r: &sealtar::Report) -> PyResult<Report> {
    let entries = r
        .entries
        .iter()
        .map(|w| {
            Py::new(
                py,
                WrittenEntry {
                    index: w.index,
                    path: w.path.clone(),
                    dest_path: w.dest_path.clone(),
                    kind: w.kind.as_str().to_string(),
                    size: w.size,
                    mode: w.mode,
                    digest: w.hash.map(|h| h.to_hex()),
                },
            )
        })
        .collect::<PyResult<_>>()?;
    let skipped = r
        .skipped
        .iter()
        .map(|s| {
            Py::new(
                py,
                SkippedEntry {
                    index: s.index,
                    path: s.path.clone(),
                    kind: s.kind.as_str().to_string(),
                    link_target: s.link_target.clone(),
                    rule: s.reason.as_ref().map(|r| r.id().to_string()),
                    reason: s.reason.as_ref().map(ToString::to_string),
                },
            )
        })
        .collect::<PyResult<_>>()?;
    let copied = r
        .copied
        .iter()
        .map(|c| {
            Py::new(
                py,
                CopiedEntry {
                    index: c.index,
                    path: c.path.clone(),
                    written: c.written.clone(),
                    copy_of: c.copy_of.clone(),
                },
            )
        })
        .collect::<PyResult<_>>()?;
    Ok(Report {
        files: r.files,
        directories: r.directories,
        bytes: r.bytes,
        entries,
        skipped,
        copied,
        omitted_entries: r.omitted.entries,
        omitted_skipped: r.omitted.skipped,
        omitted_copied: r.omitted.copied,
    })
}

pub fn entry(py: Python<'_>, e: &sealtar::ManifestEntry) -> PyResult<Py<Entry>> {
    let why = e.refusal.as_ref().or(skip_rule(&e.action));
    Py::new(
        py,
        Entry {
            index: e.index,
            path: e.path.clone(),
            kind: e.kind.as_str().to_string(),
            type_flag: char::from(e.type_flag).to_string(),
            header_offset: e.header_offset,
            size: e.size,
            mode: e.mode,
            mtime: e.mtime,
            link_target: e.link_target.clone(),
            verdict: verdict(e.refusal.as_ref(), &e.action).to_string(),
            copy_of: if e.refusal.is_none() { copy_of(&e.action) } else { None },
            rule: why.map(|r| r.id().to_string()),
            reason: why.map(ToString::to_string),
            message: e.message.clone(),
        },
    )
}

pub fn check_report(py: Python<'_>, r: &sealtar::CheckReport) -> PyResult<CheckReport> {
    let violations = r
        .violations
        .iter()
        .map(|v| {
            Py::new(
                py,
                Violation {
                    rule: v.id().to_string(),
                    entry: v.index,
                    path: v.path.clone(),
                    message: v.message.clone(),
                },
            )
        })
        .collect::<PyResult<_>>()?;
    let actions = r
        .actions
        .iter()
        .map(|(index, path, action)| {
            let why = skip_rule(action);
            Py::new(
                py,
                Action {
                    entry: *index,
                    path: path.clone(),
                    verdict: verdict(None, action).to_string(),
                    copy_of: copy_of(action),
                    rule: why.map(|r| r.id().to_string()),
                    reason: why.map(ToString::to_string),
                },
            )
        })
        .collect::<PyResult<_>>()?;
    Ok(CheckReport {
        acceptable: r.is_acceptable(),
        entries: r.entries,
        violations,
        omitted: r.omitted,
        actions,
        omitted_actions: r.actions_omitted,
    })
}
