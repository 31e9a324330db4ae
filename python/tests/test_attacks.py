"""The attack classes of CPython's own tests of tarfile's extraction filters
(test_tarfile.py, TestExtractionFilters), rebuilt here with this suite's
byte-level builder: absolute names, `..`, symlinks to `.`/`..`/`/` followed
by members through them, absolute hard links, sly relative link targets,
deep and PATH_MAX-long symlink chains (CVE-2025-4517), a directory entry
whose postponed chmod would follow a symlink (CVE-2024-12718), a hard link
to a symlink that leaves (the fallback of CVE-2025-4330), `..` names that
create directories outside before coming back (`../evil/../dest/sub/f`),
and special files.

For each: `Refused` with the rule the `sealtar` command names for the same
archive (and its exact message), nothing written outside the destination (a
sentinel directory beside it, also the target of every absolute name), and
the destination left absent. Under links="copy" no link is ever created and
nothing outside changes either, and `check` says beforehand whether the
archive is accepted.
"""

from __future__ import annotations

import os

import pytest

import sealtar
from tarbuild import DIRECTORY, HARDLINK, REGULAR, SYMLINK, Tar, header, tree


def add(t: Tar, name: str, kind=REGULAR, link: str = "", data: bytes = b"", mode: int | None = None) -> Tar:
    """A member of any name and link length (PAX records past 100 bytes)."""
    if mode is None:
        mode = 0o777 if kind == SYMLINK else 0o755 if kind == DIRECTORY else 0o644
    if len(name.encode()) <= 100 and len(link.encode()) <= 100:
        return t.raw(header(name, kind, len(data), mode=mode, link=link), data)
    records = {"path": name}
    if link:
        records["linkpath"] = link
    return t.pax(records, "placeholder", kind, data, link="placeholder" if link else b"")


def cases(outside: str):
    """(name, archive bytes, the rule expected) for each attack class.
    `outside` is an absolute directory beside the destination."""
    t = {}
    t["absolute name"] = (add(Tar(), f"{outside}/abs", data=b"x"), "absolute-path")
    t["parent name"] = (add(Tar(), "../evil", data=b"x"), "parent-component")
    t["sly parent name"] = (add(Tar(), "a/../../evil", data=b"x"), "parent-component")
    t["dirs outside then back"] = (add(Tar(), "../evil/../dest/sub/f", data=b"x"), "parent-component")
    x = Tar()
    add(x, "current", SYMLINK, ".")
    add(x, "parent", SYMLINK, "current/..")
    add(x, "parent/evil", data=b"x")
    t["symlink to current, then parent"] = (x, "forbidden-kind")
    x = Tar()
    add(x, "current", SYMLINK, ".")
    add(x, "current/parent", SYMLINK, "..")
    add(x, "parent/evil", data=b"x")
    t["symlink through a symlink to parent"] = (x, "forbidden-kind")
    x = Tar()
    add(x, "parent", SYMLINK, "/")
    add(x, f"parent{outside}/evil", data=b"x")
    t["absolute symlink"] = (x, "forbidden-kind")
    t["absolute hard link"] = (add(Tar(), "parent", HARDLINK, f"{outside}/sentinel.txt"), "forbidden-kind")
    t["sly relative symlink name"] = (add(Tar(), "../moo", SYMLINK, f"..//{outside}/moo"), "forbidden-kind")
    x = Tar()
    add(x, "tmp/", DIRECTORY)
    add(x, "tmp/../../moo", SYMLINK, f"tmp/../..//{outside}/moo")
    t["sly relative symlink in a directory"] = (x, "forbidden-kind")
    x = Tar()
    add(x, "targetdir/symlink", SYMLINK, "../../" + outside.lstrip("/"))
    add(x, "targetdir/symlink/evil", data=b"x")
    t["deep symlink"] = (x, "forbidden-kind")
    # CVE-2025-4517: a chain of symlinks through components of 247 bytes,
    # whose resolved path passes PATH_MAX, then a link out of it.
    x = Tar()
    steps = "abcdefghijklmnop"
    component = "d" + "x" * 246
    path = ""
    for step in steps:
        add(x, os.path.join(path, component), DIRECTORY)
        add(x, os.path.join(path, step), SYMLINK, component)
        path = os.path.join(path, component)
    linkpath = os.path.join(*steps, "l" * 254)
    add(x, linkpath, SYMLINK, "../" * len(steps))
    add(x, "escape", SYMLINK, linkpath + "/../../" + outside.lstrip("/"))
    add(x, "escape/evil", data=b"x")
    t["symlink chain past PATH_MAX"] = (x, "forbidden-kind")
    # CVE-2024-12718: the directory's chmod, postponed to the end, follows
    # the symlink made earlier at its name.
    x = Tar()
    add(x, "escape", SYMLINK, outside)
    add(x, "escape", DIRECTORY, mode=0o777)
    t["postponed chmod through a symlink"] = (x, "forbidden-kind")
    # CVE-2025-4330: a hard link to a symlink that leaves; where links
    # cannot be made, tarfile copied the target instead, unfiltered.
    x = Tar()
    add(x, "a", SYMLINK, f"{outside}/sentinel.txt")
    add(x, "b", HARDLINK, "a")
    t["hard link to an escaping symlink"] = (x, "forbidden-kind")
    t["fifo"] = (Tar().fifo("pipe"), "forbidden-kind")
    t["character device"] = (Tar().chardev("null"), "forbidden-kind")
    t["block device"] = (Tar().blockdev("sda"), "forbidden-kind")
    return [(name, archive.build(), rule) for name, (archive, rule) in t.items()]


NAMES = [name for name, _, _ in cases("/outside")]


def case(box, name):
    return next((data, rule) for n, data, rule in cases(str(box.outside)) if n == name)


@pytest.mark.parametrize("name", NAMES)
def test_refused_with_the_rule_and_nothing_written(box, name):
    data, rule = case(box, name)
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(data, box.dest)
    assert e.value.rule == rule
    assert e.value.entry is not None and e.value.path is not None
    assert not box.dest.exists()
    box.assert_outside_untouched()


@pytest.mark.parametrize("name", NAMES)
def test_the_cli_names_the_same_rule(box, name, cli):
    data, _ = case(box, name)
    archive = box.others / "attack.tar"
    archive.write_bytes(data)
    cli_rule, cli_message = cli.refusal(archive, box.others / "cli-dest")
    with pytest.raises(sealtar.Refused) as e:
        sealtar.extract(archive, box.dest)
    assert (e.value.rule, str(e.value)) == (cli_rule, cli_message)
    archive.unlink()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("links", ["skip", "copy"])
def test_under_link_options_no_link_is_made_and_nothing_leaves(box, name, links):
    data, _ = case(box, name)
    # check() says beforehand whether extract() accepts it with these options.
    if sealtar.check(data, links=links).acceptable:
        report = sealtar.extract(data, box.dest, links=links)
        assert not any(kind == "symlink" for kind, *_ in tree(box.dest).values())
        assert report.skipped or report.copied
    else:
        with pytest.raises(sealtar.Refused):
            sealtar.extract(data, box.dest, links=links)
        assert not box.dest.exists()
    box.assert_outside_untouched()
