//! Keyword arguments into [`sealtar::Options`]: the CLI's long options with
//! underscores, checked for type and value before any archive is opened.
//!
//! A [`Settings`] holds only what the caller said. An `Extractor` keeps the
//! settings it was made with; a call's own keyword arguments are laid over
//! them ([`Settings::merged`]), so `Extractor(links="skip").extract(src, dst,
//! max_size=1 << 20)` skips links *and* caps the size.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};
use sealtar::{HashAlgorithm, LinkPolicy, Options, SpecialPolicy};

/// Every keyword argument the functions and `Extractor` take, in the order
/// the documentation lists them.
pub const NAMES: &[&str] = &[
    "max_size",
    "max_entries",
    "max_dirs",
    "timeout",
    "stall_timeout",
    "portable",
    "links",
    "special",
    "strip_components",
    "exclude",
    "members",
    "hash",
    "cache_dir",
];

/// What the caller set; `None` leaves the library's default (or the
/// extractor's setting, for a call's own arguments).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    max_size: Option<Option<u64>>,
    max_entries: Option<u64>,
    max_dirs: Option<u64>,
    timeout: Option<Duration>,
    stall_timeout: Option<Duration>,
    portable: Option<bool>,
    links: Option<LinkPolicy>,
    special: Option<SpecialPolicy>,
    strip_components: Option<usize>,
    exclude: Option<Vec<String>>,
    members: Option<Vec<String>>,
    hash: Option<Option<HashAlgorithm>>,
    cache_dir: Option<Option<PathBuf>>,
}

impl Settings {
    /// Reads `kwargs`. Raises `TypeError` for an unknown name or a value of
    /// the wrong type, `ValueError` for a value out of range.
    pub fn parse(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Settings> {
        let mut s = Settings::default();
        let Some(kwargs) = kwargs else {
            return Ok(s);
        };
        for (key, value) in kwargs.iter() {
            let key: String = key.extract().map_err(|_| PyTypeError::new_err("keywords must be strings"))?;
            let v = &value;
            match key.as_str() {
                "max_size" => s.max_size = Some(if v.is_none() { None } else { Some(count(v, &key)?) }),
                "max_entries" => s.max_entries = Some(count(v, &key)?),
                "max_dirs" => s.max_dirs = Some(count(v, &key)?),
                "timeout" => s.timeout = Some(seconds(v, &key)?),
                "stall_timeout" => s.stall_timeout = Some(seconds(v, &key)?),
                "portable" => s.portable = Some(boolean(v, &key)?),
                "links" => {
                    s.links = Some(match word(v, &key)?.as_str() {
                        "refuse" => LinkPolicy::Refuse,
                        "skip" => LinkPolicy::Skip,
                        "copy" => LinkPolicy::Copy,
                        "copy-or-refuse" => LinkPolicy::CopyOrRefuse,
                        other => return Err(one_of(&key, other, &["refuse", "skip", "copy", "copy-or-refuse"])),
                    })
                }
                "special" => {
                    s.special = Some(match word(v, &key)?.as_str() {
                        "refuse" => SpecialPolicy::Refuse,
                        "skip" => SpecialPolicy::Skip,
                        other => return Err(one_of(&key, other, &["refuse", "skip"])),
                    })
                }
                "strip_components" => {
                    let n = count(v, &key)?;
                    let n = usize::try_from(n).map_err(|_| PyValueError::new_err(format!("{key} is too large")))?;
                    s.strip_components = Some(n);
                }
                "exclude" => s.exclude = Some(strings(v, &key)?),
                "members" => s.members = Some(strings(v, &key)?),
                "hash" => {
                    s.hash = Some(if v.is_none() {
                        None
                    } else {
                        Some(match word(v, &key)?.as_str() {
                            "sha256" => HashAlgorithm::Sha256,
                            "blake3" => HashAlgorithm::Blake3,
                            other => return Err(one_of(&key, other, &["sha256", "blake3"])),
                        })
                    })
                }
                "cache_dir" => {
                    s.cache_dir = Some(if v.is_none() {
                        None
                    } else {
                        Some(v.extract::<PathBuf>().map_err(|_| {
                            PyTypeError::new_err(format!("{key} must be a path (str or os.PathLike) or None"))
                        })?)
                    })
                }
                other => {
                    return Err(PyTypeError::new_err(format!(
                        "unexpected keyword argument '{other}' (sealtar takes: {})",
                        NAMES.join(", ")
                    )));
                }
            }
        }
        Ok(s)
    }

    /// These settings with `over`'s laid on top.
    pub fn merged(&self, over: &Settings) -> Settings {
        fn pick<T: Clone>(base: &Option<T>, over: &Option<T>) -> Option<T> {
            over.clone().or_else(|| base.clone())
        }
        Settings {
            max_size: pick(&self.max_size, &over.max_size),
            max_entries: pick(&self.max_entries, &over.max_entries),
            max_dirs: pick(&self.max_dirs, &over.max_dirs),
            timeout: pick(&self.timeout, &over.timeout),
            stall_timeout: pick(&self.stall_timeout, &over.stall_timeout),
            portable: pick(&self.portable, &over.portable),
            links: pick(&self.links, &over.links),
            special: pick(&self.special, &over.special),
            strip_components: pick(&self.strip_components, &over.strip_components),
            exclude: pick(&self.exclude, &over.exclude),
            members: pick(&self.members, &over.members),
            hash: pick(&self.hash, &over.hash),
            cache_dir: pick(&self.cache_dir, &over.cache_dir),
        }
    }

    /// Whether nothing was set.
    pub fn is_empty(&self) -> bool {
        self.max_size.is_none()
            && self.max_entries.is_none()
            && self.max_dirs.is_none()
            && self.timeout.is_none()
            && self.stall_timeout.is_none()
            && self.portable.is_none()
            && self.links.is_none()
            && self.special.is_none()
            && self.strip_components.is_none()
            && self.exclude.is_none()
            && self.members.is_none()
            && self.hash.is_none()
            && self.cache_dir.is_none()
    }

    /// The library's options: its defaults (the strict policy, no cache)
    /// with these settings applied, as the CLI applies its flags.
    pub fn options(&self) -> Options {
        let mut o = Options::new();
        if let Some(v) = self.max_size {
            o.max_size = v;
        }
        if let Some(v) = self.max_entries {
            o.max_entries = v;
        }
        if let Some(v) = self.max_dirs {
            o.max_dirs = v;
        }
        if let Some(v) = self.timeout {
            o.timeout = v;
        }
        if let Some(v) = self.stall_timeout {
            o.stall_timeout = v;
        }
        // As the CLI's --portable: it can add the checks, never remove them
        // where the file system folds names (Windows, macOS).
        if let Some(v) = self.portable {
            o.portable |= v;
        }
        if let Some(v) = self.links {
            o.links = v;
        }
        if let Some(v) = self.special {
            o.special = v;
        }
        if let Some(v) = self.strip_components {
            o.strip_components = v;
        }
        if let Some(v) = &self.exclude {
            o.exclude = v.clone();
        }
        if let Some(v) = &self.members {
            o.members = v.clone();
        }
        if let Some(v) = self.hash {
            o.content_hash = v;
        }
        if let Some(v) = &self.cache_dir {
            o.cache_dir = v.clone();
        }
        o
    }
}

/// A non-negative integer (not a bool: `max_entries=True` is a mistake).
fn count(v: &Bound<'_, PyAny>, key: &str) -> PyResult<u64> {
    if v.is_instance_of::<PyBool>() || !v.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!("{key} must be an int, not {}", type_name(v))));
    }
    if let Ok(n) = v.extract::<u64>() {
        return Ok(n);
    }
    if v.lt(0)? {
        Err(PyValueError::new_err(format!("{key} must not be negative")))
    } else {
        Err(PyValueError::new_err(format!("{key} is too large")))
    }
}

/// A positive, finite number of seconds (int or float).
fn seconds(v: &Bound<'_, PyAny>, key: &str) -> PyResult<Duration> {
    if v.is_instance_of::<PyBool>() || !(v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>()) {
        return Err(PyTypeError::new_err(format!("{key} must be a number of seconds, not {}", type_name(v))));
    }
    let secs: f64 = v.extract()?;
    if !(secs.is_finite() && secs > 0.0) {
        return Err(PyValueError::new_err(format!("{key} must be a positive number of seconds, not {secs}")));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| PyValueError::new_err(format!("{key} is too large")))
}

fn boolean(v: &Bound<'_, PyAny>, key: &str) -> PyResult<bool> {
    if !v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{key} must be True or False, not {}", type_name(v))));
    }
    v.extract()
}

fn word(v: &Bound<'_, PyAny>, key: &str) -> PyResult<String> {
    if !v.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("{key} must be a str, not {}", type_name(v))));
    }
    v.extract()
}

fn one_of(key: &str, got: &str, allowed: &[&str]) -> PyErr {
    let allowed: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    PyValueError::new_err(format!("{key} must be one of {}, not {got:?}", allowed.join(", ")))
}

/// A list (or other iterable) of str. A lone str is refused: iterating it
/// would give its characters.
fn strings(v: &Bound<'_, PyAny>, key: &str) -> PyResult<Vec<String>> {
    if v.is_instance_of::<PyString>() || v.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!("{key} must be a list of str, not a single {}", type_name(v))));
    }
    let items =
        v.try_iter().map_err(|_| PyTypeError::new_err(format!("{key} must be a list of str, not {}", type_name(v))))?;
    let mut out = Vec::new();
    for item in items {
        let item = item?;
        if !item.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(format!("{key} must hold only str, not {}", type_name(&item))));
        }
        out.push(item.extract()?);
    }
    Ok(out)
}

pub fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}
