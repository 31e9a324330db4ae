"""sealtar.extract: every kind of source, the report, the destination."""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import stat

import pytest

import sealtar
from tarbuild import Tar, bz, gz, tree, xz

# BLAKE3 of b"" and b"abc" (the reference implementation's test vectors).
BLAKE3_EMPTY = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
BLAKE3_ABC = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"


def small() -> bytes:
    return (
        Tar()
        .dir("pkg/")
        .file("pkg/a.txt", b"alpha\n")
        .file("pkg/sub/b.bin", bytes(range(256)) * 40, mode=0o755)
        .file("pkg/empty", b"")
        .build()
    )


SMALL_TREE = {
    "pkg": ("dir",),
    os.path.join("pkg", "a.txt"): ("file", b"alpha\n"),
    os.path.join("pkg", "sub"): ("dir",),
    os.path.join("pkg", "sub", "b.bin"): ("file", bytes(range(256)) * 40),
    os.path.join("pkg", "empty"): ("file", b""),
}


def sources(directory: pathlib.Path, data: bytes):
    """The same archive as each kind of source extract takes."""
    path = directory / "archive.tar"
    path.write_bytes(data)
    yield "str path", str(path)
    yield "pathlib path", path
    yield "bytes", data
    yield "bytearray", bytearray(data)
    yield "memoryview", memoryview(data)
    yield "BytesIO", io.BytesIO(data)
    with open(path, "rb") as f:
        yield "open file", f
    with open(path, "rb", buffering=0) as f:
        yield "raw file", f


def test_every_kind_of_source_gives_the_same_tree(box):
    for name, source in sources(box.others, small()):
        dest = box.others / f"out-{name.replace(' ', '-')}"
        report = sealtar.extract(source, dest)
        assert tree(dest) == SMALL_TREE, name
        assert (report.files, report.directories, report.bytes) == (3, 2, 6 + 10240), name


@pytest.mark.parametrize("compress", [gz, xz, bz], ids=["gzip", "xz", "bzip2"])
def test_compressed_archives_are_detected_from_their_bytes(box, compress):
    path = box.others / "archive.tar.anything"
    path.write_bytes(compress(small()))
    sealtar.extract(path, box.dest)
    assert tree(box.dest) == SMALL_TREE


def test_report_lists_every_written_entry(box):
    report = sealtar.extract(small(), box.dest)
    got = [(e.index, e.path, e.dest_path, e.kind, e.size, e.digest) for e in report.entries]
    assert got == [
        (0, "pkg/", "pkg", "dir", 0, None),
        (1, "pkg/a.txt", "pkg/a.txt", "file", 6, None),
        (2, "pkg/sub/b.bin", "pkg/sub/b.bin", "file", 10240, None),
        (3, "pkg/empty", "pkg/empty", "file", 0, None),
    ]
    assert report.skipped == [] and report.copied == []
    assert (report.omitted_entries, report.omitted_skipped, report.omitted_copied) == (0, 0, 0)
    modes = {e.dest_path: e.mode for e in report.entries}
    for rel, mode in modes.items():
        assert stat.S_IMODE(os.stat(box.dest / rel).st_mode) == mode
    assert "files=3" in repr(report)


def test_hash_sha256_and_blake3(box):
    data = Tar().file("empty", b"").file("abc", b"abc").build()
    report = sealtar.extract(data, box.dest, hash="sha256")
    assert [e.digest for e in report.entries] == [
        hashlib.sha256(b"").hexdigest(),
        hashlib.sha256(b"abc").hexdigest(),
    ]
    report = sealtar.extract(data, box.others / "b3", hash="blake3")
    assert [e.digest for e in report.entries] == [BLAKE3_EMPTY, BLAKE3_ABC]


def test_directory_entries_have_no_digest(box):
    report = sealtar.extract(Tar().dir("d/").file("d/f", b"x").build(), box.dest, hash="sha256")
    assert [(e.kind, e.digest is None) for e in report.entries] == [("dir", True), ("file", False)]


def test_dest_is_created_if_missing_and_may_exist_empty(box):
    sealtar.extract(small(), box.dest)
    assert tree(box.dest) == SMALL_TREE
    other = box.others / "existing"
    other.mkdir()
    sealtar.extract(small(), other)
    assert tree(other) == SMALL_TREE


def test_existing_directories_are_merged_into_but_files_are_never_replaced(box):
    box.dest.mkdir()
    (box.dest / "pkg").mkdir()
    (box.dest / "pkg" / "mine.txt").write_bytes(b"mine")
    sealtar.extract(Tar().file("pkg/new.txt", b"new").build(), box.dest)
    assert tree(box.dest)[os.path.join("pkg", "mine.txt")] == ("file", b"mine")
    assert tree(box.dest)[os.path.join("pkg", "new.txt")] == ("file", b"new")
    before = tree(box.dest)
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(Tar().file("pkg/other.txt", b"o").file("pkg/mine.txt", b"theirs").build(), box.dest)
    assert e.value.rule == "exists-in-destination"
    assert (e.value.entry, e.value.path) == (1, "pkg/mine.txt")
    assert tree(box.dest) == before


def test_a_refused_archive_leaves_a_created_dest_absent(box):
    with pytest.raises(sealtar.Refused):
        sealtar.extract(Tar().file("ok.txt", b"ok").file("../evil", b"x").build(), box.dest)
    assert not box.dest.exists()


def test_a_refused_archive_leaves_an_existing_dest_as_it_was(box):
    box.dest.mkdir()
    (box.dest / "keep").write_bytes(b"k")
    with pytest.raises(sealtar.Refused):
        sealtar.extract(Tar().file("ok.txt", b"ok").symlink("l", "ok.txt").build(), box.dest)
    assert tree(box.dest) == {"keep": ("file", b"k")}


def test_modes_are_narrowed_never_widened(box):
    data = (
        Tar()
        .file("setuid", b"x", mode=0o4777)
        .file("private", b"x", mode=0o600)
        .file("none", b"x", mode=0o000)
        .file("exec", b"x", mode=0o755)
        .build()
    )
    old = os.umask(0o022)
    try:
        sealtar.extract(data, box.dest)
    finally:
        os.umask(old)
    modes = {n: stat.S_IMODE(os.stat(box.dest / n).st_mode) for n in ("setuid", "private", "none", "exec")}
    assert modes == {"setuid": 0o755, "private": 0o600, "none": 0o600, "exec": 0o755}


def test_mtimes_come_from_the_archive(box):
    sealtar.extract(Tar().file("old", b"x", mtime=1_000_000_000).build(), box.dest)
    assert int(os.stat(box.dest / "old").st_mtime) == 1_000_000_000


def test_not_a_tar_archive_is_refused_with_its_format(box):
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(b"PK\x03\x04" + bytes(100), box.dest)
    assert e.value.rule == "malformed"
    assert "zip archive" in str(e.value)
    assert (e.value.entry, e.value.path) == (None, None)
    box.assert_dest_absent_or_empty()


def test_a_dest_whose_parent_is_missing_is_file_not_found_with_the_path(box):
    dest = box.others / "no" / "such" / "dir"
    with pytest.raises(FileNotFoundError) as e:
        sealtar.extract(small(), dest)
    assert e.value.filename == str(dest)
    assert "creating" in str(e.value)


def test_a_dest_that_is_a_file_is_an_os_error_and_stays_as_it_was(box):
    box.dest.write_bytes(b"not a directory")
    with pytest.raises(OSError) as e:
        sealtar.extract(small(), box.dest)
    assert e.value.filename == str(box.dest)
    assert not isinstance(e.value, sealtar.SealtarError)
    assert box.dest.read_bytes() == b"not a directory"
