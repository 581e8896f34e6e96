"""Webhook deliveries shared through the state database.

One runner's ``--listen`` receiver verifies a delivery and records what it parsed
(the job's status and result, never the secret or token that verified it) in
``reelform.webhook_deliveries``, one short transaction each. Every runner waiting on
jobs reads the rows of those jobs, one indexed query a round for all of them, and
hands each to the same code as a delivery of its own. The table is a shortcut, never
the record: an error writing or reading it is raised as ``StateDatabaseError`` for
the caller to log, and the job is polled at the provider as without webhooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import psycopg
from psycopg_pool import ConnectionPool

from reelform.providers.base import JobState, JobStatus, WebhookEvent
from reelform.state.pg.ratelimit import _with_pool

Key = tuple[str, str]  # (provider, job id)

#: Recorded deliveries older than this are deleted when the next one is recorded.
KEEP_DAYS = 7


def event_row(event: WebhookEvent) -> tuple[str | None, bytes | None]:
    """The (status, result) columns of a delivery: what the receiver parsed."""
    state = event.state
    if state is None:  # "look again" (Mirako): the reader polls, as the receiver would
        return None, None
    result = {
        "video_url": state.video_url,
        "duration": state.duration,
        "cover_url": state.cover_url,
        "error": state.error,
    }
    return state.status.value, orjson.dumps(result)


def row_event(job_id: str, status: str | None, result: Any) -> WebhookEvent:
    """The delivery a row stands for, as the receiver parsed it."""
    if status is None:
        return WebhookEvent(job_id)
    try:
        parsed = JobStatus(status)
    except ValueError:  # written by a newer reelform: not trusted, polled instead
        return WebhookEvent(job_id)
    fields = result if isinstance(result, dict) else {}

    def text(name: str) -> str | None:
        value = fields.get(name)
        return value if isinstance(value, str) else None

    duration = fields.get("duration")
    return WebhookEvent(
        job_id,
        JobState(
            job_id,
            parsed,
            video_url=text("video_url"),
            duration=float(duration) if isinstance(duration, int | float) else None,
            cover_url=text("cover_url"),
            error=text("error"),
        ),
    )


class SharedDeliveries:
    """The table, on a pool of short transactions (the shared rate limit's pool)."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool
        self.recorded = 0
        self.read_rounds = 0

    def record(self, provider: str, event: WebhookEvent) -> None:
        status, result = event_row(event)

        def work(conn: psycopg.Connection) -> None:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO reelform.webhook_deliveries"
                    " (provider, job_id, status, result, received_at)"
                    " VALUES (%s, %s, %s, %s::jsonb, clock_timestamp())"
                    " ON CONFLICT (provider, job_id) DO UPDATE SET status = EXCLUDED.status,"
                    " result = EXCLUDED.result, received_at = EXCLUDED.received_at",
                    (provider, event.job_id, status, result.decode() if result else None),
                )
                # A delivery is read within seconds; a week's is long stale (the
                # waiter's safety poll has seen its job since). By the index.
                conn.execute(
                    "DELETE FROM reelform.webhook_deliveries"
                    " WHERE received_at < clock_timestamp() - make_interval(days => %s)",
                    (KEEP_DAYS,),
                )

        _with_pool(self._pool, work)
        self.recorded += 1

    def read(self, keys: Sequence[Key]) -> dict[Key, tuple[str, WebhookEvent]]:
        """The recorded deliveries of these jobs (one query, by the primary key), each
        with when it was received (a delivery is handed over once)."""
        if not keys:
            return {}
        providers = [p for p, _ in keys]
        jobs = [j for _, j in keys]

        def work(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(
                "SELECT d.provider, d.job_id, d.status, d.result, d.received_at::text"
                " FROM unnest(%s::text[], %s::text[]) AS k (provider, job_id)"
                " JOIN reelform.webhook_deliveries d"
                " ON d.provider = k.provider AND d.job_id = k.job_id",
                (providers, jobs),
            ).fetchall()

        rows = _with_pool(self._pool, work)
        self.read_rounds += 1
        return {(p, j): (at, row_event(j, s, r)) for p, j, s, r, at in rows}
