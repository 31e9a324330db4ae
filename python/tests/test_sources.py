"""File-object sources: short reads, odd return values, and exceptions
raised by .read, which must propagate unchanged with nothing left in dest."""

from __future__ import annotations

import hashlib
import io

import pytest

import sealtar
from tarbuild import Tar, gz, tree


def archive() -> bytes:
    # Several chunks' worth, so the library reads on its own thread too.
    big = bytes((i * 7) % 251 for i in range(3 << 20))
    return Tar().dir("d/").file("d/small", b"hello").file("d/big", big).file("d/z", b"zz").build()


def expected() -> dict:
    big = bytes((i * 7) % 251 for i in range(3 << 20))
    return {"d": ("dir",), "d/small": ("file", b"hello"), "d/big": ("file", big), "d/z": ("file", b"zz")}


def flat(t: dict) -> dict:
    return {k.replace("\\", "/"): v for k, v in t.items()}


class Dribble:
    """Returns at most a few bytes per call, of a varying count."""

    def __init__(self, data: bytes, most: int = 7):
        self.data, self.at, self.most, self.calls = data, 0, most, 0

    def read(self, n: int) -> bytes:
        self.calls += 1
        take = min(n, 1 + self.calls % self.most)
        chunk = self.data[self.at : self.at + take]
        self.at += len(chunk)
        return chunk


@pytest.mark.parametrize("compress", [bytes, gz], ids=["tar", "tar.gz"])
def test_short_reads(box, compress):
    noise = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(200))
    source = Dribble(compress(Tar().file("a", noise).file("b", b"b").build()))
    sealtar.extract(source, box.dest)
    assert tree(box.dest) == {"a": ("file", noise), "b": ("file", b"b")}
    assert source.calls > 1000


class Returns:
    """.read(n) returns what `shape` makes of the next n bytes."""

    def __init__(self, data: bytes, shape):
        self.stream, self.shape = io.BytesIO(data), shape

    def read(self, n: int):
        return self.shape(self.stream.read(n))


@pytest.mark.parametrize("shape", [bytearray, memoryview], ids=["bytearray", "memoryview"])
def test_read_may_return_any_bytes_like(box, shape):
    sealtar.extract(Returns(archive(), shape), box.dest)
    assert flat(tree(box.dest)) == expected()


def test_read_returning_more_than_asked_loses_nothing(box):
    data = archive()

    class Generous:
        at = 0

        def read(self, n):
            chunk = data[self.at : self.at + 3 * n + 1]
            self.at += len(chunk)
            return chunk

    sealtar.extract(Generous(), box.dest)
    assert flat(tree(box.dest)) == expected()


def test_read_returning_none_is_retried(box):
    data = archive()

    class NotYet:
        calls = 0

        def __init__(self):
            self.stream = io.BytesIO(data)

        def read(self, n):
            self.calls += 1
            if self.calls % 3:
                return None  # a non-blocking stream with nothing yet
            return self.stream.read(n)

    source = NotYet()
    sealtar.extract(source, box.dest)
    assert flat(tree(box.dest)) == expected()
    assert source.calls > 6


def test_read_returning_none_forever_times_out(box):
    class Never:
        def read(self, n):
            return None

    # As the CLI's stalled standard input: an I/O failure, not a refusal.
    with pytest.raises(TimeoutError, match="reading the archive: the input stalled") as e:
        sealtar.extract(Never(), box.dest, stall_timeout=0.3)
    assert not isinstance(e.value, sealtar.SealtarError)
    assert not box.dest.exists()


def test_read_returning_str_is_a_type_error(box):
    class Text:
        def read(self, n):
            return "not bytes"

    with pytest.raises(TypeError, match="binary mode"):
        sealtar.extract(Text(), box.dest)
    assert not box.dest.exists()


class Boom(Exception):
    pass


class Failing:
    """Delivers `good` bytes of the archive, then raises `error`."""

    def __init__(self, data: bytes, good: int, error: BaseException):
        self.data, self.good, self.error, self.at = data, good, error, 0

    def read(self, n):
        if self.at >= self.good:
            raise self.error
        chunk = self.data[self.at : min(self.at + n, self.good)]
        self.at += len(chunk)
        return chunk


@pytest.mark.parametrize("good", [0, 1000, 2 << 20], ids=["at once", "in the first chunk", "on the input thread"])
def test_an_exception_from_read_propagates_unchanged_and_nothing_is_left(box, good):
    error = Boom("the network went away")
    with pytest.raises(Boom) as e:
        sealtar.extract(Failing(archive(), good, error), box.dest)
    assert e.value is error
    assert not box.dest.exists()


def test_an_exception_from_read_leaves_an_existing_dest_unchanged(box):
    box.dest.mkdir()
    (box.dest / "mine").write_bytes(b"m")
    error = Boom("late")
    with pytest.raises(Boom) as e:
        sealtar.extract(Failing(archive(), 2 << 20, error), box.dest)
    assert e.value is error
    assert tree(box.dest) == {"mine": ("file", b"m")}


def test_an_os_error_from_read_propagates_unchanged(box):
    error = ConnectionResetError(104, "Connection reset by peer")
    with pytest.raises(ConnectionResetError) as e:
        sealtar.list(Failing(archive(), 700, error))
    assert e.value is error


def test_exceptions_from_read_propagate_from_list_and_check_too(box):
    for call in (sealtar.list, sealtar.check):
        error = Boom(call.__name__)
        with pytest.raises(Boom) as e:
            call(Failing(archive(), 1 << 20, error))
        assert e.value is error


def test_keyboard_interrupt_in_read_propagates(box):
    error = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt) as e:
        sealtar.extract(Failing(archive(), 600, error), box.dest)
    assert e.value is error
    assert not box.dest.exists()


def test_an_object_without_read_is_a_type_error(box):
    for bad in (42, None, object(), ["a"]):
        with pytest.raises(TypeError, match="source must be"):
            sealtar.extract(bad, box.dest)
    assert not box.dest.exists()


def test_a_missing_source_path_is_file_not_found_with_the_path(box):
    missing = box.others / "nope.tar"
    with pytest.raises(FileNotFoundError) as e:
        sealtar.extract(missing, box.dest)
    assert e.value.filename == str(missing)
    assert not box.dest.exists()


def test_opening_a_fifo_path_does_not_hold_the_gil(box):
    """Opening a FIFO waits for its writer. Here the writer is a Python
    thread that must run Python code (after a sleep) before it opens the
    FIFO: if the GIL were held while sealtar waits in open(), neither could
    go on. Run in a child interpreter, so that a deadlock fails the test
    (after a timeout) instead of hanging the suite."""
    import subprocess
    import sys

    if not hasattr(__import__("os"), "mkfifo"):
        pytest.skip("no FIFOs on this system")
    script = """
import os, sys, threading, time
import sealtar
extractor = sealtar.Extractor()  # compiled first: compiling releases the GIL too
fifo, dest, data = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
os.mkfifo(fifo)
def write():
    time.sleep(0.3)
    with open(fifo, "wb") as f:
        f.write(data)
threading.Thread(target=write).start()
print(extractor.extract(fifo, dest).files)
"""
    source = box.others / "archive.tar"
    source.write_bytes(archive())
    done = subprocess.run([sys.executable, "-c", script, str(box.others / "pipe"), str(box.dest), str(source)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    assert flat(tree(box.dest)) == expected()
