"""Benchmark: apply's own overhead, 1,000 and 10,000 JoggAI videos against an instant sim.

Renders complete at once (time scale 1e-6 on both sides) and the rate limit is
off (the simulator allows 10^9 POSTs a minute; apply's window shrinks with the
time scale), so what is left is the engine: planning, journaling, uploads,
submits, polls, downloads, compaction. Targets (issue 4): 10k in at most 60 s,
time(10k) / time(1k) at most 11. With ``--backend postgres`` (or ``both``) the
state is in a private PostgreSQL server (tests/pgkit.py, fsync on) instead of the
lockfile; issue 12's target: at most 1.5 times the lockfile backend's overhead.

    .venv/bin/python bench/apply_overhead.py [--sizes 1000 10000] [--parallel 8]
    .venv/bin/python bench/apply_overhead.py --sizes 10000 --backend both
    .venv/bin/python bench/apply_overhead.py --profile 2000   # cProfile, in-process
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path
from typing import Any

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
    parser.add_argument(
        "--backend",
        choices=["lockfile", "postgres", "both"],
        default="lockfile",
        help="where the state is kept (both: each size on each, alternating)",
    )
    args = parser.parse_args()
    backends = ["lockfile", "postgres"] if args.backend == "both" else [args.backend]
    with contextlib.ExitStack() as stack:
        server = None
        if "postgres" in backends:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
            from pgkit import running_server

            server = stack.enter_context(running_server(fsync=True))
        base = stack.enter_context(simulator(**SIM))
        return run_all(args, base, backends, server)


def run_all(args: argparse.Namespace, base: str, backends: list[str], server: Any) -> int:
    """Each size on each backend, in turn (so a busy machine slows both alike)."""
    if args.profile:
        profile(args.profile, base)
        return 0
    times: dict[int, float] = {}
    cpu: dict[tuple[str, int], float] = {}
    for count, backend in [(c, b) for c in args.sizes for b in backends]:
        with tempfile.TemporaryDirectory() as tmp:
            spec = jogg_project(Path(tmp) / f"n{count}", count)
            env = env_for(base, SCALE)
            if backend == "postgres":
                (spec.parent / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
                env["REELFORM_STATE_URL"] = server.create_database(f"bench_{count}_{tmp[-6:]}")
            since = len(sim_requests(base))
            sim_before = sim_cpu()
            elapsed, code, out = run_apply(spec, env, "--parallel", str(args.parallel))
            sim_used = sim_cpu() - sim_before
            requests = sim_requests(base, since=str(since))
            statuses = sum(1 for r in requests if "/avatar_video/" in r["path"])
            downloads = sum(1 for r in out.splitlines() if '"downloaded"' in r)
            times[count] = elapsed
            cpu[(backend, count)] = last_cpu[0]
            print(
                f"{backend:>8} {count:>7,} videos: {elapsed:7.2f} s  "
                f"({elapsed / count * 1000:.2f} ms "
                f"per video; CPU: apply {last_cpu[0]:.1f} s, simulator {sim_used:.1f} s), "
                f"exit {code}, "
                f"{downloads:,} downloaded, {len(requests):,} requests "
                f"({statuses / count:.2f} polls per video)"
            )
            if code != 0:
                return 1
    for count in args.sizes:
        if ("lockfile", count) in cpu and ("postgres", count) in cpu:
            ratio = cpu[("postgres", count)] / cpu[("lockfile", count)]
            print(f"{count:,} videos: apply CPU postgres / lockfile = {ratio:.2f} (target <= 1.5)")
    if len(times) >= 2 and len(backends) == 1:
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
