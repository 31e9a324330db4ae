"""One Extractor shared by threads; calls run side by side with the GIL released."""

from __future__ import annotations

import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import sealtar
from tarbuild import Tar, gz, tree


def archive(n: int) -> bytes:
    t = Tar().dir(f"a{n}/")
    for i in range(20):
        t.file(f"a{n}/f{i}", f"{n}:{i}".encode() * (i + 1))
    return gz(t.build())


def expected(n: int) -> dict:
    out = {f"a{n}": ("dir",)}
    out.update({os.path.join(f"a{n}", f"f{i}"): ("file", f"{n}:{i}".encode() * (i + 1)) for i in range(20)})
    return out


def test_threads_share_one_extractor(box):
    extractor = sealtar.Extractor(hash="sha256")
    jobs = list(range(24))

    def one(n):
        dest = box.others / f"out{n}"
        if n % 3 == 0:
            report = extractor.extract(io.BytesIO(archive(n)), dest)
        else:
            report = extractor.extract(archive(n), dest)
        listed = extractor.list(archive(n))
        checked = extractor.check(archive(n))
        return n, report, listed, checked

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, jobs))
    for n, report, listed, checked in results:
        assert tree(box.others / f"out{n}") == expected(n)
        assert report.files == 20 and all(e.digest for e in report.entries if e.kind == "file")
        assert len(listed) == 21 and checked.acceptable


def test_calls_run_at_the_same_time():
    """Each source's first read waits until the other call is reading too.
    Only calls that release the GIL while the library reads (on threads of
    its own, which take the GIL for each .read) can both get there."""
    extractor = sealtar.Extractor()
    barrier = threading.Barrier(2, timeout=30)

    class Meeting:
        def __init__(self, data):
            self.stream, self.met = io.BytesIO(data), False

        def read(self, n):
            if not self.met:
                self.met = True
                barrier.wait()
            return self.stream.read(n)

    results, errors = [], []

    def run(n):
        try:
            results.append(extractor.list(Meeting(archive(n))))
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert [len(r) for r in results] == [21, 21]


@pytest.mark.parametrize("workers", [4])
def test_module_functions_share_the_default_extractor_across_threads(box, workers):
    def one(n):
        sealtar.extract(archive(n), box.others / f"m{n}")
        return tree(box.others / f"m{n}") == expected(n)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        assert all(pool.map(one, range(12)))
