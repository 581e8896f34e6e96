"""The read side of the PostgreSQL backend: a spec's state for `plan` and `apply`.

Read-only: a database reelform never migrated holds no state (every spec is new),
and nothing is created by reading. What a no-op plan needs is one narrow SELECT
(``store.read_summary``); the whole records are read only when the plan is not a
no-op, or when apply starts (``LockSource``'s loader).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import psycopg

from reelform.state.backend import StateConfig
from reelform.state.lock_source import LockSource
from reelform.state.lockfile import LockState
from reelform.state.outputs import OutputStatus, file_status
from reelform.state.pg import db, store
from reelform.state.preload import LockSummary


def _read(config: StateConfig, key: str, summary: bool, directory: Path) -> object:
    assert config.url is not None
    folder = str(directory)

    def intact(path: str, size: int | None, mtime: int | None, sha: str | None) -> bool:
        return file_status(folder, path, size, mtime, sha) is OutputStatus.OK

    def read(conn: psycopg.Connection) -> object:
        version = db.schema_version(conn)
        conn.rollback()
        db.check_version(version)
        ident = None
        if version:
            ident = store.spec_id(conn, key, create=False)
            conn.rollback()
        if not summary:
            return store.read_state(conn, key, ident)
        return store.read_summary(conn, key, ident, intact, version)

    # The first connection says clearly what is wrong; later ones are retried.
    conn = db.connect(config.url)
    try:
        result, conn = db.retrying(config.url, read, conn)
        return result
    finally:
        conn.close()


def read_state(config: StateConfig, spec_path: Path) -> LockState:
    state = _read(config, config.spec_key(spec_path), False, spec_path.parent)
    assert isinstance(state, LockState)
    return state


def read_states(config: StateConfig, spec_paths: Sequence[Path]) -> dict[Path, LockState]:
    """The states of those of ``spec_paths`` the database holds, over one connection
    (reuse's neighbours: the other specs of the repository)."""
    assert config.url is not None
    keys = {path: config.spec_key(path) for path in spec_paths}

    def read(conn: psycopg.Connection) -> dict[Path, LockState]:
        version = db.schema_version(conn)
        conn.rollback()
        db.check_version(version)
        states: dict[Path, LockState] = {}
        if not version:
            return states
        for path, key in keys.items():
            ident = store.spec_id(conn, key, create=False)
            conn.rollback()
            if ident is not None:
                states[path] = store.read_state(conn, key, ident)
        return states

    conn = db.connect(config.url)
    try:
        states, conn = db.retrying(config.url, read, conn)
        return states
    finally:
        conn.close()


def read_summary(config: StateConfig, spec_path: Path, directory: Path) -> LockSummary:
    summary = _read(config, config.spec_key(spec_path), True, directory)
    assert isinstance(summary, LockSummary)
    return summary


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
