"""The ``unchanged_key`` column (migration 7): what a no-op plan compares per video,
written with each row by Python (``preload.unchanged_key``) and, for the rows a
database held before that column, computed by the migration's SQL. The two must
agree, or a plan after the upgrade would see changes where none are."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from reelform.state.lockfile import LockState
from reelform.state.pg import db, store
from reelform.state.preload import unchanged_key
from reelform.state.records import Status, VideoOutput, VideoRecord

FP = "a" * 64
INPUTS: dict[str, object] = {
    "titled": {"title": "Hello: world"},
    "untitled": {"script": "hi"},
    "null-title": {"title": None},
    "number-title": {"title": 5},
    "list-title": {"title": ["a"]},
    "empty-title": {"title": ""},
    "unicode": {"title": "Grüße 👋"},
}


def records() -> dict[str, VideoRecord]:
    def done(name: str, fingerprint: str | None, inputs: object) -> VideoRecord:
        output = VideoOutput(path=f"out/{name}.mp4", sha256="0" * 64, bytes=1, mtime_ns=1)
        return VideoRecord(
            fingerprint=fingerprint, inputs=inputs, status=Status.COMPLETED, output=output
        )

    made = {name: done(name, FP, inputs) for name, inputs in INPUTS.items()}
    made["no-inputs"] = done("no-inputs", FP, None)
    made["short-fingerprint"] = done("short-fingerprint", "abc", {"title": "x"})
    made["no-fingerprint"] = done("no-fingerprint", None, {"title": "x"})
    made["pending"] = VideoRecord(fingerprint=FP, inputs={"title": "x"}, status=Status.SUBMITTED)
    return made


@pytest.fixture
def conn(pg_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_url) as connection:
        db.migrate(connection)
        yield connection


def keys(conn: psycopg.Connection) -> dict[str, str | None]:
    rows = conn.execute("SELECT name, unchanged_key FROM reelform.videos").fetchall()
    return dict(rows)


def test_rows_carry_the_key_python_makes_and_the_backfill_makes_the_same(
    conn: psycopg.Connection,
) -> None:
    made = records()
    state = LockState()
    state.videos.update(made)
    with conn.transaction():
        ident = store.spec_id(conn, "videos.yaml", create=True)
        assert ident is not None
        store.write_all(conn, ident, state)
    expected = {
        name: unchanged_key(r.fingerprint, (r.inputs or {}).get("title"))
        for name, r in made.items()
    }
    assert keys(conn) == expected
    # The rules all show: a label after the fingerprint, none, and no key at all.
    assert expected["titled"] == f"{FP}:Hello: world"
    assert expected["untitled"] == expected["no-inputs"] == expected["null-title"] == FP
    assert expected["number-title"] is expected["short-fingerprint"] is None

    # A database from before migration 7: the column empty, then backfilled.
    with conn.transaction():
        conn.execute("UPDATE reelform.videos SET unchanged_key = NULL")
        conn.execute(db.UNCHANGED_KEY_BACKFILL)
    assert keys(conn) == expected


def test_a_schema_before_the_column_is_summarized_the_same(conn: psycopg.Connection) -> None:
    """`plan` reads without migrating: from a version-6 database (no column) it makes
    each key from the record, and the summary is what version 7's is."""
    state = LockState()
    state.videos.update(records())
    with conn.transaction():
        ident = store.spec_id(conn, "videos.yaml", create=True)
        store.write_all(conn, ident, state)

    def summary(version: int) -> dict[str, str | None]:
        read = store.read_summary(conn, "videos.yaml", ident, lambda *_: True, version)
        conn.rollback()
        return read.videos

    current = summary(db.LATEST)
    with conn.transaction():
        conn.execute("ALTER TABLE reelform.videos DROP COLUMN unchanged_key")
        conn.execute("DELETE FROM reelform.schema_version WHERE version = 7")
    assert db.schema_version(conn) == 6
    conn.rollback()
    assert summary(6) == current
    # Only completed videos with their files are keyed; the rest are None.
    assert current["titled"] == f"{FP}:Hello: world"
    assert current["untitled"] == FP
    assert current["short-fingerprint"] is current["pending"] is None
