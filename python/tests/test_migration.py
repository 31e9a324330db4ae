"""The README's migration table, row by row: what tarfile's "data" filter
does with an archive, what sealtar does by default, and the option that
allows it where there is one."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

import sealtar
from tarbuild import Tar, tree

pytestmark = pytest.mark.skipif(not hasattr(tarfile, "data_filter"), reason="this Python's tarfile has no filters")


def with_tarfile(data: bytes, dest, before=None):
    os.makedirs(dest)
    if before:
        before(dest)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return tree(dest)


def existing(dest):
    with open(os.path.join(dest, "a"), "wb") as f:
        f.write(b"old")


ROWS = [
    # (row, archive, before, sealtar's rule, options that allow it, the tree it then writes)
    ("link inside", Tar().file("a", b"x").symlink("l", "a"), None, "forbidden-kind", {"links": "copy"},
     {"a": ("file", b"x"), "l": ("file", b"x")}),
    ("exists in destination", Tar().file("a", b"new"), existing, "exists-in-destination", None, None),
    ("absolute name", Tar().file("/etc/xyz-sealtar", b"x"), None, "absolute-path", None, None),
    ("dot-dot inside", Tar().dir("a").file("a/../b", b"x"), None, "parent-component", None, None),
    ("dot component", Tar().file("a/./b", b"x"), None, "dot-component", None, None),
    ("duplicate", Tar().file("a", b"1").file("a", b"2"), None, "duplicate", None, None),
    ("not utf-8", Tar().file(b"\xff\xfe", b"x"), None, "not-utf8", None, None),
    ("many entries", Tar().file("a").file("b").file("c"), None, "too-many-entries", {"max_entries": 3},
     {"a": ("file", b""), "b": ("file", b""), "c": ("file", b"")}),
]


@pytest.mark.parametrize("row, archive, before, rule, allow, allowed", ROWS, ids=[r[0] for r in ROWS])
def test_data_filter_lets_it_through_and_sealtar_refuses(box, row, archive, before, rule, allow, allowed):
    data = archive.build()
    # tarfile extracts it (the 'many entries' row stands for the default
    # limits, which tarfile does not have: 3 entries are tested with a limit of 2).
    assert with_tarfile(data, box.others / "tarfile", before)
    options = {"max_entries": 2} if row == "many entries" else {}
    if before:
        box.dest.mkdir()
        before(box.dest)
    snapshot = tree(box.dest) if box.dest.exists() else None
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(data, box.dest, **options)
    assert e.value.rule == rule
    assert (tree(box.dest) if box.dest.exists() else None) == snapshot
    if allow:
        sealtar.extract(data, box.others / "allowed", **allow)
        assert tree(box.others / "allowed") == allowed


def test_special_files_are_refused_by_both_and_sealtar_can_skip_them(box):
    data = Tar().file("f", b"f").fifo("p").build()
    with pytest.raises(tarfile.SpecialFileError):
        with_tarfile(data, box.others / "tarfile")
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(data, box.dest)
    assert e.value.rule == "forbidden-kind"
    sealtar.extract(data, box.dest, special="skip")
    assert tree(box.dest) == {"f": ("file", b"f")}


def test_a_failure_half_way_leaves_nothing_unlike_tarfile(box):
    # tarfile writes "ok" and then fails on "a/../b" (a is a file); sealtar
    # refuses the archive and writes nothing.
    data = Tar().file("ok", b"ok").file("a", b"a").file("a/../b", b"x").build()
    with pytest.raises(OSError):
        with_tarfile(data, box.others / "tarfile")
    assert "ok" in tree(box.others / "tarfile")
    with pytest.raises(sealtar.Refused):
        sealtar.extract(data, box.dest)
    assert not box.dest.exists()
