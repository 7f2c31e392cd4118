"""Contract tests of the ObjectStore Protocol, run against every implementation available."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tracemalloc
from pathlib import Path

import pytest

from storage.errors import InvalidKey, ObjectCorrupt, ObjectExists, ObjectNotFound
from storage.objects import LocalObjectStore, ObjectStore, package_key
from storage.objects.s3 import S3ObjectStore


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    s: ObjectStore
    if request.param == "local":
        s = LocalObjectStore(tmp_path / "objects")
    else:
        server = request.getfixturevalue("s3_server")
        s = S3ObjectStore(
            endpoint=server.endpoint,
            access_key=server.access_key,
            secret_key=server.secret_key,
            bucket=request.getfixturevalue("s3_bucket"),
            part_size=5 * 1024 * 1024,
            spool_dir=tmp_path,
        )
    s.check()
    return s


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Exploding(io.RawIOBase):
    """A stream that fails after some bytes, as a dropped upload does."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self.left <= 0:
            raise OSError("connection reset")
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


class Generated(io.RawIOBase):
    """``size`` bytes produced on the fly: a big upload that never sits in memory."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = bytes(range(256)) * 4096

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.left, len(self.block))
        buffer[:n] = self.block[:n]
        self.left -= n
        return n


def test_put_and_read_back(store: ObjectStore) -> None:
    data = b"%PDF-1.7 contract bytes\x00\xff"
    key = package_key(sha(data), "original")
    result = store.put(key, io.BytesIO(data), sha256=sha(data))
    assert result.created and result.size == len(data) and result.sha256 == sha(data)
    with store.open(key) as fh:
        assert fh.read() == data
    assert store.exists(key)
    assert store.stat(key).size == len(data)
    assert key in set(store.iter_keys("packages/"))


def test_keys_by_prefix_as_s3_lists_them(store: ObjectStore) -> None:
    """A prefix is a string prefix, not a folder: it may end inside a name. The local store
    walks only the prefix's folder (the fixity audit lists each package), with the same answer
    as S3's listing."""
    keys = ["packages/ab/abc/original", "packages/ab/abd/original", "packages/ac/x", "other/y"]
    for key in keys:
        store.put(key, io.BytesIO(key.encode()))
    assert sorted(store.iter_keys("packages/ab/abc/")) == ["packages/ab/abc/original"]
    assert sorted(store.iter_keys("packages/ab/ab")) == keys[:2]
    assert sorted(store.iter_keys("packages/a")) == keys[:3]
    assert sorted(store.iter_keys("pack")) == keys[:3]
    assert sorted(store.iter_keys("packages/zz/")) == []
    assert sorted(store.iter_keys()) == sorted(keys)


def test_same_bytes_again_is_a_no_op(store: ObjectStore) -> None:
    data = b"same"
    store.put("a/b", io.BytesIO(data))
    again = store.put("a/b", io.BytesIO(data))
    assert not again.created and again.sha256 == sha(data)


def test_never_overwrites(store: ObjectStore) -> None:
    store.put("a/b", io.BytesIO(b"first"))
    with pytest.raises(ObjectExists):
        store.put("a/b", io.BytesIO(b"second"))
    with store.open("a/b") as fh:
        assert fh.read() == b"first"


def test_wrong_digest_is_refused_and_leaves_nothing(store: ObjectStore) -> None:
    with pytest.raises(ObjectCorrupt):
        store.put("a/b", io.BytesIO(b"bytes"), sha256=sha(b"other bytes"))
    assert not store.exists("a/b")
    assert list(store.iter_keys()) == []


def test_failed_stream_leaves_nothing(store: ObjectStore) -> None:
    with pytest.raises(OSError, match="connection reset"):
        store.put("a/b", io.BufferedReader(Exploding(3 * 1024 * 1024)))
    assert not store.exists("a/b")
    assert list(store.iter_keys()) == []


def test_missing_objects(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.open("no/such")
    with pytest.raises(ObjectNotFound):
        store.stat("no/such")
    with pytest.raises(ObjectNotFound):
        store.delete("no/such")
    assert not store.exists("no/such")


def test_delete(store: ObjectStore) -> None:
    store.put("x/y", io.BytesIO(b"1"))
    store.delete("x/y")
    assert not store.exists("x/y")


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "../x", "a/.hidden", "a b", "ä"])
def test_invalid_keys(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(key, io.BytesIO(b"x"))


@pytest.mark.slow
def test_streams_200_mb_in_constant_memory(store: ObjectStore) -> None:
    size = 200 * 1024 * 1024
    tracemalloc.start()
    try:
        result = store.put("big/file", io.BufferedReader(Generated(size), 1024 * 1024))
        digest = hashlib.sha256()
        with store.open("big/file") as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.size == size
    assert digest.hexdigest() == result.sha256
    assert peak < 16 * 1024 * 1024, f"peak Python memory {peak} bytes for a {size}-byte object"


# --- local store specifics ----------------------------------------------------------------------
def test_local_files_are_read_only(tmp_path: Path) -> None:
    s = LocalObjectStore(tmp_path / "o")
    s.check()
    s.put("k/v", io.BytesIO(b"data"))
    mode = (tmp_path / "o" / "k" / "v").stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_local_sweeps_only_old_temporary_files(tmp_path: Path) -> None:
    s = LocalObjectStore(tmp_path / "o")
    s.check()
    old = tmp_path / "o" / ".tmp" / "old.part"
    new = tmp_path / "o" / ".tmp" / "new.part"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    os.utime(old, (1, 1))
    assert s.sweep_temporary() == ["old.part"]
    assert new.exists() and not old.exists()
    assert list(s.iter_keys()) == []
