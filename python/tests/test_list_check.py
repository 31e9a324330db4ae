"""sealtar.list and sealtar.check, compared with the CLI's JSON where it has one."""

from __future__ import annotations

import json

import pytest

import sealtar
from tarbuild import Tar, gz

ENTRY_FIELDS = ("index", "path", "kind", "type_flag", "header_offset", "size", "mode", "mtime", "link_target",
                "verdict", "copy_of", "rule", "reason", "message")


def mixed() -> bytes:
    return (
        Tar()
        .dir("pkg/")
        .file("pkg/a.txt", b"alpha", mode=0o640, mtime=1_234_567_890)
        .symlink("pkg/alias", "a.txt")
        .symlink("pkg/out", "/etc/passwd")
        .fifo("pkg/pipe")
        .file("pkg/../evil", b"e")
        .build()
    )


def test_list_gives_every_entry_with_its_verdict():
    entries = sealtar.list(mixed())
    got = [(e.index, e.path, e.kind, e.verdict, e.rule) for e in entries]
    assert got == [
        (0, "pkg/", "dir", "ok", None),
        (1, "pkg/a.txt", "file", "ok", None),
        (2, "pkg/alias", "symlink", "refused", "forbidden-kind"),
        (3, "pkg/out", "symlink", "refused", "forbidden-kind"),
        (4, "pkg/pipe", "fifo", "refused", "forbidden-kind"),
        (5, "pkg/../evil", "file", "refused", "parent-component"),
    ]
    a = entries[1]
    assert (a.size, a.mode, a.mtime, a.type_flag, a.header_offset, a.link_target) == (5, 0o640, 1_234_567_890,
                                                                                       "0", 512, None)
    assert entries[2].link_target == "a.txt"
    assert entries[0].reason is None and "path traversal" in entries[5].reason
    assert "verdict='refused'" in repr(entries[2])


def test_list_under_options():
    entries = sealtar.list(mixed(), links="copy", special="skip", exclude=["pipe"])
    got = [(e.path, e.verdict, e.copy_of, e.rule) for e in entries]
    assert got == [
        ("pkg/", "ok", None, None),
        ("pkg/a.txt", "ok", None, None),
        ("pkg/alias", "copy", "pkg/a.txt", None),
        ("pkg/out", "skip", None, "link-absolute"),
        ("pkg/pipe", "excluded", None, None),
        ("pkg/../evil", "refused", None, "parent-component"),
    ]


def test_list_matches_the_cli_json(cli, tmp_path):
    path = tmp_path / "mixed.tar.gz"
    path.write_bytes(gz(mixed()))
    for options in ([], ["--links", "copy", "--special", "skip"]):
        done = cli.run("list", "--json", path, *options)
        assert done.returncode == 1
        # The CLI prints entries as they are judged (under --links copy the
        # links last); sealtar.list returns them in archive order.
        want = sorted(json.loads(done.stdout)["entries"], key=lambda e: e["index"])
        kwargs = {"links": "copy", "special": "skip"} if options else {}
        got = [{f: getattr(e, f) for f in ENTRY_FIELDS} for e in sealtar.list(path, **kwargs)]
        assert got == want


def test_list_raises_refused_with_the_entries_read_so_far():
    data = Tar().file("a", b"a").file("b", b"b").build()
    truncated = data[: 512 * 2 + 100]  # inside b's header
    with pytest.raises(sealtar.Refused) as e:
        sealtar.list(truncated)
    assert e.value.rule == "malformed"
    assert [x.path for x in e.value.entries] == ["a"]
    with pytest.raises(sealtar.Refused) as e:
        sealtar.list(Tar().file("a").file("b").file("c").build(), max_entries=2)
    assert e.value.rule == "too-many-entries"
    assert [x.path for x in e.value.entries] == ["a", "b", "c"]


def test_check_lists_every_violation():
    report = sealtar.check(mixed())
    assert not report.acceptable
    assert report.entries == 6
    got = [(v.rule, v.entry, v.path) for v in report.violations]
    assert got == [
        ("forbidden-kind", 2, "pkg/alias"),
        ("forbidden-kind", 3, "pkg/out"),
        ("forbidden-kind", 4, "pkg/pipe"),
        ("parent-component", 5, "pkg/../evil"),
    ]
    assert report.violations[3].message.startswith('entry 5 "pkg/../evil": ')
    assert report.violations[3].message.endswith("[rule parent-component]")
    assert str(report.violations[0]) == report.violations[0].message
    assert report.omitted == 0 and report.actions == []


def test_check_acceptable_and_actions():
    report = sealtar.check(Tar().file("a", b"a").symlink("l", "a").fifo("p").build(), links="copy", special="skip")
    assert report.acceptable and report.violations == []
    assert [(a.entry, a.path, a.verdict, a.copy_of) for a in report.actions] == [
        (1, "l", "copy", "a"),
        (2, "p", "skip", None),
    ]
    assert "acceptable=True" in repr(report)


def test_check_reports_malformed_input_as_a_violation():
    report = sealtar.check(b"this is plain text, not an archive\n" * 20)
    assert not report.acceptable
    assert [v.rule for v in report.violations] == ["malformed"]
    assert report.violations[0].entry is None


def test_check_matches_the_cli_json(cli, tmp_path):
    path = tmp_path / "mixed.tar"
    path.write_bytes(mixed())
    done = cli.run("check", "--json", path)
    want = json.loads(done.stdout)
    got = sealtar.check(path)
    assert done.returncode == 1 and want["acceptable"] is False is got.acceptable
    assert [{"index": v.entry, "path": v.path, "rule": v.rule, "message": v.message} for v in got.violations] == \
        want["violations"]


def crate(prefix: str, *, cargo_ok: bool = False, outside: bool = False) -> bytes:
    t = Tar().file(f"{prefix}/Cargo.toml", b"[package]\n").file(f"{prefix}/src/lib.rs", b"")
    if cargo_ok:
        t.file(f"{prefix}/.cargo-ok", b"ok")
    if outside:
        t.file("other-0.1.0/src/lib.rs", b"")
    return gz(t.build())


def test_check_crate_takes_the_prefix_from_the_file_name(tmp_path):
    path = tmp_path / "demo-1.2.3.crate"
    path.write_bytes(crate("demo-1.2.3"))
    assert sealtar.check(path, crate=True).acceptable
    path.write_bytes(crate("demo-1.2.3", cargo_ok=True, outside=True))
    report = sealtar.check(path, crate=True)
    assert [v.rule for v in report.violations] == ["cargo-ok-file", "outside-crate-directory"]
    # Without crate=True these are ordinary files.
    assert sealtar.check(path).acceptable


def test_check_crate_prefix(tmp_path):
    data = crate("demo-1.2.3")
    assert sealtar.check(data, prefix="demo-1.2.3").acceptable
    report = sealtar.check(data, prefix="other-0.1.0")
    assert not report.acceptable
    assert {v.rule for v in report.violations} == {"outside-crate-directory", "missing-cargo-toml"}
    path = tmp_path / "misnamed.tar.gz"
    path.write_bytes(data)
    assert sealtar.check(path, crate=True, prefix="demo-1.2.3").acceptable


def test_check_crate_needs_a_name(tmp_path):
    with pytest.raises(ValueError, match="prefix="):
        sealtar.check(crate("demo-1.2.3"), crate=True)
    path = tmp_path / "demo.tar.gz"
    path.write_bytes(crate("demo-1.2.3"))
    with pytest.raises(ValueError, match="<name>-<version>.crate"):
        sealtar.check(path, crate=True)


def test_check_crate_matches_the_cli(cli, tmp_path):
    path = tmp_path / "demo-1.2.3.crate"
    path.write_bytes(crate("demo-1.2.3", cargo_ok=True, outside=True))
    want = json.loads(cli.run("check", "--crate", "--json", path).stdout)
    got = sealtar.check(path, crate=True)
    assert [(v.rule, v.entry, v.message) for v in got.violations] == \
        [(v["rule"], v["index"], v["message"]) for v in want["violations"]]


def test_rules_lists_every_rule_id():
    rules = sealtar.rules()
    for rule in ("forbidden-kind", "parent-component", "too-large", "link-outside", "numeric-field"):
        assert rule in rules and rules[rule]
