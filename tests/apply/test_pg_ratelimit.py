"""One rate limit across runners: two applies on two machines' worth of processes,
sharing one JoggAI key, keep to the key's one budget, kept in the state database."""

from __future__ import annotations

import time

import psycopg
import pytest
from applykit import JOGG_KEY, Project, SimServer, start_cli

from reelform.state.pg.ratelimit import key_hash

#: 20 creates per 0.6 s at the simulator: 60 creates take about 2 s at the full rate.
SCALE = 0.01
pytestmark = pytest.mark.sim(time_scale=SCALE, rate_window_seconds=60 * SCALE)


def test_two_runners_sharing_a_key_share_its_one_budget(
    sim: SimServer, project: Project, pg_url: str
) -> None:
    project.write("reelform.toml", '[state]\nbackend = "postgres"\n')
    project.jogg_spec(30, name="a.yaml", prefix="a")
    project.jogg_spec(30, name="b.yaml", prefix="b")
    env = sim.env(REELFORM_STATE_URL=pg_url, REELFORM_TIME_SCALE=str(SCALE))
    started = time.monotonic()
    runners = [
        start_cli(["apply", "--yes", spec], env, project.root) for spec in ("a.yaml", "b.yaml")
    ]
    for runner in runners:
        _out, err = runner.communicate(timeout=240)
        assert runner.returncode == 0, err[-3000:]
    elapsed = time.monotonic() - started
    creates = [
        r
        for r in sim.requests()
        if r.method == "POST" and r.path == "/jogg/v2/create_video_from_avatar"
    ]
    limited = [r for r in creates if r.status == 429]
    made = [r for r in creates if r.status != 429]
    assert len(made) == 60
    # The simulator refuses what exceeds 20 per window: under 5% of the creates were.
    assert len(limited) <= 0.05 * len(creates), (len(limited), len(creates))
    # And the budget was used, not wasted: 60 creates at 20 per 0.6 s (+ renders).
    assert elapsed < 60, elapsed
    with psycopg.connect(pg_url) as conn:
        keys = {
            row[0] for row in conn.execute("SELECT DISTINCT key_hash FROM reelform.rate_events")
        }
        dump = " ".join(str(r) for r in conn.execute("SELECT * FROM reelform.rate_events"))
    assert keys == {key_hash("jogg", JOGG_KEY)}  # one budget, keyed by a hash
    assert JOGG_KEY not in dump  # never the key itself
