"""Benchmark: status requests per video, and how soon apply notices a finished render.

Renders of 2 to 5 provider minutes, time-scaled (default 1/100: 1.2-3 s). For each
video: the status requests the simulator received for its job, and the lag from
the moment the simulator finished it to the moment apply asked for its file, as a
share of the render time. Targets (issue 4): at most 6 status requests per video
on average, each finished video noticed within 25% of its render time; with
webhooks at most 2 status requests per video.

    .venv/bin/python bench/apply_polling.py [--videos 60] [--scale 0.01]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_common import env_for, jogg_project, run_apply
from reelform.sim import SimConfig, create_app, free_port, serve_in_thread


def measure(videos: int, scale: float, webhooks: bool) -> bool:
    app = create_app(SimConfig(time_scale=scale, seed=4, rate_window_seconds=60 * scale))
    sim = app.state.sim
    with serve_in_thread(app=app) as base, tempfile.TemporaryDirectory() as tmp:
        spec = jogg_project(Path(tmp) / "p", videos)
        extra: list[str] = []
        if webhooks:
            port = free_port()
            extra = ["--webhook-url", f"http://127.0.0.1:{port}", "--listen", f"127.0.0.1:{port}"]
        elapsed, code, _ = run_apply(spec, env_for(base, scale), *extra)
        jobs = {job.id: job for job in sim.jobs.values()}
        polls = {job_id: 0 for job_id in jobs}
        fetched: dict[str, float] = {}
        seen: dict[str, float] = {}  # the first status request after the render finished
        for record in sim.requests:
            if record.method != "GET":
                continue
            if record.path.startswith("/jogg/v2/avatar_video/"):
                job_id = record.path.rsplit("/", 1)[-1]
                polls[job_id] += 1
                job = jobs[job_id]
                if record.time >= job.created + job.queue_seconds + job.render_seconds:
                    seen.setdefault(job_id, record.time)
            elif record.path.startswith("/jogg/_files/"):
                fetched.setdefault(record.path.rsplit("/", 1)[-1].split(".")[0], record.time)
    lags = []
    polled = []
    for job_id, job in jobs.items():
        render = job.queue_seconds + job.render_seconds
        finished = job.created + render  # wall clock, as the simulator keeps it
        lags.append((fetched[job_id] - finished) / render)
        if job_id in seen:
            polled.append((seen[job_id] - finished) / render)
    mode = "webhooks" if webhooks else "polling "
    average = statistics.mean(polls.values())
    print(
        f"{mode}: {len(jobs)} videos, {average:.2f} status requests per video "
        f"(max {max(polls.values())}); downloaded {statistics.mean(lags):.1%} of the "
        f"render time after it finished on average, {max(lags):.1%} at worst "
        f"(status seen after {max(polled, default=0):.1%} at worst); "
        f"apply {elapsed:.1f} s, exit {code}"
    )
    limit = 2 if webhooks else 6
    return code == 0 and average <= limit and max(lags) <= 0.25


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=60)
    parser.add_argument("--scale", type=float, default=0.01)
    args = parser.parse_args()
    ok = measure(args.videos, args.scale, webhooks=False)
    ok = measure(args.videos, args.scale, webhooks=True) and ok
    print("targets met" if ok else "targets MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
