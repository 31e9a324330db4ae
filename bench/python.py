#!/usr/bin/env python3
"""`make bench-python`: sealtar.extract against tarfile.extractall(filter="data").

Both run in this one Python process (the venv `make test-python` made, with
the wheel installed), on the inputs `make bench` builds (bench/run.py, cached
under the same tmpfs directory):

  big     the ~150 MB / ~14k-file .tar.gz of crate sources
  crates  200 .crate files from $CARGO_HOME/registry/cache, one after
          another: sealtar with one reused Extractor, tarfile with
          tarfile.open + extractall per archive (time = total for all)

Every run extracts into a fresh empty directory on the tmpfs, removed after
the run, untimed. Rounds are interleaved (the order of the two tools
alternates from round to round) and the medians are compared. Before
timing, the sandbox is compiled once (untimed: it is what reusing an
Extractor saves) and every input is extracted once by each tool and the
trees compared (paths, kinds, bytes), so that the timings compare equal work.

The exit status is 0 whatever the numbers: this is a measurement; the last
line says whether the target (sealtar at most 0.5 x tarfile's time on both)
was met.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as inputs  # noqa: E402 (bench/run.py builds and caches the inputs)

import sealtar  # noqa: E402

TARGET = 0.5  # sealtar / tarfile, on both inputs


def log(message):
    print(message, file=sys.stderr, flush=True)


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir()
    return path


def with_sealtar(extractor, archive: Path, dest: Path):
    extractor.extract(archive, dest)


def with_tarfile(archive: Path, dest: Path):
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")


def timed(work, archives, runs: Path, name: str) -> float:
    """Extracts each archive into its own fresh directory; returns the time
    spent inside the extraction calls only."""
    total = 0.0
    # Garbage left by the previous run is collected here, untimed; within a
    # run each tool pays for its own, as it would in a user's loop (a
    # collection before every call would add its own cost to every call).
    gc.collect()
    for n, archive in enumerate(archives):
        dest = fresh(runs / f"{name}-{n}")
        start = time.perf_counter()
        work(archive, dest)
        total += time.perf_counter() - start
        shutil.rmtree(dest)
    return total


def tree(root: Path) -> dict:
    out = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = ("link",)
            elif os.path.isdir(path):
                out[rel] = ("dir",)
            else:
                with open(path, "rb") as f:
                    out[rel] = ("file", hashlib.sha256(f.read()).hexdigest())
    return out


def same_trees(extractor, archives, runs: Path) -> list[str]:
    problems = []
    for archive in archives:
        a, b = fresh(runs / "check-sealtar"), fresh(runs / "check-tarfile")
        try:
            with_sealtar(extractor, archive, a)
        except sealtar.Refused as e:
            problems.append(f"{archive.name}: sealtar refused it: {e}")
            continue
        with_tarfile(archive, b)
        if tree(a) != tree(b):
            problems.append(f"{archive.name}: the trees differ")
        shutil.rmtree(a)
        shutil.rmtree(b)
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw numbers to FILE")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    work = inputs.work_dir()
    inputs_dir = work / "inputs"
    inputs_dir.mkdir(exist_ok=True)
    big_info = inputs.build_big(inputs_dir)
    big = inputs_dir / "big.tar.gz"
    crates = inputs.build_crates(inputs_dir)
    runs = work / "python-runs"
    fresh(runs)

    start = time.perf_counter()
    extractor = sealtar.Extractor()
    log(f"sandbox compiled in {time.perf_counter() - start:.2f} s (untimed; the Extractor is reused)")
    log("checking that both tools write the same trees (untimed) ...")
    problems = same_trees(extractor, [big, *crates], runs)
    for p in problems:
        log(f"warning: {p}")

    tools = {
        "sealtar": lambda archive, dest: with_sealtar(extractor, archive, dest),
        "tarfile": with_tarfile,
    }
    results = {s: {t: [] for t in tools} for s in ("big", "crates")}
    load = os.getloadavg()
    for r in range(1, args.rounds + 1):
        order = list(tools) if r % 2 else list(reversed(tools))
        for scenario, archives in (("big", [big]), ("crates", crates)):
            for tool in order:
                seconds = timed(tools[tool], archives, runs, tool)
                results[scenario][tool].append(seconds)
                log(f"round {r}/{args.rounds}  {scenario:<6} {tool:<8} {seconds:7.3f} s")
    shutil.rmtree(runs, ignore_errors=True)

    medians = {s: {t: statistics.median(v) for t, v in tools_.items()} for s, tools_ in results.items()}
    print()
    print(f"## sealtar for Python vs tarfile: {args.rounds} rounds, {os.cpu_count()} CPUs, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"load average {load[0]:.2f} before the runs")
    print()
    print(f"- big: {big_info['files']:,} files, {big_info['bytes'] / 1e6:.1f} MB unpacked, "
          f"{big_info['compressed'] / 1e6:.1f} MB gzipped")
    print(f"- crates: {len(crates)} .crate files, {sum(c.stat().st_size for c in crates) / 1e6:.1f} MB, "
          "one after another in this process (time = total for all)")
    print("- sealtar: one `sealtar.Extractor()` reused; tarfile: `tarfile.open(a).extractall(d, filter=\"data\")`")
    print()
    print("| scenario | tool | median (s) | min–max (s) | sealtar / tarfile |")
    print("|---|---|---:|---:|---:|")
    targets = []
    for scenario, by_tool in results.items():
        ratio = medians[scenario]["sealtar"] / medians[scenario]["tarfile"]
        for tool, values in by_tool.items():
            shown = f"{ratio:.2f}" if tool == "sealtar" else ""
            print(f"| {scenario} | {tool} | {medians[scenario][tool]:.3f} | {min(values):.3f}–{max(values):.3f} "
                  f"| {shown} |")
        targets.append((scenario, ratio, ratio <= TARGET))
    print()
    for problem in problems:
        print(f"- note: {problem}")
    met = all(ok for _, _, ok in targets)
    summary = ", ".join(f"{s} {r:.2f}" for s, r, _ in targets)
    print(f"bench-python: sealtar / tarfile: {summary} (target ≤ {TARGET} on both: {'met' if met else 'NOT met'})")
    if args.json:
        args.json.write_text(json.dumps({"rounds": args.rounds, "results": results, "medians": medians}, indent=1))


if __name__ == "__main__":
    main()
