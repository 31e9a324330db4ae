//! [`sealtar::Error`] as Python exceptions, following the CLI's split
//! between a refused archive (exit 1) and everything else (exit 2):
//!
//! - a refusal ([`Error::is_refusal`]) is `sealtar.Refused`, with the rule's
//!   id (`malformed` and `sandbox` for malformed input and sandbox faults,
//!   as `check --json` names them), the entry's index and escaped path when
//!   there is one, and the CLI's message;
//! - [`Error::Io`] is `OSError` (the subclass its error number or kind
//!   gives: `FileNotFoundError`, `PermissionError`, `TimeoutError`…) whose
//!   message names the path involved, also its `filename` when the error
//!   has an OS error number;
//! - a bad option is `ValueError`;
//! - members that match nothing are `sealtar.MembersNotFound`;
//! - a sandbox that cannot be set up is `sealtar.SealtarError`.
//!
//! The exception classes are defined in Python (`sealtar/_errors.py`), so
//! that they are ordinary, picklable, subclassable exceptions.

use std::io;
use std::path::Path;

use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyOSError, PyPermissionError, PyTimeoutError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use sealtar::Error;

static SEALTAR_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static REFUSED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MEMBERS_NOT_FOUND: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The rule id of a refusal: the policy rule's, or `malformed` / `sandbox`.
pub fn rule_id(e: &Error) -> &'static str {
    match e {
        Error::Refused { rule, .. } => rule.id(),
        Error::Malformed { .. } => "malformed",
        _ => "sandbox",
    }
}

/// The Python exception for `e`. `source` is the archive's path, if it is
/// a path, and `dest` the destination's, for the `filename` of an
/// `OSError`.
pub fn to_py(py: Python<'_>, e: &Error, source: Option<&Path>, dest: Option<&Path>) -> PyErr {
    match class_of(py, e, source, dest) {
        Ok(err) => err,
        Err(import_failed) => import_failed,
    }
}

fn class_of(py: Python<'_>, e: &Error, source: Option<&Path>, dest: Option<&Path>) -> PyResult<PyErr> {
    Ok(match e {
        Error::Io { context, source: io_error } => {
            // A read error names the archive; anything else, the destination.
            let path = if context.starts_with("reading") { source.or(dest) } else { dest.or(source) };
            let message = e.to_string();
            os_error_with(io_error, message, path)
        }
        Error::InvalidOption(what) => PyValueError::new_err(format!("invalid option: {what}")),
        Error::MembersNotFound(names) => {
            let class = MEMBERS_NOT_FOUND.import(py, "sealtar._errors", "MembersNotFound")?;
            PyErr::from_value(class.call1((e.to_string(), names.clone()))?)
        }
        e if e.is_refusal() => {
            let (entry, path) = match e {
                Error::Refused { index, path, .. } => (Some(*index), Some(path.clone())),
                _ => (None, None),
            };
            let class = REFUSED.import(py, "sealtar._errors", "Refused")?;
            PyErr::from_value(class.call1((e.to_string(), rule_id(e), entry, path))?)
        }
        other => {
            let class = SEALTAR_ERROR.import(py, "sealtar._errors", "SealtarError")?;
            PyErr::from_value(class.call1((other.to_string(),))?)
        }
    })
}

/// An `OSError` for a failure of this process's own I/O (opening the
/// archive), as Python's `open` would raise it.
pub fn os_error(e: &io::Error, doing: &str, path: Option<&Path>) -> PyErr {
    let shown = path.map(|p| format!(" \"{}\"", sealtar::escape_path(p))).unwrap_or_default();
    os_error_with(e, format!("{doing}{shown}: {e}"), path)
}

fn os_error_with(e: &io::Error, message: String, path: Option<&Path>) -> PyErr {
    if let Some(errno) = e.raw_os_error() {
        // OSError(errno, strerror, filename) picks the subclass itself.
        let filename = path.map(|p| p.as_os_str().to_owned());
        return PyOSError::new_err((errno, message, filename));
    }
    // No error number (a stalled source, a failed file object): the
    // subclass comes from the kind, and the message names the path (an
    // OSError with a file name but no number would print "[Errno None]").
    match e.kind() {
        io::ErrorKind::NotFound => PyFileNotFoundError::new_err((message,)),
        io::ErrorKind::PermissionDenied => PyPermissionError::new_err((message,)),
        io::ErrorKind::AlreadyExists => PyFileExistsError::new_err((message,)),
        io::ErrorKind::TimedOut => PyTimeoutError::new_err((message,)),
        _ => PyOSError::new_err((message,)),
    }
}
