"""Type stubs for sealtar (the docstrings in __init__.py say what each does)."""

import os
from typing import Iterable, Literal, Optional, Protocol, Union

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

class _Readable(Protocol):
    def read(self, n: int, /) -> Union[bytes, bytearray, memoryview, None]: ...

StrPath = Union[str, "os.PathLike[str]"]
Source = Union[StrPath, bytes, bytearray, memoryview, _Readable]
Links = Literal["refuse", "skip", "copy", "copy-or-refuse"]
Special = Literal["refuse", "skip"]
Hash = Literal["sha256", "blake3"]
Kind = Literal["file", "dir", "symlink", "hardlink", "chardev", "blockdev", "fifo", "other"]
Verdict = Literal["ok", "skip", "copy", "excluded", "refused"]

class SealtarError(Exception): ...

class Refused(SealtarError):
    message: str
    rule: str
    entry: Optional[int]
    path: Optional[str]
    entries: _builtin_list[Entry]  # set by list() when reading stopped early
    def __init__(self, message: str, rule: str, entry: Optional[int] = None, path: Optional[str] = None) -> None: ...

class MembersNotFound(SealtarError):
    message: str
    members: _builtin_list[str]
    def __init__(self, message: str, members: _builtin_list[str]) -> None: ...

class WrittenEntry:
    @property
    def index(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def dest_path(self) -> str: ...
    @property
    def kind(self) -> Literal["file", "dir"]: ...
    @property
    def size(self) -> int: ...
    @property
    def mode(self) -> int: ...
    @property
    def digest(self) -> Optional[str]: ...

class SkippedEntry:
    @property
    def index(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def kind(self) -> Kind: ...
    @property
    def link_target(self) -> Optional[str]: ...
    @property
    def rule(self) -> Optional[str]: ...
    @property
    def reason(self) -> Optional[str]: ...

class CopiedEntry:
    @property
    def index(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def written(self) -> str: ...
    @property
    def copy_of(self) -> str: ...

class Report:
    @property
    def files(self) -> int: ...
    @property
    def directories(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def entries(self) -> _builtin_list[WrittenEntry]: ...
    @property
    def skipped(self) -> _builtin_list[SkippedEntry]: ...
    @property
    def copied(self) -> _builtin_list[CopiedEntry]: ...
    @property
    def omitted_entries(self) -> int: ...
    @property
    def omitted_skipped(self) -> int: ...
    @property
    def omitted_copied(self) -> int: ...

class Entry:
    @property
    def index(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def kind(self) -> Kind: ...
    @property
    def type_flag(self) -> str: ...
    @property
    def header_offset(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def mode(self) -> int: ...
    @property
    def mtime(self) -> int: ...
    @property
    def link_target(self) -> Optional[str]: ...
    @property
    def verdict(self) -> Verdict: ...
    @property
    def copy_of(self) -> Optional[str]: ...
    @property
    def rule(self) -> Optional[str]: ...
    @property
    def reason(self) -> Optional[str]: ...
    @property
    def message(self) -> Optional[str]: ...

class Violation:
    @property
    def rule(self) -> str: ...
    @property
    def entry(self) -> Optional[int]: ...
    @property
    def path(self) -> Optional[str]: ...
    @property
    def message(self) -> str: ...

class Action:
    @property
    def entry(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def verdict(self) -> Literal["skip", "copy"]: ...
    @property
    def copy_of(self) -> Optional[str]: ...
    @property
    def rule(self) -> Optional[str]: ...
    @property
    def reason(self) -> Optional[str]: ...

class CheckReport:
    @property
    def acceptable(self) -> bool: ...
    @property
    def entries(self) -> int: ...
    @property
    def violations(self) -> _builtin_list[Violation]: ...
    @property
    def omitted(self) -> int: ...
    @property
    def actions(self) -> _builtin_list[Action]: ...
    @property
    def omitted_actions(self) -> int: ...

class Extractor:
    def __init__(
        self,
        *,
        max_size: Optional[int] = ...,
        max_entries: int = ...,
        max_dirs: int = ...,
        timeout: float = ...,
        stall_timeout: float = ...,
        portable: bool = ...,
        links: Links = ...,
        special: Special = ...,
        strip_components: int = ...,
        exclude: Iterable[str] = ...,
        members: Iterable[str] = ...,
        hash: Optional[Hash] = ...,
        cache_dir: Optional[StrPath] = ...,
    ) -> None: ...
    def extract(
        self,
        source: Source,
        dest: StrPath,
        *,
        max_size: Optional[int] = ...,
        max_entries: int = ...,
        max_dirs: int = ...,
        timeout: float = ...,
        stall_timeout: float = ...,
        portable: bool = ...,
        links: Links = ...,
        special: Special = ...,
        strip_components: int = ...,
        exclude: Iterable[str] = ...,
        members: Iterable[str] = ...,
        hash: Optional[Hash] = ...,
        cache_dir: Optional[StrPath] = ...,
    ) -> Report: ...
    def list(
        self,
        source: Source,
        *,
        max_size: Optional[int] = ...,
        max_entries: int = ...,
        max_dirs: int = ...,
        timeout: float = ...,
        stall_timeout: float = ...,
        portable: bool = ...,
        links: Links = ...,
        special: Special = ...,
        strip_components: int = ...,
        exclude: Iterable[str] = ...,
        members: Iterable[str] = ...,
        hash: Optional[Hash] = ...,
        cache_dir: Optional[StrPath] = ...,
    ) -> _builtin_list[Entry]: ...
    def check(
        self,
        source: Source,
        crate: bool = ...,
        prefix: Optional[str] = ...,
        *,
        max_size: Optional[int] = ...,
        max_entries: int = ...,
        max_dirs: int = ...,
        timeout: float = ...,
        stall_timeout: float = ...,
        portable: bool = ...,
        links: Links = ...,
        special: Special = ...,
        strip_components: int = ...,
        exclude: Iterable[str] = ...,
        members: Iterable[str] = ...,
        hash: Optional[Hash] = ...,
        cache_dir: Optional[StrPath] = ...,
    ) -> CheckReport: ...

def extract(
    source: Source,
    dest: StrPath,
    *,
    max_size: Optional[int] = ...,
    max_entries: int = ...,
    max_dirs: int = ...,
    timeout: float = ...,
    stall_timeout: float = ...,
    portable: bool = ...,
    links: Links = ...,
    special: Special = ...,
    strip_components: int = ...,
    exclude: Iterable[str] = ...,
    members: Iterable[str] = ...,
    hash: Optional[Hash] = ...,
    cache_dir: Optional[StrPath] = ...,
) -> Report: ...
def list(
    source: Source,
    *,
    max_size: Optional[int] = ...,
    max_entries: int = ...,
    max_dirs: int = ...,
    timeout: float = ...,
    stall_timeout: float = ...,
    portable: bool = ...,
    links: Links = ...,
    special: Special = ...,
    strip_components: int = ...,
    exclude: Iterable[str] = ...,
    members: Iterable[str] = ...,
    hash: Optional[Hash] = ...,
    cache_dir: Optional[StrPath] = ...,
) -> _builtin_list[Entry]: ...
def check(
    source: Source,
    crate: bool = ...,
    prefix: Optional[str] = ...,
    *,
    max_size: Optional[int] = ...,
    max_entries: int = ...,
    max_dirs: int = ...,
    timeout: float = ...,
    stall_timeout: float = ...,
    portable: bool = ...,
    links: Links = ...,
    special: Special = ...,
    strip_components: int = ...,
    exclude: Iterable[str] = ...,
    members: Iterable[str] = ...,
    hash: Optional[Hash] = ...,
    cache_dir: Optional[StrPath] = ...,
) -> CheckReport: ...
def rules() -> dict[str, str]: ...
