"""Fixtures shared by the suite.

`make test-python` runs it against the installed wheel (never the source
tree). The `sealtar` command it compares with comes from SEALTAR_CLI
(`make test-python` sets it to target/release/sealtar); tests that need it,
or the downloaded real-world archives, are skipped with a message when they
are missing, and fail instead under SEALTAR_REQUIRE_SAMPLES=1, as CI runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tarbuild import tree  # noqa: E402

REQUIRED = os.environ.get("SEALTAR_REQUIRE_SAMPLES") == "1"


def missing(what: str):
    """Skip, or fail when the samples are required (CI)."""
    if REQUIRED:
        pytest.fail(f"{what} (SEALTAR_REQUIRE_SAMPLES=1)")
    pytest.skip(what)


class Cli:
    """The `sealtar` command, run on the same archives as the package."""

    def __init__(self, binary: Path, cache: Path):
        self.binary = binary
        self.env = dict(os.environ, SEALTAR_CACHE_DIR=str(cache))

    def run(self, *args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.binary), *map(str, args)], input=stdin, capture_output=True,
                              env=self.env, timeout=600)

    def refusal(self, archive: Path, dest: Path, *options: str) -> tuple[str, str]:
        """(rule id, message) of `sealtar extract`'s refusal of `archive`."""
        done = self.run("extract", archive, "-C", dest, *options)
        text = done.stderr.decode(errors="replace").strip()
        assert done.returncode == 1, f"the CLI did not refuse {archive} (exit {done.returncode}): {text}"
        assert text.startswith("sealtar: refused: "), text
        message = text[len("sealtar: refused: "):]
        found = re.findall(r"\[rule ([a-z0-9-]+)\]$", message)
        return (found[0] if found else None), message


@pytest.fixture(scope="session")
def cli(tmp_path_factory) -> Cli:
    binary = os.environ.get("SEALTAR_CLI")
    if not binary or not os.access(binary, os.X_OK):
        missing(f"no sealtar command to compare with (SEALTAR_CLI={binary!r}); `make build` makes one")
    cache = tmp_path_factory.mktemp("cli-cache")
    os.chmod(cache, 0o700)
    return Cli(Path(binary), cache)


class Box:
    """A destination path (not created) beside a sentinel directory that no
    extraction may touch. Tests that need more destinations or files use
    `others`, which the check leaves out."""

    def __init__(self, root: Path):
        self.root = root
        self.dest = root / "dest"
        self.others = root / "others"
        self.others.mkdir()
        self.outside = root / "outside"
        self.outside.mkdir()
        (self.outside / "sentinel.txt").write_bytes(b"untouched\n")
        self.before = self.everything()

    def everything(self) -> dict:
        """The whole box but the destination: what must never change."""
        return {k: v for k, v in tree(self.root).items()
                if k.split(os.sep)[0] not in ("dest", "others")}

    def assert_outside_untouched(self):
        assert self.everything() == self.before

    def assert_dest_absent_or_empty(self):
        assert not self.dest.exists() or not any(self.dest.iterdir()), tree(self.dest)


@pytest.fixture
def box(tmp_path) -> Box:
    b = Box(tmp_path)
    yield b
    b.assert_outside_untouched()
