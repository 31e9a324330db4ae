//! Where an archive comes from: a path, bytes in memory, or a Python file
//! object read through its `.read(n)`.
//!
//! The library reads on threads of its own while the GIL is released, so a
//! file object is read by a [`PyReader`] that takes the GIL for each call.
//! An exception raised by `.read` cannot cross the library (it sees an
//! `io::Error`); it is kept in a [`Failure`] slot and raised again,
//! unchanged, once the call has returned.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString};

use crate::errors::os_error;
use crate::options::type_name;

/// The exception a file object raised, if it did.
pub type Failure = Arc<Mutex<Option<PyErr>>>;

/// An archive to read.
pub enum Source {
    /// A file opened from a path; its size when it is a regular file.
    Path { path: PathBuf, file: File, size: Option<u64> },
    /// Bytes copied out of a `bytes`, `bytearray` or `memoryview` (copied,
    /// because a bytearray may change while the GIL is released).
    Bytes(Vec<u8>),
    /// A Python file object.
    Reader(PyReader),
}

/// What kind of source an object is, decided before anything is read or
/// opened, so that option errors come first and a bad source is a
/// `TypeError` that reads nothing.
pub enum Kind {
    Path(PathBuf),
    Data,
    Reader,
}

impl Kind {
    /// Classifies `obj`: `str` or `os.PathLike` is a path; `bytes`,
    /// `bytearray` and `memoryview` are the archive itself; anything else
    /// with a `read` method is a binary file object.
    pub fn of(obj: &Bound<'_, PyAny>) -> PyResult<Kind> {
        if obj.is_instance_of::<PyString>() {
            return Ok(Kind::Path(obj.extract()?));
        }
        if obj.is_instance_of::<PyBytes>()
            || obj.is_instance_of::<PyByteArray>()
            || obj.is_instance_of::<PyMemoryView>()
        {
            return Ok(Kind::Data);
        }
        if obj.hasattr(intern!(obj.py(), "__fspath__"))? {
            return Ok(Kind::Path(obj.extract()?));
        }
        if obj.hasattr(intern!(obj.py(), "read"))? {
            return Ok(Kind::Reader);
        }
        Err(PyTypeError::new_err(format!(
            "source must be a path (str or os.PathLike), bytes, bytearray, memoryview or a binary file object \
             with .read(n), not {}",
            type_name(obj)
        )))
    }
}

impl Source {
    /// Opens or copies `obj` as [`Kind::of`] classified it.
    pub fn open(obj: &Bound<'_, PyAny>, kind: Kind, stall: Duration) -> PyResult<(Source, Option<Failure>)> {
        match kind {
            Kind::Path(path) => {
                // Opening a FIFO waits for a writer: not with the GIL held.
                let opened = obj.py().detach(|| File::open(&path));
                let file = opened.map_err(|e| os_error(&e, "opening the archive", Some(&path)))?;
                let size = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
                Ok((Source::Path { path, file, size }, None))
            }
            Kind::Data => Ok((Source::Bytes(bytes_of(obj)?), None)),
            Kind::Reader => {
                let failure = Failure::default();
                let reader = PyReader {
                    file: obj.clone().unbind(),
                    failure: failure.clone(),
                    pending: Vec::new(),
                    taken: 0,
                    stall,
                };
                Ok((Source::Reader(reader), Some(failure)))
            }
        }
    }

    /// The path, for a path source.
    pub fn path(&self) -> Option<&PathBuf> {
        match self {
            Source::Path { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The archive's size in bytes, when known (a regular file, or bytes).
    pub fn size(&self) -> Option<u64> {
        match self {
            Source::Path { size, .. } => *size,
            Source::Bytes(b) => Some(b.len() as u64),
            Source::Reader(_) => None,
        }
    }

    /// A reader the library can take to its threads.
    pub fn into_reader(self) -> Box<dyn Read + Send> {
        match self {
            Source::Path { file, .. } => Box::new(file),
            Source::Bytes(b) => Box::new(Cursor::new(b)),
            Source::Reader(r) => Box::new(r),
        }
    }
}

/// The bytes of a `bytes`, `bytearray` or `memoryview` (any format: its
/// raw bytes, as `memoryview.tobytes()` gives them).
fn bytes_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    let copy = obj.call_method0(intern!(obj.py(), "tobytes"))?;
    Ok(copy.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// A Python binary file object as a [`Read`]: each `read` takes the GIL
/// and calls `.read(n)`.
///
/// - a short read is fine (the library asks again);
/// - `b""` is the end of the archive;
/// - `None` (a non-blocking stream with nothing yet) is retried after a
///   short sleep, until data arrives or `stall` has passed (then a
///   `TimedOut` error, raised as `TimeoutError`);
/// - more than `n` bytes are kept for the next call, not lost;
/// - anything but `bytes`, `bytearray` or `memoryview` is a `TypeError`;
/// - an exception is stored in `failure` and reported to the library as an
///   `io::Error`; the caller raises the stored exception afterwards.
pub struct PyReader {
    file: Py<PyAny>,
    failure: Failure,
    /// Bytes returned beyond what was asked, and how many of them were
    /// handed on already.
    pending: Vec<u8>,
    taken: usize,
    stall: Duration,
}

/// What one `.read(n)` call gave.
enum Got {
    Data(usize),
    NotYet,
}

impl PyReader {
    fn call(&mut self, buf: &mut [u8]) -> PyResult<Got> {
        Python::attach(|py| {
            let data = self.file.bind(py).call_method1(intern!(py, "read"), (buf.len(),))?;
            if data.is_none() {
                return Ok(Got::NotYet);
            }
            let bytes = if data.is_instance_of::<PyBytes>()
                || data.is_instance_of::<PyByteArray>()
                || data.is_instance_of::<PyMemoryView>()
            {
                bytes_of(&data)?
            } else {
                return Err(PyTypeError::new_err(format!(
                    "the source's read() returned {}, not bytes (is it opened in binary mode?)",
                    type_name(&data)
                )));
            };
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            if bytes.len() > n {
                self.pending = bytes;
                self.taken = n;
            }
            Ok(Got::Data(n))
        })
    }

    fn fail(&self, error: PyErr) -> io::Error {
        let shown = error.to_string();
        if let Ok(mut slot) = self.failure.lock() {
            slot.get_or_insert(error);
        }
        io::Error::other(format!("the source's read() raised {shown}"))
    }
}

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.taken < self.pending.len() {
            let rest = &self.pending[self.taken..];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.taken += n;
            if self.taken == self.pending.len() {
                self.pending = Vec::new();
                self.taken = 0;
            }
            return Ok(n);
        }
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match self.call(buf) {
                Ok(Got::Data(n)) => return Ok(n),
                Ok(Got::NotYet) if started.elapsed() < self.stall => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Ok(Got::NotYet) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the input stalled: the source's read() returned None (no data yet) for longer than \
                         stall_timeout",
                    ));
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
    }
}
