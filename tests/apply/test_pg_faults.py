"""Faults of the state database during apply, against a real server and the simulator.

The witness is the provider's own ledger (``sim.made``): every job it made is on
record in the database, under the video it was made for, and no video was made
twice. Faults: the server restarted mid-apply, every connection dropped again and
again (``pg_terminate_backend``, so one lands between an intent and its submit),
and a server that refuses writes (a stand-in for a full disk: a write that fails
for good, not for a moment).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest
from applykit import InProcess, Project, SimServer

from pgkit import PgServer
from reelform.state.pg import db

#: Slow enough that an apply of 30 videos is still submitting and rendering for
#: seconds: renders take 2.4-6 s, 20 creates per 1.2 s.
SLOW = 0.02
pytestmark = pytest.mark.sim(time_scale=SLOW, rate_window_seconds=60 * SLOW)


@pytest.fixture
def pg_project(
    project: Project, pg_url: str, monkeypatch: pytest.MonkeyPatch, cli: InProcess, sim: SimServer
) -> Project:
    project.write("reelform.toml", '[state]\nbackend = "postgres"\n')
    monkeypatch.setenv("REELFORM_STATE_URL", pg_url)
    cli.use(sim.env(REELFORM_TIME_SCALE=str(SLOW)))
    return project


def made(sim: SimServer) -> list[str]:
    return [m.id for m in list(sim.sim.made) if m.kind in ("jogg_v2", "jogg_v1")]


def assert_each_job_recorded_once(project: Project, sim: SimServer, count: int) -> None:
    jobs = made(sim)
    assert len(jobs) == count, Counter(jobs)  # no video made twice
    state = project.lock()  # the database's rows
    recorded = {name: entry.job_id for name, entry in state.videos.items()}
    assert sorted(j for j in recorded.values() if j) == sorted(jobs)  # no job id lost
    assert {str(e.status) for e in state.videos.values()} == {"completed"}
    assert len(project.outputs()) == count
    assert not (project.root / "spec.lock").exists()


def after(condition: object, work: object, timeout: float = 60.0) -> threading.Thread:
    """Run ``work`` in a thread once ``condition()`` holds."""

    def run() -> None:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
            time.sleep(0.01)
        work()  # type: ignore[operator]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_server_restart_mid_apply_is_survived(
    pg_server: PgServer, pg_project: Project, cli: InProcess, sim: SimServer
) -> None:
    pg_project.jogg_spec(30)
    restarted = after(lambda: len(made(sim)) >= 8, pg_server.restart)
    result = cli("apply", "--yes", "spec.yaml")
    restarted.join()
    assert result.code == 0, result.text
    assert len(made(sim)) >= 8
    assert_each_job_recorded_once(pg_project, sim, 30)
    before = sim.mark()
    assert cli("apply", "--yes", "spec.yaml").code == 0 and sim.posts(before) == []


@pytest.fixture
def terminator(pg_url: str) -> Iterator[threading.Event]:
    """Drops every other connection to the test's database, every 30 ms, until set
    (dozens of times in one apply: some land between an intent and its submit)."""
    stop = threading.Event()
    database = pg_url.rsplit("/", 1)[1]
    kills: list[int] = []

    def run() -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            while not stop.wait(0.03):
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                ).fetchall()
                kills.append(sum(1 for (killed,) in rows if killed))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield stop
    stop.set()
    thread.join()
    assert sum(kills) >= 5, kills  # the connections really were dropped


def test_dropped_connections_lose_nothing_and_submit_nothing_twice(
    pg_project: Project, cli: InProcess, sim: SimServer, terminator: threading.Event
) -> None:
    pg_project.jogg_spec(30)
    result = cli("apply", "--yes", "spec.yaml")
    terminator.set()
    assert result.code == 0, result.text
    assert_each_job_recorded_once(pg_project, sim, 30)


def test_a_read_only_server_is_a_clear_error_before_anything_is_sent(
    pg_project: Project, cli: InProcess, sim: SimServer, pg_url: str
) -> None:
    pg_project.jogg_spec(4)
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        db.migrate(conn)  # as an earlier apply did; then every transaction read-only
        conn.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1, result.text
    assert "read-only transaction" in result.text and "Traceback" not in result.text
    assert made(sim) == [] and sim.posts() == []


def test_a_full_disk_refuses_the_intent_so_the_submit_is_never_sent(
    pg_project: Project, cli: InProcess, sim: SimServer, pg_url: str
) -> None:
    """The server's disk fills up after the lease is taken: each intent's commit
    fails (SQLSTATE 53100, disk_full, raised as the server raises it), so no submit
    is sent and nothing is paid for; apply says why and exits 1."""
    pg_project.jogg_spec(4)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        db.migrate(conn)
        conn.execute(
            """
            CREATE FUNCTION reelform_test_disk_full() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'could not extend file "base/1/2": No space left on device'
                    USING ERRCODE = 'disk_full';
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON reelform.videos
                FOR EACH ROW EXECUTE FUNCTION reelform_test_disk_full();
            """
        )
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1, result.text
    assert "disk is full" in result.text and "Traceback" not in result.text, result.text
    assert made(sim) == []  # no intent was committed, so nothing was submitted
    assert pg_project.lock().videos == {}  # and nothing recorded as if it were
