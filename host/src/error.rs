//! The one error type: a refusal (naming the entry and the [`Rule`]), a
//! malformed archive, a sandbox fault, or a failure on this machine.

use std::fmt;
use std::io;

use crate::rule::Rule;

/// Which byte stream an offset in [`Error::Malformed`] counts in. Example:
/// [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The archive as given (the compressed bytes, for a compressed archive).
    Input,
    /// The decompressed tar stream.
    Tar,
}

/// Why the sandbox stopped the parser. Example: [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SandboxFault {
    /// The run went past [`Options::timeout`](crate::Options::timeout)
    /// (reading, parsing and writing count).
    Timeout,
    /// The input delivered nothing for
    /// [`Options::stall_timeout`](crate::Options::stall_timeout).
    InputStalled,
    /// It asked for more than [`Options::guest_memory`](crate::Options::guest_memory).
    MemoryLimit,
    /// It trapped (a parser bug, or input crafted to hit one).
    Trap(String),
    /// It broke the interface contract: the host saw something a correct
    /// parser never sends. Treated as a compromised guest.
    Protocol(String),
}

impl fmt::Display for SandboxFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxFault::Timeout => f.write_str("the run went past its deadline (--timeout)"),
            SandboxFault::InputStalled => f.write_str("the input stalled: no bytes arrived in time (--stall-timeout)"),
            SandboxFault::MemoryLimit => f.write_str("the parser ran out of its memory allowance"),
            SandboxFault::Trap(t) => write!(f, "the parser trapped: {t}"),
            SandboxFault::Protocol(p) => write!(f, "the parser broke the protocol: {p}"),
        }
    }
}

/// Everything that can go wrong. Every variant but [`Error::Io`],
/// [`Error::Setup`], [`Error::InvalidOption`] and [`Error::MembersNotFound`]
/// is a refusal of the archive ([`Error::is_refusal`]).
///
/// ```no_run
/// use sealtar::{Error, Extractor, Options};
///
/// let extractor = Extractor::new(Options::new())?;
/// match extractor.extract_to_path(std::fs::File::open("upload.tar")?, "out") {
///     Ok(report) => println!("{} files", report.files),
///     Err(Error::Refused { index, path, rule }) => println!("entry {index} {path}: {} ({rule})", rule.id()),
///     Err(e) if e.is_refusal() => println!("refused: {e}"),
///     Err(e) => return Err(e.into()),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An entry breaks a rule of the policy.
    Refused {
        /// The entry's position in the archive (0-based).
        index: u64,
        /// The entry's path, escaped for display.
        path: String,
        /// The rule it breaks.
        rule: Rule,
    },
    /// The archive is malformed or ambiguous (bad checksum, truncation, bad
    /// numbers, corrupt or truncated compressed data, a format sealtar does not
    /// read, headers that readers interpret differently).
    Malformed {
        /// Byte offset of the problem.
        offset: u64,
        /// Which stream the offset counts in.
        layer: Layer,
        /// What is wrong.
        message: String,
    },
    /// The sandbox stopped the parser.
    Sandbox(SandboxFault),
    /// Reading the archive or writing the destination failed. The message
    /// includes `source`'s, so [`source`](std::error::Error::source) returns
    /// `None` and an error chain (anyhow's `{:#}`) does not print it twice;
    /// match the variant to reach the [`io::Error`].
    Io {
        /// What sealtar was doing, naming the path involved (escaped).
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The WebAssembly engine could not be set up.
    Setup(String),
    /// An option is invalid (an `exclude` pattern that is not a glob, an
    /// empty member name).
    InvalidOption(String),
    /// Members asked for by [`Options::members`](crate::Options::members)
    /// that match nothing in the archive (escaped). Nothing was written.
    MembersNotFound(Vec<String>),
}

impl Error {
    /// Whether the archive itself was refused (as opposed to an I/O or setup
    /// failure on this machine). The CLI exits 1 for refusals and 2 otherwise.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Error::Io { .. } | Error::Setup(_) | Error::InvalidOption(_) | Error::MembersNotFound(_))
    }

    /// The rule broken, for a policy refusal.
    pub fn rule(&self) -> Option<&Rule> {
        match self {
            Error::Refused { rule, .. } => Some(rule),
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io { context: context.into(), source }
    }

    pub(crate) fn protocol(what: impl Into<String>) -> Error {
        Error::Sandbox(SandboxFault::Protocol(what.into()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refused { index, path, rule } => Refusal { index: *index, path, rule }.fmt(f),
            Error::Malformed { offset, layer, message } => {
                // The parser's message quotes names it escaped itself: make
                // it safe to print without escaping them twice.
                let message = crate::escape::escape_text(message);
                match layer {
                    Layer::Input => write!(f, "malformed archive at byte {offset}: {message}"),
                    Layer::Tar => write!(f, "malformed archive at byte {offset} of the tar stream: {message}"),
                }
            }
            Error::Sandbox(fault) => write!(f, "the sandbox stopped the parser: {fault}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Setup(what) => write!(f, "cannot set up the sandbox: {what}"),
            Error::InvalidOption(what) => write!(f, "invalid option: {what}"),
            Error::MembersNotFound(names) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                write!(f, "not found in the archive: {}", quoted.join(", "))
            }
        }
    }
}

/// The text of a refusal: the entry (index and escaped path), the rule's
/// sentence, and its id. One place, so that `check`'s violations read like
/// the errors of `extract`.
pub(crate) struct Refusal<'a> {
    pub index: u64,
    /// Escaped already.
    pub path: &'a str,
    pub rule: &'a Rule,
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Refusal { index, path, rule } = self;
        write!(f, "entry {index} \"{path}\": {rule} [rule {}]", rule.id())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Error::Io's message already ends in its source's: see the variant.
        None
    }
}
