"""What watch keeps between re-plans, and when it lets go."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reelform.state.lockfile import LockState, journal_path, read_lock
from reelform.watch import cache
from reelform.watch.cache import LockCache


def test_a_lockfile_is_read_again_only_when_it_or_its_journal_changes(tmp_path: Path) -> None:
    lock = tmp_path / "a.lock"
    reads: list[Path] = []

    def reader(path: Path) -> LockState:
        reads.append(path)
        return read_lock(path)

    cache = LockCache(reader)
    first = cache.read(lock)  # missing: an empty state, cached as missing
    assert cache.read(lock) is first and len(reads) == 1
    lock.write_text('{"version": 1, "videos": {"a": {"status": "completed"}}}\n')
    second = cache.read(lock)
    assert second is not first and "a" in second.videos
    assert cache.read(lock) is second and len(reads) == 2
    journal_path(lock).write_text('{"s": "videos", "k": "b", "v": {"status": "submitted"}}\n')
    assert "b" in cache.read(lock).videos and len(reads) == 3


def test_an_output_is_hashed_once_while_its_stat_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[Path] = []

    def sha256_file(path: Path) -> str:
        hashed.append(path)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    monkeypatch.setattr(cache, "sha256_file", sha256_file)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"one")
    memo = cache.HashMemo()
    assert memo(video) == memo(video) == hashlib.sha256(b"one").hexdigest()
    assert len(hashed) == 1
    video.write_bytes(b"two!")  # another size (and mtime): hashed again
    assert memo(video) == hashlib.sha256(b"two!").hexdigest()
    assert len(hashed) == 2
