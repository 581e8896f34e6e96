"""Benchmark: how close apply's submits come to JoggAI's rate limit, and how often they hit it.

200 videos against the simulator with its 20 POST/minute limit, a minute made to
last one second on both sides (the simulator's window is 1 s, apply runs with
REELFORM_TIME_SCALE=1/60). Achieved rate = creates accepted / the time from the
first to the last, as the simulator saw them. Targets (issue 4): at least 90% of
the limit, fewer than 5% of POSTs answered 429.

    .venv/bin/python bench/apply_ratelimit.py [--videos 200] [--parallel 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_common import env_for, jogg_project, run_apply
from reelform.sim import SimConfig, create_app, serve_in_thread

SCALE = 1 / 60
LIMIT = 20  # POSTs per (scaled) minute


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    # Renders of 2-5 provider minutes take 2-5 s here; the window is 60 s x SCALE.
    app = create_app(
        SimConfig(
            time_scale=SCALE, seed=2, rate_limit_per_minute=LIMIT, rate_window_seconds=60 * SCALE
        )
    )
    sim = app.state.sim
    with serve_in_thread(app=app) as base, tempfile.TemporaryDirectory() as tmp:
        spec = jogg_project(Path(tmp) / "p", args.videos)
        elapsed, code, _ = run_apply(spec, env_for(base, SCALE), "--parallel", str(args.parallel))
        posts = [r for r in sim.requests if r.method == "POST" and r.path.startswith("/jogg/")]
        refused = [r for r in posts if r.status == 429]
        creates = sorted(
            r.time
            for r in posts
            if r.path == "/jogg/v2/create_video_from_avatar" and r.status == 200
        )
    span = creates[-1] - creates[0]
    allowed = LIMIT / (60 * SCALE)  # requests per second
    achieved = (len(creates) - 1) / span
    print(
        f"{len(creates)} creates in {span:.2f} s: {achieved:.2f}/s of {allowed:.0f}/s allowed "
        f"= {achieved / allowed:.1%} (target >= 90%)"
    )
    print(
        f"{len(refused)} of {len(posts)} POSTs answered 429 = "
        f"{len(refused) / len(posts):.1%} (target < 5%)"
    )
    print(f"apply: {elapsed:.1f} s wall, exit {code}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
