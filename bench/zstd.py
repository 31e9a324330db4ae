#!/usr/bin/env python3
"""`make bench-zstd`: zstd decoding in sealtar's sandbox against zstd(1) and GNU tar.

One input, about 300 MB of crate source trees from $CARGO_HOME/registry/src
as one tar, compressed once with `zstd -12` (built under the bench's tmpfs
and cached there), then, in interleaved rounds, each run its own process:

  zstd -dc      zstd -dc ARCHIVE > /dev/null          decoding alone, native libzstd
  sealtar list  sealtar list ARCHIVE > /dev/null      the guest decodes and parses in the
                                                      sandbox, the host vets; nothing written
  GNU tar       tar --zstd -xf ARCHIVE -C DIR         zstd(1) in a second process, tar writes
  sealtar       sealtar extract ARCHIVE -C DIR        the whole extraction

and, with --baseline PATH, the same two sealtar runs with another binary
(say, one built from main), so that a change is measured side by side.

Wall time is the median over the rounds (time.perf_counter around start and
wait), CPU time (user + system) the median of os.wait4's figures. Every
extraction goes into a fresh directory on the tmpfs, removed untimed.

Standard library only; prints a table and the ratios. The exit status is 0
whatever the numbers: this is a measurement.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import SEALTAR, cargo_home, log, scan_crate, work_dir, write_atomically  # noqa: E402

SOURCE_BYTES = 300_000_000  # file data in the tar, about


def build_input(inputs, level):
    """src.tar (about SOURCE_BYTES of whole crate trees, largest crates
    skipped when they would overshoot) and its zstd -LEVEL copy."""
    tar_path, meta = inputs / "src.tar", inputs / "src.json"
    if not (tar_path.exists() and meta.exists()):
        seen, chosen, files, size = set(), [], 0, 0
        for directory in sorted((cargo_home() / "registry" / "src").glob("*/*/")):
            if directory.name in seen:
                continue
            seen.add(directory.name)
            scanned = scan_crate(directory)
            if not scanned or size + scanned[1] > SOURCE_BYTES:
                continue
            chosen.append(directory)
            files, size = files + scanned[0], size + scanned[1]
        if size < SOURCE_BYTES // 2:
            log(f"note: only {size / 1e6:.0f} MB of crate sources under {cargo_home()}/registry/src")
        log(f"building src.tar: {len(chosen)} crates, {files} files, {size / 1e6:.1f} MB ...")

        def normalize(info):
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = int(info.mtime)
            return info

        def write(tmp):
            with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
                for directory in chosen:
                    tar.add(directory, arcname=directory.name, filter=normalize)

        write_atomically(tar_path, write)
        meta.write_text(json.dumps({"crates": len(chosen), "files": files, "bytes": size}))
    archive = inputs / f"src.tar.{level}.zst"
    if not archive.exists():
        log(f"building {archive.name} (zstd -{level}) ...")

        def compress(tmp):
            subprocess.run(["zstd", "-q", f"-{level}", "-T0", "-f", str(tar_path), "-o", str(tmp)], check=True)

        write_atomically(archive, compress)
    return archive, json.loads(meta.read_text())


def timed(argv, stdout=subprocess.DEVNULL):
    """(wall seconds, CPU seconds) of one process; exits on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if status != 0:
        sys.exit(f"bench-zstd: {' '.join(argv)} failed ({status}): {err.strip()[:300]}")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--level", type=int, default=12, help="zstd level of the input (default 12)")
    parser.add_argument("--sealtar", default=str(SEALTAR), help="the sealtar binary")
    parser.add_argument("--baseline", help="another sealtar binary (say, main's) to run in the same rounds")
    parser.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args()
    for tool in ("zstd", "tar"):
        if not shutil.which(tool):
            sys.exit(f"bench-zstd: {tool} is not on PATH")
    inputs = work_dir() / "zstd"
    inputs.mkdir(parents=True, exist_ok=True)
    archive, info = build_input(inputs, args.level)
    sealtar = args.sealtar
    cache = work_dir() / "cache"
    os.environ["SEALTAR_CACHE_DIR"] = str(cache)
    dest = inputs / "dest"

    def fresh():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        return str(dest)

    tools = {
        "zstd -dc": lambda: timed(["zstd", "-dc", str(archive)]),
        "sealtar list": lambda: timed([sealtar, "list", str(archive)]),
        "GNU tar": lambda: timed(["tar", "--zstd", "-xf", str(archive), "-C", fresh()]),
        "sealtar": lambda: timed([sealtar, "extract", str(archive), "-C", fresh()]),
    }
    if args.baseline:
        tools["baseline list"] = lambda: timed([args.baseline, "list", str(archive)])
        tools["baseline"] = lambda: timed([args.baseline, "extract", str(archive), "-C", fresh()])
        tools["baseline list"]()
    tools["sealtar list"]()  # warms the compiled-code cache
    runs = {name: [] for name in tools}
    for r in range(args.rounds):
        for name, run in tools.items():
            runs[name].append(run())
        log(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {runs[n][-1][0]:.3f} s" for n in tools))
    shutil.rmtree(dest, ignore_errors=True)
    load = os.getloadavg()[0]
    print(
        f"\ninput: {info['crates']} crates, {info['files']} files, {info['bytes'] / 1e6:.1f} MB of file data; "
        f"tar {(inputs / 'src.tar').stat().st_size / 1e6:.1f} MB, zstd -{args.level} {archive.stat().st_size / 1e6:.1f} MB; "
        f"{args.rounds} rounds, load average {load:.2f} at the end\n"
    )
    med = {n: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for n, v in runs.items()}
    print("| tool | median wall (s) | min–max (s) | median CPU (s) |")
    print("|---|---:|---:|---:|")
    for n, v in runs.items():
        walls = [w for w, _ in v]
        print(f"| {n} | {med[n][0]:.3f} | {min(walls):.3f}–{max(walls):.3f} | {med[n][1]:.3f} |")
    print()
    print(f"sealtar list / zstd -dc: {med['sealtar list'][0] / med['zstd -dc'][0]:.2f} (wall)")
    print(f"sealtar extract / GNU tar --zstd -xf: {med['sealtar'][0] / med['GNU tar'][0]:.2f} (wall; goal <= 1.5)")
    if args.baseline:
        print(f"baseline list / zstd -dc: {med['baseline list'][0] / med['zstd -dc'][0]:.2f} (wall)")
        print(f"baseline extract / GNU tar --zstd -xf: {med['baseline'][0] / med['GNU tar'][0]:.2f} (wall)")
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "runs": runs, "level": args.level}))


if __name__ == "__main__":
    main()
