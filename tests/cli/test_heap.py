"""The program's exit after one command (heap.py): the heap is not freed object by
object, yet nothing a normal exit does is lost (atexit handlers, buffered output,
the exit status, threads still running); and a long-lived process freezes nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_leave_runs_the_exit_handlers_flushes_and_keeps_the_status() -> None:
    done = python(
        """
        import atexit, sys
        from reelform import heap
        atexit.register(lambda: print("handler ran", file=sys.stderr))
        heap.for_one_command()
        heap.keep([object() for _ in range(1000)])
        sys.stdout.write("buffered, no newline")
        heap.leave(3)
        """
    )
    assert done.returncode == 3
    assert done.stdout == "buffered, no newline"
    assert done.stderr == "handler ran\n"


def test_leave_waits_for_a_thread_still_running() -> None:
    done = python(
        """
        import threading, time
        from reelform import heap
        heap.for_one_command()
        def late():
            time.sleep(0.3)
            print("thread finished", flush=True)
        threading.Thread(target=late).start()
        heap.leave(4)
        """
    )
    assert (done.returncode, done.stdout) == (4, "thread finished\n")


def test_paused_freezes_only_in_a_process_of_one_command() -> None:
    done = python(
        """
        import gc
        from reelform import heap
        with heap.paused():
            made = [[i] for i in range(10_000)]
        print(gc.get_freeze_count(), gc.isenabled())
        heap.for_one_command()
        with heap.paused():
            more = [[i] for i in range(10_000)]
        frozen = gc.get_freeze_count()
        print(frozen >= 20_000, gc.isenabled())  # both lists: made is alive too
        heap.keep(more)
        heap.for_many_commands()  # watch: everything is the collector's again
        print(gc.get_freeze_count())
        """
    )
    assert done.stdout.split("\n")[:3] == ["0 True", "True True", "0"], done.stderr


def test_the_program_exits_with_its_status_and_all_its_output(tmp_path: object) -> None:
    """`python -m reelform` goes through heap.leave: an error's status and text."""
    done = subprocess.run(
        [sys.executable, "-m", "reelform", "plan", "no-such-spec.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "no-such-spec.yaml" in done.stderr
