"""One spec, several processes, the state in PostgreSQL: the database excludes a
second apply wherever it runs (a file lock excludes nobody on another machine), and
a killed runner's spec is taken over at once, its jobs polled, never resubmitted."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from applykit import Project, SimServer, run_cli, start_cli


@pytest.fixture
def env(
    project: Project, sim: SimServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    project.write("reelform.toml", '[state]\nbackend = "postgres"\n')
    monkeypatch.setenv("REELFORM_STATE_URL", pg_url)  # for the test's own reads
    return sim.env(REELFORM_STATE_URL=pg_url)


def wait_for_holder(url: str, pid: int) -> str:
    """The name of runner ``pid`` once it claims a video."""
    deadline = time.monotonic() + 30
    while True:
        with psycopg.connect(url) as conn:
            try:
                rows = conn.execute("SELECT runner FROM reelform.claims").fetchall()
            except psycopg.errors.UndefinedTable:
                rows = []
        for (holder,) in rows:
            if holder and f":{pid}:" in holder:
                return str(holder)
        assert time.monotonic() < deadline, "the first apply never claimed a video"
        time.sleep(0.05)


def clone(project: Project, factory: pytest.TempPathFactory, name: str) -> Path:
    """Another checkout of the same repository (on another machine, as far as the
    files go): the same paths from the root, no outputs, no state of its own."""
    import shutil

    target = factory.mktemp(name) / "repo"
    shutil.copytree(project.root, target, ignore=shutil.ignore_patterns("out"))
    return target


def made(sim: SimServer) -> list[str]:
    return [m.id for m in list(sim.sim.made) if m.kind == "jogg_v2"]


@pytest.mark.sim(time_scale=0.01, rate_window_seconds=0.6)
def test_two_runners_on_one_spec_share_its_videos(
    sim: SimServer,
    project: Project,
    env: dict[str, str],
    pg_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Two applies of one spec at once, from two clones: each video is made once, by
    one of them; both submit some, and each downloads what it made (the work is
    shared, not done twice); the next apply in a clone downloads the rest, making
    nothing."""
    project.jogg_spec(40)
    env = {**env, "REELFORM_TIME_SCALE": "0.01"}
    roots = [clone(project, tmp_path_factory, f"runner{i}") for i in range(2)]
    runners = [start_cli(["apply", "--yes", "spec.yaml"], env, root) for root in roots]
    logs = []
    for runner in runners:
        out, err = runner.communicate(timeout=240)
        assert runner.returncode == 0, out[-3000:] + err[-1500:]
        logs.append(err)
    jobs = made(sim)
    assert len(jobs) == 40 and len(set(jobs)) == 40  # each video made once
    submitted = [log.count(" submitted ") for log in logs]
    assert sum(submitted) == 40 and min(submitted) >= 1, submitted  # both did work
    assert all("held-elsewhere" in log for log in logs)  # and saw the other's
    outputs = [{p.stem for p in (root / "out/spec").iterdir()} for root in roots]
    assert [len(o) for o in outputs] == submitted  # each has what it made
    assert outputs[0] | outputs[1] == {f"v{i}" for i in range(1, 41)}
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT status, count(*) FROM reelform.videos GROUP BY 1").fetchall()
        claims = conn.execute("SELECT count(*) FROM reelform.claims").fetchone()
    assert rows == [("completed", 40)] and claims == (0,)
    before = sim.mark()
    for root, submits in zip(roots, submitted, strict=True):
        plan = run_cli(["plan", "spec.yaml"], env, root)
        assert plan.out.count("download") >= 40 - submits, plan.out
        rest = run_cli(["apply", "--yes", "spec.yaml"], env, root)
        assert rest.code == 0, rest.text
        assert len(list((root / "out/spec").iterdir())) == 40
    assert sim.creates(before) == []


@pytest.mark.sim(time_scale=0.01)
def test_a_submit_in_flight_at_another_runner_is_followed_not_called_unknown(
    sim: SimServer,
    project: Project,
    env: dict[str, str],
    pg_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A runner that starts while another is between a video's intent and its job id
    plans that video `unknown` (nobody can ask JoggAI which job it made); it must still
    follow the live runner's submit rather than report it unknown and exit 1."""
    sim.config.slow_rate, sim.config.slow_seconds = 1.0, 2.0  # every answer is late
    project.jogg_spec(1)
    env = {**env, "REELFORM_TIME_SCALE": "0.01"}
    first, second = (clone(project, tmp_path_factory, f"c{i}") for i in range(2))
    submitting = start_cli(["apply", "--yes", "spec.yaml"], env, first)
    deadline = time.monotonic() + 60
    with psycopg.connect(pg_url, autocommit=True) as conn:
        while True:  # the intent is committed; the create's answer is 2 s away
            assert time.monotonic() < deadline and submitting.poll() is None
            found = conn.execute("SELECT to_regclass('reelform.videos')").fetchone()
            if found is not None and found[0] is not None:
                row = conn.execute("SELECT status FROM reelform.videos").fetchone()
                if row == ("submitting",):
                    break
            time.sleep(0.01)
    follower = run_cli(["apply", "--yes", "spec.yaml"], env, second)
    assert submitting.wait(timeout=120) == 0
    assert follower.code == 0, follower.text
    assert "held-elsewhere" in follower.text or "another runner" in follower.text, follower.text
    assert "unknown  v1" not in follower.text  # the summary: it was followed
    assert "1 completed by other runners" in follower.out, follower.out
    assert len(made(sim)) == 1
    assert not (second / "out/spec/v1.mp4").exists()  # the first runner's to download
    assert (first / "out/spec/v1.mp4").is_file()


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


@pytest.mark.sim(time_scale=0.01, rate_window_seconds=0.6)
def test_a_runner_killed_beside_another_is_taken_over_by_it(
    sim: SimServer,
    project: Project,
    env: dict[str, str],
    pg_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project.jogg_spec(40)
    env = {**env, "REELFORM_TIME_SCALE": "0.01"}
    first, second = (clone(project, tmp_path_factory, f"r{i}") for i in range(2))
    doomed = start_cli(["apply", "--yes", "spec.yaml"], env, first)
    wait_for_holder(pg_url, doomed.pid)
    survivor = start_cli(["apply", "--yes", "spec.yaml"], env, second)
    deadline = time.monotonic() + 60
    while len(made(sim)) < 12:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate()
    out, _ = survivor.communicate(timeout=240)
    # An interrupted submit of the dead runner (intent, no job id) is unknown: exit 1.
    assert survivor.returncode == (1 if "unknown  " in out else 0), out[-3000:]
    assert "failed  " not in out, out[-3000:]
    jobs = made(sim)
    assert len(jobs) == len(set(jobs)) <= 40  # nothing made twice
    state = project.lock()
    statuses = {str(e.status) for e in state.videos.values()}
    assert statuses <= {"completed", "unknown"}, statuses
    recorded = {e.job_id for e in state.videos.values() if e.job_id}
    assert recorded <= set(jobs)
    # Every job the provider made is on record, but for a submit the kill cut between
    # the provider's answer and the commit of its job id: that video is `unknown`.
    unknown = [e for e in state.videos.values() if str(e.status) == "unknown"]
    assert len(set(jobs) - recorded) <= len(unknown), (set(jobs) - recorded, unknown)
    # Never two jobs for one video: each made job names its video's key.
    per_video = Counter(
        next(e.key for e in state.videos.values() if e.key and m.matches(e.key))
        for m in list(sim.sim.made)
        if m.kind == "jogg_v2"
    )
    assert max(per_video.values()) == 1, per_video
    done = sum(1 for e in state.videos.values() if str(e.status) == "completed")
    assert len(list((second / "out/spec").iterdir())) == done


def test_two_applies_in_one_clone_still_take_turns(
    sim: SimServer, project: Project, env: dict[str, str]
) -> None:
    """Runners share a spec across clones; in one clone's folder a second apply is
    refused as with lockfiles (both would write the same output folder)."""
    from reelform.state.lock import pid_path

    sim.config.jogg_render_seconds = (4000.0, 4000.0)
    project.jogg_spec(2)
    first = start_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    try:
        deadline = time.monotonic() + 30
        while f'"pid":{first.pid}' not in _read(pid_path(project.root / "spec.lock")):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.02)
        second = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
        assert second.code == 1 and f"another apply is running (pid {first.pid}" in second.err
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


def _read(path: Path) -> str:
    try:
        return path.read_text().replace(" ", "")
    except OSError:
        return ""
