"""A spec's lockfile state, read in full now or on first use.

When a child process has summarized a large lockfile (``preload.py``), a no-op
`plan` needs only that summary, and reading the 100,000 video records again
would double its cost. So the state is held as a source: ``files`` and
``digest`` (which `prepare` needs) and the summary (which the no-op plan needs)
are there at once; ``state``, the whole ``LockState``, is read from disk the
first time anyone asks for it: equal to ``read_lock`` of the same files
(tests/properties/test_lock_source.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, MutableMapping
from pathlib import Path

from reelform.state.lockfile import LockState, read_lock
from reelform.state.preload import LockSummary
from reelform.state.records import FileRecord


class LockSource:
    """A ``LockState``, or the path and summary to make one from when it is needed."""

    __slots__ = ("_loader", "_path", "_state", "summary")

    def __init__(
        self,
        state: LockState | None,
        path: Path | None = None,
        summary: LockSummary | None = None,
        loader: Callable[[], LockState] | None = None,
    ) -> None:
        if state is None and (path is None or summary is None):
            raise ValueError("a LockSource needs a state, or a path and its summary")
        self._state = state
        self._path = path
        #: Reads the whole state (default: the lockfile at ``path``); the
        #: PostgreSQL backend reads the database (``state/pg/read.py``).
        self._loader = loader
        #: Set when a child process read the lockfile (``preload.py``).
        self.summary = summary

    @classmethod
    def of(cls, state: LockState) -> LockSource:
        """A lockfile already read in full."""
        return cls(state)

    @classmethod
    def summarized(
        cls, path: Path, summary: LockSummary, loader: Callable[[], LockState] | None = None
    ) -> LockSource:
        """A lockfile known from its summary; read in full on first use."""
        return cls(None, path, summary, loader)

    @property
    def loaded(self) -> bool:
        return self._state is not None

    @property
    def files(self) -> MutableMapping[str, FileRecord]:
        """The hash cache of the spec's files, without reading the lockfile again."""
        if self._state is not None:
            return self._state.files
        assert self.summary is not None
        return self.summary.files

    @property
    def digest(self) -> str:
        if self._state is not None:
            return self._state.digest
        assert self.summary is not None
        return self.summary.digest

    @property
    def state(self) -> LockState:
        """The whole state; read from disk the first time, when only summarized."""
        if self._state is None:
            assert self._path is not None and self.summary is not None
            full = self._loader() if self._loader is not None else read_lock(self._path)
            # Only the sections the summary left out: `files`, `avatars` and the digest
            # are the child's read, which `prepare` and the plan already used (and
            # ``files`` may have been updated since); never replace them.
            self._state = dataclasses.replace(
                full,
                files=self.summary.files,
                avatars=self.summary.avatars,
                digest=self.summary.digest,
            )
        return self._state
