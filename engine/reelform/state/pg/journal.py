"""The PostgreSQL backend's journal: each change committed in a short transaction.

The executor records changes exactly as it does with the lockfile's journal
(``state.journal.Journal``): ``record`` mirrors the change into the state at once,
and ``durable`` (or ``await run.commit()``) returns only once it is committed. So
the intent is committed before a submit and the job id right after it, each in
its own transaction, and a runner killed at any instant loses nothing the
provider accepted.

Changes are committed by whoever asks first: a waiting caller (``sync``) or a
background thread that commits whatever was recorded without waiting (a
download's record), within milliseconds rather than at the end of the run. The
changes waiting when a commit starts go in one transaction (group commit), as the
lockfile journal's callers share one fsync: a transaction per change would cost
a round trip and a WAL flush each.

A transaction that fails because the server went away (a restart, a dropped
connection) is sent again on a new connection (``db.retrying``); it only sets
rows to values, so one that did commit before its answer was lost is harmless to
run again. Each transaction also renews this runner's lease on the spec; one
that finds the lease taken by another runner writes nothing and raises.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import orjson
import psycopg

from reelform.errors import BusyError
from reelform.state.lockfile import LockState, check_change
from reelform.state.pg import claims, db, store
from reelform.state.records import RECORD_TYPES, Record, Status

T = TypeVar("T")

#: How long the background commit lets changes gather (seconds).
FLUSH_DELAY = 0.02


class LeaseLost(db.StateDatabaseError):
    """Another runner took the spec over: this one must write nothing more."""


class PgSession:
    """The state database of one apply: one connection for its writes, pinned to
    this process (never shared through a pool), and the leases it holds."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Also its connections' application_name (at most 63 bytes): how the
        # others see that it is alive (``store.take_lease``).
        self.holder = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self.held: dict[int, str] = {}  # spec id -> spec path, held alone (a lease)
        self.joined: dict[int, str] = {}  # spec id -> spec path, shared (claims)
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        #: Set when a renewal found the lease gone; every later write refuses.
        self.lost: str | None = None

    def run(self, work: Callable[[psycopg.Connection], T]) -> T:
        """``work`` (one idempotent transaction), retried over reconnects."""
        with self._lock:
            result, self._conn = db.retrying(self.url, work, self._conn, name=self.holder)
            return result

    def open(self) -> None:
        # The first connection says clearly what is wrong (credentials, host); after
        # it, a dropped connection is reconnected like any other.
        self._conn = db.connect(self.url, name=self.holder)
        self.run(db.migrate)

    def join(self, path: str) -> int:
        """Take part in applying the spec: its id (made if new). Not exclusive: other
        runners may apply it at once, sharing its videos by claims."""

        def find(conn: psycopg.Connection) -> int:
            with conn.transaction():
                ident = store.spec_id(conn, path, create=True)
                assert ident is not None
                return ident

        ident: int = self.run(find)
        self.joined[ident] = path
        self._start_heartbeat()
        return ident

    def acquire(
        self, path: str, label: str, *, wait: bool, poll: float = 0.5, timeout: float | None = None
    ) -> int:
        """The spec's id, held by this runner alone (``state push``), or BusyError
        naming who has it."""
        started = time.monotonic()
        while True:

            def take(conn: psycopg.Connection) -> tuple[int, store.Lease | None]:
                with conn.transaction():
                    ident = store.spec_id(conn, path, create=True)
                    assert ident is not None
                    return ident, store.take_lease(conn, ident, self.holder)

            ident, other = self.run(take)
            if other is None:
                self.held[ident] = path
                self._start_heartbeat()
                return ident
            until = other.until.isoformat(timespec="seconds") if other.until else "?"
            message = (
                f"{label}: another runner holds it ({other.holder}, its lease runs to "
                f"{until} unless it renews it)"
            )
            if not wait:
                raise BusyError(f"{message}; try again later")
            if timeout is not None and time.monotonic() - started > timeout:
                raise BusyError(f"{message} (still so after {timeout:g} s)")
            time.sleep(poll)

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = threading.Thread(target=self._renew_loop, daemon=True)
            self._heartbeat.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(store.LEASE_SECONDS / 3):
            with contextlib.suppress(db.StateDatabaseError):
                self.run(self._renew_all)

    def _renew_all(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            claims.renew(conn, self.holder)
            for ident, path in self.held.items():
                if not store.renew(conn, ident, self.holder, bump=False):
                    self.lost = f"{path}: another runner took this spec over (the lease expired)"

    def claim(self, ident: int, name: str) -> str | None:
        """Claim a video: None when this runner has it, else the live runner that has."""

        def work(conn: psycopg.Connection) -> str | None:
            with conn.transaction():
                return claims.claim(conn, ident, name, self.holder)

        result: str | None = self.run(work)
        return result

    def claim_batch(
        self, ident: int, names: Sequence[str], limit: int
    ) -> tuple[list[str], dict[str, str]]:
        """Claim up to ``limit`` of ``names`` at once (``claims.claim_batch``)."""

        def work(conn: psycopg.Connection) -> tuple[list[str], dict[str, str]]:
            with conn.transaction():
                return claims.claim_batch(conn, ident, names, self.holder, limit)

        result: tuple[list[str], dict[str, str]] = self.run(work)
        return result

    def news(self, ident: int, names: Sequence[str]) -> dict[str, str | None]:
        """Of the followed videos ``names``, those no other live runner holds now,
        with their records (None: no record)."""

        def work(conn: psycopg.Connection) -> dict[str, str | None]:
            with conn.transaction():
                held = claims.held_elsewhere(conn, ident, self.holder)
                fresh = [name for name in names if name not in held]
                found = claims.records(conn, ident, fresh) if fresh else {}
                return {name: found.get(name) for name in fresh}

        result: dict[str, str | None] = self.run(work)
        return result

    def write(self, ident: int, changes: Sequence[store.Change]) -> dict[tuple[str, str], str]:
        """Commit ``changes`` in one transaction. Returns the guarded changes (submit
        intents) that were not written, and why: another runner has that video."""

        def transaction(conn: psycopg.Connection) -> dict[tuple[str, str], str]:
            with conn.transaction():
                # Not the spec's row: runners sharing a spec write side by side (their
                # rows are their own videos'), and write numbers mark the change.
                if ident in self.held and not store.renew(conn, ident, self.holder, bump=True):
                    path = self.held[ident]
                    self.lost = f"{path}: another runner took this spec over"
                    raise LeaseLost(f"state database: {self.lost}; nothing more is written")
                intents = [change for change in changes if change.guarded]
                refused = claims.check_intents(conn, ident, intents, self.holder) if intents else {}
                kept = [c for c in changes if (c.section, c.key) not in refused]
                if store.write_changes(conn, ident, kept) and ident not in self.held:
                    conn.execute(
                        "UPDATE reelform.specs SET revision = revision + 1 WHERE id = %s",
                        (ident,),
                    )
                settled = [
                    claims.claim_name(c.section, c.key)
                    for c in kept
                    if c.section in ("videos", "avatars")
                    and (c.value is None or str(getattr(c.value, "status", "")) in store.SETTLED)
                ]
                claims.release(conn, ident, settled, self.holder)
                return refused

        if self.lost is not None:
            raise LeaseLost(f"state database: {self.lost}; nothing more is written")
        result: dict[tuple[str, str], str] = self.run(transaction)
        return result

    def close(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        with contextlib.suppress(db.StateDatabaseError):

            def release(conn: psycopg.Connection) -> None:
                with conn.transaction():
                    for ident in self.held:
                        store.release(conn, ident, self.holder)
                    claims.drop(conn, self.holder)

            if self.held or self.joined:
                db.retrying(self.url, release, self._conn, patience=5.0, name=self.holder)
        if self._conn is not None:
            self._conn.close()
        self.held.clear()
        self.joined.clear()


@contextlib.contextmanager
def session(url: str) -> Iterator[PgSession]:
    pg = PgSession(url)
    pg.open()
    try:
        yield pg
    finally:
        pg.close()


class PgJournal:
    """``Journal``'s interface over the state database (the module docstring)."""

    def __init__(self, pg: PgSession, ident: int, state: LockState, label: Path) -> None:
        self.pg = pg
        self.ident = ident
        self.state = state
        self.label = label
        self._lock = threading.Lock()
        self._pending: list[store.Change] = []
        self._written = 0
        self._synced = 0
        self._sync_lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        #: Set when a commit failed for good (the server refused it, or stayed away
        #: past the retries): like a journal that cannot be appended to, this one
        #: takes no more changes, and what it could not commit is never committed
        #: later behind its caller's back (a withdrawn intent, say).
        self._broken: OSError | None = None
        #: Intents another runner's claim refused: (section, key) -> why.
        self._refused: dict[tuple[str, str], str] = {}
        self._flusher = threading.Thread(target=self._flush_loop, daemon=True)
        self._flusher.start()

    def record(
        self, section: str, key: str, value: Record | None, *, durable: bool = False
    ) -> None:
        check_change(section, value)
        self._check()
        with self._lock:
            # A submit's intent is written only if nobody else has the video (or the
            # photo avatar) and its row is what this runner read: two runners on one
            # spec never both submit it (``claims.check_intents``).
            guarded = (
                section in ("videos", "avatars")
                and value is not None
                and getattr(value, "status", None) is Status.SUBMITTING
            )
            expect = store.record_text(self.state.section(section).get(key)) if guarded else None
            self._pending.append(store.Change(section, key, value, expect, guarded))
            self._written += 1
            position = self._written
            self.state.apply_change(section, key, value)
            self._wake.notify()
        if durable:
            self.sync(position)

    def record_all(
        self, changes: Sequence[tuple[str, str, Record | None]], *, durable: bool = False
    ) -> None:
        """Record several changes that commit in one transaction: all or none.

        They join ``_pending`` under one hold of the lock, and ``sync`` writes what is
        pending as one transaction, so no commit can take some of them without the rest.
        (Not for an intent: those are guarded one by one in ``record``.)"""
        for section, _key, value in changes:
            check_change(section, value)
        self._check()
        with self._lock:
            for section, key, value in changes:
                self._pending.append(store.Change(section, key, value, None, False))
                self._written += 1
                self.state.apply_change(section, key, value)
            position = self._written
            self._wake.notify()
        if durable:
            self.sync(position)

    def taken(self, section: str, key: str) -> str | None:
        """Why a committed intent of ``key`` was not written (another runner has the
        video or photo avatar), once; None when it was written."""
        with self._lock:
            return self._refused.pop((section, key), None)

    def claim(self, name: str) -> str | None:
        """Claim video ``name``: None when this runner has it, else who has."""
        return self.pg.claim(self.ident, name)

    def claim_batch(self, names: Sequence[str], limit: int) -> tuple[list[str], dict[str, str]]:
        """Claim up to ``limit`` of ``names``: those claimed, and those held elsewhere."""
        return self.pg.claim_batch(self.ident, names, limit)

    def look_all(self, names: Sequence[str]) -> set[str]:
        """The followed videos ``names`` with news, refreshed from their rows: those
        no other live runner holds any more (done there, or their runner is gone). A
        video left out is still held elsewhere; nothing of it is read."""
        found = self.pg.news(self.ident, names)
        with self._lock:
            for name, text in found.items():
                self._set("videos", name, text)
        return set(found)

    def let_go(self, names: Sequence[str]) -> None:
        """Release this runner's claims of ``names`` once what it recorded of them is
        committed: the videos it no longer works on, settled or not."""
        self.sync()
        self.pg.run(lambda conn: _release(conn, self.ident, names, self.pg.holder))

    def look_avatar(self, key: str) -> None:
        """Refresh photo avatar ``key`` from its row."""
        with self._lock:
            self._restore("avatars", key)

    def _restore(self, section: str, key: str) -> None:
        """Set ``state`` to the row's record (called holding ``_lock``)."""

        def work(conn: psycopg.Connection) -> str | None:
            with conn.transaction():
                return store.video_text(conn, self.ident, key, lock=False, section=section)

        self._set(section, key, self.pg.run(work))

    def _set(self, section: str, key: str, text: str | None) -> None:
        record = None if text is None else RECORD_TYPES[section].from_json(orjson.loads(text))
        self.state.apply_change(section, key, record)

    def _check(self) -> None:
        if self._broken is not None:
            raise db.StateDatabaseError(
                f"{self.label}: an earlier write to the state database failed "
                f"({self._broken.strerror}); nothing more is written by this apply"
            )

    @property
    def written(self) -> int:
        return self._written

    @property
    def synced(self) -> int:
        return self._synced

    def sync(self, upto: int | None = None) -> None:
        """Commit every change up to ``upto`` (default: all) unless already done."""
        target = self._written if upto is None else upto
        with self._sync_lock:
            if self._synced >= target:
                return
            self._check()
            with self._lock:
                batch, covered = list(self._pending), self._written
            try:
                refused = self.pg.write(self.ident, batch)
            except OSError as exc:
                self._broken = exc
                raise
            with self._lock:
                del self._pending[: len(batch)]
                for (section, key), why in refused.items():
                    # Not written: the state goes back to the row's, as the caller
                    # (waiting on this commit) learns from ``taken``.
                    self._refused[(section, key)] = why
                    self._restore(section, key)
            self._synced = max(self._synced, covered)

    def _flush_loop(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed and not self._pending:
                    return
            # A moment for more changes to join this transaction: each costs a round
            # trip and a WAL flush, and nobody is waiting on these (a waiter syncs).
            time.sleep(FLUSH_DELAY)
            try:
                self.sync()
            except OSError:
                return  # broken: the callers' own syncs raise it
            if self._closed:
                return

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify()
        self._flusher.join(timeout=5)
        self.sync()

    def compact(self) -> None:
        """Nothing to fold: the rows are the state. Commits what is left."""
        self.close()


def _release(conn: psycopg.Connection, ident: int, names: Sequence[str], runner: str) -> None:
    with conn.transaction():
        claims.release(conn, ident, names, runner)
