"""The expansion memos in the state database (memo/, migration 6).

A memo is a cache: reading one that is not there (an older schema, a spec never
applied) is None, and writing one that cannot be written is nothing (``save`` is
called after an apply, when the apply's own writes are done). `plan` only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import psycopg

from reelform.state.backend import StateConfig
from reelform.state.pg import db, store

#: The schema version that made ``reelform.plan_memos``.
SINCE = 6


def load(config: StateConfig, spec_path: Path) -> dict[str, Any] | None:
    """The memo document of the spec, or None."""
    assert config.url is not None

    def read(conn: psycopg.Connection) -> dict[str, Any] | None:
        version = db.schema_version(conn)
        if version < SINCE:
            return None
        ident = store.spec_id(conn, config.spec_key(spec_path), create=False)
        if ident is None:
            return None
        with conn.cursor(binary=False) as cursor:
            cursor.execute(
                "SELECT document::text FROM reelform.plan_memos WHERE spec_id = %s", (ident,)
            )
            row = cursor.fetchone()
        conn.rollback()
        document = orjson.loads(row[0]) if row is not None else None
        return document if type(document) is dict else None

    return db.once(config.url, read, patience=5.0)


def save_all(config: StateConfig, memos: Sequence[tuple[Path, dict[str, Any]]]) -> None:
    """Write the memos of the specs an apply prepared, over one connection and in one
    transaction (a run of many specs opens one connection, not one per spec; the
    schema is migrated: an apply came first)."""
    assert config.url is not None
    rows = [
        (config.spec_key(path), orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode())
        for path, document in memos
    ]

    def write(conn: psycopg.Connection) -> None:
        with conn.transaction():
            if db.schema_version(conn) < SINCE:
                return
            for key, text in rows:
                ident = store.spec_id(conn, key, create=True)
                conn.execute(
                    "INSERT INTO reelform.plan_memos (spec_id, document) VALUES (%s, %s)"
                    " ON CONFLICT (spec_id) DO UPDATE SET document = EXCLUDED.document,"
                    " updated_at = now()",
                    (ident, text),
                )

    if rows:
        db.once(config.url, write, patience=5.0)
