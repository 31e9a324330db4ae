#!/usr/bin/env python3
"""Select the archives of the real-world survey (SURVEY.tsv) by a fixed rule.

MANIFEST.tsv, which CI runs, was chosen by hand to exercise features (a
quarter of it holds links). The survey estimates reach instead: its archives
are picked by the rule below, written down before any archive was
downloaded, from a name hash and the published indexes alone. No archive's
contents take part in the choice; the only property of a file the rule looks
at is its size (a cap that keeps the download bounded).

The rule (version 1, salt "sealtar-survey-1"):

  H(kind, name) = the first two bytes, big-endian, of
                  sha256("sealtar-survey-1:" + kind + ":" + name)   (0..65535)

  debian-source  Debian bookworm main, source/Sources.xz: every source
                 package with H("debian-source", Package) < 256 (1 in 256);
                 of each, every file listed in Checksums-Sha256 whose name
                 ends in .tar, .tar.gz, .tar.xz, .tar.bz2, .tar.zst or
                 .tar.lzma (upstream, upstream component, debian and native
                 tarballs), at most 8 MB by the index's size.
  debian-deb     Debian bookworm main, binary-amd64/Packages.xz (which lists
                 amd64 and all): every binary package with
                 H("debian-deb", Package) < 128 (1 in 512); its .deb, at most
                 8 MB by the index's size; the survey tests its data member.
  pypi           The packages of python-poetry/poetry's poetry.lock at commit
                 f46702336862f30050d5c641d5ed6f7568ded793 (a popular project's
                 lock file: a fixed list nobody chose for this) with
                 H("pypi", name) < 32768 (1 in 2): the version's sdist (the
                 lock's .tar.gz file, its sha256 from the lock), its URL from
                 PyPI's simple index (one request per chosen package), at most
                 8 MB.
  npm            The packages of npm/cli's package-lock.json at commit
                 780afc50e3a345feb1871a28e33fa48235bc3bd5 resolved from
                 registry.npmjs.org, each distinct name and version with
                 H("npm", name) < 2048 (1 in 32): the resolved tarball (the
                 lock's sha512 integrity checked), at most 8 MB.

The Debian buckets were first 128 and 64 (1 in 512 and 1 in 1024). The
mirror reachable from where the survey was made (deb.debian.org) answered
404 for 82 of the 126 Debian source files so chosen (and for none of the 67
.debs): its pool lags its index, or a cache in front of it holds only part
of it. Both Debian buckets were then doubled, before any archive was
opened, so that the sample keeps its size; every package the first buckets
chose is still chosen. With them, 150 of 224 source files were not served.
That loss depends on no archive's contents, but it is not known to be
random: it is the survey's second stated bias.

Files above the cap are left out and counted in the summary; so are packages
whose sdist PyPI no longer serves, and Debian files the mirror answers with
404 Not Found (asked with a HEAD request; deb.debian.org's pool can lag its
index). The survey's first stated bias: no archive larger than 8 MB
compressed.

SURVEY.tsv was made on 2026-12-03 from Sources.xz with sha256
92d11a035571df011f06f28c61cb9825130ef1d92abb2f2e0525e8674dc44af8 and
Packages.xz with sha256
9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5 (the
script prints the hashes of the indexes it reads: a later bookworm point
release changes them, and with them the versions chosen).

  survey_select.py --poetry-lock FILE --npm-lock FILE [--out SURVEY.tsv]

downloads the two Debian indexes (deb.debian.org), the chosen PyPI and npm
files (their sha256 is pinned from the download, after the lock's own hash
is checked), and writes the manifest (same columns as MANIFEST.tsv) sorted
by source and name. The lock files are read from the given paths, which must
be the files at the commits named above (github.com is not always reachable
from where this runs; `git show <commit>:poetry.lock` in a clone gives them).
Standard library only.
"""

import argparse
import base64
import hashlib
import json
import lzma
import os
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SALT = "sealtar-survey-1"
MIRROR = "https://deb.debian.org/debian"
SUITE = "bookworm"
CAP = 8_000_000
TAR_ENDINGS = (".tar", ".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tar.lzma")
BUCKETS = {"debian-source": 256, "debian-deb": 128, "pypi": 32768, "npm": 2048}
COLUMNS = ["source", "name", "version", "file", "sha256", "url"]


def log(message):
    print(message, file=sys.stderr, flush=True)


def bucket(kind, name):
    digest = hashlib.sha256(f"{SALT}:{kind}:{name}".encode()).digest()
    return int.from_bytes(digest[:2], "big")


def chosen(kind, name):
    return bucket(kind, name) < BUCKETS[kind]


def get(url):
    request = urllib.request.Request(url, headers={"User-Agent": "sealtar-survey/1"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def served(url):
    """Whether the mirror has the file (a HEAD request; only 404 means no)."""
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "sealtar-survey/1"})
    try:
        with urllib.request.urlopen(request, timeout=120):
            return True
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return False
        raise


def stanzas(text):
    """The paragraphs of a deb822 index, each a dict; continuation lines are
    kept, joined by newlines."""
    for block in text.split("\n\n"):
        fields, last = {}, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and last:
                fields[last] += "\n" + line.strip()
            elif ":" in line:
                last, _, value = line.partition(":")
                fields[last] = value.strip()
        if fields:
            yield fields


def debian(summary):
    rows = []
    for kind, index in (("debian-source", "source/Sources.xz"), ("debian-deb", "binary-amd64/Packages.xz")):
        url = f"{MIRROR}/dists/{SUITE}/main/{index}"
        raw = get(url)
        summary.append(f"{url}: sha256 {hashlib.sha256(raw).hexdigest()}")
        text = lzma.decompress(raw).decode("utf-8")
        names, picked, over = set(), set(), 0
        for s in stanzas(text):
            name = s["Package"]
            names.add(name)
            if not chosen(kind, name):
                continue
            picked.add(name)
            if kind == "debian-source":
                for line in s.get("Checksums-Sha256", "").splitlines():
                    parts = line.split()
                    if len(parts) != 3 or not parts[2].endswith(TAR_ENDINGS):
                        continue
                    sha, size, file = parts
                    if int(size) > CAP:
                        over += 1
                        continue
                    rows.append([kind, name, s["Version"], file, sha, f"{MIRROR}/{s['Directory']}/{file}"])
            else:
                if int(s["Size"]) > CAP:
                    over += 1
                    continue
                file = s["Filename"].rsplit("/", 1)[1]
                rows.append([kind, name, s["Version"], file, s["SHA256"], f"{MIRROR}/{s['Filename']}"])
        summary.append(f"{kind}: {len(picked)} of {len(names)} packages chosen, {over} files over the cap left out")
    absent = [r for r in rows if not served(r[5])]
    summary.append(f"debian: {len(absent)} files not served by the mirror left out: "
                   f"{', '.join(r[3] for r in absent) or 'none'}")
    return [r for r in rows if r not in absent]


def pypi(lock_path, summary):
    lock = tomllib.loads(Path(lock_path).read_text(encoding="utf-8"))
    rows, names, missing, over = [], 0, [], 0
    for package in lock["package"]:
        names += 1
        name, version = package["name"], package["version"]
        if not chosen("pypi", name):
            continue
        sdists = [f for f in package.get("files", []) if f["file"].endswith(".tar.gz")]
        if len(sdists) != 1:
            missing.append(f"{name} {version} (no sdist in the lock)")
            continue
        file, sha = sdists[0]["file"], sdists[0]["hash"].removeprefix("sha256:")
        index = json.loads(
            urllib.request.urlopen(
                urllib.request.Request(
                    f"https://pypi.org/simple/{name}/",
                    headers={"Accept": "application/vnd.pypi.simple.v1+json", "User-Agent": "sealtar-survey/1"},
                ),
                timeout=120,
            ).read()
        )
        entry = [f for f in index["files"] if f["filename"] == file]
        if not entry:
            missing.append(f"{name} {version} (PyPI does not serve {file})")
            continue
        if entry[0].get("size", 0) > CAP:
            over += 1
            continue
        if entry[0]["hashes"].get("sha256") != sha:
            sys.exit(f"survey: {file}: PyPI's sha256 differs from the lock's")
        rows.append(["pypi", name, version, file, sha, entry[0]["url"]])
    summary.append(f"pypi: {len(rows)} of {names} packages chosen with an sdist, {over} over the cap, "
                   f"left out: {', '.join(missing) or 'none'}")
    return rows


def npm(lock_path, cache, summary):
    lock = json.loads(Path(lock_path).read_text(encoding="utf-8"))
    seen, rows, over = set(), [], 0
    names = set()
    for path, package in lock["packages"].items():
        url = package.get("resolved", "")
        if not url.startswith("https://registry.npmjs.org/") or "node_modules/" not in path:
            continue
        name = path.rsplit("node_modules/", 1)[1]
        names.add(name)
        key = (name, package["version"])
        if key in seen or not chosen("npm", name):
            continue
        seen.add(key)
        data = get(url)
        algo, _, want = package["integrity"].partition("-")
        if algo != "sha512" or hashlib.sha512(data).digest() != base64.b64decode(want):
            sys.exit(f"survey: {url}: the download does not match the lock's integrity")
        if len(data) > CAP:
            over += 1
            continue
        file = f"{name.replace('@', '').replace('/', '__')}-{package['version']}.tgz"
        (cache / file).write_bytes(data)
        rows.append(["npm", name, package["version"], file, hashlib.sha256(data).hexdigest(), url])
    summary.append(f"npm: {len(rows)} name/version pairs chosen of {len(names)} names, {over} over the cap")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poetry-lock", required=True)
    parser.add_argument("--npm-lock", required=True)
    parser.add_argument("--out", default=HERE / "SURVEY.tsv")
    args = parser.parse_args()
    cache = Path(os.environ.get("SURVEY_CACHE") or ROOT / "target" / "survey")
    cache.mkdir(parents=True, exist_ok=True)
    summary = []
    rows = debian(summary) + pypi(args.poetry_lock, summary) + npm(args.npm_lock, cache, summary)
    rows.sort(key=lambda r: (r[0], r[1], r[3]))
    files = [r[3] for r in rows]
    if len(files) != len(set(files)):
        sys.exit("survey: two chosen files share a name")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    for line in summary:
        log(f"survey: {line}")
    log(f"survey: {len(rows)} archives written to {args.out}")


if __name__ == "__main__":
    main()
