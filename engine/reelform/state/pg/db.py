"""Connecting to the state database, and its schema's forward migrations.

Every error leaving here is a reelform error whose text passed ``redact`` (the URL
and its password are secrets, ``secrets.url_secrets``): an unreachable server or a
wrong password is a ``ConfigError`` saying which, never the URL.

The schema is reelform's own (``reelform``), versioned by ``schema_version``: one
row per migration applied. ``migrate`` runs the missing ones, in order, each in its
own transaction under a transaction-level advisory lock, so two runners starting at
once migrate once (the second waits, then finds nothing to do); a lock of the
transaction cannot outlive it on a pooled or reconnected connection, as a session
lock would. A database whose schema is newer than this reelform is refused
before anything is read or written.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg import errors as pg_errors

from reelform.errors import ConfigError, LockfileError, UserError
from reelform.secrets import STATE_URL_VARIABLE, redact, url_secrets

#: pg_advisory_xact_lock(MIGRATION_LOCK): "reelform" in ASCII, one key of its own.
MIGRATION_LOCK = 0x7265656C666F726D

#: ``preload.unchanged_key`` in SQL, from a video row's record (the one label is
#: ``traits.LABELS``'s title): migration 7's backfill, and what `plan` reads from a
#: schema before it.
UNCHANGED_KEY_SQL = (
    "CASE WHEN fingerprint IS NULL OR length(fingerprint) <> 64 THEN NULL"
    " WHEN coalesce(json_typeof(record -> 'inputs' -> 'title'), 'null') = 'null'"
    " THEN fingerprint"
    " WHEN json_typeof(record -> 'inputs' -> 'title') = 'string'"
    " THEN fingerprint || ':' || (record -> 'inputs' ->> 'title') END"
)
UNCHANGED_KEY_BACKFILL = f"UPDATE reelform.videos SET unchanged_key = {UNCHANGED_KEY_SQL};"

#: Forward migrations: (version, statements). Never edit one that has shipped: add
#: the next. Each is run once, in order, in a transaction of its own.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE reelform.specs (
            id         bigserial PRIMARY KEY,
            -- the spec's path relative to the repository root (reelform.toml's folder)
            path       text NOT NULL UNIQUE,
            -- bumped by every write: a saved plan's freshness (the lockfile's digest)
            revision   bigint NOT NULL DEFAULT 0,
            -- who is applying it: a lease the holder renews with each write
            holder     text,
            lease_until timestamptz,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        -- One row per record, as the lockfile's sections: the record is its JSON,
        -- exactly as the lockfile would hold it (json, not jsonb: byte for byte);
        -- the columns beside it are what plan and `state list` read without it.
        CREATE TABLE reelform.videos (
            spec_id     bigint NOT NULL REFERENCES reelform.specs (id) ON DELETE CASCADE,
            name        text NOT NULL,
            fingerprint text,
            status      text,
            superseded  boolean NOT NULL DEFAULT false,
            out_path    text,
            out_bytes   bigint,
            out_mtime_ns bigint,
            out_sha256  text,
            record      json NOT NULL,
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (spec_id, name)
        );
        CREATE TABLE reelform.avatars (
            spec_id bigint NOT NULL REFERENCES reelform.specs (id) ON DELETE CASCADE,
            key     text NOT NULL,
            status  text,
            record  json NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (spec_id, key)
        );
        CREATE TABLE reelform.uploads (
            spec_id bigint NOT NULL REFERENCES reelform.specs (id) ON DELETE CASCADE,
            key     text NOT NULL,
            record  json NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (spec_id, key)
        );
        CREATE TABLE reelform.files (
            spec_id bigint NOT NULL REFERENCES reelform.specs (id) ON DELETE CASCADE,
            key     text NOT NULL,
            record  json NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (spec_id, key)
        );
        """,
    ),
    (
        2,
        """
        -- One provider rate limit per API key, shared by every runner using the key
        -- (state/pg/ratelimit.py): the requests of the last window, and a pause
        -- after a 429. Keyed by a sha256 of the provider and key, never the key.
        CREATE TABLE reelform.rate_events (
            key_hash text NOT NULL,
            at       timestamptz NOT NULL
        );
        CREATE INDEX rate_events_key_at ON reelform.rate_events (key_hash, at);
        CREATE TABLE reelform.rate_pauses (
            key_hash text PRIMARY KEY,
            until    timestamptz NOT NULL
        );
        """,
    ),
    (
        3,
        """
        -- Several runners on one spec share its videos: each video is worked on by
        -- the runner that claims it (state/pg/journal.py), for as long as it renews
        -- the claim and has a connection to the server.
        CREATE TABLE reelform.claims (
            spec_id bigint NOT NULL REFERENCES reelform.specs (id) ON DELETE CASCADE,
            name    text NOT NULL,
            runner  text NOT NULL,
            until   timestamptz NOT NULL,
            PRIMARY KEY (spec_id, name)
        );
        CREATE INDEX claims_runner ON reelform.claims (runner);
        """,
    ),
    (
        4,
        """
        -- Webhook deliveries one runner's `--listen` receiver verified, for every
        -- runner waiting on the job (state/pg/deliveries.py): what the receiver
        -- parsed from the body, never the secret or token that verified it. The
        -- latest delivery of a job replaces the one before.
        CREATE TABLE reelform.webhook_deliveries (
            provider    text NOT NULL,
            job_id      text NOT NULL,
            status      text,
            result      jsonb,
            received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (provider, job_id)
        );
        CREATE INDEX webhook_deliveries_received ON reelform.webhook_deliveries (received_at);
        """,
    ),
    (
        5,
        """
        -- Runners share a spec's videos in batches (state/pg/claims.py): a claim row
        -- with no runner is a video somebody set out to work on that nobody holds.
        ALTER TABLE reelform.claims ALTER COLUMN runner DROP NOT NULL,
            ALTER COLUMN until DROP NOT NULL;
        -- A write's mark without locking the spec's row (every write used to bump
        -- specs.revision, and all writers of a spec queued on that row): each row
        -- written takes the next number of one sequence, so the sum of a spec's
        -- numbers grows with every upsert; deletes still bump the revision.
        CREATE SEQUENCE reelform.writes;
        ALTER TABLE reelform.videos ADD COLUMN rev bigint NOT NULL
            DEFAULT nextval('reelform.writes');
        ALTER TABLE reelform.avatars ADD COLUMN rev bigint NOT NULL
            DEFAULT nextval('reelform.writes');
        ALTER TABLE reelform.uploads ADD COLUMN rev bigint NOT NULL
            DEFAULT nextval('reelform.writes');
        ALTER TABLE reelform.files ADD COLUMN rev bigint NOT NULL
            DEFAULT nextval('reelform.writes');
        """,
    ),
    (
        6,
        """
        -- The expansion memo of each spec (memo/), written by `apply`: what the
        -- spec's inputs, by content, expand to. A fresh clone's `plan` finds it
        -- here (the key is digests, not paths or mtimes), so it is fast there too.
        CREATE TABLE reelform.plan_memos (
            spec_id    bigint PRIMARY KEY REFERENCES reelform.specs (id) ON DELETE CASCADE,
            document   json NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        7,
        """
        -- What a no-op plan compares, per video, in a column of its own
        -- (preload.unchanged_key: the fingerprint, and ":" and the title when it has
        -- one; NULL when no key can be made). Taken from the record, it made the
        -- server parse every record's JSON: 0.5 s of a 100,000-video plan's 0.55 s
        -- query. The backfill is that function in SQL (test_unchanged_key checks both).
        ALTER TABLE reelform.videos ADD COLUMN unchanged_key text;
        """
        + UNCHANGED_KEY_BACKFILL,
    ),
]
LATEST = MIGRATIONS[-1][0]

#: How long a write is retried while the server cannot be reached (a restart).
RETRY_SECONDS = 60.0

T = TypeVar("T")


class StateDatabaseError(OSError, UserError):
    """A read or write of the state database that did not happen (or may not have).

    An OSError, as a journal's failed write is: the executor treats it the same
    way (an intent that failed is no submit; a job id that failed is said aloud).
    A UserError too: outside a video's work (taking the lease, reading the state)
    it is one line and exit 1, never a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(errno.EIO, message)

    def __str__(self) -> str:
        return str(self.strerror)


def describe(exc: BaseException) -> str:
    """A driver error as one redacted line."""
    text = " ".join(str(exc).split())
    if isinstance(exc, pg_errors.DiskFull):
        text = f"the database server's disk is full ({text})"
    return redact(text)


def connect(
    url: str, *, autocommit: bool = False, timeout: float = 10.0, name: str = "reelform"
) -> psycopg.Connection:
    """A connection, or a ConfigError saying why not (the URL never in it).

    ``name`` is the connection's ``application_name``: a runner's connections are
    named after it, which is how others see that it is alive (``store.take_lease``).
    """
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            connect_timeout=max(1, int(timeout)),
            application_name=name,
        )
    except psycopg.Error as exc:
        raise ConfigError(_connect_error(exc, url)) from None


def _connect_error(exc: psycopg.Error, url: str) -> str:
    text = " ".join(str(exc).split())
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    text = redact(text)
    if "password authentication failed" in text or "no password supplied" in text:
        why = "the database refused the credentials"
    elif "does not exist" in text:
        why = "the database or user does not exist"
    else:
        why = "cannot reach the state database"
    return f"{why} ({STATE_URL_VARIABLE}): {text}"


def transient(exc: BaseException) -> bool:
    """A failure that a new connection may not have: the server restarted, the
    connection was dropped (``pg_terminate_backend``), a serialization conflict."""
    return isinstance(
        exc,
        psycopg.OperationalError
        | pg_errors.SerializationFailure
        | pg_errors.DeadlockDetected
        | pg_errors.AdminShutdown,
    ) and not isinstance(exc, pg_errors.DiskFull | pg_errors.InsufficientPrivilege)


def schema_version(conn: psycopg.Connection) -> int:
    """The schema's version; 0 when reelform has never migrated this database."""
    row = conn.execute("SELECT to_regclass('reelform.schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT coalesce(max(version), 0) FROM reelform.schema_version").fetchone()
    return int(found[0]) if found else 0


def check_version(version: int) -> None:
    if version > LATEST:
        raise LockfileError(
            f"database schema version {version} is newer than this reelform ({LATEST}); "
            "upgrade reelform. Nothing was read or written."
        )


def migrate(conn: psycopg.Connection) -> int:
    """Bring the schema up to ``LATEST``; returns the version it was at."""
    with conn.transaction():
        current = schema_version(conn)
        check_version(current)
        if current == LATEST:
            return current
    found = current
    # One transaction per migration, each with its version row: a connection lost
    # midway keeps the migrations done, and the next attempt goes on from there.
    for version, statements in MIGRATIONS:
        if version <= found:
            continue
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute("CREATE SCHEMA IF NOT EXISTS reelform")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS reelform.schema_version ("
                " version integer PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            now_at = schema_version(conn)  # again, under the lock: another runner's?
            check_version(now_at)
            if version > now_at:
                conn.execute(statements.encode())
                conn.execute(
                    "INSERT INTO reelform.schema_version (version) VALUES (%s)", (version,)
                )
    return found


def retrying(
    url: str,
    work: Callable[[psycopg.Connection], T],
    conn: psycopg.Connection | None,
    *,
    patience: float = RETRY_SECONDS,
    name: str = "reelform",
) -> tuple[T, psycopg.Connection]:
    """Run ``work`` (one transaction, safe to run again) on ``conn``; on a transient
    failure reconnect and run it again, for up to ``patience`` seconds.

    ``work`` must be idempotent: a commit whose answer was lost may have happened.
    Every write here sets rows to values, so running it twice is harmless.
    Returns the result and the connection to go on with.
    """
    deadline = time.monotonic() + patience
    delay = 0.05
    last: BaseException | None = None
    while True:
        try:
            if conn is None or conn.closed or conn.broken:
                conn = psycopg.connect(url, connect_timeout=5, application_name=name)
            return work(conn), conn
        except psycopg.Error as exc:
            if conn is not None and not conn.closed:
                try:
                    conn.rollback()
                except psycopg.Error:
                    conn.close()
            if not transient(exc):
                raise StateDatabaseError(f"state database: {describe(exc)}") from None
            last = exc
        if time.monotonic() > deadline:
            raise StateDatabaseError(
                f"state database unreachable for {patience:g} s: {describe(last)}"
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def once(
    url: str, work: Callable[[psycopg.Connection], T], *, patience: float = RETRY_SECONDS
) -> T:
    """``work`` (as ``retrying`` runs it) on a connection of its own, closed after:
    a read or write outside an apply's pinned connection. The first connection says
    clearly what is wrong (``connect``); the ones after it are retried."""
    conn = connect(url)
    try:
        result, conn = retrying(url, work, conn, patience=patience)
        return result
    finally:
        conn.close()
