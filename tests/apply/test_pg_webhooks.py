"""Webhooks with the state in PostgreSQL: one runner's `--listen` receiver records the
deliveries, and a runner without a receiver completes its jobs from them instead of
polling the provider."""

from __future__ import annotations

from pathlib import Path

import orjson
import psycopg
import pytest
from applykit import InProcess, Project, SimServer, start_cli
from test_apply_webhooks import status_requests_per_job
from test_pg_runners import clone, made, wait_for_holder

from reelform.sim import free_port

SPEC_VIDEOS = 16


@pytest.fixture
def env(
    project: Project, sim: SimServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    project.write("reelform.toml", '[state]\nbackend = "postgres"\n')
    monkeypatch.setenv("REELFORM_STATE_URL", pg_url)
    return sim.env(REELFORM_STATE_URL=pg_url, REELFORM_TIME_SCALE="0.01")


def clones(project: Project, factory: pytest.TempPathFactory) -> list[Path]:
    return [clone(project, factory, name) for name in ("listener", "other")]


def run_pair(
    project: Project,
    env: dict[str, str],
    factory: pytest.TempPathFactory,
    pg_url: str,
    other: list[str],
) -> tuple[str, str]:
    """Two runners on one spec at once; their logs. The second, given ``other``,
    starts first (so it holds videos of its own); the first receives the webhooks."""
    project.jogg_spec(SPEC_VIDEOS)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    listener, second = clones(project, factory)
    b_args = [url if x == "URL" else x for x in other]
    b = start_cli(["apply", "--yes", *b_args, "spec.yaml"], env, second)
    wait_for_holder(pg_url, b.pid)
    listen = ["--webhook-url", url, "--listen", f"127.0.0.1:{port}"]
    a = start_cli(["apply", "--yes", *listen, "spec.yaml"], env, listener)
    logs = []
    for runner in (a, b):
        out, err = runner.communicate(timeout=240)
        assert runner.returncode == 0, out[-3000:] + err[-1500:]
        logs.append(err)
    # Each downloaded what it made: together, every video.
    outputs = [{p.stem for p in (root / "out").rglob("*.mp4")} for root in (listener, second)]
    assert not outputs[0] & outputs[1] and len(outputs[0] | outputs[1]) == SPEC_VIDEOS, outputs
    return logs[0], logs[1]


def jobs_submitted_in(log: str) -> set[str]:
    return {
        word.removeprefix("job=")
        for line in log.splitlines()
        if " submitted " in line
        for word in line.split()
        if word.startswith("job=")
    }


def polls_of(sim: SimServer, jobs: set[str]) -> list[int]:
    """The status requests of each of these jobs."""
    per_job = status_requests_per_job(sim)
    return sorted(per_job[j] for j in jobs)


@pytest.mark.sim(time_scale=0.01, rate_window_seconds=0.6, jogg_render_seconds=(300.0, 500.0))
def test_a_runner_without_a_receiver_completes_from_recorded_deliveries(
    sim: SimServer,
    project: Project,
    env: dict[str, str],
    pg_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    _, other = run_pair(project, env, tmp_path_factory, pg_url, ["--webhook-url", "URL"])
    theirs = jobs_submitted_in(other)
    assert theirs, other  # the second runner did submit some videos
    jobs = made(sim)
    assert len(jobs) == SPEC_VIDEOS == len(set(jobs))
    # Their deliveries reached the first runner, which recorded them for the second.
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT job_id, status, result->>'video_url' FROM reelform.webhook_deliveries"
        ).fetchall()
    recorded = {job for job, status, url in rows if status == "completed" and url}
    assert theirs <= recorded
    # The second runner learned of them from the table, not from status polls: the
    # one poll at the provider's first delay (before the render can be done), rarely
    # one more while the delivery is read; polling alone takes two to seven (below).
    polls = polls_of(sim, theirs)
    print("status polls of the second runner's jobs:", polls)
    assert max(polls) <= 2 and sum(polls) < 2 * len(theirs), polls
    secret = env["JOGG_WEBHOOK_SECRET"]
    assert secret not in str(rows)


@pytest.mark.sim(time_scale=0.01, rate_window_seconds=0.6, jogg_render_seconds=(300.0, 500.0))
def test_control_the_second_runner_polls_when_its_jobs_carry_no_url(
    sim: SimServer,
    project: Project,
    env: dict[str, str],
    pg_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The same pair with the second runner submitting without a webhook URL: its
    jobs are polled at the geometric pace (the comparison for the test above)."""
    _, other = run_pair(project, env, tmp_path_factory, pg_url, [])
    theirs = jobs_submitted_in(other)
    assert theirs, other
    polls = polls_of(sim, theirs)
    print("status polls of the second runner's jobs, polling alone:", polls)
    assert min(polls) >= 3, polls


@pytest.mark.sim(time_scale=0.01, rate_window_seconds=0.6, jogg_render_seconds=(300.0, 500.0))
def test_a_database_error_on_deliveries_falls_back_to_polling(
    sim: SimServer,
    project: Project,
    env: dict[str, str],
    pg_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The table refuses every statement (it is gone): the receiver still completes
    its own jobs, the second runner polls its own, and nothing is lost or stopped."""
    from reelform.state.pg import db

    with psycopg.connect(pg_url, autocommit=True) as conn:
        db.migrate(conn)
        conn.execute("ALTER TABLE reelform.webhook_deliveries RENAME TO gone")
    listener, other = run_pair(project, env, tmp_path_factory, pg_url, ["--webhook-url", "URL"])
    assert "webhook delivery not recorded" in listener, listener[-2000:]
    assert "webhook deliveries unreadable, polling instead" in other, other[-2000:]
    assert pg_url not in listener + other
    theirs = jobs_submitted_in(other)
    assert theirs and min(polls_of(sim, theirs)) >= 3  # polled at the usual pace
    jobs = made(sim)
    assert len(jobs) == SPEC_VIDEOS == len(set(jobs))
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT status, count(*) FROM reelform.videos GROUP BY 1").fetchall()
    assert rows == [("completed", SPEC_VIDEOS)]


def test_webhook_url_alone_needs_the_state_in_postgres(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(1)
    alone = cli("apply", "--yes", "--webhook-url", "http://127.0.0.1:9/", "spec.yaml")
    assert alone.code == 1, alone.text
    assert "--webhook-url and --listen go together" in alone.text
    assert 'backend = "postgres"' in alone.text and "Traceback" not in alone.text
    listen = cli("apply", "--yes", "--listen", f"127.0.0.1:{free_port()}", "spec.yaml")
    assert listen.code == 1 and "go together" in listen.text, listen.text
    assert sim.creates() == []  # nothing was sent


def test_without_a_receiver_per_run_tokens_are_not_sent() -> None:
    """Mirako's deliveries carry a token this run makes: another runner's receiver
    could not verify them, so its jobs go without the URL (and are polled)."""
    from reelform.apply.webhooks import RemoteWebhooks

    remote = RemoteWebhooks("https://hooks.example.com/")
    assert remote.url_for("jogg") == "https://hooks.example.com/jogg"
    assert remote.url_for("mirako") is None
    assert remote.pushes("jogg") and not remote.pushes("mirako")
    remote.shared_ok = False  # the database cannot be read: polls at the usual pace
    assert not remote.pushes("jogg")


def test_a_recorded_delivery_reads_back_as_the_receiver_parsed_it() -> None:
    from reelform.providers.base import JobState, JobStatus, WebhookEvent
    from reelform.state.pg.deliveries import event_row, row_event

    done = WebhookEvent("j1", JobState("j1", JobStatus.COMPLETED, "https://v/1.mp4", 4.5))
    status, result = event_row(done)
    assert status == "completed" and result is not None
    assert row_event("j1", status, orjson.loads(result)) == done
    failed = WebhookEvent("j2", JobState("j2", JobStatus.FAILED, error="bad face"))
    status, result = event_row(failed)
    assert result is not None and row_event("j2", status, orjson.loads(result)) == failed
    assert event_row(WebhookEvent("j3")) == (None, None)  # "look again": polled
    assert row_event("j3", None, None) == WebhookEvent("j3")
    assert row_event("j4", "exploded", {}) == WebhookEvent("j4")  # unknown: polled
