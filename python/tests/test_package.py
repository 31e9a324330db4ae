"""The installed package: its parts, documentation and exception classes."""

from __future__ import annotations

import pickle
import pydoc
import sys
from pathlib import Path

import sealtar


def test_installed_from_the_wheel_not_the_source_tree():
    here = Path(__file__).resolve().parents[1]
    assert here not in Path(sealtar.__file__).resolve().parents, sealtar.__file__


def test_stubs_and_marker_ship_with_the_package():
    root = Path(sealtar.__file__).parent
    assert (root / "py.typed").is_file()
    stubs = (root / "__init__.pyi").read_text()
    for name in sealtar.__all__:
        assert f"def {name}(" in stubs or f"class {name}" in stubs, name


def test_everything_exported_exists():
    for name in sealtar.__all__:
        assert getattr(sealtar, name) is not None


def test_help_describes_every_option():
    for thing in (sealtar.extract, sealtar.list, sealtar.check, sealtar.Extractor):
        text = pydoc.render_doc(thing)
        for option in ("max_size", "max_entries", "max_dirs", "timeout", "stall_timeout", "portable", "links",
                       "special", "strip_components", "exclude", "members", "hash", "cache_dir"):
            assert f"    {option} (" in text, (thing, option)
        for word in ("copy-or-refuse", "Refused", "OSError", "SEALTAR_CACHE_DIR"):
            assert word in text, (thing, word)


def test_exception_classes():
    assert issubclass(sealtar.Refused, sealtar.SealtarError)
    assert issubclass(sealtar.MembersNotFound, sealtar.SealtarError)
    assert issubclass(sealtar.SealtarError, Exception)
    e = sealtar.Refused('entry 1 "x": why [rule forbidden-kind]', "forbidden-kind", 1, "x")
    copy = pickle.loads(pickle.dumps(e))
    assert (copy.rule, copy.entry, copy.path, str(copy)) == ("forbidden-kind", 1, "x", str(e))


def test_refused_carries_the_cli_message():
    from tarbuild import Tar

    try:
        sealtar.list(Tar().file("a").build(), max_entries=0)
    except sealtar.Refused as e:
        assert str(e).startswith('entry 0 "a": ')
        assert str(e).endswith("[rule too-many-entries]")
    else:
        raise AssertionError("not refused")


def test_result_objects_are_read_only():
    import pytest

    entry = sealtar.list(b"\0" * 1024)  # an empty archive: two zero blocks
    assert entry == []
    report = sealtar.check(b"\0" * 1024)
    with pytest.raises(AttributeError):
        report.acceptable = False


def test_abi3_module():
    import sealtar._sealtar as native

    assert ".abi3." in Path(native.__file__).name or sys.platform == "win32"
