"""Tar archives built byte by byte for the tests.

tarfile refuses (or normalizes) exactly the headers these tests need, so
every field is written here by hand and the checksum computed last, as the
Rust tests' builder does (tests/src/lib.rs).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import stat

BLOCK = 512

REGULAR, HARDLINK, SYMLINK, CHARDEV, BLOCKDEV, DIRECTORY, FIFO = b"0", b"1", b"2", b"3", b"4", b"5", b"6"


def _octal(value: int, width: int) -> bytes:
    text = f"{value:0{width - 1}o}".encode()
    if len(text) >= width:
        raise ValueError(f"{value} does not fit a field of {width}")
    return text + b"\0"


def header(
    name: bytes | str,
    type_flag: bytes = REGULAR,
    size: int = 0,
    *,
    mode: int = 0o644,
    mtime: int = 1_700_000_000,
    link: bytes | str = b"",
    major: int = 0,
    minor: int = 0,
) -> bytes:
    """One ustar header block."""
    name = name.encode() if isinstance(name, str) else name
    link = link.encode() if isinstance(link, str) else link
    if len(name) > 100 or len(link) > 100:
        raise ValueError("name or link too long for a plain ustar header (use pax())")
    b = bytearray(BLOCK)
    b[0 : len(name)] = name
    b[100:108] = _octal(mode, 8)
    b[108:116] = _octal(0, 8)
    b[116:124] = _octal(0, 8)
    b[124:136] = _octal(size, 12)
    b[136:148] = _octal(mtime, 12)
    b[156:157] = type_flag
    b[157 : 157 + len(link)] = link
    b[257:265] = b"ustar\x0000"
    if type_flag in (CHARDEV, BLOCKDEV):
        b[329:337] = _octal(major, 8)
        b[337:345] = _octal(minor, 8)
    b[148:156] = b" " * 8
    b[148:156] = f"{sum(b):06o}\0 ".encode()
    return bytes(b)


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


def pax_record(key: str, value: bytes) -> bytes:
    body = len(key) + len(value) + 3  # " ", "=", "\n"
    length = body + 1
    while len(str(length)) + body != length:
        length += 1
    return f"{length} {key}=".encode() + value + b"\n"


class Tar:
    """An archive assembled member by member."""

    def __init__(self):
        self.data = bytearray()

    def raw(self, block: bytes, payload: bytes = b"") -> Tar:
        self.data += block + _pad(payload)
        return self

    def file(self, name, contents: bytes = b"", mode: int = 0o644, mtime: int = 1_700_000_000) -> Tar:
        return self.raw(header(name, REGULAR, len(contents), mode=mode, mtime=mtime), contents)

    def dir(self, name, mode: int = 0o755) -> Tar:
        return self.raw(header(name, DIRECTORY, mode=mode))

    def symlink(self, name, target) -> Tar:
        return self.raw(header(name, SYMLINK, mode=0o777, link=target))

    def hardlink(self, name, target) -> Tar:
        return self.raw(header(name, HARDLINK, link=target))

    def fifo(self, name) -> Tar:
        return self.raw(header(name, FIFO))

    def chardev(self, name, major: int = 1, minor: int = 3) -> Tar:
        return self.raw(header(name, CHARDEV, major=major, minor=minor))

    def blockdev(self, name, major: int = 8, minor: int = 0) -> Tar:
        return self.raw(header(name, BLOCKDEV, major=major, minor=minor))

    def pax(self, records: dict[str, bytes | str], then_name: bytes | str, type_flag=REGULAR,
            contents: bytes = b"", link: bytes | str = b"") -> Tar:
        """A PAX extended header (for long names and link targets) and its member."""
        payload = b"".join(pax_record(k, v.encode() if isinstance(v, str) else v) for k, v in records.items())
        self.raw(header("././@PaxHeader", b"x", len(payload)), payload)
        return self.raw(header(then_name, type_flag, len(contents), link=link,
                               mode=0o777 if type_flag == SYMLINK else 0o644), contents)

    def build(self) -> bytes:
        return bytes(self.data) + bytes(2 * BLOCK)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def xz(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_XZ)


def bz(data: bytes) -> bytes:
    return bz2.compress(data)


def tree(root) -> dict:
    """{relative path: ("dir",) | ("file", bytes) | ("symlink", target) | ("other", mode)}."""
    out = {}
    root = os.fspath(root)
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir",)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as f:
                    out[rel] = ("file", f.read())
            else:
                out[rel] = ("other", stat.S_IFMT(info.st_mode))
    return out


def snapshot(root) -> dict:
    """Like tree(), with a digest instead of the bytes, and each file's and
    directory's permission bits and mtime: for comparing two extractions."""
    out = {}
    root = os.fspath(root)
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            info = os.lstat(path)
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", mode, int(info.st_mtime))
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                out[rel] = ("file", digest, mode, int(info.st_mtime))
            else:
                out[rel] = ("other", stat.S_IFMT(info.st_mode))
    return out
