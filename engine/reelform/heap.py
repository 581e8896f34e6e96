"""Python's memory management and large specs.

Expanding, planning or reading the state of 100,000 videos allocates millions of
objects and no garbage cycles. Three costs follow, each a tenth of a second or more
at that size, and none of them buys anything:

- The cyclic collector would scan them again and again as they pile up (seconds),
  so ``paused`` turns it off while they are made.
- Turned on again, its first collection would still scan every one of them once. A
  process that runs one command and exits (the `reelform` program:
  ``for_one_command``) keeps them until it exits anyway, so there ``paused`` freezes
  what it made (``gc.freeze``) and the collector never looks at it again.
- Freeing them one by one when the command returns, and again at interpreter
  shutdown. There the command hands its large results to ``keep``, and ``leave``
  ends the process without that teardown: the atexit handlers run and the streams
  are flushed, then the operating system takes the memory back at once.

A long-lived process (`watch`, which plans on every change, and any program that
imports reelform) does none of the last two: a garbage cycle frozen there, or a
result kept, would never be freed. ``for_many_commands`` (watch) says so.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn

_one_command = False
_kept: list[object] = []


def for_one_command() -> None:
    """This process runs one command and exits (the program's entry point)."""
    global _one_command
    _one_command = True


def for_many_commands() -> None:
    """This process lives on (`watch`): free everything, as Python does by default."""
    global _one_command
    _one_command = False
    _kept.clear()
    gc.unfreeze()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The cyclic collector off while the block runs; after it, what the block made
    is frozen out of the collector's sight in a process that runs one command."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if _one_command:
                gc.freeze()
            gc.enable()


def keep(*results: object) -> None:
    """Let ``results`` live until the process ends (in a process that runs one
    command; else nothing): ``leave`` then frees them all at once."""
    if _one_command:
        _kept.extend(results)


def leave(code: int) -> NoReturn:
    """End the process with exit status ``code``; after one command, without freeing
    its heap object by object. Other threads still running get Python's own exit,
    which waits for them."""
    if not _one_command or threading.active_count() != 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
