"""Work on the second core: a forked child computes an answer, pickles it and exits;
the parent reads it when it needs it.

A no-op `plan` of 100,000 videos has two such pieces of work: reading the state while
the spec expands (``state/preload.py``), and half of the videos' fingerprints while
this process makes the other half (``spec_requests.py``).

Only where forking is safe: on a system that has ``fork``, in a process with one
thread (a fork copies the calling thread alone, and a lock another thread held would
stay held in the child). Elsewhere ``Forked.start`` returns None and the caller does
the work itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

#: Children that have answered (or were killed) but had not exited when last asked.
_exiting: list[int] = []


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def _reap(pid: int | None = None) -> None:
    """Collect the exit of ``pid`` and of the children still exiting, without waiting.

    A child that has sent its answer may still be exiting: the kernel takes its copy
    of a large heap apart, 50 ms for a plan of 100,000 videos, and the parent need not
    wait for that. What is not collected now is at the next fork; once this process
    has exited, the system collects the rest."""
    if pid is not None:
        _exiting.append(pid)
    for child in list(_exiting):
        try:
            done, _ = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:  # collected elsewhere
            done = child
        if done:
            _exiting.remove(child)


class Forked(Generic[T]):
    """``work()`` running in a forked child; ``result`` waits for its answer."""

    def __init__(self, work: Callable[[], T]) -> None:
        _reap()
        self._read, write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the child: compute, send, and leave without cleanup
            os.close(self._read)
            try:
                payload = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:
                payload = b""  # no answer: the parent does the work itself
            with contextlib.suppress(BaseException), os.fdopen(write, "wb") as pipe:
                pipe.write(payload)
            os._exit(0)
        os.close(write)

    @classmethod
    def start(cls, work: Callable[[], T]) -> Forked[T] | None:
        """``work`` in a child where forking is safe; else None."""
        return cls(work) if can_fork() else None

    def cancel(self) -> None:
        """The answer is not wanted after all: the child is killed and reaped."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        os.close(self._read)
        _reap(self._pid)

    def result(self) -> T | None:
        """The child's answer, or None if it failed (the parent then does the work
        itself, and reports what goes wrong)."""
        with os.fdopen(self._read, "rb") as pipe:
            payload = pipe.read()  # until the child closes it: it has answered, or died
        _reap(self._pid)
        if not payload:
            return None
        answer: T = pickle.loads(payload)
        return answer
