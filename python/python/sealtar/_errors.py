"""sealtar's exceptions. The extension module raises these; they are plain
Python classes so that they can be caught, subclassed and pickled as usual."""

from __future__ import annotations


class SealtarError(Exception):
    """Base class of sealtar's own errors (I/O failures are ``OSError``, bad
    options ``ValueError`` or ``TypeError``)."""


class Refused(SealtarError):
    """The archive was refused: nothing was written, and ``dest`` is as it was.

    Attributes:
        rule: the rule's id, as in docs/RULES.md and ``sealtar check --json``
            (``"parent-component"``, ``"forbidden-kind"``, ...), or
            ``"malformed"`` (the archive cannot be parsed) or ``"sandbox"``
            (the sandbox stopped the parser: time, memory, a trap).
        entry: the 0-based index of the entry that broke the rule, or None.
        path: that entry's name, escaped for display, or None.

    ``str(error)`` is the message the ``sealtar`` command prints after
    ``sealtar: refused:``.
    """

    def __init__(self, message: str, rule: str, entry: int | None = None, path: str | None = None):
        super().__init__(message, rule, entry, path)
        self.message = message
        self.rule = rule
        self.entry = entry
        self.path = path

    def __str__(self) -> str:
        return self.message


class MembersNotFound(SealtarError):
    """Some of ``members=`` match nothing in the archive (GNU tar's "Not found
    in archive"); nothing was written. ``members`` lists them, escaped."""

    def __init__(self, message: str, members: list[str]):
        super().__init__(message, members)
        self.message = message
        self.members = members

    def __str__(self) -> str:
        return self.message
