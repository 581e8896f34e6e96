"""Which runner works on which video: the claims of several runners on one spec.

A claim is a row of ``reelform.claims``: (spec, video) -> runner, until. Its runner
alone may submit the video; a claim is free when nobody holds it, when it expired
(its runner stopped renewing: ``renew``, every LEASE_SECONDS / 3), or when its
runner has no connection to the server (each runner names its connections after
itself, ``application_name``), so a killed runner's videos are taken over at once.

Runners share a spec's work in batches (``claim_batch``): a transaction claims the
free rows among the next names a runner is waiting on, with ``FOR UPDATE SKIP
LOCKED``, so two runners claiming at once each take other videos and neither waits
for the other; the names another live runner holds come back as held, and that
runner follows them rather than doing them too. A claim is released (its row
deleted) in the transaction that records the video settled, or when its runner
closes; the intent of every submit claims its video again inside the intent's own
transaction (``check_intents``), which is what excludes a double submit: the
batches only spread the work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from reelform.state.pg.store import KEY, LEASE_SECONDS

if TYPE_CHECKING:
    from reelform.state.pg.store import Change

#: The runners alive now: the application names of the server's connections.
_LIVE = "SELECT application_name FROM pg_stat_activity WHERE application_name <> ''"

#: A claim row ``c`` that ``%(me)s`` may take: nobody's, its own, expired, or dead.
_FREE = f"(c.runner IS NULL OR c.runner = %(me)s OR c.until < now() OR c.runner NOT IN ({_LIVE}))"

#: A claim row ``c`` another live runner holds.
_HELD = f"(c.runner <> %(me)s AND c.until >= now() AND c.runner IN ({_LIVE}))"


def claim_name(section: str, key: str) -> str:
    """A claim's name: the video's, or ``avatar/<key>`` for a photo avatar."""
    return key if section == "videos" else f"avatar/{key}"


def claim(conn: psycopg.Connection, ident: int, name: str, runner: str) -> str | None:
    """Claim one video for ``runner`` (None) or name the live runner that has it."""
    return _claim_each(conn, ident, [name], runner).get(name)


def _claim_each(
    conn: psycopg.Connection, ident: int, names: Sequence[str], runner: str
) -> dict[str, str]:
    """Claim every one of ``names`` that is free for ``runner`` (one upsert, in name
    order); returns the others, name -> the runner holding it."""
    claimed = {
        str(row[0])
        for row in conn.execute(
            "INSERT INTO reelform.claims AS c (spec_id, name, runner, until)"
            " SELECT %(id)s, n, %(me)s, now() + make_interval(secs => %(lease)s)"
            " FROM unnest(%(names)s::text[]) AS n ORDER BY n"
            " ON CONFLICT (spec_id, name) DO UPDATE SET runner = EXCLUDED.runner,"
            f" until = EXCLUDED.until WHERE {_FREE} RETURNING c.name",
            {"id": ident, "names": sorted(names), "me": runner, "lease": LEASE_SECONDS},
        )
    }
    rest = [name for name in names if name not in claimed]
    if not rest:
        return {}
    return {
        str(name): str(holder)
        for name, holder in conn.execute(
            "SELECT name, runner FROM reelform.claims WHERE spec_id = %s AND name = ANY(%s)",
            (ident, rest),
        )
    }


def claim_batch(
    conn: psycopg.Connection, ident: int, names: Sequence[str], runner: str, limit: int
) -> tuple[list[str], dict[str, str]]:
    """Claim up to ``limit`` of ``names`` for ``runner``, in the caller's transaction.

    Returns the names claimed and, of the others, those another live runner holds
    (name -> runner). A name in neither is free but past the limit, or its row is
    locked by another runner's transaction (skipped, not waited for): ask again.
    """
    params = {"id": ident, "names": list(names), "me": runner, "lease": LEASE_SECONDS}
    # Every name gets a row to lock: a video nobody has worked on has none yet. Only
    # the names without one are inserted (the unique check of a row another runner
    # is claiming would wait for its transaction), in name order, as every runner
    # inserts, so two inserting the same new names at once cannot deadlock.
    conn.execute(
        "INSERT INTO reelform.claims (spec_id, name)"
        " SELECT %(id)s, n FROM unnest(%(names)s::text[]) AS n"
        " WHERE NOT EXISTS (SELECT 1 FROM reelform.claims c"
        "  WHERE c.spec_id = %(id)s AND c.name = n)"
        " ORDER BY n ON CONFLICT (spec_id, name) DO NOTHING",
        params,
    )
    claimed = [
        str(row[0])
        for row in conn.execute(
            "WITH free AS (SELECT c.name FROM reelform.claims c"
            f"  WHERE c.spec_id = %(id)s AND c.name = ANY(%(names)s) AND {_FREE}"
            "  ORDER BY c.name LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
            " UPDATE reelform.claims c SET runner = %(me)s,"
            "  until = now() + make_interval(secs => %(lease)s)"
            " FROM free WHERE c.spec_id = %(id)s AND c.name = free.name RETURNING c.name",
            {**params, "limit": limit},
        )
    ]
    mine = set(claimed)
    rest = [name for name in names if name not in mine]
    held: dict[str, str] = {}
    if rest:
        for name, holder in conn.execute(
            "SELECT c.name, c.runner FROM reelform.claims c"
            f" WHERE c.spec_id = %(id)s AND c.name = ANY(%(rest)s) AND {_HELD}",
            {**params, "rest": rest},
        ):
            held[str(name)] = str(holder)
    return claimed, held


def held_elsewhere(conn: psycopg.Connection, ident: int, runner: str) -> dict[str, str]:
    """Every video of the spec a live runner other than ``runner`` holds: name ->
    runner. What followers need to know in one query whose size is the others'
    claims, not the number of videos followed: a followed video missing from it has
    news (settled there, since a claim is released with the record that settles
    it, or its runner is gone)."""
    return {
        str(name): str(holder)
        for name, holder in conn.execute(
            "SELECT c.name, c.runner FROM reelform.claims c"
            f" WHERE c.spec_id = %(id)s AND c.runner IS NOT NULL AND {_HELD}",
            {"id": ident, "me": runner},
        )
    }


def _by_key(section: str, lock: bool) -> str:
    """The key and record (JSON) of each of the spec's rows named in ``%(keys)s``,
    each found by its whole primary key, locked in the array's order if ``lock``.

    Not ``key = ANY(keys)``: the plan of that statement cached while the table was
    empty (the first statements of a spec's first apply) keeps scanning every row of
    the spec for each lookup, until the server analyzes the table again; at 10,000
    instant videos that was half the server's time. A lookup by the whole key uses
    the index whatever the statistics say (LIMIT 1, at most one row anyway, keeps the
    server from turning the lookups back into one join)."""
    key = KEY[section]
    return (
        f"SELECT r.{key}, r.record::text FROM unnest(%(keys)s::text[]) AS n(k)"
        f" CROSS JOIN LATERAL (SELECT {key}, record FROM reelform.{section}"
        f"  WHERE spec_id = %(id)s AND {key} = n.k LIMIT 1{' FOR UPDATE' if lock else ''}) AS r"
    )


def records(
    conn: psycopg.Connection, ident: int, names: Sequence[str], section: str = "videos"
) -> dict[str, str]:
    """The records (JSON) of ``names`` that have one."""
    with conn.cursor(binary=False) as cursor:
        cursor.execute(_by_key(section, lock=False), {"id": ident, "keys": list(names)})
        return {str(k): str(text) for k, text in cursor}


def check_intents(
    conn: psycopg.Connection, ident: int, intents: Sequence[Change], runner: str
) -> dict[tuple[str, str], str]:
    """For the guarded changes (submit intents) of a write, in its transaction:
    claim each video (or photo avatar) and check that its row is what the runner
    believes. Returns the refused ones, (section, key) -> why: another runner has
    it, or moved it on. A few statements for all of them, rows locked in key order."""
    refused: dict[tuple[str, str], str] = {}
    for section in sorted({change.section for change in intents}):
        mine = [change for change in intents if change.section == section]
        keys = sorted({change.key for change in mine})  # every runner locks in this order
        with conn.cursor(binary=False) as cursor:
            cursor.execute(_by_key(section, lock=True), {"id": ident, "keys": keys})
            found = {str(k): str(text) for k, text in cursor}
        names = {claim_name(section, k): k for k in keys}
        others = {
            names[name]: holder
            for name, holder in _claim_each(conn, ident, list(names), runner).items()
        }
        for change in mine:
            target = (section, change.key)
            if target in refused:
                continue
            if change.key in others:
                refused[target] = f"another runner ({others[change.key]}) is working on it"
            elif found.get(change.key) != change.expect:
                refused[target] = "another runner moved it on since this one read it"
    return refused


def release(conn: psycopg.Connection, ident: int, names: Sequence[str], runner: str) -> None:
    """Release this runner's claims of ``names`` (settled videos)."""
    if names:
        conn.execute(
            "DELETE FROM reelform.claims WHERE spec_id = %s AND runner = %s AND name = ANY(%s)",
            (ident, runner, list(names)),
        )


def renew(conn: psycopg.Connection, runner: str) -> None:
    conn.execute(
        "UPDATE reelform.claims SET until = now() + make_interval(secs => %s) WHERE runner = %s",
        (LEASE_SECONDS, runner),
    )


def drop(conn: psycopg.Connection, runner: str) -> None:
    """Every claim of ``runner`` (it is closing): free for the others at once."""
    conn.execute("DELETE FROM reelform.claims WHERE runner = %s", (runner,))


def overview(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    """(path, holder, lease_until, {status: count}, {runner: videos claimed}) of every
    spec, by path: `reelform state list`."""
    statuses: dict[int, dict[str, int]] = {}
    for ident, status, count in conn.execute(
        "SELECT spec_id, coalesce(status, 'none'), count(*) FROM reelform.videos GROUP BY 1, 2"
    ):
        statuses.setdefault(ident, {})[status] = count
    claimed = counts(conn)
    return [
        (path, holder, until, statuses.get(ident, {}), claimed.get(ident, {}))
        for ident, path, holder, until in conn.execute(
            "SELECT id, path, holder, CASE WHEN lease_until > now() THEN lease_until END"
            " FROM reelform.specs ORDER BY path"
        )
    ]


def counts(conn: psycopg.Connection) -> dict[int, dict[str, int]]:
    """spec id -> live runner -> how many videos it claims."""
    result: dict[int, dict[str, int]] = {}
    for ident, holder, count in conn.execute(
        "SELECT spec_id, runner, count(*) FROM reelform.claims c WHERE runner IS NOT NULL"
        f" AND until >= now() AND runner IN ({_LIVE}) GROUP BY 1, 2"
    ):
        result.setdefault(ident, {})[holder] = count
    return result
