"""One provider rate limit shared by every runner using the same API key.

JoggAI allows 20 POSTs a minute per key, however many machines send them. Each
runner keeps its own ``TokenBucket`` (the smooth spacing, first come first served
within the process) and, before a request goes, also takes a slot of the key's
budget in the state database: a transaction that, under a transaction-level
advisory lock of the key, counts the key's requests in the last window and adds
one if there is room (or says how long to wait). A 429 pauses the key for every
runner (``penalize`` writes the pause). The key itself never reaches the
database: rows are keyed by a sha256 of the provider's name and the key.

The database's clock is the one clock: runners on machines whose clocks differ
still share one window.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from reelform.providers.ratelimit import _PREPAID, TokenBucket
from reelform.state.pg import db

#: Windows shorter than this (seconds) are not shared: see ``SharedBucket.acquire``.
MIN_SHARED_WINDOW = 0.05

#: Two keys of the advisory lock: a namespace, then the key's hash folded to 32 bits.
_LOCK_NAMESPACE = 0x72617465  # "rate"


def key_hash(provider: str, key: str) -> str:
    return hashlib.sha256(f"{provider}\0{key}".encode()).hexdigest()


class SharedBucket(TokenBucket):
    """A ``TokenBucket`` whose window is also the key's in the database."""

    def __init__(
        self,
        rate_per_minute: float,
        *,
        pool: ConnectionPool[Any],
        key: str,
        time_scale: float = 1.0,
        margin: float = 0.02,
    ) -> None:
        super().__init__(rate_per_minute, time_scale=time_scale, margin=margin)
        self._pool = pool
        self._key = key
        self._lock_key = int(key[:8], 16) - 2**31
        self.shared_waits = 0
        self.unshared = 0  # slots taken without the database (it could not be asked)

    async def acquire(self) -> None:
        if id(self) in _PREPAID.get() or self._window < MIN_SHARED_WINDOW:
            # Taken ahead (``ahead``): the shared slot was taken with it. Or a window
            # (time-scaled) shorter than a database round trip: no transaction could
            # share it in time, and serializing every request through one would only
            # slow every runner down.
            await super().acquire()
            return
        await super().acquire()  # this process's own spacing and order
        while True:
            try:
                wait = await anyio.to_thread.run_sync(self._take)
            except db.StateDatabaseError:
                # The database cannot be asked (a restart): this runner goes on at its
                # own limit. The shared budget is a courtesy, not a safety rule: a
                # request over the provider's limit gets a 429, which proves it was
                # not taken and is sent again later (never paid twice).
                self.unshared += 1
                return
            if wait <= 0:
                return
            self.shared_waits += 1
            await anyio.sleep(wait)

    def _take(self) -> float:
        """Take a slot of the key's window: 0, or the seconds to wait for one."""

        def work(conn: psycopg.Connection) -> float:
            with conn.transaction():
                conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_NAMESPACE, self._lock_key)
                )
                row = conn.execute(
                    "SELECT greatest(0, extract(epoch FROM until - clock_timestamp()))"
                    " FROM reelform.rate_pauses WHERE key_hash = %s",
                    (self._key,),
                ).fetchone()
                if row is not None and float(row[0]) > 0:
                    return float(row[0])
                recent = conn.execute(
                    "SELECT count(*), extract(epoch FROM min(at) + make_interval(secs => %s)"
                    "  - clock_timestamp())"
                    " FROM reelform.rate_events WHERE key_hash = %s"
                    " AND at > clock_timestamp() - make_interval(secs => %s)",
                    (self._window, self._key, self._window),
                ).fetchone()
                assert recent is not None
                count, until_free = int(recent[0]), recent[1]
                if count >= self._count:
                    return max(float(until_free or 0), 0.001 * self.time_scale)
                conn.execute(
                    "INSERT INTO reelform.rate_events (key_hash, at)"
                    " VALUES (%s, clock_timestamp())",
                    (self._key,),
                )
                conn.execute(
                    "DELETE FROM reelform.rate_events WHERE key_hash = %s"
                    " AND at < clock_timestamp() - make_interval(secs => %s)",
                    (self._key, 2 * self._window),
                )
                return 0.0

        wait: float = _with_pool(self._pool, work)
        return wait

    def penalize(self, seconds: float) -> None:
        super().penalize(seconds)
        pause = max(0.0, seconds) * self.time_scale

        def work(conn: psycopg.Connection) -> None:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO reelform.rate_pauses (key_hash, until)"
                    " VALUES (%s, clock_timestamp() + make_interval(secs => %s))"
                    " ON CONFLICT (key_hash) DO UPDATE SET until ="
                    " greatest(reelform.rate_pauses.until, EXCLUDED.until)",
                    (self._key, pause),
                )

        # Best effort: the local pause holds this runner back either way.
        with contextlib.suppress(db.StateDatabaseError):
            _with_pool(self._pool, work)


#: How long a slot of the shared budget is tried for before going on without it.
PATIENCE = 3.0


def _with_pool(pool: ConnectionPool[Any], work: Callable[[psycopg.Connection], Any]) -> Any:
    """``work`` (one transaction) on a pooled connection; a transient failure (a
    restart, a dropped connection) is retried on another, for ``PATIENCE`` seconds."""
    deadline = time.monotonic() + PATIENCE
    delay = 0.05
    while True:
        try:
            with pool.connection() as conn:  # a broken one is discarded, not reused
                return work(conn)
        except (psycopg.Error, PoolTimeout) as exc:
            if isinstance(exc, psycopg.Error) and not db.transient(exc):
                raise db.StateDatabaseError(f"state database: {db.describe(exc)}") from None
            if time.monotonic() > deadline:
                raise db.StateDatabaseError(
                    f"state database unreachable for {PATIENCE:g} s: {db.describe(exc)}"
                ) from None
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def open_pool(url: str, name: str) -> ConnectionPool[Any]:
    pool: ConnectionPool[Any] = ConnectionPool(
        url,
        min_size=1,
        max_size=4,
        kwargs={"application_name": name, "connect_timeout": 5},
        timeout=PATIENCE,
        # A connection dropped while idle in the pool (a restart) is found on
        # checkout and replaced, not handed out to fail.
        check=ConnectionPool.check_connection,
        open=True,
    )
    return pool


def shared_limiters(
    env: Mapping[str, str], pool: ConnectionPool[Any]
) -> Callable[[str, float, float], TokenBucket]:
    """A maker of limiters for ``ProviderPool``: a provider's, keyed by its API key."""
    from reelform.registry import provider_traits

    def make(name: str, rate: float, time_scale: float) -> TokenBucket:
        traits = provider_traits(name)
        secret = next((env.get(v, "").strip() for v in traits.secret_variables if env.get(v)), "")
        return SharedBucket(rate, pool=pool, key=key_hash(name, secret), time_scale=time_scale)

    return make
