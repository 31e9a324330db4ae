"""sealtar.extract against the `sealtar` command on real archives: every
archive pinned in tests/realworld/MANIFEST.tsv (downloaded by `make
fetch-realworld`) and every .crate in the local Cargo cache. Both must
refuse with the same message, or write the same tree: paths, kinds, bytes,
modes, and file mtimes (directory mtimes are left out: a directory the
archive does not name gets the time of extraction, seconds apart)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import sealtar
from conftest import missing
from tarbuild import snapshot

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "tests" / "realworld" / "MANIFEST.tsv"
REALWORLD = Path(os.environ.get("SEALTAR_REALWORLD") or ROOT / "target" / "realworld")
CARGO_HOME = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
CRATES = sorted((CARGO_HOME / "registry" / "cache").glob("*/*.crate"))

# The CLI's flags and the same options as keyword arguments.
OPTION_SETS = {
    "default": ([], {}),
    "links-copy-special-skip": (["--links", "copy", "--special", "skip"], {"links": "copy", "special": "skip"}),
}

_extractor = None


def extractor() -> sealtar.Extractor:
    global _extractor
    if _extractor is None:
        _extractor = sealtar.Extractor()
    return _extractor


def manifest_rows():
    with open(MANIFEST, encoding="utf-8") as f:
        columns = f.readline().rstrip("\n").split("\t")
        rows = [dict(zip(columns, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
    return [r for r in rows if not r["source"].startswith("#")]


def archive_path(row) -> Path:
    """As realworld.py: the download, or a .deb's data member beside it."""
    base = REALWORLD / row["file"]
    return base.with_name(base.name + ".data") if row["source"].endswith("-deb") else base


def without_dir_times(tree: dict) -> dict:
    return {k: v[:2] if v[0] == "dir" else v for k, v in tree.items()}


def compare(cli, archive: Path, work: Path, flags, options):
    """Runs both on `archive` in `work`, which is removed afterwards (the
    trees of 91 real archives and the whole Cargo cache add up)."""
    work.mkdir(parents=True, exist_ok=True)
    try:
        return compare_in(cli, archive, work, flags, options)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare_in(cli, archive: Path, work: Path, flags, options):
    cli_dest, py_dest = work / "cli", work / "py"
    done = cli.run("extract", archive, "-C", cli_dest, *flags)
    assert done.returncode in (0, 1), done.stderr
    try:
        sealtar_report = extractor().extract(archive, py_dest, **options)
    except sealtar.Refused as e:
        assert done.returncode == 1, f"the package refused what the CLI extracted: {e}"
        assert done.stderr.decode().strip() == f"sealtar: refused: {e}"
        assert not py_dest.exists()
        return "refused"
    assert done.returncode == 0, f"the CLI refused what the package extracted: {done.stderr!r}"
    cli_tree, py_tree = snapshot(cli_dest), snapshot(py_dest)
    assert without_dir_times(py_tree) == without_dir_times(cli_tree)
    assert sealtar_report.files == sum(1 for v in py_tree.values() if v[0] == "file")
    return "extracted"


@pytest.mark.parametrize("row", manifest_rows(), ids=lambda r: r["file"])
def test_realworld_archive_same_as_cli(cli, tmp_path, row):
    archive = archive_path(row)
    if not archive.exists():
        # CI downloads them first (make fetch-realworld) and requires them
        # unless the download itself failed (then it says so and goes on).
        if os.environ.get("SEALTAR_REQUIRE_REALWORLD") == "1":
            pytest.fail(f"{archive} is missing: run `make fetch-realworld`")
        pytest.skip(f"{archive} is missing: run `make fetch-realworld`")
    for name, (flags, options) in OPTION_SETS.items():
        compare(cli, archive, tmp_path / name, flags, options)


def test_the_cargo_cache_has_crates():
    if not CRATES:
        missing(f"no .crate files under {CARGO_HOME}/registry/cache")
    assert len(CRATES) > 0


@pytest.mark.parametrize("crate", CRATES, ids=lambda p: p.name)
def test_cached_crate_same_as_cli(cli, tmp_path, crate):
    compare(cli, crate, tmp_path, [], {})
