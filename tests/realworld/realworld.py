#!/usr/bin/env python3
"""The real-world differential: sealtar against GNU tar on real upstream archives.

  realworld.py fetch   download every archive of MANIFEST.tsv into the cache,
                       checking each against its pinned sha256
  realworld.py test    extract each with GNU tar and with sealtar (once per
                       option set the sealtar binary supports) and compare
  realworld.py survey  the same on the survey's archives (SURVEY.tsv, chosen
                       by the rule in survey_select.py, cached in
                       target/survey/): fetch, compare, and print the reach
                       per option set, with every refusal and its reason

--manifest FILE (before the command) reads another manifest with the same
columns; its cache is target/<file name without .tsv, lower case>/.

MANIFEST.tsv pins each archive: where it comes from (debian-source: a Debian
source package's upstream or debian tarball; debian-deb / ubuntu-deb: the
data member of a binary package, taken out of the .deb with an ar reader;
pypi: an sdist; npm: a package tarball), its name and version, the file, the
file's sha256 and its URL. The cache is target/realworld/ (REALWORLD_CACHE
overrides it); it is filled once and reused.

What is compared, for every path below the destination: the kind (file,
directory, symlink), a file's bytes, the mode, and the mtime of files and
directories. The allowed differences are the documented ones, and only
those:
- modes: sealtar narrows them (file (mode & 0755) | 0600, directory
  (mode & 0755) | 0700, then the umask); GNU tar running as root keeps them.
  Builds without narrowing write 0644/0755 files and 0755 directories: that
  rule is accepted too, and said so in the summary.
- directory mtimes are compared only when the binary restores them (probed
  on a tiny archive); the summary says which.
- links and special files: refused by default (the archive must then be
  refused as a whole); under --links skip they are absent; under --links copy
  a link is a copy of what it points to, and a link whose target is outside
  the tree or not in it is absent (and absent from directory copies); under
  --links copy-or-refuse a link is a copy too, and an archive with a link
  that cannot be copied must be refused; under --special skip, fifos and
  devices are absent. Each option set runs only if the binary has the flags.

Standard library only. Exit status 1 if any archive differs in any other
way, or is refused for anything but links or special files under default
options, or if a pinned hash does not match; 3 if `fetch` could not
download an archive (network failure, after retries). `survey` counts
refusals instead of failing on them (the survey measures reach; a refusal
is a result), and exits 1 only if an extracted tree differs, sealtar
extracts what it must refuse, exits with a status other than 0 or 1, or
runs longer than its time limit.
"""

import argparse
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MANIFEST = HERE / "MANIFEST.tsv"
SURVEY = HERE / "SURVEY.tsv"
TIMEOUT = 600
COLUMNS = ["source", "name", "version", "file", "sha256", "url"]
UMASK = 0o022


def log(message):
    print(message, file=sys.stderr, flush=True)


def cache_dir():
    if os.environ.get("REALWORLD_CACHE"):
        return Path(os.environ["REALWORLD_CACHE"])
    if MANIFEST.resolve() == (HERE / "MANIFEST.tsv").resolve():
        return ROOT / "target" / "realworld"
    return ROOT / "target" / MANIFEST.name.removesuffix(".tsv").lower()


def read_manifest():
    rows = []
    with open(MANIFEST, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != COLUMNS:
            sys.exit(f"{MANIFEST}: expected the columns {COLUMNS}, found {header}")
        for n, line in enumerate(f, start=2):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(COLUMNS):
                sys.exit(f"{MANIFEST}:{n}: {len(fields)} fields, expected {len(COLUMNS)}")
            rows.append(dict(zip(COLUMNS, fields)))
    return rows


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------
# fetch


def download(url, dest, attempts=4):
    tmp = dest.with_name(dest.name + ".partial")
    for attempt in range(1, attempts + 1):
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "sealtar-realworld/1"})
            with urllib.request.urlopen(request, timeout=60) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
            os.replace(tmp, dest)
            return
        except OSError as e:
            tmp.unlink(missing_ok=True)
            if attempt == attempts:
                # Exit status 3: the network failed (the caller may tell
                # this apart from a hash mismatch, which is status 1).
                log(f"fetch-realworld: {url}: {e} (after {attempts} attempts)")
                raise SystemExit(3) from e
            log(f"fetch-realworld: {url}: {e}; retrying")
            time.sleep(2 * attempt)


def ar_members(path):
    """(name, bytes) of each member of an ar archive (a .deb)."""
    with open(path, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise SystemExit(f"fetch-realworld: {path} is not an ar archive")
        while True:
            header = f.read(60)
            if len(header) < 60:
                return
            name = header[:16].decode("ascii").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip())
            data = f.read(size)
            if size % 2:
                f.read(1)
            yield name, data


def archive_path(row):
    """The file the test extracts: the download itself, or a .deb's data member."""
    base = cache_dir() / row["file"]
    if row["source"].endswith("-deb"):
        return base.with_name(base.name + ".data")
    return base


def fetch(_args):
    rows = read_manifest()
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    total = 0
    for row in rows:
        dest = cache / row["file"]
        if not dest.exists() or sha256_of(dest) != row["sha256"]:
            log(f"fetch-realworld: {row['url']}")
            download(row["url"], dest)
        got = sha256_of(dest)
        if got != row["sha256"]:
            dest.rename(dest.with_name(dest.name + ".bad"))
            sys.exit(
                f"fetch-realworld: {row['file']}: sha256 {got} differs from the pinned {row['sha256']} "
                f"(kept as {dest.name}.bad); the upstream file changed"
            )
        total += dest.stat().st_size
        if row["source"].endswith("-deb"):
            data = [d for name, d in ar_members(dest) if name.startswith("data.tar")]
            if len(data) != 1:
                sys.exit(f"fetch-realworld: {row['file']}: expected one data.tar.* member")
            out = archive_path(row)
            if not out.exists() or out.read_bytes() != data[0]:
                out.write_bytes(data[0])
    log(f"fetch-realworld: {len(rows)} archives, {total / 1e6:.1f} MB, all match their pinned sha256")


# --------------------------------------------------------------------------
# test


def snapshot(root):
    """path -> (kind, bytes digest or link target, mode, mtime) below root."""
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                tree[rel] = ("symlink", os.readlink(full), None, None)
            elif stat.S_ISDIR(st.st_mode):
                tree[rel] = ("dir", None, stat.S_IMODE(st.st_mode), int(st.st_mtime))
            elif stat.S_ISREG(st.st_mode):
                tree[rel] = ("file", sha256_of(full), stat.S_IMODE(st.st_mode), int(st.st_mtime))
            else:
                tree[rel] = ("special", None, stat.S_IMODE(st.st_mode), None)
    return tree


def narrowed(kind, mode):
    base = 0o600 if kind == "file" else 0o700
    return ((mode & 0o755) | base) & ~UMASK


def legacy(kind, mode):
    if kind == "file":
        return (0o755 if mode & 0o100 else 0o644) & ~UMASK
    return 0o755 & ~UMASK


def run(cmd, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=TIMEOUT, **kw)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, -1, "", f"timed out after {TIMEOUT} s")


class Sealtar:
    def __init__(self, binary, cache):
        self.binary = str(binary)
        self.env = dict(os.environ, SEALTAR_CACHE_DIR=str(cache))
        help_text = run([self.binary, "extract", "--help"], env=self.env).stdout
        self.has_links = "--links" in help_text
        self.has_special = "--special" in help_text
        self.has_copy_or_refuse = "copy-or-refuse" in help_text
        self.dir_mtimes = self.probe_dir_mtimes()

    def extract(self, archive, dest, options):
        return run([self.binary, "extract", str(archive), "-C", str(dest), *options], env=self.env)

    def entries(self, archive):
        out = run([self.binary, "list", "--json", str(archive)], env=self.env)
        try:
            return json.loads(out.stdout).get("entries", [])
        except json.JSONDecodeError:
            return []

    def probe_dir_mtimes(self):
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "probe.tar"
            with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo("d")
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_000_000_000
                tar.addfile(info)
                info = tarfile.TarInfo("d/f")
                info.size, info.mtime = 0, 1_000_000_000
                tar.addfile(info)
            dest = Path(tmp) / "out"
            self.extract(archive, dest, [])
            try:
                return int(os.stat(dest / "d").st_mtime) == 1_000_000_000
            except OSError:
                return False


def option_sets(sealtar):
    sets = [("default", [])]
    if sealtar.has_links and sealtar.has_special:
        sets.append(("--links skip --special skip", ["--links", "skip", "--special", "skip"]))
        sets.append(("--links copy --special skip", ["--links", "copy", "--special", "skip"]))
        if sealtar.has_copy_or_refuse:
            sets.append(("--links copy-or-refuse --special skip", ["--links", "copy-or-refuse", "--special", "skip"]))
    elif sealtar.has_links:
        sets.append(("--links skip", ["--links", "skip"]))
        sets.append(("--links copy", ["--links", "copy"]))
    return sets


def expected_tree(gnu, kinds, options, gnu_root):
    """What sealtar should write under `options`, from GNU tar's tree, or
    None when sealtar should refuse the archive."""
    links = {p for p, k in kinds.items() if k in ("symlink", "hardlink")}
    special = {p for p, k in kinds.items() if k in ("chardev", "blockdev", "fifo", "other")}
    mode = options[options.index("--links") + 1] if "--links" in options else "refuse"
    special_mode = options[options.index("--special") + 1] if "--special" in options else "refuse"
    if (links and mode == "refuse") or (special and special_mode == "refuse"):
        return None
    tree = dict(gnu)
    for p in special:
        tree.pop(p, None)
    if mode == "skip":
        for p in links:
            tree.pop(p, None)
    elif mode in ("copy", "copy-or-refuse"):
        # A symlink whose target is outside the tree or not in it cannot be
        # copied: copy-or-refuse refuses the archive (or sealtar may skip it
        # first); copy leaves it out, and out of every directory copy.
        root = os.path.realpath(gnu_root)
        targets, uncopyable = {}, set()
        for p in links:
            if kinds[p] == "symlink":
                target = os.path.realpath(os.path.join(gnu_root, p))
                rel = os.path.relpath(target, root)
                if os.path.commonpath([target, root]) != root or rel not in gnu:
                    uncopyable.add(p)
                else:
                    targets[p] = rel
        if uncopyable and mode == "copy-or-refuse":
            return "refuse-or-skip"
        for p in uncopyable:
            tree.pop(p, None)
        for p, rel in targets.items():
            tree[p] = ("copy-of", rel)
            if gnu[rel][0] == "dir":
                for q in gnu:
                    if q.startswith(rel + "/") and q not in uncopyable:
                        tree[p + q[len(rel) :]] = ("copy-of", q)
    return tree


def reentered(paths):
    """Directories that some member enters again after a member outside
    them, in archive order."""
    closed, again = set(), set()
    previous = []
    for path in paths:
        parts = path.split("/")
        ancestors = ["/".join(parts[:i]) for i in range(1, len(parts))]
        inside = set(ancestors) | {path}
        for d in previous:
            if d not in inside:
                closed.add(d)
        again.update(a for a in ancestors if a in closed)
        previous = ancestors + [path]
    return again


def compare(expected, got, gnu, sealtar, kinds, notes):
    """Differences between the tree sealtar should have written and the one it
    wrote, as a list of strings.

    A directory's mtime is compared only when the archive has an entry for
    it: a directory that paths only imply gets the time of extraction from
    both tools, seconds apart. Nor when a link is made in it (under
    `--links skip` or `copy`): GNU tar makes links last, after it has set the
    directories' times, so its directory shows the time of extraction. Nor
    when the archive returns to a directory after members outside it: GNU
    tar sets a directory's time as soon as extraction moves past it, so
    members written into it later leave the time of extraction, while
    sealtar (like Python's tarfile) sets every directory's time once all
    members are written."""
    explicit_dirs = {p for p, k in kinds.items() if k == "dir"} - reentered(list(kinds))
    if any(kinds[p] == "dir" and p not in explicit_dirs for p in kinds):
        notes.add("mtimes of directories the archive returns to not compared (GNU tar sets them when it moves past)")
    link_parents = {os.path.dirname(p) for p, k in kinds.items() if k in ("symlink", "hardlink")}
    diffs = []
    for path in sorted(set(expected) | set(got)):
        if path not in got:
            diffs.append(f"missing {path}")
            continue
        if path not in expected:
            diffs.append(f"extra {path}")
            continue
        want, have = expected[path], got[path]
        if want[0] == "copy-of":
            source = gnu[want[1]]
            if have[0] != source[0] or have[1] != source[1]:
                diffs.append(f"{path}: not a copy of {want[1]}")
            continue
        if want[0] != have[0]:
            diffs.append(f"{path}: kind {have[0]}, GNU tar {want[0]}")
            continue
        if want[1] != have[1]:
            diffs.append(f"{path}: contents differ")
        if want[2] is not None and have[2] != want[2] & ~UMASK:
            if have[2] == narrowed(want[0], want[2]):
                pass
            elif have[2] == legacy(want[0], want[2]):
                notes.add("modes follow the 0644/0755 rule (no narrowed archive modes in this build)")
            else:
                diffs.append(f"{path}: mode {have[2]:o}, GNU tar {want[2]:o}")
        compare_time = want[0] == "file"
        if want[0] == "dir" and sealtar.dir_mtimes and path in explicit_dirs:
            if path in link_parents:
                notes.add("mtimes of directories holding a link not compared (GNU tar makes links after setting them)")
            else:
                compare_time = True
        if compare_time:
            if want[3] != have[3]:
                diffs.append(f"{path}: mtime {have[3]}, GNU tar {want[3]}")
    return diffs


def gnu_types(archive):
    """The type letters GNU tar's verbose listing shows (`-` file, `d`
    directory, `l` symlink, `h` hard link, `c`/`b`/`p` devices and fifos),
    or None if it cannot list the archive. Read from GNU tar, not from
    sealtar, so that an archive sealtar refuses is still classified."""
    out = run(["tar", "-tvf", str(archive)])
    if out.returncode != 0:
        return None
    return {line[0] for line in out.stdout.splitlines() if line}


def differential(archive, sealtar, sets, work, notes):
    """Extract one archive with GNU tar and with sealtar under each option
    set. Returns (kinds, GNU tar's error or None, {option set: (outcome,
    detail)}), the outcome one of: identical; refused-as-expected (links or
    special files the options refuse); refused (a tree was expected: detail
    is sealtar's message); extracted-links (extracted though it must be
    refused); exit (a status other than 0 or 1, or a timeout); differs
    (detail: the differences); unchecked (--links copy-or-refuse extracted
    an archive it could also have refused: not compared)."""
    gnu_dir = work / "gnu"
    gnu_dir.mkdir()
    try:
        out = run(["tar", "-xf", str(archive), "-C", str(gnu_dir)])
        if out.returncode != 0:
            return {}, out.stderr.strip(), {}
        gnu = snapshot(gnu_dir)
        kinds = {e["path"].rstrip("/").removeprefix("./"): e["kind"] for e in sealtar.entries(archive)}
        kinds = {p: k for p, k in kinds.items() if p not in ("", ".")}
        results = {}
        for name, options in sets:
            expected = expected_tree(gnu, kinds, options, gnu_dir)
            dest = work / "sealtar"
            out = sealtar.extract(archive, dest, options)
            if out.returncode not in (0, 1):
                results[name] = ("exit", f"exit {out.returncode}: {out.stderr.strip()}")
            elif expected is None or expected == "refuse-or-skip":
                if out.returncode == 0 and expected is None:
                    results[name] = ("extracted-links", "extracted, but it has links or special files")
                elif out.returncode == 0:
                    results[name] = ("unchecked", "")
                else:
                    results[name] = ("refused-as-expected", out.stderr.strip())
            elif out.returncode != 0:
                results[name] = ("refused", out.stderr.strip())
            else:
                diffs = compare(expected, snapshot(dest), gnu, sealtar, kinds, notes)
                results[name] = ("differs", diffs) if diffs else ("identical", None)
            shutil.rmtree(dest, ignore_errors=True)
        return kinds, None, results
    finally:
        shutil.rmtree(gnu_dir, ignore_errors=True)


def shown(diffs):
    return "; ".join(diffs[:5]) + (f"; … {len(diffs) - 5} more" if len(diffs) > 5 else "")


def failure(label, name, outcome, detail):
    """What fails the run in an option set's outcome, or None: a tree that
    differs, links extracted where they must be refused, a crash or timeout."""
    if outcome in ("extracted-links", "exit"):
        return f"{label} [{name}]: {detail}"
    if outcome == "differs":
        return f"{label} [{name}]: {shown(detail)}"
    return None


def finish(notes, failures, refusals=()):
    """Prints the notes, refusals and failures after the table; exits 1 on
    any failure."""
    print()
    for note in sorted(notes):
        print(f"note: {note}")
    for refusal in refusals:
        print(f"refused {refusal}")
    for failure_line in failures:
        print(f"FAIL {failure_line}")
    if failures:
        sys.exit(1)


def setup(args):
    rows = read_manifest()
    missing = [r["file"] for r in rows if not archive_path(r).exists()]
    if missing:
        sys.exit(f"test-realworld: {len(missing)} archives are not in {cache_dir()}: run `make fetch-realworld`")
    os.umask(UMASK)
    work = Path(tempfile.mkdtemp(prefix="sealtar-realworld-"))
    sealtar = Sealtar(args.sealtar, work / "cache")
    sets = option_sets(sealtar)
    notes = set()
    if not sealtar.dir_mtimes:
        notes.add("directory mtimes not compared: this sealtar does not restore them")
    if len(sets) == 1:
        notes.add("only default options compared: this sealtar has no --links/--special")
    return rows, work, sealtar, sets, notes


def test(args):
    rows, work, sealtar, sets, notes = setup(args)
    failures = []
    reach = {name: [0, 0] for name, _ in sets}
    by_format = {}
    no_links = 0
    start = time.monotonic()
    try:
        for row in rows:
            archive = archive_path(row)
            label = f"{row['source']} {row['file']}"
            kinds, gnu_error, results = differential(archive, sealtar, sets, work, notes)
            if gnu_error is not None:
                failures.append(f"{label}: GNU tar failed: {gnu_error}")
                continue
            fmt = compression_of(archive)
            by_format[fmt] = by_format.get(fmt, 0) + 1
            link_free = not any(k not in ("file", "dir") for k in kinds.values())
            no_links += link_free
            for name, (outcome, detail) in results.items():
                if outcome == "identical":
                    reach[name][0] += 1
                    reach[name][1] += link_free
                elif outcome == "refused":
                    failures.append(f"{label} [{name}]: refused: {detail}")
                elif failed := failure(label, name, outcome, detail):
                    failures.append(failed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = len(rows)
    print(f"real-world differential: {total} archives ({', '.join(f'{n} {f}' for f, n in sorted(by_format.items()))}), "
          f"{no_links} without links or special files, {time.monotonic() - start:.0f} s")
    print()
    print_reach(sets, reach, total, no_links)
    finish(notes, failures)


def print_reach(sets, reach, total, free):
    """The reach table, as README.md shows it: per option set, how many of
    the `total` archives, and of the `free` without links or special files,
    were extracted identical to GNU tar (`reach[name]` is both counts)."""
    print(f"| options | extracted, identical to GNU tar | of all {total} | of the {free} without links or special files |")
    print("|---|---:|---:|---:|")
    for name, _ in sets:
        got, got_free = reach[name]
        pct_free = f"{100 * got_free / free:.1f}% ({got_free})" if free else "-"
        print(f"| `{name}` | {got} | {100 * got / total:.1f}% | {pct_free} |")


def rule_of(sealtar, archive, options):
    """Why sealtar refuses an archive under options: the violations `sealtar
    check` lists (with their rules), or extract's own message."""
    out = run([sealtar.binary, "check", *options, str(archive)], env=sealtar.env)
    lines = [line for line in (out.stdout + out.stderr).splitlines() if "[rule " in line or "refused" in line]
    return lines


def survey(args):
    fetch(args)
    rows, work, sealtar, sets, notes = setup(args)
    failures, refusals = [], []
    reach = {name: [0, 0] for name, _ in sets}
    by_format, by_source, link_free_by_source = {}, {}, {}
    total = free = 0
    start = time.monotonic()
    try:
        for n, row in enumerate(rows, start=1):
            archive = archive_path(row)
            label = f"{row['source']} {row['file']}"
            log(f"survey: [{n}/{len(rows)}] {label}")
            types = gnu_types(archive)
            kinds, gnu_error, results = differential(archive, sealtar, sets, work, notes)
            if gnu_error is not None or types is None:
                failures.append(f"{label}: GNU tar failed: {gnu_error}")
                continue
            total += 1
            link_free = types <= {"-", "d"}
            free += link_free
            fmt = compression_of(archive)
            by_format[fmt] = by_format.get(fmt, 0) + 1
            by_source[row["source"]] = by_source.get(row["source"], 0) + 1
            link_free_by_source[row["source"]] = link_free_by_source.get(row["source"], 0) + link_free
            for name, options in sets:
                outcome, detail = results[name]
                if outcome == "identical":
                    reach[name][0] += 1
                    reach[name][1] += link_free
                elif outcome in ("refused", "refused-as-expected"):
                    why = rule_of(sealtar, archive, options) or [detail]
                    more = f" (+{len(why) - 3} more)" if len(why) > 3 else ""
                    refusals.append(f"{label} [{name}]{'' if link_free else ' (has links/special files)'}: "
                                    f"{' | '.join(why[:3])}{more}")
                elif failed := failure(label, name, outcome, detail):
                    failures.append(failed)
                elif outcome == "unchecked":
                    notes.add(f"{label} [{name}]: extracted though a link could not be copied; not compared")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"real-world survey ({MANIFEST.name}): {total} archives "
          f"({', '.join(f'{n} {s}' for s, n in sorted(by_source.items()))}; "
          f"{', '.join(f'{n} {f}' for f, n in sorted(by_format.items()))}), "
          f"{free} without links or special files "
          f"({', '.join(f'{n} {s}' for s, n in sorted(link_free_by_source.items()))}), "
          f"{time.monotonic() - start:.0f} s")
    print()
    print_reach(sets, reach, total, free)
    finish(notes, failures, refusals)


def compression_of(path):
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic.startswith(b"\x1f\x8b"):
        return "gzip"
    if magic.startswith(b"\xfd7zXZ"):
        return "xz"
    if magic.startswith(b"BZh"):
        return "bzip2"
    if magic.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return "tar"


def main():
    global MANIFEST
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, help="the manifest (default MANIFEST.tsv; SURVEY.tsv for survey)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download the archives into the cache")
    t = sub.add_parser("test", help="compare sealtar with GNU tar on every archive")
    t.add_argument("--sealtar", default=ROOT / "target" / "release" / "sealtar")
    v = sub.add_parser("survey", help="fetch SURVEY.tsv's archives, compare, print the reach and every refusal")
    v.add_argument("--sealtar", default=ROOT / "target" / "release" / "sealtar")
    args = parser.parse_args()
    MANIFEST = args.manifest or (SURVEY if args.command == "survey" else MANIFEST)
    {"fetch": fetch, "test": test, "survey": survey}[args.command](args)


if __name__ == "__main__":
    main()
