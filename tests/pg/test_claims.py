"""Claims on a real server: batches that two runners take at once are disjoint and
never wait for each other (``FOR UPDATE SKIP LOCKED``), a dead runner's claims are
free at once, a submit's intent is refused when another live runner has its video,
and every write changes the state's digest without locking the spec's row."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from reelform.state.pg import claims, db, store
from reelform.state.records import Status, VideoRecord

NAMES = [f"v{i:03d}" for i in range(40)]


@pytest.fixture
def spec(pg_url: str) -> Iterator[int]:
    with psycopg.connect(pg_url) as conn:
        db.migrate(conn)
        with conn.transaction():
            ident = store.spec_id(conn, "spec.yaml", create=True)
    assert ident is not None
    yield ident


def runner(url: str, name: str) -> psycopg.Connection:
    """A connection named as a runner names its own: how others see it is alive."""
    return db.connect(url, name=name)


def test_two_runners_claiming_at_once_get_disjoint_batches_without_waiting(
    pg_url: str, spec: int
) -> None:
    with runner(pg_url, "a") as a, runner(pg_url, "b") as b:
        with a.transaction():  # the rows exist (a runner's first batch made them)
            assert claims.claim_batch(a, spec, NAMES, "a", 0) == ([], {})
        b.execute("SET lock_timeout = '200ms'")  # a wait would be an error, not a pause
        with a.transaction():
            got_a, held_a = claims.claim_batch(a, spec, NAMES, "a", 10)
            # a's transaction is open: its ten rows are locked. b skips them and takes
            # the next ten at once.
            started = time.monotonic()
            with b.transaction():
                got_b, held_b = claims.claim_batch(b, spec, NAMES, "b", 10)
            assert time.monotonic() - started < 0.2
        assert len(got_a) == len(got_b) == 10
        assert not set(got_a) & set(got_b)
        assert held_a == {}
        assert held_b == {}  # a's claims were not committed when b looked
        with b.transaction():
            again, held = claims.claim_batch(b, spec, NAMES, "b", 40)
        assert set(held) == set(got_a) and set(held.values()) == {"a"}
        assert set(again) == set(NAMES) - set(got_a)  # its own, and the free ones


def test_a_dead_runners_claims_are_free_at_once(pg_url: str, spec: int) -> None:
    doomed = runner(pg_url, "doomed")
    with doomed.transaction():
        got, _ = claims.claim_batch(doomed, spec, NAMES[:5], "doomed", 5)
    assert len(got) == 5
    with runner(pg_url, "other") as other:
        with other.transaction():
            _, held = claims.claim_batch(other, spec, NAMES[:5], "other", 5)
        assert set(held) == set(NAMES[:5])  # alive: held
        doomed.close()  # killed: no connection named after it any more
        deadline = time.monotonic() + 5
        while True:
            with other.transaction():
                taken, held = claims.claim_batch(other, spec, NAMES[:5], "other", 5)
            if taken or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # the server notices the closed connection
        assert sorted(taken) == NAMES[:5] and held == {}


def test_an_intent_is_refused_while_another_live_runner_has_the_video(
    pg_url: str, spec: int
) -> None:
    intent = VideoRecord(fingerprint="f", status=Status.SUBMITTING)
    change = store.Change("videos", "v000", intent, expect=None, guarded=True)
    with runner(pg_url, "a") as a, runner(pg_url, "b") as b:
        with a.transaction():
            claims.claim_batch(a, spec, ["v000"], "a", 1)
        with b.transaction():
            refused = claims.check_intents(b, spec, [change], "b")
        assert "another runner (a) is working on it" in refused[("videos", "v000")]
        with a.transaction():
            assert claims.check_intents(a, spec, [change], "a") == {}
            store.write_changes(a, spec, [change])
        # The row moved on since b read it (nothing): refused even once a lets go.
        with a.transaction():
            claims.release(a, spec, ["v000"], "a")
        with b.transaction():
            refused = claims.check_intents(b, spec, [change], "b")
        assert refused == {("videos", "v000"): "another runner moved it on since this one read it"}


def test_followers_learn_what_others_hold_from_the_others_claims_alone(
    pg_url: str, spec: int
) -> None:
    with runner(pg_url, "a") as a, runner(pg_url, "b") as b:
        with a.transaction():
            claims.claim_batch(a, spec, NAMES[:3], "a", 3)
            store.write_changes(
                a,
                spec,
                [store.Change("videos", n, VideoRecord(fingerprint="f")) for n in NAMES[:3]],
            )
        with b.transaction():
            assert claims.held_elsewhere(b, spec, "b") == dict.fromkeys(NAMES[:3], "a")
            assert claims.held_elsewhere(b, spec, "a") == {}  # not its own
        with a.transaction():  # settled: the record and the claim's release together
            done = VideoRecord(fingerprint="f", status=Status.COMPLETED)
            store.write_changes(a, spec, [store.Change("videos", NAMES[1], done)])
            claims.release(a, spec, [NAMES[1]], "a")
        with b.transaction():
            assert set(claims.held_elsewhere(b, spec, "b")) == {NAMES[0], NAMES[2]}
            found = claims.records(b, spec, [NAMES[1], "nothing"])
        assert list(found) == [NAMES[1]] and '"completed"' in found[NAMES[1]]
    with runner(pg_url, "b") as b:  # a is gone: nothing is held elsewhere
        deadline = time.monotonic() + 5
        while claims.held_elsewhere(b, spec, "b") and time.monotonic() < deadline:
            b.rollback()
            time.sleep(0.05)  # the server notices the closed connection
        assert claims.held_elsewhere(b, spec, "b") == {}


def test_every_write_changes_the_digest_and_none_locks_the_specs_row(
    pg_url: str, spec: int
) -> None:
    with runner(pg_url, "a") as a, runner(pg_url, "b") as b:
        marks = [store.revision(a, spec)]
        a.rollback()
        with a.transaction():
            store.write_changes(a, spec, [store.Change("videos", "x", VideoRecord())])
            # Mid-transaction, another writer of the spec is not kept waiting.
            b.execute("SET lock_timeout = '200ms'")
            with b.transaction():
                store.write_changes(b, spec, [store.Change("videos", "y", VideoRecord())])
        for change in (
            store.Change("videos", "x", VideoRecord(fingerprint="g")),  # an update
            store.Change("videos", "y", None),  # a delete
        ):
            with a.transaction():
                marks.append(store.revision(a, spec))
                if store.write_changes(a, spec, [change]):
                    a.execute(
                        "UPDATE reelform.specs SET revision = revision + 1 WHERE id = %s", (spec,)
                    )
        marks.append(store.revision(a, spec))
        assert len(set(marks)) == len(marks), marks


def test_claims_taken_from_many_threads_never_overlap(pg_url: str, spec: int) -> None:
    """Four runners claiming small batches of one spec until none is left: each
    video is claimed exactly once."""
    names = [f"w{i:04d}" for i in range(400)]
    taken: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def work(me: str) -> None:
        mine = taken.setdefault(me, [])
        elsewhere: set[str] = set()
        try:
            with runner(pg_url, me) as conn:
                while True:
                    # What a runner still waits for: neither its own nor another's.
                    left = [n for n in names if n not in elsewhere and n not in set(mine)]
                    if not left:
                        # Alive until all are done: a runner that has gone (its
                        # connection closed) leaves its claims to be taken over.
                        done.wait(timeout=60)
                        return
                    with conn.transaction():
                        got, held = claims.claim_batch(conn, spec, left, me, 7)
                    mine.extend(got)
                    elsewhere.update(held)
        except BaseException as exc:
            errors.append(exc)

    done = threading.Barrier(4)
    threads = [threading.Thread(target=work, args=(f"r{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    every = [name for got in taken.values() for name in got]
    assert sorted(every) == names  # each once
    assert sum(1 for got in taken.values() if got) >= 2  # shared, not one runner's


def test_lookups_by_name_use_the_whole_key_with_a_plan_made_on_an_empty_table(
    pg_url: str, spec: int
) -> None:
    """A spec's first apply starts on an empty table, and the statements' cached plans
    are made then: `name = ANY(names)` was planned as a scan of every row of the spec
    (then filtered), which made each submit's check cost more as the table grew. The
    lookup by the whole key is an index probe per name with any statistics."""
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        for lock in (True, False):
            query = claims._by_key("videos", lock).replace("%(keys)s", "$1")
            conn.execute(
                f"PREPARE probe{int(lock)} (text[], bigint) AS " + query.replace("%(id)s", "$2")
            )
            plan = "\n".join(
                row[0] for row in conn.execute(f"EXPLAIN EXECUTE probe{int(lock)}('{{a,b}}', 1)")
            )
            assert "Index Cond: ((spec_id = $2) AND (name = n.k))" in plan, plan
        # The old form, on the same empty table, shows what went wrong.
        conn.execute(
            "PREPARE old (bigint, text[]) AS SELECT name FROM reelform.videos"
            " WHERE spec_id = $1 AND name = ANY($2) ORDER BY name FOR UPDATE"
        )
        plan = "\n".join(row[0] for row in conn.execute("EXPLAIN EXECUTE old(1, '{a,b}')"))
        assert "Filter: (name = ANY ($2))" in plan, plan
