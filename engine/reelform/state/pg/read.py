"""The read side of the PostgreSQL backend: a spec's state for `plan` and `apply`.

Read-only: a database reelform never migrated holds no state (every spec is new),
and nothing is created by reading. What a no-op plan needs is one narrow SELECT
(``store.read_summary``); the whole records are read only when the plan is not a
no-op, or when apply starts (``LockSource``'s loader).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import psycopg

from reelform.state.backend import StateConfig
from reelform.state.lock_source import LockSource
from reelform.state.lockfile import LockState
from reelform.state.outputs import OutputFolder, OutputStatus
from reelform.state.pg import db, store
from reelform.state.preload import LockSummary

T = TypeVar("T")


def _reading(config: StateConfig, work: Callable[[psycopg.Connection, int], T]) -> T:
    """``work(conn, version)`` on a connection to a schema this reelform can read
    (version 0: never migrated, so no state), retried as every read is."""
    assert config.url is not None

    def read(conn: psycopg.Connection) -> T:
        version = db.schema_version(conn)
        conn.rollback()
        db.check_version(version)
        return work(conn, version)

    return db.once(config.url, read)


def _spec_id(conn: psycopg.Connection, key: str, version: int) -> int | None:
    """The spec's id, None when the database holds nothing of it."""
    if not version:
        return None
    ident = store.spec_id(conn, key, create=False)
    conn.rollback()
    return ident


def read_state(config: StateConfig, spec_path: Path) -> LockState:
    key = config.spec_key(spec_path)
    return _reading(
        config, lambda conn, version: store.read_state(conn, key, _spec_id(conn, key, version))
    )


def read_states(config: StateConfig, spec_paths: Sequence[Path]) -> dict[Path, LockState]:
    """The states of those of ``spec_paths`` the database holds, over one connection
    (reuse's neighbours: the other specs of the repository)."""

    def read(conn: psycopg.Connection, version: int) -> dict[Path, LockState]:
        states: dict[Path, LockState] = {}
        for path in spec_paths:
            key = config.spec_key(path)
            ident = _spec_id(conn, key, version)
            if ident is not None:
                states[path] = store.read_state(conn, key, ident)
        return states

    return _reading(config, read)


def read_summary(config: StateConfig, spec_path: Path, directory: Path) -> LockSummary:
    key = config.spec_key(spec_path)

    def read(conn: psycopg.Connection, version: int) -> LockSummary:
        with OutputFolder(str(directory)) as folder:

            def intact(path: str, size: int | None, mtime: int | None, sha: str | None) -> bool:
                return folder.status(path, size, mtime, sha) is OutputStatus.OK

            return store.read_summary(conn, key, _spec_id(conn, key, version), intact, version)

    return _reading(config, read)


def lock_source(
    config: StateConfig, spec_path: Path, directory: Path, summary: LockSummary | None = None
) -> LockSource:
    """The spec's state as a summary now (``summary``, if a child already read it),
    read in full on first use."""
    if summary is None:
        summary = read_summary(config, spec_path, directory)
    return LockSource.summarized(
        spec_path.with_suffix(".lock"), summary, loader=lambda: read_state(config, spec_path)
    )
