"""sealtar: extract untrusted tar archives safely.

The archive (tar, or tar compressed with gzip, xz, bzip2 or zstd, detected
from its first bytes) is decompressed and parsed inside a WebAssembly
sandbox that has no files, network, clock or environment. The host re-checks
every record it returns and writes only regular files and directories, into
a staging directory inside the destination, moved into place only once the
whole archive has passed: all or nothing, and nothing ever replaced.

    import sealtar

    report = sealtar.extract("package.tar.gz", "out")      # instead of tarfile's extractall(filter="data")
    for entry in sealtar.list(response):                     # any binary file object, bytes or a path
        print(entry.verdict, entry.path)
    if not sealtar.check(upload_bytes).acceptable: ...

Errors: ``sealtar.Refused`` (the archive broke a rule; ``.rule`` names it),
``OSError`` (reading the source or writing the destination failed),
``ValueError``/``TypeError`` (bad options, raised before anything is read).

The extension module needs neither Rust nor a WebAssembly toolchain: the
sandboxed parser is inside it.
"""

from __future__ import annotations

import os
import textwrap
import threading

from . import _sealtar
from ._errors import MembersNotFound, Refused, SealtarError
from ._sealtar import (
    Action,
    CheckReport,
    CopiedEntry,
    Entry,
    Report,
    SkippedEntry,
    Violation,
    WrittenEntry,
)

__all__ = [
    "Action",
    "CheckReport",
    "CopiedEntry",
    "Entry",
    "Extractor",
    "MembersNotFound",
    "Refused",
    "Report",
    "SealtarError",
    "SkippedEntry",
    "Violation",
    "WrittenEntry",
    "check",
    "extract",
    "list",
    "rules",
]

_builtin_list = list

OPTIONS_DOC = """
Sources:
    A path (``str`` or ``os.PathLike``); ``bytes``, ``bytearray`` or
    ``memoryview`` holding the archive; or a binary file object: anything
    with ``.read(n)`` returning bytes (an open file, an HTTP response, a
    ``BytesIO``, a pipe). Short reads are fine; ``b""`` ends the archive; a
    ``None`` (non-blocking stream, no data yet) is retried until
    ``stall_timeout``. An exception raised by ``.read`` propagates
    unchanged, and nothing is left in the destination. The format is
    detected from the first bytes, never from a file name; zip, 7z, rar and
    other formats are refused with their name.

Options (keyword arguments; the ``sealtar`` command's long options with
underscores; the defaults are the strict policy):
    max_size (int, bytes, default None): most bytes of the tar stream (member
        data plus headers). None allows the larger of 1 GiB and 100 times the
        compressed bytes read so far, so a decompression bomb is refused
        before it is decompressed. Copies made by ``links="copy"`` count too.
    max_entries (int, default 1_000_000): most entries, refused ones
        included.
    max_dirs (int, default 100_000): most directories, counting the parents
        that paths imply as well as directory entries.
    timeout (int or float, seconds, default 600): most wall-clock time for
        the whole run, reading the source included. A file object whose
        ``.read`` blocks cannot be interrupted inside that call: give it a
        timeout of its own (a socket timeout, say).
    stall_timeout (int or float, seconds, default 60): give up when the
        source delivers nothing for this long.
    portable (bool, default False; always on under Windows and macOS): also
        refuse names that are unsafe or ambiguous on Linux, macOS or Windows:
        reserved device names (CON, aux.txt, COM1...), < > : " \\ | ? *,
        control characters, trailing dots or spaces, invisible characters,
        8.3 short-name forms, and names equal under case folding or Unicode
        normalization.
    links ("refuse", "skip", "copy" or "copy-or-refuse"; default "refuse"):
        what to do with symbolic and hard links. "refuse": any link refuses
        the archive. "skip": links are not written (listed in
        ``Report.skipped``). "copy": each link whose target resolves inside
        the archive to an extracted file or directory is written as a copy
        of it; every other link (absolute, outside, dangling, cyclic,
        Windows-form targets) is skipped and listed with the reason.
        "copy-or-refuse": copies as "copy" does, and refuses the archive if
        any link cannot be copied. No link is ever created on disk, and a
        link bomb is refused under every policy.
    special ("refuse" or "skip"; default "refuse"): FIFOs and character and
        block devices.
    strip_components (int, default 0): remove this many leading components
        from every name before writing (every entry is still vetted on its
        full name). A file left with no name, or two entries left with one
        name, refuse the archive.
    exclude (list of str, default []): leave out what GNU tar's
        ``--exclude`` leaves out: a pattern matches the name as the archive
        spells it (``./docs/a.txt``), trailing slashes removed; ``*``, ``?``
        and ``[...]`` match ``/`` too, a backslash quotes, there are no
        braces; it matches the whole name or a leading part ending before a
        ``/``, from the start or after any ``/`` (``"docs"`` excludes
        ``./pkg/docs/`` and what is in it, ``"./docs"`` excludes
        ``./docs/a.txt``, ``"docs/"`` nothing). Excluded entries are still
        vetted.
    members (list of str, default []): extract only these members, named as
        in the archive: a name selects that entry, a directory everything
        under it. A member that matches nothing raises ``MembersNotFound``,
        and nothing is written.
    hash ("sha256", "blake3" or None; default None): record each written
        file's content hash (hex) in ``WrittenEntry.digest``.
    cache_dir (path or None; default None): cache the compiled sandbox code
        here (created if missing; used only if it belongs to the current
        user and no one else can write it). Without it, and without the
        environment variable ``SEALTAR_CACHE_DIR``, nothing is written
        anywhere but the destination, and each process compiles the sandbox
        once (about a second). Only the first extractor of a process
        compiles, so this matters there.

Errors:
    Refused: the archive broke a rule of the policy or a limit, is
        malformed (``rule == "malformed"``), or the sandbox stopped the parser
        (``rule == "sandbox"``). ``.rule``, ``.entry`` and ``.path`` say
        which.
    MembersNotFound: a member of ``members=`` matches nothing.
    OSError (FileNotFoundError, PermissionError, TimeoutError...): reading
        the source or writing the destination failed; ``.filename`` names
        the path.
    ValueError, TypeError: a bad option or source, raised before anything
        is read.
"""


class Extractor:
    """Compile the sandbox once and reuse it, with options of its own.

    ``Extractor(**options)`` takes the options below; its methods
    ``extract``, ``list`` and ``check`` take the module functions' arguments,
    and options given to a method are laid over the extractor's for that
    call. An extractor is thread-safe: share one between threads. Every call
    releases the GIL while the sandbox parses and the files are written, so
    threads extract in parallel.
    """

    __slots__ = ("_native",)

    def __init__(self, **options):
        if "cache_dir" not in options:
            # The one opt-in besides cache_dir=: an explicitly set variable.
            env = os.environ.get("SEALTAR_CACHE_DIR")
            if env:
                options["cache_dir"] = env
        self._native = _sealtar.Extractor(options)

    def extract(self, source, dest, **options) -> Report:
        """Extract ``source`` into the directory ``dest``, or refuse it and
        change nothing. See ``sealtar.extract``."""
        return self._native.extract(source, dest, options)

    def list(self, source, **options) -> _builtin_list[Entry]:
        """List ``source`` with a verdict per entry; write nothing. See
        ``sealtar.list``."""
        return self._native.list(source, options)

    def check(self, source, crate: bool = False, prefix: str | None = None, **options) -> CheckReport:
        """Vet ``source``: every violation, not only the first. See
        ``sealtar.check``."""
        return self._native.check(source, crate, prefix, options)

    def __repr__(self) -> str:
        return f"sealtar.Extractor({self._native!r})"


# Docstrings are indented by four spaces after their first line; so is the
# appended text, for inspect.getdoc (and help) to dedent it with the rest.
Extractor.__doc__ += textwrap.indent(OPTIONS_DOC, "    ")

_default: Extractor | None = None
_default_lock = threading.Lock()


def _default_extractor() -> Extractor:
    """The module functions' shared extractor, made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Extractor()
        return _default


def extract(source, dest, **options) -> Report:
    """Extract the archive ``source`` into the directory ``dest``.

    ``dest`` (a path) is created if it does not exist (one directory, not its
    parents) and removed again if it was created here and the archive is
    refused. Only regular files and directories are written, through a
    handle on ``dest``, into a staging directory inside it that is moved into
    place once every entry has passed: all or nothing. Nothing that exists is
    ever replaced, followed or chmod'ed (an existing directory is merged
    into; an existing file or link refuses the archive). Modes are narrowed
    from the archive's, never widened: a file gets ``(mode & 0o755) |
    0o600``, a directory ``(mode & 0o755) | 0o700``, then the umask;
    ownership, setuid/setgid/sticky bits and extended attributes are never
    applied. File and directory times come from the archive.

    Returns a ``Report``: ``files``, ``directories`` and ``bytes`` written;
    ``entries``, each written file and directory (``path``, ``dest_path``,
    ``kind``, ``size``, ``mode``, ``digest``); ``skipped`` and ``copied``
    links and special files (``links=``, ``special=``).

    This replaces ``tarfile.TarFile.extractall(path, filter="data")``; see the
    README's migration table for what each refuses that the other accepts.
    """
    return _default_extractor().extract(source, dest, **options)


def list(source, **options) -> _builtin_list[Entry]:  # noqa: A001 (the CLI's verb)
    """List the archive ``source``: every entry with the policy's verdict.

    Writes nothing. Each ``Entry`` has ``index``, ``path`` (escaped),
    ``kind``, ``type_flag``, ``header_offset``, ``size``, ``mode`` (as stored
    in the archive), ``mtime``, ``link_target``, ``verdict`` (``"ok"``,
    ``"skip"``, ``"copy"``, ``"excluded"`` or ``"refused"``), ``copy_of``,
    ``rule`` (the rule id that refuses it, or why a link is skipped; None
    when accepted), ``reason`` (the rule's sentence) and ``message`` (for a
    refused entry, the refusal as ``extract`` and ``check`` word it). The
    same rules as ``extract`` apply, except what depends on a destination.

    A refused entry is a verdict, not an exception. When reading stops early
    (malformed input, a sandbox fault, an archive-wide limit) ``Refused`` is
    raised, with the entries read so far as its ``entries`` attribute.
    """
    return _default_extractor().list(source, **options)


def check(source, crate: bool = False, prefix: str | None = None, **options) -> CheckReport:
    """Vet the archive ``source`` for a registry or mirror; write nothing.

    Returns a ``CheckReport``: ``acceptable`` (whether ``extract`` into an
    empty directory would accept it with the same options), ``entries`` (how
    many were read), ``violations`` (every one, not only the first: each with
    ``rule``, ``entry``, ``path`` and ``message``; the first 10,000 are
    kept and ``omitted`` counts the rest) and ``actions`` (entries that
    extraction would skip or copy). Malformed input and sandbox faults are
    violations with the rules ``"malformed"`` and ``"sandbox"``, not
    exceptions.

    With ``crate=True`` it also applies what a Cargo registry needs: every
    entry under ``<name>-<version>/``, exactly one ``Cargo.toml`` at that root
    in any letter case, no ``.cargo-ok``, and Cargo's size rule (at most
    max(512 MiB, 20 x compressed size) unpacked). The prefix comes from
    ``prefix=`` or, for a path source, from the file name
    ``<name>-<version>.crate``, as with ``sealtar check --crate``; giving
    ``prefix=`` implies ``crate=True``.
    """
    return _default_extractor().check(source, crate, prefix, **options)


def rules() -> dict[str, str]:
    """Every rule id of docs/RULES.md (the policy's, then the parser
    grammar's) with its one-sentence reason."""
    return _sealtar.rules()


for _function in (extract, list, check):
    _function.__doc__ += textwrap.indent(OPTIONS_DOC, "    ")
del _function
