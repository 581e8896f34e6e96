"""The journal beside a lockfile: O(1) appends, replay, torn lines, compaction."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from reelform.errors import LockfileError
from reelform.state.journal import GroupCommit, Journal, compact
from reelform.state.lockfile import LockState, dump_lock, journal_path, read_lock, write_lock
from reelform.state.records import Status, UploadRecord, VideoRecord


def v(status: str, job_id: str | None = None, fingerprint: str | None = None) -> VideoRecord:
    return VideoRecord(status=Status(status), job_id=job_id, fingerprint=fingerprint)


def test_records_replay_in_order(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    journal = Journal(lock, LockState())
    journal.record("videos", "a", v("submitting"), durable=True)
    journal.record("videos", "a", v("submitted", job_id="j1"), durable=True)
    journal.record("videos", "b", v("submitted"))
    journal.record("videos", "b", None)
    journal.record("uploads", "jogg:1", UploadRecord(url="u"))
    journal.close()
    state = read_lock(lock)
    assert state.videos == {"a": v("submitted", job_id="j1")}
    assert state.uploads == {"jogg:1": UploadRecord(url="u")}
    assert not lock.exists()  # only the journal was written


def test_journal_mirrors_into_the_state(tmp_path: Path) -> None:
    state = LockState()
    journal = Journal(tmp_path / "s.lock", state)
    journal.record("videos", "a", v("submitted"))
    assert state.videos == {"a": v("submitted")}
    journal.close()


def test_replay_over_the_lockfile(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    write_lock(lock, LockState(videos={"a": v("completed"), "b": v("failed")}))
    journal = Journal(lock, read_lock(lock))
    journal.record("videos", "b", v("submitted"))
    journal.close()
    assert read_lock(lock).videos == {"a": v("completed"), "b": v("submitted")}


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    journal_path(lock).write_bytes(
        b'{"k":"a","s":"videos","v":{"status":"submitted"}}\n{"k":"b","s":"vid'
    )
    assert read_lock(lock).videos == {"a": v("submitted")}


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    path = journal_path(lock)
    path.write_bytes(b'{"k":"a","s":"videos","v":{}}\nGARBAGE\n{"k":"b","s":"videos","v":{}}\n')
    with pytest.raises(LockfileError, match=r"s\.lock\.journal:2: corrupt journal record"):
        read_lock(lock)


def test_bad_complete_last_line_is_an_error(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    journal_path(lock).write_bytes(b'{"k":"a","s":"nope","v":{}}\n')
    with pytest.raises(LockfileError, match=":1: corrupt journal record"):
        read_lock(lock)


def test_appending_after_a_torn_line_keeps_the_journal_readable(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    journal_path(lock).write_bytes(
        b'{"k":"a","s":"videos","v":{"status":"submitted"}}\n{"k":"b","s":"vid'
    )
    journal = Journal(lock, read_lock(lock))
    journal.record("videos", "c", v("submitting"), durable=True)
    journal.close()
    assert read_lock(lock).videos == {"a": v("submitted"), "c": v("submitting")}


def test_compact_folds_the_journal_and_removes_it(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    journal = Journal(lock, LockState())
    journal.record("videos", "a", v("completed"))
    journal.compact()
    assert not journal_path(lock).exists()
    assert read_lock(lock).videos == {"a": v("completed")}
    assert lock.read_bytes() == dump_lock(read_lock(lock))


def test_compact_sweeps_the_temp_file_of_a_run_killed_inside_its_compaction(
    tmp_path: Path,
) -> None:
    lock = tmp_path / "s.lock"
    journal = Journal(lock, LockState())
    journal.record("videos", "a", v("completed"))
    journal.close()
    # What SIGKILL inside atomic_write leaves; another file's temp is not ours to remove.
    (tmp_path / ".s.lock.k1ll3d.tmp").write_bytes(b"half a lockf")
    (tmp_path / ".other.lock.x.tmp").write_bytes(b"")
    compact(lock)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.lock.x.tmp", "s.lock"]


def test_compact_of_nothing_creates_no_lockfile(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    compact(lock)
    assert list(tmp_path.iterdir()) == []


def test_crash_between_lockfile_replace_and_journal_removal(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    journal = Journal(lock, LockState())
    journal.record("videos", "a", v("submitted"))
    journal.record("videos", "a", v("completed"))
    journal.record("videos", "gone", v("failed"))
    journal.record("videos", "gone", None)
    journal.close()
    saved = journal_path(lock).read_bytes()
    compact(lock)
    journal_path(lock).write_bytes(saved)  # as if the unlink never happened
    state = read_lock(lock)
    assert state.videos == {"a": v("completed")}
    compact(lock)
    assert lock.read_bytes() == dump_lock(state) and not journal_path(lock).exists()


def test_concurrent_records_all_land(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    journal = Journal(lock, LockState())

    def work(n: int) -> None:
        for i in range(50):
            journal.record(
                "videos", f"v{n}-{i}", v("submitting", job_id=str(i)), durable=i % 10 == 0
            )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    assert len(read_lock(lock).videos) == 200
    assert journal_path(lock).read_bytes().count(b"\n") == 200


def test_digest_covers_the_journal(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    write_lock(lock, LockState(videos={"a": v("completed")}))
    before = read_lock(lock).digest
    journal = Journal(lock, read_lock(lock))
    journal.record("videos", "a", v("completed"))  # the same state again
    journal.close()
    assert read_lock(lock).digest == before
    journal = Journal(lock, read_lock(lock))
    journal.record("videos", "a", v("failed"))
    journal.close()
    assert read_lock(lock).digest != before


@pytest.mark.parametrize("torn", [b'{"k":"b"', b'{"k":"b","s":"videos","v":{"x":"' + b"y" * 70_000])
@pytest.mark.parametrize("before", [b"", b'{"k":"a","s":"videos","v":{"status":"submitted"}}\n'])
def test_torn_tail_of_any_size_is_cut_on_open(tmp_path: Path, torn: bytes, before: bytes) -> None:
    lock = tmp_path / "s.lock"
    journal_path(lock).write_bytes(before + torn)
    Journal(lock, LockState()).close()
    assert journal_path(lock).read_bytes() == before


def test_the_digest_names_the_state_so_compaction_does_not_change_it(tmp_path: Path) -> None:
    """A plan saved while a dead run's journal was there stays fresh after the next
    apply folds the journal in: same state, same digest."""
    lock_path = tmp_path / "s.lock"
    state = LockState()
    state.videos["a"] = v("completed", fingerprint="f")
    write_lock(lock_path, state)
    journal_path(lock_path).write_bytes(
        b'{"k":"b","s":"videos","v":{"fingerprint":"g","status":"submitted"}}\n'
    )
    before = read_lock(lock_path).digest
    compact(lock_path)
    assert not journal_path(lock_path).exists()
    assert read_lock(lock_path).digest == before
    journal_path(lock_path).write_bytes(b'{"k":"b","s":"videos","v":null}\n')
    assert read_lock(lock_path).digest != before  # a real change still shows


def test_group_commit_covers_concurrent_callers_with_few_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import os
    import time

    journal = Journal(tmp_path / "v.lock", LockState())
    commit = GroupCommit(journal)
    fsyncs = hops = 0
    real_fsync, real_to_thread = os.fsync, asyncio.to_thread

    def slow_fsync(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1
        time.sleep(0.01)  # a slow disk: callers pile up behind the fsync in flight
        real_fsync(fd)

    async def counted_to_thread(*args: object) -> object:
        nonlocal hops
        hops += 1
        return await real_to_thread(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", slow_fsync)
    monkeypatch.setattr(asyncio, "to_thread", counted_to_thread)

    async def one(i: int) -> None:
        await asyncio.sleep(i % 5 * 0.004)  # arriving while an fsync is in flight
        journal.record("videos", f"v{i}", v("submitting"))
        position = journal.written
        await commit()
        assert journal.synced >= position  # durable when the call returns

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(50)))

    asyncio.run(main())
    assert journal.synced == journal.written == 50
    # Grouped: a thread hop and an fsync for many callers, not one per caller.
    assert 1 <= fsyncs == hops <= 10, (fsyncs, hops)


def test_group_commit_survives_a_cancelled_caller(tmp_path: Path) -> None:
    import asyncio

    journal = Journal(tmp_path / "v.lock", LockState())
    commit = GroupCommit(journal)

    async def main() -> None:
        journal.record("videos", "a", v("submitting"))
        first = asyncio.create_task(commit())
        second = asyncio.create_task(commit())
        await asyncio.sleep(0)
        first.cancel()  # its fsync goes on for the other caller
        await second
        assert journal.synced == 1
        await commit()  # nothing new: returns at once

    asyncio.run(main())


def test_a_failed_fsync_reaches_every_waiting_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An intent that is not durable must stop its submit: the error is not swallowed.
    import asyncio
    import os

    journal = Journal(tmp_path / "v.lock", LockState())
    commit = GroupCommit(journal)

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    async def main() -> list[BaseException | None]:
        journal.record("videos", "a", v("submitting"))
        journal.record("videos", "b", v("submitting"))
        return await asyncio.gather(commit(), commit(), return_exceptions=True)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    results = asyncio.run(main())
    assert all(isinstance(r, OSError) for r in results), results
    assert journal.synced == 0
    monkeypatch.undo()
    asyncio.run(commit())  # the disk is back: the next commit covers both records
    assert journal.synced == 2
