"""Every keyword option, and the errors bad ones raise before anything is read."""

from __future__ import annotations

import io
import os
import sys
import time

import pytest

import sealtar
from tarbuild import Tar, tree


def flat(t: dict) -> dict:
    return {k.replace("\\", "/"): v for k, v in t.items()}


def test_max_size(box):
    data = Tar().file("a", b"x" * 5000).build()
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(data, box.dest, max_size=4096)
    assert e.value.rule == "too-large"
    assert not box.dest.exists()
    sealtar.extract(data, box.dest, max_size=1 << 20)
    assert tree(box.dest) == {"a": ("file", b"x" * 5000)}


def test_max_entries(box):
    data = Tar().file("a").file("b").file("c").build()
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(data, box.dest, max_entries=2)
    assert (e.value.rule, e.value.entry, e.value.path) == ("too-many-entries", 2, "c")
    assert len(sealtar.extract(data, box.dest, max_entries=3).entries) == 3


def test_max_dirs(box):
    data = Tar().file("a/b/c/f").build()
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(data, box.dest, max_dirs=2)
    assert e.value.rule == "too-many-directories"
    assert sealtar.extract(data, box.dest, max_dirs=3).directories == 3


class Slow:
    """Delivers the archive in small pieces, sleeping before each."""

    def __init__(self, data: bytes, pause: float):
        self.stream, self.pause = io.BytesIO(data), pause

    def read(self, n):
        time.sleep(self.pause)
        return self.stream.read(512)


def test_timeout_stops_a_run_that_takes_too_long(box):
    data = Tar().file("a", b"x" * 200_000).build()
    started = time.monotonic()
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(Slow(data, 0.02), box.dest, timeout=0.5)
    assert e.value.rule == "sandbox"
    assert "deadline" in str(e.value)
    assert time.monotonic() - started < 10
    assert not box.dest.exists()


def test_timeout_takes_floats_and_ints(box):
    data = Tar().file("a", b"a").build()
    sealtar.extract(data, box.dest, timeout=30, stall_timeout=2.5)
    assert tree(box.dest) == {"a": ("file", b"a")}


def test_stall_timeout_stops_a_source_that_delivers_nothing(box):
    data = Tar().file("a", b"x" * 10_000).build()

    class Stalls:
        def __init__(self):
            self.stream = io.BytesIO(data)
            self.calls = 0

        def read(self, n):
            self.calls += 1
            return self.stream.read(1024) if self.calls < 3 else None

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="stall"):
        sealtar.extract(Stalls(), box.dest, stall_timeout=0.4)
    assert 0.4 <= time.monotonic() - started < 10
    assert not box.dest.exists()


def test_portable(box):
    data = Tar().file("aux.txt", b"x").file("a:b", b"y").build()
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(data, box.others / "p", portable=True)
    assert (e.value.rule, e.value.entry) == ("not-portable", 0)
    if sys.platform not in ("win32", "darwin"):
        sealtar.extract(data, box.dest, portable=False)
        assert set(tree(box.dest)) == {"aux.txt", "a:b"}


def links() -> bytes:
    return (
        Tar()
        .file("pkg/real.txt", b"real")
        .symlink("pkg/alias.txt", "real.txt")
        .hardlink("pkg/hard.txt", "pkg/real.txt")
        .symlink("pkg/escape", "../../etc/passwd")
        .build()
    )


def test_links_refuse_is_the_default(box):
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(links(), box.dest)
    assert (e.value.rule, e.value.entry, e.value.path) == ("forbidden-kind", 1, "pkg/alias.txt")
    with pytest.raises(sealtar.Refused):
        sealtar.extract(links(), box.dest, links="refuse")
    assert not box.dest.exists()


def test_links_skip(box):
    report = sealtar.extract(links(), box.dest, links="skip")
    assert flat(tree(box.dest)) == {"pkg": ("dir",), "pkg/real.txt": ("file", b"real")}
    assert [(s.path, s.kind, s.link_target, s.rule) for s in report.skipped] == [
        ("pkg/alias.txt", "symlink", "real.txt", None),
        ("pkg/hard.txt", "hardlink", "pkg/real.txt", None),
        ("pkg/escape", "symlink", "../../etc/passwd", None),
    ]


def test_links_copy(box):
    report = sealtar.extract(links(), box.dest, links="copy")
    assert flat(tree(box.dest)) == {
        "pkg": ("dir",),
        "pkg/real.txt": ("file", b"real"),
        "pkg/alias.txt": ("file", b"real"),
        "pkg/hard.txt": ("file", b"real"),
    }
    assert [(c.written, c.copy_of) for c in report.copied] == [
        ("pkg/alias.txt", "pkg/real.txt"),
        ("pkg/hard.txt", "pkg/real.txt"),
    ]
    assert [(s.path, s.rule) for s in report.skipped] == [("pkg/escape", "link-outside")]
    assert report.skipped[0].reason


def test_links_copy_or_refuse(box):
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(links(), box.dest, links="copy-or-refuse")
    assert (e.value.rule, e.value.path) == ("link-outside", "pkg/escape")
    assert not box.dest.exists()
    ok = Tar().file("real", b"r").symlink("alias", "real").build()
    sealtar.extract(ok, box.dest, links="copy-or-refuse")
    assert tree(box.dest) == {"real": ("file", b"r"), "alias": ("file", b"r")}


def test_special(box):
    data = Tar().file("f", b"f").fifo("pipe").chardev("null").blockdev("disk").build()
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(data, box.dest)
    assert (e.value.rule, e.value.entry) == ("forbidden-kind", 1)
    report = sealtar.extract(data, box.dest, special="skip")
    assert tree(box.dest) == {"f": ("file", b"f")}
    assert [(s.path, s.kind) for s in report.skipped] == [("pipe", "fifo"), ("null", "chardev"), ("disk", "blockdev")]


def test_strip_components(box):
    data = Tar().dir("pkg-1.0/").file("pkg-1.0/src/a.rs", b"a").file("pkg-1.0/README", b"r").build()
    report = sealtar.extract(data, box.dest, strip_components=1)
    assert flat(tree(box.dest)) == {"src": ("dir",), "src/a.rs": ("file", b"a"), "README": ("file", b"r")}
    assert [e.dest_path for e in report.entries] == ["src/a.rs", "README"]
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(Tar().file("top", b"t").build(), box.others / "s", strip_components=1)
    assert e.value.rule == "stripped-to-nothing"


def test_exclude(box):
    data = Tar().file("pkg/docs/a.md", b"a").file("pkg/src/b.rs", b"b").file("pkg/c.orig", b"c").build()
    sealtar.extract(data, box.dest, exclude=["docs", "*.orig"])
    assert flat(tree(box.dest)) == {"pkg": ("dir",), "pkg/src": ("dir",), "pkg/src/b.rs": ("file", b"b")}


def test_excluded_entries_are_still_vetted(box):
    data = Tar().file("pkg/ok", b"o").file("pkg/docs/../../evil", b"e").build()
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(data, box.dest, exclude=["docs"])
    assert e.value.rule == "parent-component"


def test_members(box):
    data = Tar().file("pkg/src/a.rs", b"a").file("pkg/src/b.rs", b"b").file("pkg/README", b"r").build()
    sealtar.extract(data, box.dest, members=["pkg/src", "pkg/README"])
    assert set(flat(tree(box.dest))) == {"pkg", "pkg/src", "pkg/src/a.rs", "pkg/src/b.rs", "pkg/README"}
    sealtar.extract(data, box.others / "one", members=("pkg/src/b.rs",))
    assert flat(tree(box.others / "one")) == {"pkg": ("dir",), "pkg/src": ("dir",), "pkg/src/b.rs": ("file", b"b")}


def test_members_that_match_nothing(box):
    data = Tar().file("a", b"a").build()
    with pytest.raises(sealtar.MembersNotFound) as e:
        sealtar.extract(data, box.dest, members=["a", "nope", "gone/"])
    assert isinstance(e.value, sealtar.SealtarError)
    assert not isinstance(e.value, sealtar.Refused)
    assert e.value.members == ["nope", "gone/"]
    assert "not found in the archive" in str(e.value)
    assert not box.dest.exists()


class Untouched:
    """A source that fails the test if it is read."""

    def read(self, n):
        raise AssertionError("read before the options were checked")


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"max_sise": 1}, TypeError, "unexpected keyword argument 'max_sise'"),
        ({"max_size": "1M"}, TypeError, "max_size must be an int"),
        ({"max_size": 1.5}, TypeError, "max_size must be an int"),
        ({"max_size": -1}, ValueError, "must not be negative"),
        ({"max_size": 1 << 70}, ValueError, "too large"),
        ({"max_entries": True}, TypeError, "max_entries must be an int"),
        ({"max_dirs": -5}, ValueError, "must not be negative"),
        ({"timeout": 0}, ValueError, "positive"),
        ({"timeout": float("nan")}, ValueError, "positive"),
        ({"timeout": "60"}, TypeError, "number of seconds"),
        ({"stall_timeout": -1.0}, ValueError, "positive"),
        ({"portable": 1}, TypeError, "True or False"),
        ({"links": "follow"}, ValueError, "links must be one of"),
        ({"links": None}, TypeError, "links must be a str"),
        ({"special": "create"}, ValueError, "special must be one of"),
        ({"strip_components": -1}, ValueError, "must not be negative"),
        ({"exclude": "docs"}, TypeError, "list of str"),
        ({"exclude": [b"docs"]}, TypeError, "only str"),
        ({"members": 3}, TypeError, "list of str"),
        ({"members": [""]}, ValueError, "invalid option"),
        ({"hash": "md5"}, ValueError, "hash must be one of"),
        ({"cache_dir": 5}, TypeError, "cache_dir must be a path"),
    ],
)
def test_bad_options_raise_before_anything_is_read(box, options, error, match):
    for call in (
        lambda: sealtar.extract(Untouched(), box.dest, **options),
        lambda: sealtar.list(Untouched(), **options),
        lambda: sealtar.check(Untouched(), **options),
        lambda: sealtar.Extractor(**options),
    ):
        with pytest.raises(error, match=match):
            call()
    assert not box.dest.exists()


def test_extractor_options_and_call_options_combine(box):
    data = Tar().file("pkg/a", b"a").symlink("pkg/l", "a").file("pkg/big", b"b" * 3000).build()
    extractor = sealtar.Extractor(links="skip", strip_components=1)
    report = extractor.extract(data, box.dest)
    assert tree(box.dest) == {"a": ("file", b"a"), "big": ("file", b"b" * 3000)}
    assert len(report.skipped) == 1
    with pytest.raises(sealtar.Refused) as e:
        extractor.extract(data, box.others / "capped", max_size=2048)
    assert e.value.rule == "too-large"
    # The call's own options do not stick to the extractor.
    extractor.extract(data, box.others / "again")
    assert set(tree(box.others / "again")) == {"a", "big"}
    assert "Skip" in repr(extractor)


def test_none_resets_max_size_and_hash(box):
    data = Tar().file("a", b"a" * 3000).build()
    extractor = sealtar.Extractor(max_size=1024, hash="sha256")
    report = extractor.extract(data, box.dest, max_size=None, hash=None)
    assert report.entries[0].digest is None


def test_env_cache_dir_is_only_used_when_set(tmp_path):
    # Not the default: the module reads nothing it is not asked to. Checked
    # in a fresh interpreter, since only a process's first extractor compiles.
    import subprocess

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("SEALTAR_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    done = subprocess.run([sys.executable, "-c", "import sealtar; sealtar.Extractor()"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert list(home.rglob("*")) == [], "the module wrote into the user's home without being asked"

    cache = tmp_path / "cache"
    done = subprocess.run([sys.executable, "-c", "import sealtar; sealtar.Extractor()"],
                          env=dict(env, SEALTAR_CACHE_DIR=str(cache)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert any(p.is_file() for p in cache.rglob("*")), "SEALTAR_CACHE_DIR was set but nothing was cached"

    explicit = tmp_path / "explicit"
    done = subprocess.run([sys.executable, "-c", f"import sealtar; sealtar.Extractor(cache_dir={str(explicit)!r})"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert any(p.is_file() for p in explicit.rglob("*")), "cache_dir= was given but nothing was cached"
    assert list(home.rglob("*")) == []
