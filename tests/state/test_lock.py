"""The spec's process lock when the file system's flock does not exclude (NFS, sshfs).

``fcntl.flock`` is replaced by one that always succeeds: what two processes see on
such a file system. The holder file is then what tells a live apply from a stale
file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from reelform.cli import main
from reelform.errors import BusyError
from reelform.state.lock import Holder, Verdict, judge, parse_holder, pid_path, spec_lock

HOST = socket.gethostname()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@pytest.fixture
def flock_does_not_exclude(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reelform.state.lock.fcntl.flock", lambda fd, op: None)


@pytest.fixture
def live_pid() -> Iterator[int]:
    """A process of this host that is running for the length of the test."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid names no process now
    return child.pid


def write_holder(lock: Path, pid: int, host: str = HOST, since: str | None = None) -> bytes:
    raw = orjson.dumps({"pid": pid, "host": host, "since": since or now()}) + b"\n"
    pid_path(lock).write_bytes(raw)
    return raw


def holder_now(lock: Path) -> Holder | None:
    return parse_holder(pid_path(lock).read_bytes())


def test_a_live_holder_of_this_host_is_refused(
    tmp_path: Path, flock_does_not_exclude: None, live_pid: int
) -> None:
    lock = tmp_path / "s.lock"
    since = now()  # after the process started: it is the holder, not a reused pid
    raw = write_holder(lock, live_pid, since=since)
    with pytest.raises(BusyError) as caught, spec_lock(lock, "s.yaml"):
        pytest.fail("took a lock that another live apply holds")
    message = str(caught.value)
    assert message.startswith(
        f"s.yaml: another apply is running (pid {live_pid} on {HOST} since "
        f"{since}); the file system did not enforce the lock on "
    )
    assert "(NFS?)" in message and message.endswith("try again later or use --wait")
    assert pid_path(lock).read_bytes() == raw  # the holder's file, left alone


def test_waiting_for_a_live_holder_times_out_naming_it(
    tmp_path: Path, flock_does_not_exclude: None, live_pid: int
) -> None:
    lock = tmp_path / "s.lock"
    write_holder(lock, live_pid)
    started = time.monotonic()
    with (
        pytest.raises(BusyError, match=rf"pid {live_pid} .*still so after 0.2 s"),
        spec_lock(lock, "s.yaml", wait=True, poll=0.05, timeout=0.2),
    ):
        pytest.fail("took a lock that another live apply holds")
    assert time.monotonic() - started >= 0.2


def test_waiting_gets_the_lock_once_the_holder_is_done(
    tmp_path: Path, flock_does_not_exclude: None, live_pid: int, monkeypatch
) -> None:
    lock = tmp_path / "s.lock"
    write_holder(lock, live_pid)
    sleeps = []

    def holder_finishes(seconds: float) -> None:  # the holder removes its file when done
        sleeps.append(seconds)
        pid_path(lock).unlink()

    monkeypatch.setattr("reelform.state.lock.time.sleep", holder_finishes)
    with spec_lock(lock, "s.yaml", wait=True, poll=0.05):
        assert holder_now(lock).pid == os.getpid()  # type: ignore[union-attr]
    assert sleeps == [0.05]


def test_a_dead_holder_of_this_host_is_stale_and_taken_over(
    tmp_path: Path, flock_does_not_exclude: None
) -> None:
    lock = tmp_path / "s.lock"
    write_holder(lock, dead_pid())
    with spec_lock(lock, "s.yaml"):
        held = holder_now(lock)
        assert held is not None and (held.pid, held.host) == (os.getpid(), HOST)
    assert not pid_path(lock).exists()


def test_a_reused_pid_is_not_the_holder(
    tmp_path: Path, flock_does_not_exclude: None, live_pid: int
) -> None:
    """The holder was killed long ago and its pid now names another process, which
    started after the file was written: the file is stale."""
    assert Path(f"/proc/{live_pid}/stat").exists(), "needs /proc (Linux), as lock.py does"
    lock = tmp_path / "s.lock"
    write_holder(lock, live_pid, since="2001-01-01T00:00:00+00:00")
    with spec_lock(lock, "s.yaml"):
        assert holder_now(lock).pid == os.getpid()  # type: ignore[union-attr]


def test_a_holder_of_another_host_is_refused_saying_how_to_clear_it(
    tmp_path: Path, flock_does_not_exclude: None
) -> None:
    lock = tmp_path / "s.lock"
    raw = write_holder(lock, os.getpid(), host="build-7.example", since="2026-01-02T03:04:05Z")
    with pytest.raises(BusyError) as caught, spec_lock(lock, "s.yaml"):
        pytest.fail("took a lock that another machine may hold")
    message = str(caught.value)
    assert message.startswith(
        "s.yaml: locked by pid "
        f"{os.getpid()} on build-7.example since 2026-01-02T03:04:05Z, another machine"
    )
    assert "(NFS?)" in message
    clear = f"If that machine is gone or its apply was killed, remove {pid_path(lock)}"
    assert message.endswith(f"{clear} and try again")
    assert pid_path(lock).read_bytes() == raw


@pytest.mark.parametrize("raw", [b"", b"{", b"[1]", b'{"pid": "1", "host": "h", "since": "s"}'])
def test_an_empty_or_garbled_holder_file_is_taken_over(
    tmp_path: Path, flock_does_not_exclude: None, raw: bytes
) -> None:
    lock = tmp_path / "s.lock"
    pid_path(lock).write_bytes(raw)
    with spec_lock(lock, "s.yaml"):
        assert holder_now(lock).pid == os.getpid()  # type: ignore[union-attr]


def test_our_own_stale_holder_file_is_taken_over(
    tmp_path: Path, flock_does_not_exclude: None
) -> None:
    lock = tmp_path / "s.lock"
    write_holder(lock, os.getpid())
    with spec_lock(lock, "s.yaml"):
        pass


def test_apply_refuses_and_changes_nothing(
    tree, capsys, flock_does_not_exclude: None, live_pid: int
) -> None:
    tree.spec("""
        version: 1
        provider: local
        defaults: {avatar: {id: 1}, voice: {voice_id: en}}
        videos: [{name: a, voice: {script: hi}}]
    """)
    write_holder(Path("spec.lock"), live_pid)
    before = tree.listing()
    code = main(["apply", "spec.yaml", "--yes"])
    err = capsys.readouterr().err
    assert code == 1 and f"(pid {live_pid} on {HOST} since" in err and "NFS?" in err
    assert tree.listing() == before


# judge() on its own: the decision, with the probes as plain functions.
ME = 100


def verdict(holder: Holder | None, *, alive: bool = True, started: float | None = None) -> Verdict:
    return judge(holder, pid=ME, host="here", alive=lambda _: alive, started=lambda _: started)


def test_judge() -> None:
    since = "2026-01-02T03:04:05+00:00"
    at = datetime.fromisoformat(since).timestamp()
    assert verdict(None) is Verdict.FREE
    assert verdict(Holder(ME, "here", since)) is Verdict.FREE
    assert verdict(Holder(7, "here", since)) is Verdict.LIVE
    assert verdict(Holder(7, "here", since), alive=False) is Verdict.FREE
    assert verdict(Holder(7, "here", since), started=at - 30) is Verdict.LIVE
    assert verdict(Holder(7, "here", since), started=at + 1) is Verdict.LIVE  # rounding
    assert verdict(Holder(7, "here", since), started=at + 60) is Verdict.FREE  # pid reused
    assert verdict(Holder(7, "here", "not a time"), started=at + 60) is Verdict.LIVE
    assert verdict(Holder(ME, "there", since)) is Verdict.ELSEWHERE
    assert verdict(Holder(7, "there", since), alive=False) is Verdict.ELSEWHERE
