"""Reading and writing a spec's records in the state database.

A spec's state is the rows of its ``spec_id`` in the four tables, each row's
``record`` the JSON the lockfile would hold for it (``to_json``, keys sorted), so
``state pull`` writes the lockfile's very bytes. Reads are one SELECT per table;
each write is one short transaction of the changed rows (upserts and deletes).
The spec's own row is written only by a delete (its revision) or by a runner
holding the spec alone (``state push``: its lease renewed, or nothing at all
written if it no longer holds it): runners sharing a spec do not queue on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg

from reelform.errors import LockfileError
from reelform.state.lockfile import SECTIONS, LockState, Records, check_change
from reelform.state.pg import db
from reelform.state.preload import LABEL, LockSummary, unchanged_key
from reelform.state.records import (
    RECORD_TYPES,
    AvatarRecord,
    FileRecord,
    Record,
    VideoRecord,
)
from reelform.state.shapes import section_problems, where

#: The key column of each section's table.
KEY = {"videos": "name", "avatars": "key", "uploads": "key", "files": "key"}

#: How long a lease lasts without a write or a renewal (seconds).
LEASE_SECONDS = 30.0


#: Video statuses after which nobody works on the video: its claim is released.
SETTLED = frozenset({"completed", "failed", "unknown"})


@dataclass(frozen=True)
class Change:
    section: str
    key: str
    value: Record | None
    #: For a submit's intent: the record (its JSON) the runner believes is on record.
    #: If the row holds anything else, or another live runner claims the video, the
    #: intent is not written (``claims.check_intents``): someone else got there first.
    expect: str | None = None
    guarded: bool = False


def spec_id(conn: psycopg.Connection, path: str, *, create: bool) -> int | None:
    row = conn.execute("SELECT id FROM reelform.specs WHERE path = %s", (path,)).fetchone()
    if row is not None:
        return int(row[0])
    if not create:
        return None
    row = conn.execute(
        "INSERT INTO reelform.specs (path) VALUES (%s) ON CONFLICT (path) DO UPDATE"
        " SET path = EXCLUDED.path RETURNING id",
        (path,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def digest_of(path: str, mark: str) -> str:
    """The state's digest (a saved plan's freshness): its spec and ``revision``."""
    return hashlib.sha256(f"pg:{path}:{mark}".encode()).hexdigest()


def revision(conn: psycopg.Connection, ident: int) -> str:
    """What every write changes: the spec's revision (bumped by deletes and by a
    held spec's writes) and the sum of its rows' write numbers (each upsert takes a
    larger one than the row had: ``rev``, migration 5)."""
    row = conn.execute(
        "SELECT s.revision,"
        " (SELECT coalesce(sum(rev), 0) FROM reelform.videos WHERE spec_id = s.id)"
        " + (SELECT coalesce(sum(rev), 0) FROM reelform.avatars WHERE spec_id = s.id)"
        " + (SELECT coalesce(sum(rev), 0) FROM reelform.uploads WHERE spec_id = s.id)"
        " + (SELECT coalesce(sum(rev), 0) FROM reelform.files WHERE spec_id = s.id)"
        " FROM reelform.specs s WHERE s.id = %s",
        (ident,),
    ).fetchone()
    return f"{row[0]}:{row[1]}" if row else "0"


def _section_json(conn: psycopg.Connection, section: str, ident: int) -> dict[str, Any]:
    key = KEY[section]
    with conn.cursor(binary=False) as cursor:
        cursor.execute(
            f"SELECT {key}, record::text FROM reelform.{section} WHERE spec_id = %s", (ident,)
        )
        loads = orjson.loads
        return {name: loads(text) for name, text in cursor}


def read_state(conn: psycopg.Connection, path: str, ident: int | None) -> LockState:
    """The spec's whole state (empty when the database has none of it)."""
    state = LockState()
    if ident is None:
        state.digest = digest_of(path, "0")
        return state
    with conn.transaction():  # one snapshot of all four tables
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        sections = {name: _section_json(conn, name, ident) for name in SECTIONS}
        rev = revision(conn, ident)
    for name, records in sections.items():
        bad = section_problems(name, records)
        if bad:
            key, reason = bad[0]
            raise LockfileError(
                f"state database, spec {path}: corrupt record {where(name, key)}: {reason}"
            )
        setattr(state, name, Records(RECORD_TYPES[name], records))
    state.digest = digest_of(path, rev)
    return state


def read_summary(
    conn: psycopg.Connection, path: str, ident: int | None, file_ok: Any, version: int
) -> LockSummary:
    """What a no-op plan needs, without reading the video records: per video its
    ``unchanged_key``, status and whether its output file is intact (``file_ok(path,
    bytes, mtime_ns, sha256)``), the avatars and file facts in full. ``version``: the
    schema's."""
    if ident is None:
        return LockSummary(digest_of(path, "0"), Records(FileRecord), Records(AvatarRecord), {})
    # As the lockfile's summary: a completed video with its file intact is its
    # fingerprint and label in one string (``unchanged_key``, written with the row),
    # any other None.
    videos: dict[str, str | None] = {}
    superseded = []
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        files = _section_json(conn, "files", ident)
        avatars = _section_json(conn, "avatars", ident)
        for name, records in (("files", files), ("avatars", avatars)):
            bad = section_problems(name, records)
            if bad:
                key, reason = bad[0]
                raise LockfileError(
                    f"state database, spec {path}: corrupt record {where(name, key)}: {reason}"
                )
        rev = revision(conn, ident)
        # A schema before migration 7 (`plan` does not migrate): the key from the record.
        column = "unchanged_key" if version >= 7 else db.UNCHANGED_KEY_SQL
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT name, {column}, status, superseded, out_path, out_bytes,"
                " out_mtime_ns, out_sha256 FROM reelform.videos WHERE spec_id = %s",
                (ident,),
            )
            # Row by row, not fetchall(): each tuple is freed once read, not 100,000
            # of them at the end.
            for name, unchanged, status, sup, out_path, out_bytes, mtime, sha in cursor:
                if sup:
                    superseded.append(name)
                intact = (
                    status == "completed"
                    and out_path is not None
                    and file_ok(out_path, out_bytes, mtime, sha)
                )
                videos[name] = unchanged if intact else None
    return LockSummary(
        digest_of(path, rev),
        Records(FileRecord, files),
        Records(AvatarRecord, avatars),
        videos,
        frozenset(superseded),
    )


def record_text(record: Record | None) -> str | None:
    return None if record is None else _dumps(record)


def _dumps(record: Record) -> str:
    return orjson.dumps(record.to_json(), option=orjson.OPT_SORT_KEYS).decode()


def _video_row(ident: int, name: str, record: VideoRecord) -> tuple[Any, ...]:
    output = record.output
    return (
        ident,
        name,
        record.fingerprint,
        None if record.status is None else str(record.status),
        "superseded" in record.extra,
        output.path if output is not None else None,
        output.bytes if output is not None else None,
        output.mtime_ns if output is not None else None,
        output.sha256 if output is not None else None,
        _dumps(record),
        unchanged_key(record.fingerprint, record.inputs.get(LABEL) if record.inputs else None),
    )


_UPSERT = {
    "videos": (
        "INSERT INTO reelform.videos (spec_id, name, fingerprint, status, superseded,"
        " out_path, out_bytes, out_mtime_ns, out_sha256, record, unchanged_key)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (spec_id, name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
        " unchanged_key = EXCLUDED.unchanged_key,"
        " status = EXCLUDED.status, superseded = EXCLUDED.superseded,"
        " out_path = EXCLUDED.out_path, out_bytes = EXCLUDED.out_bytes,"
        " out_mtime_ns = EXCLUDED.out_mtime_ns, out_sha256 = EXCLUDED.out_sha256,"
        " record = EXCLUDED.record, updated_at = now(), rev = nextval('reelform.writes')"
    ),
    "avatars": (
        "INSERT INTO reelform.avatars (spec_id, key, status, record) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (spec_id, key) DO UPDATE SET status = EXCLUDED.status,"
        " record = EXCLUDED.record, updated_at = now(), rev = nextval('reelform.writes')"
    ),
    "uploads": (
        "INSERT INTO reelform.uploads (spec_id, key, record) VALUES (%s, %s, %s)"
        " ON CONFLICT (spec_id, key) DO UPDATE SET record = EXCLUDED.record, updated_at = now(),"
        " rev = nextval('reelform.writes')"
    ),
    "files": (
        "INSERT INTO reelform.files (spec_id, key, record) VALUES (%s, %s, %s)"
        " ON CONFLICT (spec_id, key) DO UPDATE SET record = EXCLUDED.record, updated_at = now(),"
        " rev = nextval('reelform.writes')"
    ),
}


def _row(section: str, ident: int, key: str, value: Record) -> tuple[Any, ...]:
    if section == "videos":
        assert isinstance(value, VideoRecord)
        return _video_row(ident, key, value)
    if section == "avatars":
        status = getattr(value, "status", None)
        return (ident, key, None if status is None else str(status), _dumps(value))
    return (ident, key, _dumps(value))


def write_changes(conn: psycopg.Connection, ident: int, changes: Sequence[Change]) -> bool:
    """Write ``changes`` (the last change of a key wins) in the caller's transaction;
    whether any was a delete (which the rows' write numbers cannot show: the caller
    bumps the spec's revision).

    Rows are written in one order, (section, key), in every transaction: two
    runners' writes that share rows (a file's facts, a photo avatar) lock them in
    the same order and so never deadlock."""
    last: dict[tuple[str, str], Record | None] = {}
    for change in changes:
        check_change(change.section, change.value)
        last[(change.section, change.key)] = change.value
    upserts: dict[str, list[tuple[Any, ...]]] = {}
    deletes: dict[str, list[tuple[Any, ...]]] = {}
    for (section, key), value in sorted(last.items(), key=lambda item: item[0]):
        if value is None:
            deletes.setdefault(section, []).append((ident, key))
        else:
            upserts.setdefault(section, []).append(_row(section, ident, key, value))
    with conn.cursor() as cursor:
        for section, rows in upserts.items():
            cursor.executemany(_UPSERT[section], rows)
        for section, rows in deletes.items():
            cursor.executemany(
                f"DELETE FROM reelform.{section} WHERE spec_id = %s AND {KEY[section]} = %s", rows
            )
    return bool(deletes)


def write_all(conn: psycopg.Connection, ident: int, state: LockState) -> None:
    """Every record of ``state`` (``state push``), in the caller's transaction."""
    write_changes(
        conn,
        ident,
        [
            Change(name, key, record)
            for name in SECTIONS
            for key, record in state.section(name).items()
        ],
    )


@dataclass(frozen=True)
class Lease:
    holder: str | None
    until: datetime | None


def take_lease(conn: psycopg.Connection, ident: int, holder: str) -> Lease | None:
    """Take (or renew) the spec's lease for ``holder``: None when taken, else who has it.

    Free is a lease nobody holds, one that expired, or one whose holder has no
    connection to the server (each runner names its connections after itself,
    ``application_name``): a runner that was killed is taken over at once, not
    after its lease runs out. A holder whose connection dropped for a moment (a
    server restart) may so lose its lease: its next write finds that and stops
    (``renew``), and the taker, reading the state, resumes what it left.
    """
    row = conn.execute(
        "UPDATE reelform.specs SET holder = %s,"
        " lease_until = now() + make_interval(secs => %s)"
        " WHERE id = %s AND (holder IS NULL OR holder = %s OR lease_until < now()"
        "  OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a"
        "   WHERE a.application_name = reelform.specs.holder))"
        " RETURNING id",
        (holder, LEASE_SECONDS, ident, holder),
    ).fetchone()
    if row is not None:
        return None
    found = conn.execute(
        "SELECT holder, lease_until FROM reelform.specs WHERE id = %s", (ident,)
    ).fetchone()
    return Lease(found[0], found[1]) if found else Lease(None, None)


def renew(conn: psycopg.Connection, ident: int, holder: str, *, bump: bool) -> bool:
    """Renew the lease in the caller's transaction (with ``bump``, a write's, the
    revision too): False when this holder lost it (expired and taken by another)."""
    row = conn.execute(
        "UPDATE reelform.specs SET revision = revision + %s,"
        " lease_until = now() + make_interval(secs => %s)"
        " WHERE id = %s AND holder = %s RETURNING id",
        (1 if bump else 0, LEASE_SECONDS, ident, holder),
    ).fetchone()
    return row is not None


def release(conn: psycopg.Connection, ident: int, holder: str) -> None:
    conn.execute(
        "UPDATE reelform.specs SET holder = NULL, lease_until = NULL WHERE id = %s AND holder = %s",
        (ident, holder),
    )


def video_text(
    conn: psycopg.Connection, ident: int, name: str, *, lock: bool, section: str = "videos"
) -> str | None:
    with conn.cursor(binary=False) as cursor:
        query = f"SELECT record::text FROM reelform.{section} WHERE spec_id = %s"
        query += f" AND {KEY[section]} = %s" + (" FOR UPDATE" if lock else "")
        cursor.execute(query, (ident, name))
        row = cursor.fetchone()
    return None if row is None else str(row[0])
