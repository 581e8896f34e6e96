"""One apply at a time per spec: an advisory file lock naming its holder.

``specs/welcome.lock.pid`` is locked with ``flock`` for as long as an apply runs
and holds ``{pid, host, since}``. The kernel releases the lock when the holder
dies, however it dies, so a lock left by a killed process is simply free: the
next apply takes it over and reads the old holder's journal (nothing is lost,
since every acknowledged event is in the journal).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson

from reelform.errors import BusyError


def pid_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".pid")


def _holder(path: Path) -> str:
    try:
        info = orjson.loads(path.read_bytes())
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def spec_lock(
    lock_path: Path,
    spec: str,
    *,
    wait: bool = False,
    poll: float = 0.5,
    timeout: float | None = None,
    busy_hint: str = "try again later or use --wait",
) -> Iterator[None]:
    """Hold the spec's apply lock; wait for it or raise BusyError naming the holder.

    ``busy_hint`` ends the message when another process holds it (what to do).
    """
    path = pid_path(lock_path)
    started = time.monotonic()
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if not wait:
                raise BusyError(
                    f"{spec}: another apply is running ({_holder(path)}); {busy_hint}"
                ) from None
            if timeout is not None and time.monotonic() - started > timeout:
                raise BusyError(
                    f"{spec}: still locked by {_holder(path)} after {timeout:g} s"
                ) from None
            time.sleep(poll)
            continue
        # The holder unlinks the file when done; if that happened while we waited,
        # we hold a lock on a file nobody else will open: start over on the new one.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, orjson.dumps(info) + b"\n", 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # tidy: the folder holds specs and lockfiles, not our leftovers
        os.close(fd)  # releases the flock
