"""Benchmark: apply's own overhead, 1,000 and 10,000 JoggAI videos against an instant sim.

Renders complete at once (time scale 1e-6 on both sides) and the rate limit is
off (the simulator allows 10^9 POSTs a minute; apply's window shrinks with the
time scale), so what is left is the engine: planning, journaling, uploads,
submits, polls, downloads, compaction. Targets (issue 4): 10k in at most 60 s,
time(10k) / time(1k) at most 11.

    .venv/bin/python bench/apply_overhead.py [--sizes 1000 10000] [--parallel 8]
    .venv/bin/python bench/apply_overhead.py --profile 2000   # cProfile, in-process
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_common import (
    env_for,
    jogg_project,
    last_cpu,
    run_apply,
    sim_cpu,
    sim_requests,
    simulator,
)

SCALE = 1e-6
SIM = {"time_scale": SCALE, "rate_limit_per_minute": 10**9, "seed": 1}


def profile(count: int, base: str) -> None:
    import cProfile
    import os
    import pstats
    import time

    from reelform.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        spec = jogg_project(Path(tmp) / "p", count)
        os.environ.update(env_for(base, SCALE))
        os.chdir(spec.parent)
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        code = main(["apply", "--yes", "--json", spec.name])
        profiler.disable()
        print("exit", code, file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(400)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(400)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--profile", type=int, metavar="N", help="profile one run of N videos")
    args = parser.parse_args()
    with simulator(**SIM) as base:
        if args.profile:
            profile(args.profile, base)
            return 0
        times: dict[int, float] = {}
        for count in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                spec = jogg_project(Path(tmp) / f"n{count}", count)
                since = len(sim_requests(base))
                sim_before = sim_cpu()
                elapsed, code, out = run_apply(
                    spec, env_for(base, SCALE), "--parallel", str(args.parallel)
                )
                sim_used = sim_cpu() - sim_before
                requests = sim_requests(base, since=str(since))
                statuses = sum(1 for r in requests if "/avatar_video/" in r["path"])
                downloads = sum(1 for r in out.splitlines() if '"downloaded"' in r)
                times[count] = elapsed
                print(
                    f"{count:>7,} videos: {elapsed:7.2f} s  ({elapsed / count * 1000:.2f} ms "
                    f"per video; CPU: apply {last_cpu[0]:.1f} s, simulator {sim_used:.1f} s), "
                    f"exit {code}, "
                    f"{downloads:,} downloaded, {len(requests):,} requests "
                    f"({statuses / count:.2f} polls per video)"
                )
                if code != 0:
                    return 1
        if len(times) >= 2:
            small, large = min(times), max(times)
            ratio = times[large] / times[small]
            print(
                f"time({large:,}) / time({small:,}) = {ratio:.2f} "
                f"(target <= {11 if large // small == 10 else 'n/a'}); "
                f"10k target <= 60 s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
