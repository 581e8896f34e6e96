"""forked.py: work in a real forked child, its answer read back; a failure is None,
a cancelled child is killed; no child is left a zombie once reaped."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from reelform import forked
from reelform.forked import Forked


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def _collected(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        forked._reap()
        if _state(pid) is None:
            return True
        time.sleep(0.01)
    return False


def test_the_answer_comes_from_the_child() -> None:
    parent = os.getpid()
    child = Forked(lambda: (os.getpid(), {"videos": list(range(1000))}))
    pid, answer = child.result()  # type: ignore[misc]
    assert pid != parent and pid == child._pid
    assert answer == {"videos": list(range(1000))}
    assert _collected(pid)


def test_a_child_that_fails_answers_none() -> None:
    def boom() -> int:
        raise RuntimeError("no")

    child = Forked(boom)
    assert child.result() is None
    assert _collected(child._pid)


def test_a_cancelled_child_is_killed_before_it_answers() -> None:
    child = Forked(lambda: time.sleep(60))
    started = time.monotonic()
    child.cancel()
    assert _collected(child._pid)
    assert time.monotonic() - started < 10  # not the minute it would have slept


def test_no_fork_with_a_second_thread() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.can_fork()
        assert Forked.start(lambda: 1) is None
    finally:
        stop.set()
        thread.join()
    started = Forked.start(lambda: 1)
    assert started is not None and started.result() == 1
