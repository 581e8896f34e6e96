"""Benchmark: 1, 2 and 4 runners sharing one JoggAI key, the state in PostgreSQL.

Each runner is an `apply` process of its own spec (all in one repository whose
reelform.toml chooses the postgres backend, one private server: tests/pgkit.py),
all started at once, all with the same key. The simulator's limit is JoggAI's, 20
POSTs a minute, with the minute made to last one second on both sides, so 20 per
second. Achieved rate = creates accepted / the time from the first to the last,
across every runner, as the simulator saw them. Targets (issue 12): at least 90%
of the limit with each number of runners, fewer than 5% of POSTs answered 429.

    .venv/bin/python bench/apply_ratelimit_pg.py [--videos 200] [--runners 1 2 4]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from apply_common import env_for, jogg_project
from pgkit import running_server
from reelform.sim import SimConfig, create_app, serve_in_thread

SCALE = 1 / 60
LIMIT = 20  # POSTs per (scaled) minute


def one(runners: int, videos: int, url: str) -> tuple[float, float, int]:
    """(achieved share of the limit, share of POSTs answered 429, worst exit code)."""
    app = create_app(
        SimConfig(
            time_scale=SCALE, seed=2, rate_limit_per_minute=LIMIT, rate_window_seconds=60 * SCALE
        )
    )
    sim = app.state.sim
    with serve_in_thread(app=app) as base, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
        specs = [jogg_project(root / f"r{i}", videos // runners) for i in range(runners)]
        env = {**env_for(base, SCALE), "REELFORM_STATE_URL": url}
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "reelform", "apply", "--yes", "--json", spec.name],
                cwd=spec.parent,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for spec in specs
        ]
        codes = []
        for process in processes:
            _, err = process.communicate()
            if process.returncode:
                sys.stderr.write(err[-2000:])
            codes.append(process.returncode)
        posts = [r for r in sim.requests if r.method == "POST" and r.path.startswith("/jogg/")]
        refused = [r for r in posts if r.status == 429]
        creates = sorted(
            r.time
            for r in posts
            if r.path == "/jogg/v2/create_video_from_avatar" and r.status == 200
        )
    span = creates[-1] - creates[0]
    allowed = LIMIT / (60 * SCALE)
    achieved = (len(creates) - 1) / span
    return achieved / allowed, len(refused) / len(posts), max(codes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    worst = 0
    with running_server(fsync=True) as server:
        for runners in args.runners:
            url = server.create_database(f"rate_{runners}")
            share, refused, code = one(runners, args.videos, url)
            worst = max(worst, code)
            print(
                f"{runners} runner(s), one key: {share:.1%} of the limit (target >= 90%), "
                f"{refused:.1%} of POSTs answered 429 (target < 5%), exit {code}"
            )
    return worst


if __name__ == "__main__":
    sys.exit(main())
