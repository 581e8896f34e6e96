"""One apply at a time per spec: an advisory file lock naming its holder.

``specs/welcome.lock.pid`` is locked with ``flock`` for as long as an apply runs
and holds ``{pid, host, since}``. The kernel releases the lock when the holder
dies, however it dies, so a lock left by a killed process is simply free: the
next apply takes it over and reads the old holder's journal (nothing is lost,
since every acknowledged event is in the journal).

But a lock is only as good as the file system's: on NFS, sshfs and some
container bind mounts ``flock`` can succeed in two processes at once. So once
the lock is taken, the holder file is read too (``judge``): a file naming a live
process of this host other than ourselves, or a process of another host (whose
life we cannot see), means the lock did not exclude, and we refuse instead of
running a second apply beside the first (two applies would submit, and pay for,
the same videos). A file naming a dead process of this host is stale (the kernel
released its lock) and is taken over as before.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from reelform.errors import BusyError


def pid_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".pid")


def _holder(path: Path) -> str:
    try:
        holder = parse_holder(path.read_bytes())
    except OSError:
        holder = None
    return str(holder) if holder is not None else "another process"


@dataclass(frozen=True)
class Holder:
    """Who wrote the holder file."""

    pid: int
    host: str
    since: str

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since}"


def parse_holder(raw: bytes) -> Holder | None:
    """The holder a file names; None for an empty or garbled one (a holder killed
    between creating the file and writing it, or another tool's leftovers)."""
    try:
        info = orjson.loads(raw)
        pid, host, since = info["pid"], info["host"], info["since"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if type(pid) is not int or pid <= 0 or type(host) is not str or type(since) is not str:
        return None
    return Holder(pid, host, since)


class Verdict(enum.Enum):
    FREE = "free"  # no holder, ourselves, or a dead process of this host: take it
    LIVE = "live"  # a live process of this host holds it: the lock did not exclude
    ELSEWHERE = "elsewhere"  # another host's process: alive or not, we cannot tell


def judge(
    holder: Holder | None,
    *,
    pid: int,
    host: str,
    alive: Callable[[int], bool],
    started: Callable[[int], float | None],
) -> Verdict:
    """What the holder file means once ``flock`` has let us in (pure but for the
    two probes passed in: whether a pid is alive, and when it started)."""
    if holder is None or (holder.host == host and holder.pid == pid):
        return Verdict.FREE
    if holder.host != host:
        return Verdict.ELSEWHERE
    if not alive(holder.pid):
        return Verdict.FREE  # stale: its holder died, and the kernel released its lock
    # A pid is reused after its process dies. A process that started after the holder
    # wrote the file cannot be that holder: the file is stale (2 s: `since` is rounded
    # down to the second, a start time is known to a clock tick).
    since = _timestamp(holder.since)
    start = started(holder.pid)
    if since is not None and start is not None and start > since + 2:
        return Verdict.FREE
    return Verdict.LIVE


def _timestamp(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    except OSError:
        return False
    return True


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), where /proc says so."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_bytes().splitlines()
            if line.startswith(b"btime ")
        )
        # Fields after the command name (which may hold spaces and parentheses);
        # the 22nd field of the line, starttime, is in clock ticks since boot.
        ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _not_excluded(spec: str, path: Path, holder: Holder, verdict: Verdict, hint: str) -> str:
    if verdict is Verdict.LIVE:
        return (
            f"{spec}: another apply is running ({holder}); the file system did not "
            f"enforce the lock on {path} (NFS?), so this one stopped rather than run "
            f"beside it; {hint}"
        )
    return (
        f"{spec}: locked by {holder}, another machine; the file system did not enforce "
        f"the lock on {path} (NFS?), so that apply may still be running and this one "
        f"stopped. If that machine is gone or its apply was killed, remove {path} and "
        "try again"
    )


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
        if not same:
            os.close(fd)
            continue
        holder = parse_holder(os.pread(fd, 4096, 0))
        verdict = judge(
            holder,
            pid=os.getpid(),
            host=socket.gethostname(),
            alive=pid_alive,
            started=process_started,
        )
        if holder is None or verdict is Verdict.FREE:
            break
        os.close(fd)  # not ours to hold, nor to remove: the file names its holder
        message = _not_excluded(spec, path, holder, verdict, busy_hint)
        if not wait:
            raise BusyError(message)
        if timeout is not None and time.monotonic() - started > timeout:
            raise BusyError(f"{message} (still so after {timeout:g} s)")
        time.sleep(poll)
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
