"""One spec, several processes, the state in PostgreSQL: the database excludes a
second apply wherever it runs (a file lock excludes nobody on another machine), and
a killed runner's spec is taken over at once, its jobs polled, never resubmitted."""

from __future__ import annotations

import signal
import time

import psycopg
import pytest
from applykit import Project, SimServer, run_cli, start_cli


@pytest.fixture
def env(project: Project, sim: SimServer, pg_url: str) -> dict[str, str]:
    project.write("reelform.toml", '[state]\nbackend = "postgres"\n')
    return sim.env(REELFORM_STATE_URL=pg_url)


def wait_for_holder(url: str, pid: int) -> str:
    deadline = time.monotonic() + 30
    while True:
        with psycopg.connect(url) as conn:
            try:
                rows = conn.execute("SELECT holder FROM reelform.specs").fetchall()
            except psycopg.errors.UndefinedTable:
                rows = []
        for (holder,) in rows:
            if holder and f":{pid}:" in holder:
                return str(holder)
        assert time.monotonic() < deadline, "the first apply never took the lease"
        time.sleep(0.05)


def test_a_second_apply_stops_naming_the_holder_or_waits(
    sim: SimServer, project: Project, env: dict[str, str], pg_url: str
) -> None:
    sim.config.jogg_render_seconds = (4000.0, 4000.0)
    project.jogg_spec(3)
    first = start_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    try:
        holder = wait_for_holder(pg_url, first.pid)
        second = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
        assert second.code == 1, second.text
        assert f"another apply is running ({holder}" in second.err, second.err
        assert first.poll() is None
        before = sim.mark()
        waiting = run_cli(["apply", "--yes", "--wait", "spec.yaml"], env, project.root)
        assert first.poll() == 0  # it waited for the first to finish
        assert waiting.code == 0, waiting.text
        assert sim.creates(before) == []
        assert not (project.root / "spec.lock").exists()
    finally:
        first.kill()
        first.wait()


def test_a_killed_runner_is_taken_over_at_once_and_nothing_is_resubmitted(
    sim: SimServer, project: Project, env: dict[str, str], pg_url: str
) -> None:
    sim.config.jogg_render_seconds = (1500.0, 1500.0)
    project.jogg_spec(3)
    first = start_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    wait_for_holder(pg_url, first.pid)
    deadline = time.monotonic() + 30
    while len(sim.creates()) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    plan = run_cli(["plan", "spec.yaml"], env, project.root)
    assert plan.out.count("> resume") == 3, plan.out
    before = sim.mark()
    started = time.monotonic()
    second = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    assert second.code == 0, second.text
    # Not after the dead runner's 30 s lease: it has no connection, so it is gone.
    assert time.monotonic() - started < 20
    assert sim.creates(before) == []  # resumed by polling, not submitted again
    assert len(project.outputs()) == 3


@pytest.mark.sim(signed_url_seconds=600.0)  # 0.6 s at the tests' time scale
def test_another_clone_downloads_what_one_rendered_asking_for_fresh_urls(
    sim: SimServer,
    project: Project,
    env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """CI renders; a laptop's apply, on its own clone, downloads the batch: nothing
    is rendered again, and the signed URLs (expired by now) are asked for afresh."""
    import shutil

    project.jogg_spec(4)
    ci = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    assert ci.code == 0, ci.text
    laptop = tmp_path_factory.mktemp("laptop") / "repo"
    shutil.copytree(project.root, laptop, ignore=shutil.ignore_patterns("out"))
    time.sleep(1.0)  # every signed URL has expired
    plan = run_cli(["plan", "spec.yaml"], env, laptop)
    assert plan.out.count("download") >= 4, plan.out
    before = sim.mark()
    done = run_cli(["apply", "--yes", "spec.yaml"], env, laptop)
    assert done.code == 0, done.text
    assert sim.creates(before) == []  # downloaded, never rendered again
    reads = [r for r in sim.requests(before) if r.path.startswith("/jogg/v2/avatar_video/")]
    assert len(reads) == 4  # one status read per video: a fresh signed URL
    assert sorted(p.name for p in (laptop / "out/spec").iterdir()) == [
        f"v{i}.mp4" for i in range(1, 5)
    ]
    assert not list(laptop.rglob("*.lock"))
