//! `sealtar._sealtar`: the extension module behind the Python package
//! `sealtar` (python/python/sealtar/). A thin layer over the library's public
//! API: keyword arguments become [`sealtar::Options`] ([`options`]), a
//! source becomes a reader ([`source`]), results become read-only Python
//! objects ([`types`]) and errors Python exceptions ([`errors`]).
//!
//! Every call releases the GIL while the sandbox parses and the writer
//! writes, so Python threads extract side by side; a file-object source
//! takes the GIL back only for each `.read(n)`.
//!
//! The documentation a Python user reads (docstrings, type stubs) lives
//! with the Python half, in `sealtar/__init__.py` and `__init__.pyi`.

mod errors;
mod options;
mod source;
mod types;

use std::path::{Path, PathBuf};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use sealtar::CrateRules;

use options::Settings;
use source::{Failure, Kind, Source};

/// One `sealtar::Extractor` and the settings it was made with. The guest is
/// compiled once per process (the library keeps it); an extractor is cheap
/// to make after that, so a call with keyword arguments of its own gets a
/// fresh one with the settings merged.
#[pyclass(frozen, module = "sealtar._sealtar")]
struct Extractor {
    settings: Settings,
    inner: sealtar::Extractor,
}

impl Extractor {
    /// The extractor for a call: this one, or one with `overrides` applied.
    fn with(&self, py: Python<'_>, overrides: &Settings) -> PyResult<Option<sealtar::Extractor>> {
        if overrides.is_empty() {
            return Ok(None);
        }
        let options = self.settings.merged(overrides).options();
        Ok(Some(make(py, options)?))
    }
}

fn make(py: Python<'_>, options: sealtar::Options) -> PyResult<sealtar::Extractor> {
    // The first extractor of the process compiles the guest (a second or
    // so): let other threads run meanwhile.
    py.detach(|| sealtar::Extractor::new(options)).map_err(|e| errors::to_py(py, &e, None, None))
}

/// Runs `work` on the source's reader with the GIL released; then raises
/// the exception a file object's `.read` raised, if it did, unchanged.
fn run<T: Send>(
    py: Python<'_>,
    source: Source,
    failure: Option<Failure>,
    dest: Option<&Path>,
    work: impl FnOnce(Box<dyn std::io::Read + Send>) -> Result<T, sealtar::Error> + Send,
) -> PyResult<T> {
    let path = source.path().cloned();
    let reader = source.into_reader();
    let result = py.detach(move || work(reader));
    if let Some(failure) = failure
        && let Some(raised) = failure.lock().ok().and_then(|mut slot| slot.take())
    {
        return Err(raised);
    }
    result.map_err(|e| errors::to_py(py, &e, path.as_deref(), dest))
}

#[pymethods]
impl Extractor {
    /// Builds an extractor from the keyword arguments in `options` (a dict).
    #[new]
    #[pyo3(signature = (options=None))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let settings = Settings::parse(options)?;
        let inner = make(py, settings.options())?;
        Ok(Extractor { settings, inner })
    }

    /// Extracts `source` into the directory `dest` (created if missing).
    ///
    /// # Security
    ///
    /// [`sealtar::Extractor::extract_to_path`]'s, unchanged: this layer
    /// only turns arguments into options and a reader, and results into
    /// Python objects. A file-object source is read by the library's own
    /// threads through [`source::PyReader`], which holds the GIL only inside
    /// each `.read(n)`.
    ///
    /// # Errors
    ///
    /// `TypeError`/`ValueError` for options and the source's type, before
    /// anything is opened or read; then what [`errors`] maps the library's
    /// error to, or the exception the source's `.read` raised, unchanged.
    #[pyo3(signature = (source, dest, options=None))]
    fn extract(
        &self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        dest: PathBuf,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<types::Report> {
        let overrides = Settings::parse(options)?;
        let kind = Kind::of(source)?;
        let own = self.with(py, &overrides)?;
        let extractor = own.as_ref().unwrap_or(&self.inner);
        let (source, failure) = Source::open(source, kind, extractor.options().stall_timeout)?;
        let report = run(py, source, failure, Some(&dest), |reader| extractor.extract_to_path(reader, &dest))?;
        types::report(py, &report)
    }

    /// Lists `source`: every entry with its verdict. Raises `Refused` (with
    /// the entries read so far as `.entries`) when reading stopped early.
    #[pyo3(signature = (source, options=None))]
    fn list<'py>(
        &self,
        py: Python<'py>,
        source: &Bound<'py, PyAny>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let overrides = Settings::parse(options)?;
        let kind = Kind::of(source)?;
        let own = self.with(py, &overrides)?;
        let extractor = own.as_ref().unwrap_or(&self.inner);
        let (source, failure) = Source::open(source, kind, extractor.options().stall_timeout)?;
        let path = source.path().cloned();
        let manifest = run(py, source, failure, None, |reader| extractor.list(reader))?;
        let entries = manifest.entries.iter().map(|e| types::entry(py, e)).collect::<PyResult<Vec<_>>>()?;
        let entries = PyList::new(py, entries)?;
        if let Some(error) = &manifest.error {
            let raised = errors::to_py(py, error, path.as_deref(), None);
            raised.value(py).setattr("entries", &entries)?;
            return Err(raised);
        }
        Ok(entries)
    }

    /// Vets `source`: every violation, with the Cargo registry's rules when
    /// `crate` is true or `prefix` is given.
    #[pyo3(signature = (source, krate=false, prefix=None, options=None))]
    fn check(
        &self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        krate: bool,
        prefix: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<types::CheckReport> {
        let overrides = Settings::parse(options)?;
        let kind = Kind::of(source)?;
        // As the CLI: the prefix comes from --prefix, else from the file
        // name, which only a path source has.
        let crate_name = match (&prefix, krate, &kind) {
            (None, true, Kind::Path(path)) => {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if CrateRules::from_file_name(name, None).is_none() {
                    return Err(PyValueError::new_err(format!(
                        "crate=True needs a file named <name>-<version>.crate, or prefix= (got \"{}\")",
                        sealtar::escape(name.as_bytes())
                    )));
                }
                Some(name.to_string())
            }
            (None, true, _) => {
                return Err(PyValueError::new_err(
                    "crate=True needs prefix='<name>-<version>' when the source is not a path",
                ));
            }
            _ => None,
        };
        let own = self.with(py, &overrides)?;
        let extractor = own.as_ref().unwrap_or(&self.inner);
        let (source, failure) = Source::open(source, kind, extractor.options().stall_timeout)?;
        let size = source.size();
        let rules = match (prefix, crate_name) {
            (Some(prefix), _) => Some(CrateRules::new(prefix, size)),
            (None, Some(name)) => CrateRules::from_file_name(&name, size),
            (None, None) => None,
        };
        let report = run(py, source, failure, None, |reader| extractor.check(reader, rules.as_ref()))?;
        types::check_report(py, &report)
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner.options())
    }
}

/// The rule ids of docs/RULES.md (the policy's, then the guest grammar's),
/// with their sentences: `{id: sentence}`.
#[pyfunction]
fn rules(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    for info in sealtar::RULES.iter().chain(sealtar::GRAMMAR_RULES) {
        out.set_item(info.id, info.summary)?;
    }
    Ok(out)
}

#[pymodule]
fn _sealtar(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Extractor>()?;
    m.add_class::<types::Report>()?;
    m.add_class::<types::WrittenEntry>()?;
    m.add_class::<types::SkippedEntry>()?;
    m.add_class::<types::CopiedEntry>()?;
    m.add_class::<types::Entry>()?;
    m.add_class::<types::CheckReport>()?;
    m.add_class::<types::Violation>()?;
    m.add_class::<types::Action>()?;
    m.add_function(wrap_pyfunction!(rules, m)?)?;
    Ok(())
}
