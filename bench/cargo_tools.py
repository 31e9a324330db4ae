#!/usr/bin/env python3
"""`make bench-cargo`: `sealtar audit-cargo` against tar + diff, and the
throughput of `sealtar check --crate --batch`.

Audit. Two Cargo homes:

  local   $CARGO_HOME (or ~/.cargo) as it is
  large   COPIES copies of the local registry under distinct index names
          (registry/{cache,index,src}/<index>-copyK), built once under
          target/bench-cargo/. The .crate files and the index cache are hard
          links of the local files; the unpacked sources are real copies,
          since the audit reports a hard link in a crate directory

against the obvious alternative, for every crate directory that has its
.crate: `tar -xzf NAME.crate -C TMP && diff -r -x .cargo-ok TMP/NAME SRC/NAME`
into a fresh temporary directory, removed afterwards, run

  tar+diff    one crate after another (a shell loop)
  tar+diff/P  the same, JOBS crates at a time (xargs -P JOBS)

sealtar runs with its default of one worker per core. Each tool runs ROUNDS
times, interleaved, after one untimed warm-up run each (the page cache is warm
for all); the median wall time is reported.

Batch. `sealtar check --crate --batch` over every .crate in the local cache,
with --jobs 1 and --jobs JOBS: crates per second, and per core.

Before and after. `--before PATH` also times another sealtar binary (a build
of the merge base, say) on the same homes and lists, interleaved with this
one, round by round; `--lockfile FILE` adds `audit-cargo --lockfile FILE`.
The binary timed is $CARGO_TARGET_DIR/release/sealtar (target/ by default),
or `--sealtar PATH`.

Standard library only; exit status 0 whatever the numbers.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
SEALTAR = TARGET / "release" / "sealtar"
WORK = TARGET / "bench-cargo"

BASELINE = r"""
crate="$1"; src="$2"; name="$3"
tmp=$(mktemp -d) || exit 2
tar -xzf "$crate" -C "$tmp" && diff -r -x .cargo-ok "$tmp/$name" "$src/$name" >/dev/null
status=$?
rm -rf "$tmp"
exit $status
"""


def cargo_home():
    if os.environ.get("CARGO_HOME"):
        return Path(os.environ["CARGO_HOME"])
    return Path.home() / ".cargo"


def pairs(home):
    """(crate file, src index dir, name) for every unpacked crate with a .crate."""
    out = []
    src_root = home / "registry" / "src"
    cache_root = home / "registry" / "cache"
    if not src_root.is_dir():
        return out
    for index in sorted(src_root.iterdir()):
        for crate_dir in sorted(index.iterdir()):
            crate = cache_root / index.name / (crate_dir.name + ".crate")
            if crate.is_file() and crate_dir.is_dir() and not crate_dir.is_symlink():
                out.append((crate, index, crate_dir.name))
    return out


def build_large(home, copies):
    target = WORK / f"home-x{copies}-v2"
    stamp = target / "complete"
    if stamp.exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    for kind in ("cache", "index", "src"):
        if not (home / "registry" / kind).is_dir():
            continue
        for index in sorted((home / "registry" / kind).iterdir()):
            for k in range(copies):
                dest = target / "registry" / kind / f"{index.name}-copy{k}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                if kind == "index":
                    # Only the index cache: a git index can be large.
                    dest.mkdir()
                    if (index / ".cache").is_dir():
                        subprocess.run(["cp", "-al", str(index / ".cache"), str(dest / ".cache")], check=True)
                else:
                    how = "-a" if kind == "src" else "-al"
                    subprocess.run(["cp", how, str(index), str(dest)], check=True)
    stamp.write_text("")
    return target


def timed(cmd, **kw):
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    elapsed = time.perf_counter() - start
    return elapsed, proc.returncode, proc.stderr.decode(errors="replace")


def baseline_cmd(items, jobs):
    """A shell pipeline feeding (crate, src, name) triples to the baseline."""
    listing = "".join(f"{c}\0{s}\0{n}\0" for c, s, n in items)
    cmd = ["xargs", "-0", "-n", "3", "-P", str(jobs), "sh", "-c", BASELINE, "baseline"]
    return cmd, listing.encode()


def run_baseline(items, jobs):
    cmd, listing = baseline_cmd(items, jobs)
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=listing, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start, proc.returncode


def bench_audit(label, home, rounds, jobs, sequential=True, warmup=True, before=None, lockfile=None, baseline=True):
    items = pairs(home)
    env = dict(os.environ, SEALTAR_CACHE_DIR=str(WORK / "sealtar-cache"))

    def audit(binary, *extra):
        return lambda: timed([str(binary), "audit-cargo", str(home), *extra], env=env)[:2]

    tools = {"sealtar audit-cargo": audit(SEALTAR)}
    if before:
        tools["before: audit-cargo"] = audit(before)
    if lockfile:
        tools["audit-cargo --lockfile"] = audit(SEALTAR, "--lockfile", str(lockfile))
    if baseline and sequential:
        tools["tar+diff"] = lambda: run_baseline(items, 1)
    if baseline:
        tools[f"tar+diff/P{jobs}"] = lambda: run_baseline(items, jobs)
    times = {name: [] for name in tools}
    for name, tool in tools.items():  # warm-up, and a correctness check
        if not warmup and not name.startswith(("sealtar", "before", "audit")):
            continue
        _, status = tool()
        if status != 0:
            print(f"  warning: {name} exited {status} on the {label} home", file=sys.stderr)
    for _ in range(rounds):
        for name, tool in tools.items():
            elapsed, _ = tool()
            times[name].append(elapsed)
    crates = len(items)
    print(f"\naudit, {label} home: {crates} crate directories with their .crate ({home})")
    print(f"  {'tool':<22} {'median s':>9} {'crates/s':>9} {'vs sealtar':>11}")
    ours = statistics.median(times["sealtar audit-cargo"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<22} {median:>9.2f} {crates / median:>9.0f} {median / ours:>10.1f}x")
    return crates, times


def bench_batch(home, rounds, jobs, before=None):
    crates = sorted(str(p) for p in (home / "registry" / "cache").glob("*/*.crate"))
    listing = ("\n".join(crates) + "\n").encode()
    env = dict(os.environ, SEALTAR_CACHE_DIR=str(WORK / "sealtar-cache"))
    binaries = [("", SEALTAR)] + ([("before", before)] if before else [])
    print(f"\ncheck --crate --batch: {len(crates)} .crate files of the local cache")
    print(f"  {'binary':<8} {'jobs':<6} {'median s':>9} {'crates/s':>9} {'per core':>9}")
    for j in sorted({1, jobs}):
        cmds = {label: [str(b), "check", "--crate", "--batch", "-", "--jobs", str(j)] for label, b in binaries}
        values = {label: [] for label in cmds}
        for cmd in cmds.values():
            subprocess.run(cmd, input=listing, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        for _ in range(rounds):
            for label, cmd in cmds.items():
                start = time.perf_counter()
                proc = subprocess.run(cmd, input=listing, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
                values[label].append(time.perf_counter() - start)
                lines = proc.stdout.count(b"\n")
                if lines != len(crates) or proc.returncode != 0:
                    print(f"  warning: {lines} lines for {len(crates)} crates, exit {proc.returncode}", file=sys.stderr)
        for label, times in values.items():
            median = statistics.median(times)
            rate = len(crates) / median
            print(f"  {label or 'this':<8} {j:<6} {median:>9.2f} {rate:>9.0f} {rate / j:>9.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=4, help="copies of the local registry in the large home")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip", action="append", default=[], choices=["local", "large", "batch"])
    parser.add_argument("--sealtar", type=Path, help="the sealtar binary to time (default: the release build)")
    parser.add_argument("--before", type=Path, help="another sealtar binary to time alongside, interleaved")
    parser.add_argument("--lockfile", type=Path, help="also time audit-cargo --lockfile FILE")
    parser.add_argument("--no-baseline", action="store_true", help="skip tar+diff (sealtar binaries only)")
    parser.add_argument(
        "--quick-large",
        action="store_true",
        help="large home: no sequential tar+diff and no baseline warm-up (its files are the local home's, already cached)",
    )
    args = parser.parse_args()
    global SEALTAR
    SEALTAR = args.sealtar or SEALTAR
    home = cargo_home()
    if not SEALTAR.exists():
        sys.exit(f"{SEALTAR} is missing: run `make build` first")
    if not pairs(home):
        sys.exit(f"no unpacked crates with their .crate under {home}/registry")
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    extra = dict(before=args.before, lockfile=args.lockfile, baseline=not args.no_baseline)
    if "local" not in args.skip:
        bench_audit("local", home, args.rounds, args.jobs, **extra)
    if "large" not in args.skip:
        large = build_large(home, args.copies)
        quick = args.quick_large
        bench_audit(
            f"large (x{args.copies})", large, args.rounds, args.jobs, sequential=not quick, warmup=not quick, **extra
        )
    if "batch" not in args.skip:
        bench_batch(home, args.rounds, args.jobs, before=args.before)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
