"""A journal record lands whole or not at all, whatever write() does."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from reelform.state.journal import AppendFile, Journal
from reelform.state.lockfile import LockState, journal_path, read_lock
from reelform.state.records import Status, VideoRecord


class FlakyFile:
    """A real append-mode file whose write() writes at most ``chunk`` bytes per call
    and, once ``budget`` bytes are written, fails with ENOSPC (a full disk)."""

    def __init__(self, path: Path, *, chunk: int = 1 << 30, budget: int | None = None) -> None:
        self._file = path.open("ab", buffering=0)
        self.chunk = chunk
        self.budget = budget
        self.calls = 0

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, data: memoryview, /) -> int | None:
        self.calls += 1
        size = min(len(data), self.chunk)
        if self.budget is not None:
            if self.budget == 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            size = min(size, self.budget)
            self.budget -= size
        return self._file.write(data[:size])

    def truncate(self, size: int, /) -> int:
        return self._file.truncate(size)

    def seek(self, offset: int, whence: int = 0, /) -> int:
        return self._file.seek(offset, whence)

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()


def opened(holder: list[FlakyFile], **kwargs: int | None):  # type: ignore[no-untyped-def]
    def opener(path: Path) -> AppendFile:
        holder.append(FlakyFile(path, **kwargs))  # type: ignore[arg-type]
        return holder[-1]

    return opener


def test_short_writes_are_continued_until_the_record_is_whole(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    files: list[FlakyFile] = []
    journal = Journal(lock, LockState(), opener=opened(files, chunk=7))
    journal.record("videos", "a", VideoRecord(status=Status.SUBMITTED, job_id="j-1"), durable=True)
    journal.record("videos", "b", VideoRecord(status=Status.SUBMITTED, job_id="j-2"), durable=True)
    journal.close()
    assert files[0].calls > 2  # it really was written in pieces
    assert journal_path(lock).read_bytes() == (
        b'{"k":"a","s":"videos","v":{"job_id":"j-1","status":"submitted"}}\n'
        b'{"k":"b","s":"videos","v":{"job_id":"j-2","status":"submitted"}}\n'
    )
    assert set(read_lock(lock).videos) == {"a", "b"}


@pytest.mark.parametrize("budget", [0, 1, 20, 64])
def test_a_full_disk_mid_record_cuts_the_record_and_raises(tmp_path: Path, budget: int) -> None:
    lock = tmp_path / "s.lock"
    first = b'{"k":"a","s":"videos","v":{"job_id":"j-1","status":"submitted"}}\n'
    journal_path(lock).write_bytes(first)  # an earlier record, already durable
    state = read_lock(lock)
    files: list[FlakyFile] = []
    journal = Journal(lock, state, opener=opened(files, chunk=5, budget=budget))
    with pytest.raises(OSError) as caught:
        journal.record(
            "videos", "b", VideoRecord(status=Status.SUBMITTED, job_id="j-2"), durable=True
        )
    assert caught.value.errno == errno.ENOSPC
    assert str(journal_path(lock)) in str(caught.value)
    # The torn part is gone, the earlier record is intact, the state did not move.
    assert journal_path(lock).read_bytes() == first
    assert set(state.videos) == {"a"} and journal.written == 0
    # Space comes back: the next record follows the last whole one, readable.
    files[0].budget = None
    journal.record("videos", "c", VideoRecord(status=Status.SUBMITTED, job_id="j-3"), durable=True)
    journal.close()
    assert set(read_lock(lock).videos) == {"a", "c"}
    assert set(state.videos) == {"a", "c"}


def test_a_write_that_makes_no_progress_is_an_error_not_a_spin(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    files: list[FlakyFile] = []
    journal = Journal(lock, LockState(), opener=opened(files, chunk=0))
    with pytest.raises(OSError, match="no progress"):
        journal.record("videos", "a", VideoRecord(status=Status.SUBMITTING))
    journal.close()
    assert journal_path(lock).read_bytes() == b""


def test_a_torn_record_that_cannot_be_cut_stops_the_journal(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    files: list[FlakyFile] = []
    journal = Journal(lock, LockState(), opener=opened(files, budget=10))

    def cannot_truncate(size: int, /) -> int:
        raise OSError(errno.EIO, "Input/output error")

    files[0].truncate = cannot_truncate  # type: ignore[method-assign]
    with pytest.raises(OSError):
        journal.record("videos", "a", VideoRecord(status=Status.SUBMITTING))
    files[0].budget = None
    # Appending after the torn bytes would fuse with them: refused instead.
    with pytest.raises(OSError, match="unusable"):
        journal.record("videos", "b", VideoRecord(status=Status.SUBMITTING))
    journal.close()
    # The next open cuts the torn tail, as after a crash.
    Journal(lock, LockState()).close()
    assert journal_path(lock).read_bytes() == b""
